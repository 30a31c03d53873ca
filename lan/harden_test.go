package lan

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// clock is an injected clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// logLines keeps what a node logs, to count lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}

// count returns how many lines contain s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// eventually waits up to 5 s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quiet reports whether r receives nothing for d.
func (r *rawPeer) quiet(d time.Duration) (ipmsg.Packet, bool) {
	buf := make([]byte, 65536)
	r.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := r.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return ipmsg.Packet{}, true
	}
	p, _ := ipmsg.Decode(append([]byte(nil), buf[:n]...))
	return p, false
}

// An attacker fills one host's share of the peer table (8 clients) and floods from a 9th
// port: the 9th is refused (no answer, not listed), counted, and logged once a minute, not
// once a packet.
func TestRefusedPeersLoggedOncePerMinute(t *testing.T) {
	clk, logs := newClock(), &logLines{}
	n := startNode(t, loopbackConn(t), "Gus", func(c *Config) {
		c.Now, c.Log = clk.now, slog.New(logs)
		c.ProbeAfter, c.Expiry = time.Hour, 2*time.Hour // the clock jumps; nobody expires
	})
	for i := range peers.MaxPerAddr {
		r := newRawPeer(t)
		r.send(n.addr, "1", fmt.Sprint("u", i), "h", ipmsg.BrEntry, "fill\x00\x00")
		r.expect(ipmsg.AnsEntry)
	}
	eventually(t, "8 peers listed", func() bool { return n.Table().Len() == peers.MaxPerAddr })
	attacker := newRawPeer(t)
	for range 50 {
		attacker.send(n.addr, "1", "eve", "evil", ipmsg.BrEntry, "one too many\x00\x00")
	}
	eventually(t, "50 refusals counted", func() bool { return n.Stats().PeersRefused == 50 })
	if got := logs.count("refused"); got != 1 {
		t.Fatalf("50 refused entries logged %d times, want once", got)
	}
	if p, quiet := attacker.quiet(200 * time.Millisecond); !quiet {
		t.Fatalf("a refused peer was answered: %+v", p)
	}
	if _, ok := n.Table().ByAddr(attacker.addr()); ok || n.Table().Len() != peers.MaxPerAddr {
		t.Fatal("the 9th peer of one host was listed")
	}
	clk.advance(61 * time.Second)
	attacker.send(n.addr, "1", "eve", "evil", ipmsg.BrEntry, "one too many\x00\x00")
	eventually(t, "51st refusal counted", func() bool { return n.Stats().PeersRefused == 51 })
	if got := logs.count("refused"); got != 2 {
		t.Fatalf("a minute later: %d log lines, want 2", got)
	}
}

// hold netip for later tests in this file.
var _ = netip.AddrPort{}
