package lan

import (
	"context"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/trust"
)

// withKey gives a test node an identity key and an empty pin store.
func withKey(t *testing.T) func(*Config) {
	return func(c *Config) {
		id, err := trust.LoadOrCreate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		c.Identity = id
		c.Pins, _ = trust.OpenPins("", nil)
	}
}

// waitStat waits until f holds for the node's counters.
func waitStat(t *testing.T, n *testNode, what string, f func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f(n.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters %+v", what, n.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A FeiGo colleague is their key: announcing their ID, with their key or with another, from
// another address moves nothing, and an impostor with a key of its own is listed apart,
// with a warning, while messages keep going to the real colleague.
func TestIdentityCannotBeTaken(t *testing.T) {
	ca, cb, cm := loopbackConn(t), loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb), addrOf(cm))
	b := startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	bob := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.ID == "id-Bob" }).Peer
	if !bob.Secure || bob.Fingerprint != b.cfg.Identity.Fingerprint().String() || bob.Addr != b.addr || bob.Warning != "" {
		t.Fatalf("Bob as Alice lists him: %+v", bob)
	}

	// A host that only copies Bob's announcement (his ID and his key) cannot prove the key.
	r := newRawPeer(t)
	body := string(ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, body)
	r.expect(ipmsg.AnsEntry) // answered as any entry is, believed in nothing
	waitStat(t, a, "the copied announcement was not proved", func(s Stats) bool { return s.NotProved >= 1 })
	if p, _ := a.Table().Get("id-Bob"); p.Addr != b.addr {
		t.Fatalf("a copied announcement moved Bob to %v", p.Addr)
	}
	// An entry with Bob's ID and no key is listed apart, by its address.
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, "Bob\x00QA\x00\nFGID:id-Bob\x00")
	r.expect(ipmsg.AnsEntry)
	keyless := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == r.addr() }).Peer
	if keyless.ID == "id-Bob" || keyless.Secure || keyless.Warning == "" {
		t.Fatalf("a keyless claim of Bob's ID: %+v", keyless)
	}

	// A real FeiGo node with a key of its own announces Bob's ID (startNode names it id-Bob).
	m := startNode(t, cm, "Bob", withKey(t), addrOf(ca))
	imp := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == m.addr }).Peer
	if imp.ID == "id-Bob" || !strings.HasPrefix(imp.ID, "fp:") || imp.Warning == "" || imp.Verified {
		t.Fatalf("the impostor is listed as %+v", imp)
	}
	if p, _ := a.Table().Get("id-Bob"); p.Addr != b.addr || p.Fingerprint != bob.Fingerprint {
		t.Fatalf("the impostor moved Bob: %+v", p)
	}

	// Messages to Bob reach Bob.
	ds, err := a.Send(context.Background(), "payroll", bob.Addr)
	if err != nil || ds[0].Err != nil || ds[0].PeerID != "id-Bob" {
		t.Fatalf("send to Bob: %+v %v", ds, err)
	}
	b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "payroll" })
	for {
		select {
		case e := <-m.events:
			if e.Type == "message" {
				t.Fatalf("the impostor received %q", e.Message.Text)
			}
			continue
		default:
		}
		break
	}

	// Bob quits: his goodbye is believed once he no longer answers at his address.
	b.stop()
	a.waitEvent(t, "peer_offline", func(e Event) bool { return e.Peer.ID == "id-Bob" })
}
