package lan

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"feigo/peers"
)

// One list (a peer exchange's, or a host list's page, which an IP Messenger client with no key
// can serve) naming one host on MaxShared ports: each address:port is new, so without a bound
// per host the node would greet that one host MaxShared times for a list of a few kilobytes,
// a datagram cannon aimed at a single victim. At most peers.MaxPerAddr ports of one host are
// greeted within learnAgain (as many as the table would list there); other hosts in the same
// list are still learnt.
func TestAttackLearntPortsOfOneHostBounded(t *testing.T) {
	n := farNode(t, loopbackConn(t), "Victim", t.TempDir(), nil)
	victim := netip.MustParseAddr("127.77.0.5")
	var b strings.Builder
	for i := range MaxShared - 8 {
		fmt.Fprintf(&b, "%s:%d\n", victim, 40000+i)
	}
	for i := range 8 {
		fmt.Fprintf(&b, "127.78.0.%d:40000\n", 1+i)
	}
	from := netip.MustParseAddrPort("127.0.0.1:2425")
	n.learn([]byte(b.String()), from)
	// The same host again, on other ports, in a second list.
	b.Reset()
	for i := range 16 {
		fmt.Fprintf(&b, "%s:%d\n", victim, 50000+i)
	}
	n.learn([]byte(b.String()), from)
	n.far.mu.Lock()
	atVictim, others := 0, 0
	for a := range n.far.greeted {
		switch {
		case a.Addr() == victim:
			atVictim++
		case strings.HasPrefix(a.Addr().String(), "127.78.0."):
			others++
		}
	}
	n.far.mu.Unlock()
	if atVictim > peers.MaxPerAddr {
		t.Errorf("%d ports of one host queued for greetings, want at most %d", atVictim, peers.MaxPerAddr)
	}
	if atVictim == 0 || others != 8 {
		t.Errorf("legitimate-looking addresses not learnt: %d at the host, %d others (want 8)", atVictim, others)
	}
}
