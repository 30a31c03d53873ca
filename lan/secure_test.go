package lan

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
	"feigo/trust"
	"feigo/xfer"
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

// colleague returns the peer n lists as the colleague pinned under the FeiGo ID name (not an
// impostor claiming it, which has a warning).
func colleague(n *testNode, name string) (peers.Peer, bool) {
	for _, p := range n.Table().Snapshot() {
		if p.Secure && p.PinName == name && p.Warning == "" {
			return p, true
		}
	}
	return peers.Peer{}, false
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
	bob := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" }).Peer
	if !bob.Secure || bob.Fingerprint != b.cfg.Identity.Fingerprint().String() || bob.Addr != b.addr || bob.Warning != "" {
		t.Fatalf("Bob as Alice lists him: %+v", bob)
	}

	// A host that only copies Bob's announcement (his ID and his key) cannot prove the key.
	r := newRawPeer(t)
	body := string(ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, body)
	r.expect(ipmsg.AnsEntry) // answered as any entry is, believed in nothing
	waitStat(t, a, "the copied announcement was not proved", func(s Stats) bool { return s.NotProved >= 1 })
	if p, _ := colleague(a, "id-Bob"); p.Addr != b.addr {
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
	if imp.ID == bob.ID || imp.ID != m.cfg.Identity.Fingerprint().String() || imp.Warning == "" || imp.Verified {
		t.Fatalf("the impostor is listed as %+v", imp)
	}
	if p, _ := colleague(a, "id-Bob"); p.Addr != b.addr || p.Fingerprint != bob.Fingerprint {
		t.Fatalf("the impostor moved Bob: %+v", p)
	}

	// Messages to Bob reach Bob.
	ds, err := a.Send(context.Background(), "payroll", bob.Addr)
	if err != nil || ds[0].Err != nil || ds[0].PeerID != bob.ID || !ds[0].Encrypted {
		t.Fatalf("send to Bob: %+v %v", ds, err)
	}
	if got := b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "payroll" }).Message; !got.Encrypted || got.PeerID != a.cfg.Identity.Fingerprint().String() {
		t.Fatalf("Bob received %+v", got)
	}
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
	a.waitEvent(t, "peer_offline", func(e Event) bool { return e.Peer.PinName == "id-Bob" })
}

// Files between FeiGo peers that proved their keys go over TLS, to the recipient's key only:
// a plain request from the recipient's own address (another program or user on its
// machine), naming the offer and the recipient's names, gets nothing; the recipient gets the
// file whole.
func TestFilesOnlyToTheRecipientsKey(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	src := filepath.Join(t.TempDir(), "payroll.xlsx")
	data := writeRandom(t, src, 3<<20, 7)
	out, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil || len(out.Recipients) != 1 || len(out.Recipients[0].Key) == 0 {
		t.Fatalf("offer: %+v %v", out, err)
	}
	in := incoming(t, b)
	if !in.FeiGo {
		t.Fatalf("incoming %+v", in)
	}
	// The other user on Bob's machine: same address, Bob's names, no key.
	c := dialTCP(t, a)
	pkt, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 9, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: ipmsg.GetFileData,
		Body: []byte(fmt.Sprintf("%x:0:0:", out.PacketNo))}.Marshal()
	c.Write(pkt)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Fatalf("a plain request for Bob's file got %d bytes", len(got))
	}
	c.Close()
	// Bob fetches it over TLS.
	dl := t.TempDir()
	if _, err := b.Accept(in.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitFinal(t, b, in.ID); got.State != xfer.StateDone {
		t.Fatalf("%+v", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dl, "payroll.xlsx")); !bytes.Equal(got, data) {
		t.Fatal("the file differs")
	}
}

// A colleague's change (away) that comes right after another announcement is not lost to
// the rule of one proof a second: it is proved a little later.
func TestQuickChangesAreProved(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb))
	b := startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	for range 3 {
		b.Refresh()
		b.SetAway(true, "lunch")
		a.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.AwayText == "lunch" })
		b.Refresh()
		b.SetAway(false, "")
		a.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Status == "online" })
	}
}

// A channel's keys are renewed: once ChannelMaxAge old, the next message goes over a new
// channel (a new TLS 1.3 handshake, new ephemeral keys); before that, the open one is used.
func TestChannelsAreRenewed(t *testing.T) {
	const age = 600 * time.Millisecond
	a, b := securePair(t, func(c *Config) { c.ChannelMaxAge = age })
	send := func(text string) {
		t.Helper()
		ds, err := a.Send(context.Background(), text, b.addr)
		if err != nil || ds[0].Err != nil {
			t.Fatalf("send: %+v %v", ds, err)
		}
		b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == text })
	}
	start := time.Now()
	send("one")
	send("two")
	dialled := a.stats.channelsDialled.Load()
	if time.Since(start) < age && dialled != 1 {
		t.Fatalf("%d channels for two quick messages, want 1", dialled)
	}
	time.Sleep(age)
	send("three")
	if got := a.stats.channelsDialled.Load(); got != dialled+1 {
		t.Fatalf("%d channels after the age, want %d", got, dialled+1)
	}
}

// A peer that keeps a channel open past twice ChannelMaxAge has it closed by the server.
func TestOldChannelsAreClosed(t *testing.T) {
	const age = 300 * time.Millisecond
	a, b := securePair(t, func(c *Config) { c.ChannelMaxAge = age })
	d := tls.Dialer{Config: a.cfg.Identity.ClientConfig(b.cfg.Identity.Pub)}
	c, err := d.DialContext(context.Background(), "tcp4", b.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, _ := a.packet(ipmsg.UTF8, true, ipmsg.BrEntry, nil).Marshal()
	if err := writeFrame(c, hello); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(c); err != nil {
		t.Fatalf("no answer on a fresh channel: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := readFrame(c); err == nil {
		t.Fatal("a frame came unasked")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the channel stayed open %v", waited)
	}
}

// A verified colleague's name announced with another key (Bob reinstalled, or someone takes
// his place) is listed apart and flagged KeyChanged, which the window turns into a dialog;
// an unverified one only gets the warning.
func TestVerifiedKeyChangeFlagged(t *testing.T) {
	ca, cb, cn := loopbackConn(t), loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb), addrOf(cn))
	startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	if err := a.cfg.Pins.Verify("id-Bob"); err != nil {
		t.Fatal(err)
	}
	startNode(t, cn, "Bob", withKey(t), addrOf(ca)) // Bob's FeiGo ID, a new key
	p := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == addrOf(cn) }).Peer
	if !p.KeyChanged || !strings.Contains(p.Warning, "verified") || p.Verified {
		t.Fatalf("the new key is listed as %+v", p)
	}
	if bob, ok := colleague(a, "id-Bob"); !ok || bob.Addr != addrOf(cb) || bob.KeyChanged {
		t.Fatalf("Bob: %+v %v", bob, ok)
	}
}
