package room

import (
	"crypto/ed25519"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"feigo/trust"
)

// who is a test author: an identity and their next sequence number.
type who struct {
	id  *trust.Identity
	seq uint64
}

func newWho(t testing.TB, name string) *who {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	id, err := trust.NewIdentity(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return &who{id: id}
}

func (w *who) fp() string         { return w.id.Fingerprint().String() }
func (w *who) member() Member     { return Member{ID: w.fp(), Nick: w.fp()[:4]} }
func members(ws ...*who) []Member { return mapSlice(ws, (*who).member) }

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// ev signs w's next event in room at clock.
func (w *who) ev(room string, clock uint64, kind Kind, b Body) Event {
	w.seq++
	e := Event{Room: room, Seq: w.seq, Clock: clock, Kind: kind, Time: int64(clock), Body: NewBody(b)}
	Sign(w.id, &e)
	return e
}

// create makes w's room with ms; it returns the room ID and the event.
func (w *who) create(name string, ms ...*who) (string, Event) {
	id, nonce := NewRoomID(w.id.Pub)
	return id, w.ev(id, 1, KindCreate, Body{Name: name, Nonce: nonce, Members: members(ms...)})
}

func ids(ms []Member) string {
	s := mapSlice(ms, func(m Member) string { return m.ID[:6] })
	slices.Sort(s)
	return strings.Join(s, ",")
}

func TestFoldRules(t *testing.T) {
	a, b, c, x := newWho(t, "a"), newWho(t, "b"), newWho(t, "c"), newWho(t, "x")
	room, create := a.create("项目组", b)
	msgX := x.ev(room, 2, KindMsg, Body{Text: "let me in"})                        // not a member
	addByX := x.ev(room, 3, KindAdd, Body{Members: members(x)})                    // not a member: refused
	renameByB := b.ev(room, 2, KindRename, Body{Name: "mine"})                     // not the creator
	removeByB := b.ev(room, 3, KindRemove, Body{Member: a.fp(), Cutoff: 0})        // not the creator
	addC := b.ev(room, 4, KindAdd, Body{Members: members(c)})                      // any member may add
	msgC := c.ev(room, 5, KindMsg, Body{Text: "hello"})                            // c is a member now
	removeC := a.ev(room, 6, KindRemove, Body{Member: c.fp(), Cutoff: 1})          // a saw c's first
	lateC := c.ev(room, 7, KindMsg, Body{Text: "after my removal"})                // refused
	backdated := c.ev(room, 5, KindMsg, Body{Text: "backdated before my removal"}) // seq 3 > cutoff 1
	rename := a.ev(room, 8, KindRename, Body{Name: "项目组 2"})
	all := []Event{create, msgX, addByX, renameByB, removeByB, addC, msgC, removeC, lateC, backdated, rename}
	tl := Fold(all)
	want := map[*Event]bool{&create: true, &msgX: false, &addByX: false, &renameByB: false, &removeByB: false,
		&addC: true, &msgC: true, &removeC: true, &lateC: false, &backdated: false, &rename: true}
	names := map[*Event]string{&create: "create", &msgX: "non-member's message", &addByX: "non-member's add",
		&renameByB: "member's rename", &removeByB: "member's remove", &addC: "member's add", &msgC: "added member's message",
		&removeC: "creator's remove", &lateC: "removed member's later message", &backdated: "removed member's backdated message",
		&rename: "creator's rename"}
	for e, w := range want {
		if got := tl.Valid(e); got != w {
			t.Errorf("%s: valid %v, want %v", names[e], got, w)
		}
	}
	if tl.Name != "项目组 2" || ids(tl.Members) != ids(members(a, b)) || tl.Creator != a.fp() {
		t.Errorf("room: name %q members %s creator %s", tl.Name, ids(tl.Members), tl.Creator)
	}
	if tl.IsMember(c.fp()) || !tl.Ever(c.fp()) || tl.IsMember(x.fp()) {
		t.Error("membership of the removed member or the stranger is wrong")
	}

	// A creator who left has no powers left; a re-added creator neither.
	a2, b2 := newWho(t, "a2"), newWho(t, "b2")
	r2, c2 := a2.create("r2", b2)
	leave := a2.ev(r2, 2, KindLeave, Body{})
	readd := b2.ev(r2, 3, KindAdd, Body{Members: members(a2)})
	rn := a2.ev(r2, 4, KindRename, Body{Name: "after leaving"})
	tl2 := Fold([]Event{c2, leave, readd, rn})
	if !tl2.Valid(&leave) || !tl2.Valid(&readd) || tl2.Valid(&rn) || tl2.Name != "r2" {
		t.Errorf("creator who left: leave %v readd %v rename %v name %q", tl2.Valid(&leave), tl2.Valid(&readd), tl2.Valid(&rn), tl2.Name)
	}

	// A creation whose ID is not its author's is nothing.
	y := newWho(t, "y")
	_, nonce := NewRoomID(y.id.Pub)
	fake := y.ev(room, 1, KindCreate, Body{Name: "hijack", Nonce: nonce, Members: members(y)})
	if _, err := fake.Decode(); err == nil {
		t.Error("a creation for another's room ID decodes")
	}
	if tl := Fold([]Event{fake, msgX}); tl.Created || tl.Valid(&msgX) {
		t.Error("a hijacked creation makes a room")
	}
}

func TestForgedEventsRefused(t *testing.T) {
	a, x := newWho(t, "a"), newWho(t, "x")
	room, create := a.create("r", x)
	if err := create.Verify(); err != nil {
		t.Fatalf("a good event: %v", err)
	}
	msg := a.ev(room, 2, KindMsg, Body{Text: "真的"})
	cases := map[string]func(e *Event){
		"body changed":      func(e *Event) { e.Body = NewBody(Body{Text: "假的"}) },
		"seq changed":       func(e *Event) { e.Seq++ },
		"clock changed":     func(e *Event) { e.Clock = 1 },
		"kind changed":      func(e *Event) { e.Kind = KindFiles },
		"room changed":      func(e *Event) { e.Room = strings.Repeat("0", 32) },
		"signed by x as a":  func(e *Event) { e.Sig = x.id.Sign(e.Signed()) },
		"x's key, a's name": func(e *Event) { e.Key = x.id.Pub; e.Sig = x.id.Sign(e.Signed()) },
		"a's name, x's key re-hashed": func(e *Event) {
			e.Author = x.fp() // x re-signs as itself but claims a's place: a different author
			e.Key = a.id.Pub
			e.Sig = x.id.Sign(e.Signed())
		},
		"no signature":   func(e *Event) { e.Sig = nil },
		"huge clock":     func(e *Event) { e.Clock = MaxClock + 1; e.Sig = a.id.Sign(e.Signed()) },
		"redacted":       func(e *Event) {},
		"redacted admin": func(e *Event) {},
	}
	for name, f := range cases {
		e := msg
		e.Body = append([]byte(nil), msg.Body...)
		if name == "redacted" {
			if r := e.Redacted(); r.Verify() != nil {
				t.Errorf("a redacted message does not verify: %v", r.Verify())
			}
			continue
		}
		if name == "redacted admin" {
			if r := create.Redacted(); r.Verify() == nil {
				t.Error("a change without its body verifies")
			}
			continue
		}
		f(&e)
		if err := e.Verify(); err == nil {
			t.Errorf("%s: verifies", name)
		}
	}
}

// The fold of the same change events is the same whatever order they arrive in, with
// concurrent adds, removes, leaves and renames (what the Manager's incremental path does
// is tested in manager_test.go with random delivery orders).
func TestFoldDeterministicAnyOrder(t *testing.T) {
	evs, _ := concurrentRoom(t)
	want := Fold(evs)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		p := slices.Clone(evs)
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		got := Fold(p)
		if got.Name != want.Name || ids(got.Members) != ids(want.Members) {
			t.Fatalf("order changed the room: %q %s vs %q %s", got.Name, ids(got.Members), want.Name, ids(want.Members))
		}
		for i := range evs {
			if got.Valid(&evs[i]) != want.Valid(&evs[i]) {
				t.Fatalf("order changed whether event %d stands", i)
			}
		}
	}
}

// concurrentRoom is a room with concurrent changes and messages by five authors; it returns
// the events and the authors.
func concurrentRoom(t testing.TB) ([]Event, []*who) {
	a, b, c, d, e := newWho(t, "a"), newWho(t, "b"), newWho(t, "c"), newWho(t, "d"), newWho(t, "e")
	room, create := a.create("start", b, c)
	evs := []Event{create,
		b.ev(room, 2, KindAdd, Body{Members: members(d)}),          // concurrent with…
		a.ev(room, 2, KindRemove, Body{Member: c.fp(), Cutoff: 0}), // …c's removal (c wrote nothing yet)
		c.ev(room, 2, KindAdd, Body{Members: members(e)}),          // c, not knowing: beyond the cutoff, refused
		c.ev(room, 3, KindMsg, Body{Text: "c speaks"}),             // refused too
		a.ev(room, 3, KindRename, Body{Name: "one"}),               // concurrent renames by the creator…
		d.ev(room, 3, KindMsg, Body{Text: "d here"}),               // d was added at 2
		b.ev(room, 3, KindMsg, Body{Text: "b here"}),
		a.ev(room, 4, KindRename, Body{Name: "two"}),               // …the later wins
		e.ev(room, 5, KindMsg, Body{Text: "e never got in"}),       // e's add was refused
		b.ev(room, 5, KindLeave, Body{}),                           // b leaves
		b.ev(room, 6, KindMsg, Body{Text: "b after leaving"}),      // refused
		d.ev(room, 7, KindAdd, Body{Members: members(b)}),          // d re-adds b
		b.ev(room, 8, KindMsg, Body{Text: "b back"}),               // b is back
		a.ev(room, 9, KindRemove, Body{Member: d.fp(), Cutoff: 2}), // d removed; d's seq 1, 2 stand
		d.ev(room, 8, KindMsg, Body{Text: "d, concurrent, seq 3"}), // beyond the cutoff: refused
	}
	tl := Fold(evs)
	if tl.Name != "two" || ids(tl.Members) != ids(members(a, b)) {
		t.Fatalf("the concurrent room: %q %s", tl.Name, ids(tl.Members))
	}
	wantValid := []bool{true, true, true, false, false, true, true, true, true, false, true, false, true, true, true, false}
	for i := range evs {
		if tl.Valid(&evs[i]) != wantValid[i] {
			t.Errorf("event %d (%s by %s…): valid %v", i, evs[i].Kind, evs[i].Author[:6], !wantValid[i])
		}
	}
	return evs, []*who{a, b, c, d, e}
}
