package lan

import (
	"fmt"
	"net/netip"
	"testing"
)

// The /64 of an IPv6 --broadcast address is learnable from a list, as the subnet of a
// colleague typed by hand. But some IPv6 forms carry an IPv4 address of anyone's: a NAT64
// address (64:ff9b::/96, 64:ff9b:1::/48), a Teredo one (2001::/32: its /64 holds every client
// of a relay, the client's IPv4 address in the low bits), an IPv4-compatible or translated one
// (::/96, ::ffff:0:0:0/96). A user on an IPv6-only host who types a colleague's NAT64 address
// (or ::1) must not let a list make the node greet every IPv4 host on the Internet through the
// translator: such addresses are learnable only in a configured range (reach_ranges), never
// through the /64 rule.
func TestAttackListThroughIPv4InIPv6(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", func(c *Config) {
		c.Extra = []string{"[64:ff9b::a01:207]:2425", "[64:ff9b:1::a01:208]:2425",
			"[2001:0:4136:e378:8000:63bf:f5fe:fdf8]:2425", "::1", "[::ffff:0:a01:209]:2425"}
		c.ReachRanges = []netip.Prefix{netip.MustParsePrefix("64:ff9b::a01:200/120")}
	})
	targets, covered := n.announceTargets()
	for a, want := range map[string]bool{
		"[64:ff9b::808:808]:2425":                     false, // NAT64 of 8.8.8.8
		"[64:ff9b:1::808:808]:2425":                   false, // local-use NAT64 of 8.8.8.8
		"[2001:0:4136:e378:8000:63bf:f7f7:f7f7]:2425": false, // Teredo, client 8.8.8.8
		"[::808:808]:2425":                            false, // IPv4-compatible 8.8.8.8
		"[::ffff:0:808:808]:2425":                     false, // IPv4-translated 8.8.8.8
		"[64:ff9b::a01:205]:2425":                     true,  // in the configured range
	} {
		if got := n.learnable(netip.MustParseAddrPort(a), targets, covered); got != want {
			t.Errorf("learnable(%s) = %v, want %v", a, got, want)
		}
	}
}

// With no IPv6 socket (--no-ipv6, or a host without IPv6), an IPv6 address from a list can
// never be greeted: a hostile colleague's lists of unique local addresses must not take the
// places of the addresses learnt (MaxLearned, for learnAgain) or the greeting budget
// (learnBurst) from the IPv4 ones that could be.
func TestAttackIPv6ListWithoutIPv6(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", nil) // Conn given, no Conn6: no IPv6 here
	var body []byte
	for i := range MaxShared {
		body = fmt.Appendf(body, "[fd00:1::%x]:2425\n", i+1)
	}
	n.learn(body, netip.MustParseAddrPort("127.0.0.1:40000"))
	n.far.mu.Lock()
	held := len(n.far.greeted)
	n.far.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d IPv6 addresses held as learnt by a node with no IPv6 socket", held)
	}
}
