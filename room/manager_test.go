package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"feigo/event"
	"feigo/history"
)

// lan is an in-memory LAN of managers: a request reaches a manager that is up, as a TLS
// channel would (the asker's fingerprint is what the channel proved).
type fakeLAN struct {
	mu sync.Mutex
	ms map[string]*Manager
	up map[string]bool
}

type fakeTransport struct {
	l  *fakeLAN
	me string
}

func (t fakeTransport) Request(ctx context.Context, id string, body []byte) ([]byte, error) {
	t.l.mu.Lock()
	m, ok := t.l.ms[id]
	up := t.l.up[id] && t.l.up[t.me]
	t.l.mu.Unlock()
	if !ok || !up {
		return nil, errors.New("offline")
	}
	return m.Handle(t.me, body), nil
}

func (t fakeTransport) Online() map[string]string {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	out := map[string]string{}
	if !t.l.up[t.me] {
		return out
	}
	for id := range t.l.ms {
		if id != t.me && t.l.up[id] {
			out[id] = id[:4]
		}
	}
	return out
}

func (l *fakeLAN) set(w *who, up bool) {
	l.mu.Lock()
	l.up[w.fp()] = up
	l.mu.Unlock()
}

// inbox records what a manager reported.
type inbox struct {
	mu  sync.Mutex
	got []Report
	all []event.Type
}

func (in *inbox) texts(typ event.Type) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for i, r := range in.got {
		if in.all[i] == typ && r.Text != "" {
			out = append(out, r.Text)
		}
	}
	return out
}

func (l *fakeLAN) add(t testing.TB, w *who) (*Manager, *inbox) {
	t.Helper()
	st, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in := &inbox{}
	m, err := New(Config{Identity: w.id, Store: st, Transport: fakeTransport{l, w.fp()}, Nick: func() string { return w.fp()[:4] },
		Emit: func(typ event.Type, r Report) {
			in.mu.Lock()
			in.got, in.all = append(in.got, r), append(in.all, typ)
			in.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.ms[w.fp()], l.up[w.fp()] = m, true
	l.mu.Unlock()
	return m, in
}

func delivered(s Sent) (yes, queued []string) {
	for _, d := range s.Deliveries {
		if d.Delivered {
			yes = append(yes, d.Member[:4])
		} else {
			queued = append(queued, d.Member[:4])
		}
	}
	slices.Sort(yes)
	slices.Sort(queued)
	return
}

func TestManagerDeliveryCatchUpAndRemoval(t *testing.T) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	a, b, c, d := newWho(t, "a"), newWho(t, "b"), newWho(t, "c"), newWho(t, "d")
	ma, ina := l.add(t, a)
	mb, inb := l.add(t, b)
	mc, inc := l.add(t, c)
	md, ind := l.add(t, d)
	s, err := ma.Create(ctx, "周会", members(b, c))
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room.ID
	if yes, q := delivered(s); len(yes) != 2 || len(q) != 0 {
		t.Fatalf("creation delivered to %v, queued %v", yes, q)
	}
	for i := range 3 {
		s, err := ma.Send(ctx, room, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if yes, _ := delivered(s); len(yes) != 2 {
			t.Fatalf("m%d delivered to %v", i, yes)
		}
	}
	for name, in := range map[string]*inbox{"b": inb, "c": inc} {
		if got := strings.Join(in.texts(TypeMessage), ","); got != "m0,m1,m2" {
			t.Errorf("%s received %s", name, got)
		}
	}
	if got := ind.texts(TypeMessage); len(got) != 0 {
		t.Errorf("d, not a member, received %v", got)
	}

	// c is away while a writes; then a leaves the LAN; c comes back and gets it from b.
	l.set(c, false)
	for i := 3; i < 5; i++ {
		s, err := ma.Send(ctx, room, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if yes, q := delivered(s); len(yes) != 1 || len(q) != 1 || q[0] != c.fp()[:4] {
			t.Fatalf("m%d: delivered %v queued %v", i, yes, q)
		}
	}
	l.set(a, false)
	l.set(c, true)
	mc.syncWith(ctx, b.fp())
	if got := strings.Join(inc.texts(TypeMessage), ","); got != "m0,m1,m2,m3,m4" {
		t.Errorf("c after catching up from b: %s", got)
	}
	mb.syncWith(ctx, c.fp()) // b now knows c holds everything
	l.set(a, true)
	ma.syncWith(ctx, b.fp()) // a learns from b… and from c directly
	ma.syncWith(ctx, c.fp())
	lines, _ := ma.History(room, 0)
	for _, ln := range lines {
		if ln.Kind == KindMsg && len(ln.DeliveredTo) != 2 {
			t.Errorf("a's record of %s: delivered to %v", ln.Text, ln.DeliveredTo)
		}
	}

	// d is added late: it sees the room from then on (earlier messages without their text).
	if _, err := mb.Add(ctx, room, members(d)); err != nil {
		t.Fatal(err)
	}
	if _, err := ma.Send(ctx, room, "m5"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ind.texts(TypeMessage), ","); got != "m5" {
		t.Errorf("d, added late, received %q", got)
	}
	dl, err := md.History(room, 0)
	if err != nil {
		t.Fatal(err)
	}
	var redacted, plain int
	for _, ln := range dl {
		if ln.Kind == KindMsg && ln.Redacted {
			redacted++
		} else if ln.Kind == KindMsg {
			plain++
		}
	}
	if redacted != 0 || plain != 1 {
		t.Errorf("d's history: %d messages without text, %d with (want only the one after its add)", redacted, plain)
	}
	if rows, _ := md.cfg.Store.Query(history.Filter{Peer: history.RoomPeer(room)}); len(rows) != 1 {
		t.Errorf("d's searchable room rows: %d, want 1", len(rows))
	}

	// c is removed: it gets nothing afterwards and cannot post.
	if _, err := mb.Remove(ctx, room, c.fp()); !errors.Is(err, ErrNotCreator) {
		t.Errorf("b removing: %v", err)
	}
	if _, err := ma.Remove(ctx, room, c.fp()); err != nil {
		t.Fatal(err)
	}
	before := len(inc.texts(TypeMessage))
	s, err = ma.Send(ctx, room, "m6 secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, dv := range s.Deliveries {
		if dv.Member == c.fp() {
			t.Error("a message went to the removed member")
		}
	}
	mc.syncWith(ctx, b.fp())
	if got := inc.texts(TypeMessage); len(got) != before {
		t.Errorf("the removed member received %v", got[before:])
	}
	// Even handed straight to it (by a member who had not heard of the removal), a message
	// placed after the removal is neither shown to the removed member nor in its history.
	row, err := ma.cfg.Store.RoomEvent(room, a.fp(), s.Seq)
	if err != nil {
		t.Fatal(err)
	}
	late := fromRow(row)
	late.Room = ""
	mc.Handle(a.fp(), encode(request{Op: "push", Room: room, Events: []Event{late}}))
	if got := inc.texts(TypeMessage); len(got) != before {
		t.Errorf("the removed member was shown %v", got[before:])
	}
	cl, _ := mc.History(room, 0)
	for _, ln := range cl {
		if strings.Contains(ln.Text, "m6") {
			t.Error("the removed member's history shows a message placed after its removal")
		}
	}
	if _, err := mc.Send(ctx, room, "still here?"); !errors.Is(err, ErrNotMember) {
		t.Errorf("the removed member's send: %v", err)
	}
	// c forges its way in: a signed message pushed straight to b is refused.
	forged := Event{Room: room, Seq: 99, Clock: 1000, Kind: KindMsg, Time: 1, Body: NewBody(Body{Text: "forged"})}
	c.seq = 0
	mc.mu.Lock()
	forged.Seq = mc.rooms[room].heads[c.fp()] + 1
	mc.mu.Unlock()
	Sign(c.id, &forged)
	forged.Room = ""
	mb.Handle(c.fp(), encode(request{Op: "push", Room: room, Events: []Event{forged}}))
	if got := inb.texts(TypeMessage); slices.Contains(got, "forged") {
		t.Error("b took the removed member's message")
	}
	if _, err := mb.cfg.Store.RoomEvent(room, c.fp(), forged.Seq); err == nil {
		t.Error("b stored the removed member's message")
	}
	// Non-member x pushes a message of its own.
	x := newWho(t, "x")
	xe := Event{Room: room, Seq: 1, Clock: 2000, Kind: KindMsg, Time: 1, Body: NewBody(Body{Text: "x was here"})}
	Sign(x.id, &xe)
	mb.Handle(x.fp(), encode(request{Op: "push", Room: room, Events: []Event{xe}}))
	bad := xe
	bad.Body = NewBody(Body{Text: "tampered"})
	mb.Handle(x.fp(), encode(request{Op: "push", Room: room, Events: []Event{bad}}))
	if got := inb.texts(TypeMessage); slices.Contains(got, "x was here") || slices.Contains(got, "tampered") {
		t.Error("b took a non-member's message")
	}
	if sigs, _ := mb.Stats(); sigs == 0 {
		t.Error("the tampered event was not counted")
	}
	// A pull from the removed member gets nothing.
	var ans answer
	raw := mb.Handle(c.fp(), encode(request{Op: "pull", Heads: map[string]map[string]uint64{}}))
	if err := json.Unmarshal(raw, &ans); err != nil || len(ans.Events) != 0 {
		t.Errorf("a pull by the removed member: %d events, %v", len(ans.Events), err)
	}
	_ = ina
}

// The incremental path (held gaps, late changes undoing messages) ends where the fold of
// everything does, whatever order the events arrive in.
func TestManagerAnyDeliveryOrder(t *testing.T) {
	evs, ws := concurrentRoom(t)
	want := Fold(evs)
	var wantValid []string
	for i := range evs {
		if want.Valid(&evs[i]) {
			wantValid = append(wantValid, fmt.Sprint(evs[i].Author[:6], evs[i].Seq))
		}
	}
	slices.Sort(wantValid)
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 30 {
		l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
		m, _ := l.add(t, ws[1]) // b, a member (who left and came back)
		p := slices.Clone(evs)
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		for len(p) > 0 {
			n := 1 + r.IntN(4)
			n = min(n, len(p))
			m.ingest("x", p[:n])
			p = p[n:]
		}
		infos := m.Rooms()
		if len(infos) != 1 || infos[0].Name != want.Name || len(infos[0].Members) != len(want.Members) {
			t.Fatalf("round %d: %+v", round, infos)
		}
		lines, err := m.History(evs[0].Room, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ln := range lines {
			got = append(got, fmt.Sprint(ln.Author[:6], ln.Seq))
		}
		slices.Sort(got)
		if strings.Join(got, " ") != strings.Join(wantValid, " ") {
			t.Fatalf("round %d: the events that stand\n %v\nwant\n %v", round, got, wantValid)
		}
		// The searchable rows are those of the messages that stand.
		rs, err := m.cfg.Store.Query(history.Filter{Peer: history.RoomPeer(evs[0].Room)})
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, r := range rs {
			texts = append(texts, r.Text)
		}
		slices.Sort(texts)
		if strings.Join(texts, "|") != "b back|b here|d here" {
			t.Fatalf("round %d: searchable rows %q", round, texts)
		}
	}
}

// A member away for many messages gets them all, in order, in batches; a member's requests
// are rate-limited, and events waiting for a missing earlier one are bounded.
func TestManagerBatchesAndBounds(t *testing.T) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	a, b := newWho(t, "a"), newWho(t, "b")
	ma, _ := l.add(t, a)
	mb, inb := l.add(t, b)
	s, err := ma.Create(ctx, "big", members(b))
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room.ID
	l.set(b, false)
	var want []string
	for i := range 300 {
		want = append(want, fmt.Sprintf("n%03d %s", i, strings.Repeat("x", 500)))
		if _, err := ma.Send(ctx, room, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	l.set(b, true)
	mb.syncWith(ctx, a.fp())
	if got := inb.texts(TypeMessage); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("b caught up with %d of 300 messages (in order: %v)", len(got), len(got) == 300)
	}

	// The biggest answer fits in a channel's frame (lan's 96 KiB), with room for the header.
	for i := range 6 {
		if _, err := ma.Send(ctx, room, fmt.Sprint(i)+strings.Repeat("长", MaxText/3-1)); err != nil {
			t.Fatal(err)
		}
	}
	for _, heads := range []map[string]uint64{{}, {a.fp(): 301}} {
		raw := ma.Handle(b.fp(), encode(request{Op: "pull", Heads: map[string]map[string]uint64{room: heads}}))
		if len(raw) > 96<<10-512 {
			t.Errorf("a pull's answer takes %d bytes", len(raw))
		}
	}

	// A flood of pulls is answered "slow down" past the burst.
	slow := 0
	for range pullBurst + 20 {
		var ans answer
		json.Unmarshal(mb.Handle(a.fp(), encode(request{Op: "pull"})), &ans)
		if ans.Error == "slow down" {
			slow++
		}
	}
	if slow < 10 {
		t.Errorf("%d of %d pulls refused", slow, pullBurst+20)
	}

	// Made-up keys by the hundred, each with its first event: none is kept on disk (never
	// members), and what waits in memory is bounded.
	var junk []Event
	for i := range 600 {
		w := newWho(t, fmt.Sprint("junk", i))
		junk = append(junk, w.ev(room, 20000, KindMsg, Body{Text: "junk"}))
	}
	for i := 0; i < len(junk); i += MaxBatch {
		mb.Handle(a.fp(), encode(request{Op: "push", Room: room, Events: junk[i:min(i+MaxBatch, len(junk))]}))
	}
	heads, _, err := mb.cfg.Store.RoomHeads(room)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 1 { // a's events only
		t.Errorf("b stored events of %d authors", len(heads))
	}
	mb.mu.Lock()
	held := len(mb.rooms[room].held)
	nheads := len(mb.rooms[room].heads)
	mb.mu.Unlock()
	if held > MaxHeld || nheads != 1 {
		t.Errorf("%d events held, %d authors in memory", held, nheads)
	}

	// Events far ahead of a gap: at most MaxHeld wait.
	x := newWho(t, "x")
	x.seq = 1 // seq 1 never comes
	var evs []Event
	for i := range MaxHeld + 100 {
		evs = append(evs, x.ev(room, uint64(10000+i), KindMsg, Body{Text: "ahead"}))
	}
	for i := 0; i < len(evs); i += MaxBatch {
		mb.ingest(x.fp(), evs[i:min(i+MaxBatch, len(evs))])
	}
	mb.mu.Lock()
	held = len(mb.rooms[room].held)
	mb.mu.Unlock()
	if held > MaxHeld {
		t.Errorf("%d events held", held)
	}
}

// One colleague cannot fill a node's rooms: past MaxRoomsPerCreator, their rooms with it are
// refused (and not reported).
func TestManagerRoomsPerCreatorBounded(t *testing.T) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	a, b := newWho(t, "a"), newWho(t, "b")
	ma, _ := l.add(t, a)
	mb, inb := l.add(t, b)
	for i := range MaxRoomsPerCreator + 5 {
		if _, err := ma.Create(ctx, fmt.Sprint("spam ", i), members(b)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mb.Rooms()); n != MaxRoomsPerCreator {
		t.Errorf("b keeps %d of a's rooms", n)
	}
	inb.mu.Lock()
	reported := len(inb.got)
	inb.mu.Unlock()
	if reported != MaxRoomsPerCreator {
		t.Errorf("b reported %d creations", reported)
	}
	// b's own rooms are still its own to make.
	if _, err := mb.Create(ctx, "mine", members(a)); err != nil {
		t.Error(err)
	}
}

// A colleague added while away learns of the room when back, from any member (here not the
// one who added them, who is away by then), and sees it from their add on.
func TestManagerAddedWhileAway(t *testing.T) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	a, b, e := newWho(t, "a"), newWho(t, "b"), newWho(t, "e")
	ma, _ := l.add(t, a)
	mb, _ := l.add(t, b)
	me, ine := l.add(t, e)
	s, err := ma.Create(ctx, "later", members(b))
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room.ID
	ma.Send(ctx, room, "before e")
	l.set(e, false)
	s, err = ma.Add(ctx, room, members(e))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Deliveries {
		if d.Member == e.fp() && !d.Queued {
			t.Errorf("the add to an absent colleague: %+v", d)
		}
	}
	ma.Send(ctx, room, "after e was added")
	l.set(a, false)
	l.set(e, true)
	if !mb.shares(e.fp()) {
		t.Fatal("b does not know e shares the room")
	}
	mb.syncWith(ctx, e.fp()) // b saw e come online
	if got := strings.Join(ine.texts(TypeMessage), ","); got != "after e was added" {
		t.Errorf("e received %q", got)
	}
	if rs := me.Rooms(); len(rs) != 1 || !rs[0].Member || rs[0].Name != "later" || len(rs[0].Members) != 3 {
		t.Errorf("e's rooms: %+v", rs)
	}
}

// Acknowledgements are written to the history when Run ends (and every ackFlushEvery): a
// manager loaded again from the same history knows who holds what, and does not push it
// again.
func TestAcksKeptAcrossARestart(t *testing.T) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	a, b := newWho(t, "a"), newWho(t, "b")
	ma, _ := l.add(t, a)
	l.add(t, b)
	s, err := ma.Create(ctx, "acks", members(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ma.Send(ctx, s.Room.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	if !ma.has(s.Room.ID, b.fp(), a.fp(), 2) {
		t.Fatal("b's acknowledgement of the message is not recorded")
	}
	reload := func() *Manager {
		m, err := New(Config{Identity: a.id, Store: ma.cfg.Store, Transport: fakeTransport{l, a.fp()}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if reload().has(s.Room.ID, b.fp(), a.fp(), 1) {
		t.Fatal("acknowledgements written before a flush (this test would not see one go missing)")
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ma.Run(rctx) }()
	cancel()
	<-done
	again := reload()
	if !again.has(s.Room.ID, b.fp(), a.fp(), 2) {
		t.Fatal("after Run ended, a reloaded manager does not know b holds the message")
	}
	if again.behind(b.fp()) {
		t.Fatal("a reloaded manager takes b to lack events")
	}
}
