package node_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
)

// Read notices: the sender's record is read when the receiver opens the conversation, not
// before; a sealed message stays unread until it is opened itself; with receipts off,
// opening the conversation tells nobody, while opening a sealed message still does.
func TestReadReceiptsAndSealedMessages(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	bob := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" && ev.Peer.Secure }).Peer
	b.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Alice" })
	bobKey := history.PeerKey(bob.ID, bob.User, bob.Host)

	ds, err := a.Send(context.Background(), "lunch?", bob.Addr)
	if err != nil || ds[0].Err != nil {
		t.Fatal(err, ds)
	}
	sent := a.wait(t, event.MessageDelivered, nil).HistoryID
	got := b.wait(t, event.Message, nil)
	if !got.Message.ReadCheck {
		t.Fatal("a FeiGo message asks for no read notice")
	}
	aliceKey := history.PeerKey(got.Message.PeerID, got.Message.User, got.Message.Host)
	// Received and stored, not yet seen: unread at both ends.
	if rs, _ := a.HistoryPage(bobKey, 0, 10); len(rs) != 1 || !rs[0].ReadAt.IsZero() || !rs[0].ReadCheck {
		t.Fatalf("Alice's record before Bob looked: %+v", rs)
	}
	if k, err := b.OpenConversation(aliceKey); err != nil || k != 1 {
		t.Fatalf("OpenConversation: %d %v", k, err)
	}
	if ev := a.wait(t, event.MessageRead, nil); ev.HistoryID != sent {
		t.Fatalf("read event for record %d, want %d", ev.HistoryID, sent)
	}
	if rs, _ := a.HistoryPage(bobKey, 0, 10); rs[0].ReadAt.IsZero() {
		t.Fatal("Alice's record not read")
	}

	// Sealed: opening the conversation leaves it closed; opening it tells Alice.
	if _, err := a.SendWith(context.Background(), "", "the code is 4711", lan.SendOpts{Sealed: true}, bob.Addr); err != nil {
		t.Fatal(err)
	}
	sealed := a.wait(t, event.MessageDelivered, nil).HistoryID
	in := b.wait(t, event.Message, nil)
	if !in.Message.Sealed {
		t.Fatal("not received sealed")
	}
	if k, _ := b.OpenConversation(aliceKey); k != 0 {
		t.Fatalf("opening the conversation read %d messages, the sealed one among them", k)
	}
	// Receipts off: an ordinary message read tells nobody; the sealed one opened still does.
	b.SetReadReceipts(false)
	a.Send(context.Background(), "quiet", bob.Addr)
	b.wait(t, event.Message, func(ev lan.Event) bool { return ev.Message.Text == "quiet" })
	if k, _ := b.OpenConversation(aliceKey); k != 1 {
		t.Fatalf("read %d", k)
	}
	r, err := b.OpenSealed(aliceKey, in.HistoryID)
	if err != nil || r.Text != "the code is 4711" {
		t.Fatalf("OpenSealed: %+v %v", r, err)
	}
	if ev := a.wait(t, event.MessageRead, nil); ev.HistoryID != sealed {
		t.Fatalf("read event for record %d, want the sealed %d (receipts are off for the other)", ev.HistoryID, sealed)
	}
}

// Issue 15's bug: a message sealed by the user and queued while the colleague was away was
// delivered unsealed from the queue. It stays sealed in the history and arrives sealed; an
// unsealed one queued beside it arrives unsealed.
func TestQueuedSealedMessageArrivesSealed(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	bob := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" && ev.Peer.Secure }).Peer
	bobKey := history.PeerKey(bob.ID, bob.User, bob.Host)
	if ds, err := a.Send(context.Background(), "hello", bob.Addr); err != nil || ds[0].Err != nil {
		t.Fatal(err, ds)
	}
	b.wait(t, event.Message, nil)
	b.stop()
	a.wait(t, "peer_offline", nil)
	c, err := a.Contact("bob")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.QueueWith(context.Background(), "", "the code is 4711", c, lan.SendOpts{Sealed: true})
	if err != nil || sealed.State != history.StateQueued || !sealed.Sealed {
		t.Fatalf("QueueWith sealed: %+v, %v", sealed, err)
	}
	if ev := a.wait(t, event.MessageQueued, nil); !ev.Message.Sealed {
		t.Fatal("the queued event does not say sealed")
	}
	open, err := a.Queue(context.Background(), "", "lunch?", c)
	if err != nil || open.Sealed {
		t.Fatalf("Queue: %+v, %v", open, err)
	}

	b = startLoop(t, dirB, "Bob", pb, pa, nil)
	got := map[string]bool{}
	for len(got) < 2 {
		ev := b.wait(t, event.Message, nil)
		got[ev.Message.Text] = ev.Message.Sealed
	}
	if !got["the code is 4711"] || got["lunch?"] {
		t.Fatalf("received sealed: %v, want only the code sealed", got)
	}
	rs, err := a.History.Query(history.Filter{Peer: bobKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == sealed.ID && (!r.Sealed || r.State != history.StateDelivered) {
			t.Fatalf("Alice's sealed record after delivery: %+v", r)
		}
	}
	// Bob's copy stays closed until he opens it.
	in, err := b.History.Query(history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in {
		if r.Text == "the code is 4711" && (!r.Sealed || !r.ReadAt.IsZero()) {
			t.Fatalf("Bob's record of the sealed message: %+v", r)
		}
	}
}

// The attacker's side of the queue: while Bob (a FeiGo colleague whose key Alice pinned) is
// away, Mallory claims his FeiGo ID in a BR_ENTRY of her own, with no key. The sealed message
// queued for Bob went to her at once, in clear; it waits for Bob, who gets it sealed.
func TestQueuedSealedMessageNotToImpostor(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	bob := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" && ev.Peer.Secure }).Peer
	if ds, err := a.Send(context.Background(), "hello", bob.Addr); err != nil || ds[0].Err != nil {
		t.Fatal(err, ds)
	}
	b.wait(t, event.Message, nil)
	b.stop()
	a.wait(t, "peer_offline", nil)
	c, err := a.Contact("bob")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "the code is 4711"
	if _, err := a.QueueWith(context.Background(), "", secret, c, lan.SendOpts{Sealed: true}); err != nil {
		t.Fatal(err)
	}
	m, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer m.Close()
	entry, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 77, User: []byte(bob.User), Host: []byte(bob.Host), Cmd: ipmsg.BrEntry,
		Body: []byte("Bob\x00\x00\nFGID:" + bob.ID + "\x00")}.Marshal()
	m.WriteToUDP(entry, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pa})
	a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.ID == bob.ID && !ev.Peer.Secure })
	leaked := func(quiet time.Duration) bool {
		buf := make([]byte, 65536)
		for {
			m.SetReadDeadline(time.Now().Add(quiet))
			n, _, err := m.ReadFromUDP(buf)
			if err != nil {
				return false
			}
			if strings.Contains(string(buf[:n]), secret) {
				return true
			}
		}
	}
	if leaked(3 * time.Second) {
		t.Fatal("the sealed message queued for Bob went to whoever claimed his FeiGo ID")
	}
	// Bob is back (proving his key): he gets it, sealed.
	b = startLoop(t, dirB, "Bob", pb, pa, nil)
	if ev := b.wait(t, event.Message, func(ev lan.Event) bool { return ev.Message.Text == secret }); !ev.Message.Sealed {
		t.Fatal("Bob's copy is not sealed")
	}
	if leaked(200 * time.Millisecond) {
		t.Fatal("the sealed message went to the impostor too")
	}
}
