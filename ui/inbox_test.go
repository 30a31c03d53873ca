package ui

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/xfer"
)

func peerEv(typ event.Type, id, nick string) lan.Event {
	return lan.Event{Type: typ, Peer: &peers.Peer{ID: id, Nick: nick}}
}

func xferEv(typ event.Type, id int, done int64) lan.Event {
	return lan.Event{Type: typ, Transfer: &xfer.Transfer{ID: id, Done: done}}
}

// describe names an event for comparisons: "type peer/nick" or "type #id/done".
func describe(ev lan.Event) string {
	switch {
	case ev.Peer != nil:
		return fmt.Sprintf("%s %s/%s", ev.Type, ev.Peer.ID, ev.Peer.Nick)
	case ev.Transfer != nil:
		return fmt.Sprintf("%s #%d/%d", ev.Type, ev.Transfer.ID, ev.Transfer.Done)
	case ev.Message != nil:
		return fmt.Sprintf("%s %s", ev.Type, ev.Message.Text)
	}
	return string(ev.Type)
}

type delivery struct {
	batch  []string
	resync bool
	shown  func()
}

// deliveries starts in with a window stand-in that reports each batch on the channel.
func deliveries(t *testing.T, in *Inbox) <-chan delivery {
	t.Helper()
	ch := make(chan delivery, 16)
	in.start(func(batch []lan.Event, resync bool, shown func()) {
		var ds []string
		for _, ev := range batch {
			ds = append(ds, describe(ev))
		}
		ch <- delivery{ds, resync, shown}
	})
	t.Cleanup(in.Close)
	return ch
}

func next(t *testing.T, ch <-chan delivery) delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no batch came")
		return delivery{}
	}
}

func TestInboxCoalescesProgressAndPeerUpdates(t *testing.T) {
	in := NewInbox(0)
	for _, ev := range []lan.Event{
		xferEv(event.TransferProgress, 1, 1),
		peerEv(event.PeerUpdated, "b", "v1"),
		xferEv(event.TransferProgress, 1, 2),
		{Type: event.Message, Message: &lan.Message{Text: "hi"}},
		xferEv(event.TransferProgress, 2, 1),
		peerEv(event.PeerUpdated, "b", "v2"),
		xferEv(event.TransferDone, 1, 9),
		xferEv(event.TransferProgress, 1, 3), // after done: keeps its place after it
		peerEv(event.PeerOffline, "b", "v2"),
		peerEv(event.PeerUpdated, "b", "v3"),
		peerEv(event.PeerUpdated, "c", "c1"),
		peerEv(event.PeerUpdated, "c", "c2"),
	} {
		in.Push(ev)
	}
	got := next(t, deliveries(t, in))
	want := []string{"transfer_progress #1/2", "peer_updated b/v2", "message hi", "transfer_progress #2/1",
		"transfer_done #1/9", "transfer_progress #1/3", "peer_offline b/v2", "peer_updated b/v3", "peer_updated c/c2"}
	if !slices.Equal(got.batch, want) || got.resync {
		t.Fatalf("batch\n%q, want\n%q (resync %v)", got.batch, want, got.resync)
	}
}

// TestInboxIsBoundedAndNeverBlocks floods an inbox no window reads: Push returns at once,
// it keeps limit events, and the window is told to re-read the core.
func TestInboxIsBoundedAndNeverBlocks(t *testing.T) {
	in := NewInbox(100)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for i := range 10_000 {
			in.Push(peerEv(event.PeerOnline, fmt.Sprint(i), "x"))
			in.Push(xferEv(event.TransferProgress, 7, int64(i))) // coalesced: no room taken
		}
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked")
	}
	got := next(t, deliveries(t, in))
	if len(got.batch) != 100 || !got.resync || got.batch[0] != "peer_online 0/x" || got.batch[1] != "transfer_progress #7/9999" {
		t.Fatalf("%d events (first %q), resync %v", len(got.batch), got.batch[:2], got.resync)
	}
}

// TestInboxDeliversOneBatchAtATime: what comes while a batch is being shown waits, and goes
// as the next batch once the window has shown the first.
func TestInboxDeliversOneBatchAtATime(t *testing.T) {
	in := NewInbox(0)
	ch := deliveries(t, in)
	in.Push(peerEv(event.PeerOnline, "a", "A"))
	first := next(t, ch)
	in.Push(peerEv(event.PeerOnline, "b", "B"))
	in.Push(peerEv(event.PeerOnline, "c", "C"))
	if quiet, _ := in.quiet(); quiet {
		t.Fatal("quiet with a batch on its way and two events waiting")
	}
	first.shown()
	second := next(t, ch)
	if !slices.Equal(first.batch, []string{"peer_online a/A"}) || !slices.Equal(second.batch, []string{"peer_online b/B", "peer_online c/C"}) {
		t.Fatalf("batches %q then %q", first.batch, second.batch)
	}
	second.shown()
	deadline := time.After(10 * time.Second)
	for {
		quiet, changed := in.quiet()
		if quiet {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the inbox did not become quiet")
		}
	}
}

// TestInboxClose: Close stops the goroutine even with a batch never shown (the window gone),
// and later events are dropped without a panic.
func TestInboxClose(t *testing.T) {
	in := NewInbox(0)
	ch := deliveries(t, in)
	in.Push(peerEv(event.PeerOnline, "a", "A"))
	next(t, ch) // never shown
	in.Push(peerEv(event.PeerOnline, "b", "B"))
	in.Close()
	select {
	case <-in.done:
	default:
		t.Fatal("Close returned before the inbox's goroutine")
	}
	in.Push(peerEv(event.PeerOnline, "c", "C"))
	in.Close()
	if quiet, _ := in.quiet(); !quiet {
		t.Fatal("a closed inbox holds events")
	}
	// Closed before it ever started: nothing to wait for.
	NewInbox(0).Close()
}

// TestFollowShowsABatchThroughOneDo: the window applies a batch in one call on Fyne's
// goroutine and, after events were dropped, re-reads the peers and transfers from the core
// (an offer among the dropped events still shows).
func TestFollowShowsABatchThroughOneDo(t *testing.T) {
	u, core := newTestUI(t, "en")
	var posts atomic.Int32
	u.post = func(f func()) { posts.Add(1); f() }
	u.after = func(time.Duration, func()) {} // the tree's coalesced redraw is not what this counts
	in := NewInbox(8)
	t.Cleanup(in.Close)
	for i := range 20 {
		p := peers.Peer{ID: fmt.Sprint(i), Nick: fmt.Sprintf("同事%02d", i), Group: "Dev", Addr: bobAddr, Status: peers.Online}
		core.peers = append(core.peers, p)
		in.Push(lan.Event{Type: event.PeerOnline, Peer: &p})
	}
	// From a stranger, whose conversation has no history to load.
	offer := xfer.Transfer{ID: 3, Direction: event.In, State: xfer.StateOffered, Nick: "Mallory", Addr: carolAddr,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a.txt", Size: 1, Attr: ipmsg.FileRegular}}}, Total: 1}
	core.xfers = []xfer.Transfer{offer}
	in.Push(lan.Event{Type: event.TransferOffered, Transfer: &offer}) // dropped: the inbox is full
	u.Follow(in)
	deadline := time.After(10 * time.Second)
	for {
		quiet, changed := in.quiet()
		if quiet {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the window did not take the events")
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d calls to fyne.Do for one batch", n)
	}
	if len(u.peers) != 20 || u.offers[3] == nil || len(u.xferIDs) != 1 {
		t.Fatalf("after the resync: %d peers, offer card %v, transfers %v", len(u.peers), u.offers[3] != nil, u.xferIDs)
	}
}
