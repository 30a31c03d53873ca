package lan

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"feigo/ipmsg"
	"feigo/peers"
	"feigo/trust"
)

// unboundNode is a node that is not running: what it would send goes nowhere, what it is
// handed (handle) is processed as from the network.
func unboundNode(t *testing.T, tweak func(*Config)) (*Node, *clock) {
	t.Helper()
	clk := newClock()
	cfg := Config{ID: "self-id", Nick: "Me", NoFiles: true, Now: clk.now}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := NewNode(cfg, peers.New(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	n.beginStop() // never run: Port answers 0 instead of waiting for Run
	return n, clk
}

// entryFrom is the datagram of an entry packet (mode) from a client named e.
func entryFrom(t *testing.T, mode ipmsg.Command, no uint32, e ipmsg.Entry) []byte {
	t.Helper()
	b, err := ipmsg.Packet{Version: "1", No: no, User: []byte(e.User), Host: []byte(e.Host), Cmd: mode,
		Body: ipmsg.EntryBody(ipmsg.UTF8, e)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLimitKeyBucketsIPv6By64(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10.1.2.3", "10.1.2.3"},
		{"::ffff:10.1.2.3", "10.1.2.3"},
		{"fd21:3::1", "fd21:3::"},
		{"fd21:3::ffff:1234:5678:9abc", "fd21:3::"},
		{"fd21:3:0:1::1", "fd21:3:0:1::"},
		{"fe80::1%eth0", "fe80::"},
		{"fe80::2%eth1", "fe80::"},
	} {
		if got := limitKey(netip.MustParseAddr(c.in)); got != netip.MustParseAddr(c.want) {
			t.Errorf("limitKey(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// A colleague on a dual-stack LAN announces itself over IPv4 and IPv6: it is one colleague,
// kept at its IPv4 address while it is heard there; IPv6 entries, true or forged, do not move
// it. Once that address falls silent, the IPv6 one is taken, until IPv4 is heard again.
func TestDualStackColleagueIsOneAndStays(t *testing.T) {
	n, clock := unboundNode(t, nil)
	v4 := netip.MustParseAddrPort("10.213.0.2:2425")
	v6 := netip.MustParseAddrPort("[fd21:3::2]:2425")
	bob := ipmsg.Entry{ID: "bob-id", Nick: "Bob", User: "bob", Host: "pc2", Client: ipmsg.ClientFeiGo, UTF8: true}
	n.handle(entryFrom(t, ipmsg.BrEntry, 1, bob), v4)
	n.handle(entryFrom(t, ipmsg.BrEntry, 2, bob), v6)
	n.handle(entryFrom(t, ipmsg.BrAbsence, 3, bob), v6)
	if got := n.table.Snapshot(); len(got) != 1 || got[0].Addr != v4 {
		t.Fatalf("table %+v, want Bob once at %s", got, v4)
	}
	if s := n.Stats(); s.OtherFamily != 2 {
		t.Errorf("OtherFamily %d, want 2", s.OtherFamily)
	}

	// An attacker's forged entry in Bob's name from an IPv6 address: Bob stays where he is.
	mallory := bob
	mallory.Nick = "Bob (really)"
	n.handle(entryFrom(t, ipmsg.BrEntry, 4, mallory), netip.MustParseAddrPort("[fd21:3::66]:2425"))
	if p, ok := n.table.Get("bob-id"); !ok || p.Addr != v4 || p.Nick != "Bob" {
		t.Fatalf("after a forged IPv6 entry Bob is %+v", p)
	}

	// Heard at his IPv4 address all along: still there.
	clock.advance(DefaultProbeAfter / 2)
	n.handle(entryFrom(t, ipmsg.BrAbsence, 5, bob), v4)
	clock.advance(DefaultProbeAfter / 2)
	n.handle(entryFrom(t, ipmsg.BrAbsence, 6, bob), v6)
	if p, _ := n.table.Get("bob-id"); p.Addr != v4 {
		t.Fatalf("Bob moved to %s while heard at %s", p.Addr, v4)
	}
	// His IPv4 address fell silent (the Wi-Fi lost its IPv4 lease): the IPv6 one is taken.
	clock.advance(DefaultProbeAfter)
	n.handle(entryFrom(t, ipmsg.BrAbsence, 7, bob), v6)
	if got := n.table.Snapshot(); len(got) != 1 || got[0].Addr != v6 {
		t.Fatalf("table %+v, want Bob once at %s", got, v6)
	}
	// His IPv4 address is back: IPv4 is preferred (his beats come there), he moves back, once,
	// and his IPv6 entries are the other family's again.
	n.handle(entryFrom(t, ipmsg.BrAbsence, 8, bob), v4)
	if got := n.table.Snapshot(); len(got) != 1 || got[0].Addr != v4 {
		t.Fatalf("table %+v, want Bob once, back at %s", got, v4)
	}
	n.handle(entryFrom(t, ipmsg.BrAbsence, 9, bob), v6)
	if p, _ := n.table.Get("bob-id"); p.Addr != v4 {
		t.Fatalf("Bob moved to %s while heard at %s", p.Addr, v4)
	}
}

// A legacy client (IP Messenger in its dual mode) heard over both families is listed twice:
// nothing proves the two are one machine.
func TestDualStackLegacyClientsStayApart(t *testing.T) {
	n, _ := unboundNode(t, nil)
	ipm := ipmsg.Entry{Nick: "Sato", User: "sato", Host: "pc9", Client: ipmsg.ClientIPMsg}
	n.handle(entryFrom(t, ipmsg.BrEntry, 1, ipm), netip.MustParseAddrPort("10.213.0.9:2425"))
	n.handle(entryFrom(t, ipmsg.BrEntry, 1, ipm), netip.MustParseAddrPort("[fe80::9%eth0]:2425"))
	if got := n.table.Snapshot(); len(got) != 2 {
		t.Fatalf("table %+v, want two entries", got)
	}
	if p, ok := n.table.ByAddr(netip.MustParseAddrPort("[fe80::9%eth0]:2425")); !ok || p.Nick != "Sato" {
		t.Fatalf("the link-local entry is %+v, %v", p, ok)
	}
}

// Messages from strangers are limited per /64 on IPv6: a host that sends each message from
// another address of its subnet (any host can) gets no more through than from one address.
func TestStrangerFloodFromOne64IsLimited(t *testing.T) {
	var delivered atomic.Int64
	n, _ := unboundNode(t, func(c *Config) {
		c.Deliver = func(Message) error { delivered.Add(1); return nil }
	})
	msg := func(no uint32, from string) {
		b, err := ipmsg.Packet{Version: "1", No: no, User: []byte("m"), Host: []byte("h"),
			Cmd: ipmsg.SendMsg | ipmsg.SendCheckOpt, Body: []byte("hello\x00")}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		n.handle(b, netip.MustParseAddrPort(from))
	}
	for i := range 1000 {
		msg(uint32(100+i), fmt.Sprintf("[fd66::%x:%x]:2425", i/7, i))
	}
	if got := delivered.Load(); got != StrangerBurst {
		t.Fatalf("%d messages from one /64 taken, want %d", got, StrangerBurst)
	}
	if s := n.Stats(); s.StrangersDropped != 1000-StrangerBurst {
		t.Errorf("StrangersDropped %d, want %d", s.StrangersDropped, 1000-StrangerBurst)
	}
	// Another /64 is another source.
	msg(5000, "[fd66:0:0:1::1]:2425")
	if got := delivered.Load(); got != StrangerBurst+1 {
		t.Fatalf("a message from another /64: %d taken in all", got)
	}
}

// The attacker's side with keys: an entry from an IPv6 source naming the key of a colleague
// listed (proved) at its IPv4 address is ignored before any proof: no handshake is spent on
// it, and the colleague stays.
func TestForgedIPv6EntryOfKeyedColleagueIsIgnored(t *testing.T) {
	dir := t.TempDir()
	id, err := trust.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	pins, err := trust.OpenPins(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := unboundNode(t, func(c *Config) { c.Identity, c.Pins = id, pins })
	_, bobKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := bobKey.Public().(ed25519.PublicKey)
	v4 := netip.MustParseAddrPort("10.213.0.2:2425")
	fp := fingerprint(pub)
	if _, err := n.table.Upsert(peers.Peer{ID: fp, Nick: "Bob", Addr: v4, Client: string(ipmsg.ClientFeiGo),
		Key: pub, Fingerprint: fp, Secure: true, PinName: "bob-id"}); err != nil {
		t.Fatal(err)
	}
	forged := ipmsg.Entry{ID: "bob-id", Nick: "Bob", User: "bob", Host: "pc2", Client: ipmsg.ClientFeiGo, UTF8: true, Key: pub}
	n.handle(entryFrom(t, ipmsg.BrEntry, 9, forged), netip.MustParseAddrPort("[fd21:3::66]:2425"))
	if p, ok := n.table.Get(fp); !ok || p.Addr != v4 || n.table.Len() != 1 {
		t.Fatalf("after a forged IPv6 entry: %+v, %d peers", p, n.table.Len())
	}
	n.proofs.mu.Lock()
	pending := len(n.proofs.inFlight) + len(n.proofs.waiting) + len(n.proofs.last)
	n.proofs.mu.Unlock()
	if s := n.Stats(); s.OtherFamily != 1 || pending != 0 {
		t.Fatalf("OtherFamily %d, proofs scheduled %d; want 1 and 0", s.OtherFamily, pending)
	}
}
