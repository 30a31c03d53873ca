package lan

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"feigo/internal/oserr"
	"feigo/ipmsg"
)

// Greeting is what Greet learnt of an address: whether it answered a unicast BR_ENTRY (every
// IPMsg client does), how fast, and whether its TCP port accepts a connection.
type Greeting struct {
	Addr     netip.AddrPort `json:"addr"`
	Answered bool           `json:"answered"`
	RTT      time.Duration  `json:"rtt_ns,omitempty"`
	// TCP is "open", "refused" (the host is there, nothing listens) or "no answer".
	TCP    string        `json:"tcp"`
	TCPRTT time.Duration `json:"tcp_rtt_ns,omitempty"`
}

// greeters are the greetings waiting for an answer, by address.
type greeters struct {
	mu   sync.Mutex
	wait map[netip.Addr]chan struct{}
}

// maxGreetings bounds the greetings under way at once.
const maxGreetings = 16

// ErrBusy is Greet's error when too many greetings are under way.
var ErrBusy = errors.New("too many greetings under way; try again")

// Greet says hello to addr (a unicast BR_ENTRY from the node's own port, which every IPMsg
// client answers with ANSENTRY to that port) and waits up to timeout for an ANSENTRY from
// that address; it also tries addr's TCP port. It is the network doctor's question: does
// this colleague hear us, and can we reach their files and channel port?
func (n *Node) Greet(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (Greeting, error) {
	g := Greeting{Addr: addr}
	got := make(chan struct{})
	n.greet.mu.Lock()
	if n.greet.wait == nil {
		n.greet.wait = map[netip.Addr]chan struct{}{}
	}
	if _, busy := n.greet.wait[addr.Addr()]; busy || len(n.greet.wait) >= maxGreetings {
		n.greet.mu.Unlock()
		return g, ErrBusy
	}
	n.greet.wait[addr.Addr()] = got
	n.greet.mu.Unlock()
	defer func() {
		n.greet.mu.Lock()
		delete(n.greet.wait, addr.Addr())
		n.greet.mu.Unlock()
	}()
	start := time.Now()
	n.sayState(func() { n.write(addr, n.entryTo(addr, ipmsg.BrEntry)) })
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tcp := make(chan struct{})
	go func() {
		defer close(tcp)
		t0 := time.Now()
		c, err := n.dial(tctx, addr)
		switch {
		case err == nil:
			g.TCP, g.TCPRTT = "open", time.Since(t0)
			c.Close()
		case oserr.ConnRefused(err):
			g.TCP = "refused"
		default: // a timeout, no route, nobody answering ARP
			g.TCP = "no answer"
		}
	}()
	select {
	case <-got:
		g.Answered, g.RTT = true, time.Since(start)
	case <-tctx.Done():
	}
	<-tcp
	if err := ctx.Err(); err != nil {
		return g, err
	}
	return g, nil
}

// heard tells a greeting waiting for from that it answered (called for every ANSENTRY).
func (n *Node) heard(from netip.AddrPort) {
	n.greet.mu.Lock()
	if ch, ok := n.greet.wait[from.Addr()]; ok {
		close(ch)
		delete(n.greet.wait, from.Addr())
	}
	n.greet.mu.Unlock()
}
