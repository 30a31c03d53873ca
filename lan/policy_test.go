package lan

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
)

// noChannel gives a node a TCP listener on another port than its UDP one: nothing answers
// on the TCP port it announces, as behind a firewall that blocks it.
func noChannel(t *testing.T) func(*Config) {
	return func(c *Config) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		c.TCP = ln
	}
}

// By default (encryption required) a FeiGo peer whose channel cannot be reached is not
// listed; with PlaintextFallback (encryption preferred) it is, by its address, unencrypted,
// with a warning, and messages go in clear.
func TestPlaintextFallback(t *testing.T) {
	ca, cb, cc := loopbackConn(t), loopbackConn(t), loopbackConn(t)
	fallback := func(c *Config) { withKey(t)(c); noChannel(t)(c); c.PlaintextFallback = true }
	a := startNode(t, ca, "Alice", fallback, addrOf(cb), addrOf(cc))
	b := startNode(t, cb, "Bob", fallback, addrOf(ca), addrOf(cc))
	strict := startNode(t, cc, "Carol", withKey(t), addrOf(ca), addrOf(cb))
	on := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Nick == "Bob" })
	if p := on.Peer; p.Secure || p.ID != b.addr.String() || !strings.Contains(p.Warning, "cannot be reached") {
		t.Fatalf("Bob listed as %+v", p)
	}
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Nick == "Alice" })
	ds, err := a.Send(context.Background(), "in clear, as the user chose", b.addr)
	if err != nil || ds[0].Err != nil {
		t.Fatalf("send: %+v %v", ds, err)
	}
	b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "in clear, as the user chose" })
	// Carol requires encryption: neither is listed, though both announced to her.
	waitStat(t, strict, "proofs failed", func(s Stats) bool { return s.NotProved >= 2 })
	if n := strict.Table().Len(); n != 0 {
		t.Fatalf("Carol lists %d peers: %+v", n, strict.Table().Snapshot())
	}
}

// With RefuseLegacy, a client that cannot encrypt is neither listed nor answered, and its
// messages are dropped unacknowledged; FeiGo colleagues are as before.
func TestRefuseLegacy(t *testing.T) {
	a, b := securePair(t, func(c *Config) { c.RefuseLegacy = true })
	r := newRawPeer(t)
	r.send(a.addr, "1_iptux 0.8.3", "lee", "pc", ipmsg.BrEntry|ipmsg.UTF8Opt, "Lee\x00QA\x00")
	r.send(a.addr, "1_iptux 0.8.3", "lee", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "hello\x00")
	if p, quiet := r.quiet(time.Second); !quiet {
		t.Fatalf("the legacy client got %#x", uint32(p.Cmd.Mode()))
	}
	if _, ok := a.Table().ByAddr(r.addr()); ok {
		t.Fatal("the legacy client is listed")
	}
	if got := a.Stats().LegacyRefused; got < 2 {
		t.Fatalf("refused %d, want 2", got)
	}
	ds, err := b.Send(context.Background(), "still here", a.addr)
	if err != nil || ds[0].Err != nil {
		t.Fatalf("send: %+v %v", ds, err)
	}
	a.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "still here" })
}

// The policy changes while the node runs: refusing legacy clients drops those listed, and
// their datagrams from then on.
func TestSetPolicyAtRunTime(t *testing.T) {
	a := startNode(t, loopbackConn(t), "Alice", withKey(t))
	r := newRawPeer(t)
	r.send(a.addr, "1_iptux 0.8.3", "lee", "pc", ipmsg.BrEntry|ipmsg.UTF8Opt, "Lee\x00QA\x00")
	r.expect(ipmsg.AnsEntry)
	if _, ok := a.Table().ByAddr(r.addr()); !ok {
		t.Fatal("the legacy client is not listed under allow")
	}
	a.SetPolicy(false, true)
	if _, ok := a.Table().ByAddr(r.addr()); ok {
		t.Fatal("the legacy client stays listed under refuse")
	}
	r.send(a.addr, "1_iptux 0.8.3", "lee", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "hello\x00")
	if p, quiet := r.quiet(time.Second); !quiet {
		t.Fatalf("the refused client got %#x", uint32(p.Cmd.Mode()))
	}
	a.SetPolicy(false, false)
	r.send(a.addr, "1_iptux 0.8.3", "lee", "pc", ipmsg.BrEntry|ipmsg.UTF8Opt, "Lee\x00QA\x00")
	r.expect(ipmsg.AnsEntry)
}
