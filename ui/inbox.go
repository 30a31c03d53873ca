package ui

import (
	"sync"

	"feigo/event"
	"feigo/lan"
)

// DefaultInboxLimit is how many events an Inbox holds for the window when NewInbox is given 0.
const DefaultInboxLimit = 4096

// Inbox holds the node's events until the window takes them. Push is the node's OnEvent: it
// never blocks and may be called from any goroutine, before the window exists and after
// Close (it drops then). The window (UI.Follow) takes what has gathered in batches, one
// fyne.Do per batch, and asks for the next batch only once the last one is shown, so Fyne's
// own queue never grows with the LAN.
//
// An Inbox is bounded: of transfer_progress and peer_updated only the newest per transfer or
// peer waits, and once limit events wait a new one is dropped and the window re-reads the
// peers and transfers from the core instead (a flood from a hostile LAN costs memory for at
// most limit events).
type Inbox struct {
	limit int
	wake  chan struct{} // a token when there is something to deliver
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the delivering goroutine has returned

	mu      sync.Mutex
	q       []lan.Event
	latest  map[inboxKey]int // the index in q of the event a newer one of its kind replaces
	resync  bool             // events were dropped: the window must re-read the core
	busy    bool             // a batch is on its way to the window
	closed  bool
	started bool
	changed chan struct{} // closed at the next change of what waits (for tests)
}

// inboxKey names what an event is about for coalescing: a transfer's progress, or a peer.
type inboxKey struct {
	typ  event.Type
	peer string
	xfer int
}

// NewInbox returns an empty inbox holding up to limit events (DefaultInboxLimit if 0).
func NewInbox(limit int) *Inbox {
	if limit <= 0 {
		limit = DefaultInboxLimit
	}
	return &Inbox{limit: limit, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		latest: map[inboxKey]int{}}
}

// keyOf returns what ev is about and whether a newer event of that key replaces it.
func keyOf(ev lan.Event) (k inboxKey, coalesce, ok bool) {
	switch ev.Type {
	case event.TransferOffered, event.TransferStarted, event.TransferProgress, event.TransferDone, event.TransferFailed:
		if ev.Transfer == nil {
			return k, false, false
		}
		return inboxKey{typ: event.TransferProgress, xfer: ev.Transfer.ID}, ev.Type == event.TransferProgress, true
	case event.PeerOnline, event.PeerUpdated, event.PeerOffline:
		if ev.Peer == nil {
			return k, false, false
		}
		return inboxKey{typ: event.PeerUpdated, peer: ev.Peer.ID}, ev.Type == event.PeerUpdated, true
	}
	return k, false, false
}

// Push adds ev for the window. It never blocks.
func (in *Inbox) Push(ev lan.Event) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	k, coalesce, ok := keyOf(ev)
	if ok {
		if i, waiting := in.latest[k]; waiting {
			if coalesce {
				in.q[i] = ev // only the newest progress (or state) of it matters
				return
			}
			// Any other event about it keeps its place in the order: an update after it
			// must not move before it.
			delete(in.latest, k)
		}
	}
	if len(in.q) >= in.limit {
		if !in.resync {
			in.resync = true
			in.notify()
		}
		return
	}
	if coalesce {
		in.latest[k] = len(in.q)
	}
	in.q = append(in.q, ev)
	in.notify()
}

// notify wakes the delivering goroutine and whoever waits for a change. in.mu is held.
func (in *Inbox) notify() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
	if in.changed != nil {
		close(in.changed)
		in.changed = nil
	}
}

// start delivers batches with deliver until Close: deliver hands the events (and whether the
// window must re-read the core) to the window and calls shown once they are applied.
func (in *Inbox) start(deliver func(batch []lan.Event, resync bool, shown func())) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || in.started {
		return
	}
	in.started = true
	go in.run(deliver)
}

func (in *Inbox) run(deliver func([]lan.Event, bool, func())) {
	defer close(in.done)
	for {
		select {
		case <-in.wake:
		case <-in.stop:
			return
		}
		in.mu.Lock()
		batch, resync := in.q, in.resync
		in.q, in.resync = nil, false
		clear(in.latest)
		in.busy = len(batch) > 0 || resync
		in.mu.Unlock()
		if len(batch) == 0 && !resync {
			continue
		}
		shown := make(chan struct{})
		deliver(batch, resync, sync.OnceFunc(func() { close(shown) }))
		select {
		case <-shown:
		case <-in.stop:
			return
		}
		in.mu.Lock()
		in.busy = false
		in.notify()
		in.mu.Unlock()
	}
}

// Close stops the delivery and waits for its goroutine; events that wait are dropped, and so
// is every later Push. Close the inbox once nothing emits any more (the node's Run has
// returned); it is safe to call more than once.
func (in *Inbox) Close() {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		<-in.done
		return
	}
	in.closed = true
	in.q = nil
	clear(in.latest)
	started := in.started
	if in.changed != nil {
		close(in.changed)
		in.changed = nil
	}
	in.mu.Unlock()
	close(in.stop)
	if started {
		<-in.done
	} else {
		close(in.done)
	}
}

// quiet reports whether nothing waits in the inbox or is on its way to the window, and
// returns a channel closed at the next change.
func (in *Inbox) quiet() (bool, <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.changed == nil {
		in.changed = make(chan struct{})
	}
	return in.closed || (len(in.q) == 0 && !in.resync && !in.busy), in.changed
}
