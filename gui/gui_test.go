package gui

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"feigo/event"
	"feigo/lan"
	"feigo/peers"
)

// TestQuitWhileTheNodeStillEmits stops a node that, like lan.Node saying goodbye and settling
// the sends in flight, still reports events after its context is cancelled and before Run
// returns: they must not reach a closed queue (a panic that crashed the app on quit).
func TestQuitWhileTheNodeStillEmits(t *testing.T) {
	in := newInbox()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var returned atomic.Bool
	go func() { // the node's Run
		<-ctx.Done()
		for i := range 100 {
			in.Push(lan.Event{Type: event.MessageFailed, Message: &lan.Message{Text: "in flight"}, Error: lan.ErrNodeClosed.Error()})
			in.Push(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: string(rune('a' + i%26))}})
		}
		returned.Store(true)
		done <- nil
	}()
	closer := closeFunc(func() {
		if !returned.Load() {
			t.Error("the inbox was closed before the node's Run returned")
		}
		in.Close()
	})
	if err := shutdown(cancel, done, closer, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// After Run has returned nothing else emits; a stray event is dropped, not a crash.
	in.Push(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: "late"}})
}

// TestPushNeverBlocks floods the queue with no window reading it: the node's OnEvent, called
// on its UDP read loop, must return at once, whatever the events.
func TestPushNeverBlocks(t *testing.T) {
	in := newInbox()
	t.Cleanup(in.Close)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for i := range 20_000 {
			in.Push(lan.Event{Type: event.PeerOnline, Peer: &peers.Peer{ID: string(rune(0x4e00 + i))}})
		}
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("OnEvent blocked with the queue full")
	}
}

type closeFunc func()

func (f closeFunc) Close() { f() }
