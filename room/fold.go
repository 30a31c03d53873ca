package room

import (
	"math"
	"slices"
)

// Timeline is a room as its change events make it: its creator, name and members now, and
// who was a member when, so that each message can be judged where the order puts it. It is
// the same on every machine that holds the same change events, whatever order they came in.
type Timeline struct {
	Created  bool
	Room     string
	Creator  string
	Name     string
	Members  []Member // now, in the order they were added
	created  Pos
	spans    map[string][]span    // membership spans per member, in order
	removals map[string][]removal // valid removals per member, in order
	valid    map[key]bool         // per change event
}

type key struct {
	author string
	seq    uint64
}

// span is a stretch of the order in which someone was a member: after from, and before to
// unless open.
type span struct {
	from, to Pos
	open     bool
}

type removal struct {
	at     Pos
	cutoff uint64
}

// Fold builds the timeline of a room from its change events (kinds for which Kind.Control
// is true, signatures already checked; others are ignored). The rules, applied in order:
// the creation comes first and is its creator's first event; the author of every later event
// must be a member at its place in the order; any member may add; a member leaves by their
// own event; only the creator, until they leave, may remove (not themselves) and rename; and
// an event of a removed member later than the removal's cutoff is refused wherever it is
// placed, so that backdating cannot put a removed member's words before their removal.
// Concurrent changes are settled by the order: the later one wins.
func Fold(events []Event) *Timeline {
	evs := make([]Event, 0, len(events))
	for _, e := range events {
		if e.Kind.Control() {
			evs = append(evs, e)
		}
	}
	slices.SortFunc(evs, func(a, b Event) int {
		switch {
		case a.Pos().Less(b.Pos()):
			return -1
		case b.Pos().Less(a.Pos()):
			return 1
		}
		return 0
	})
	t := &Timeline{spans: map[string][]span{}, removals: map[string][]removal{}, valid: map[key]bool{}}
	bodies := make([]Body, len(evs))
	ok := make([]bool, len(evs))
	for i := range evs {
		b, err := evs[i].Decode()
		bodies[i], ok[i] = b, err == nil
		if ok[i] && evs[i].Kind == KindCreate && evs[i].Seq == 1 && !t.Created {
			t.Created, t.Room, t.Creator, t.created = true, evs[i].Room, evs[i].Author, evs[i].Pos()
		}
	}
	if !t.Created {
		return t
	}
	// The creator's powers last until their first leave.
	powers := uint64(math.MaxUint64)
	for i, e := range evs {
		if ok[i] && e.Author == t.Creator && e.Kind == KindLeave && e.Seq < powers {
			powers = e.Seq
		}
	}
	creatorMay := func(e Event) bool { return e.Author == t.Creator && e.Seq < powers }
	for i, e := range evs {
		if ok[i] && e.Kind == KindRemove && creatorMay(e) && bodies[i].Member != t.Creator {
			m := bodies[i].Member
			t.removals[m] = append(t.removals[m], removal{e.Pos(), bodies[i].Cutoff})
		}
	}
	members := map[string]bool{}
	join := func(m Member, at Pos) {
		if members[m.ID] || len(t.Members) >= MaxMembers {
			return
		}
		members[m.ID] = true
		t.Members = append(t.Members, m)
		t.spans[m.ID] = append(t.spans[m.ID], span{from: at, open: true})
	}
	part := func(id string, at Pos) {
		if !members[id] {
			return
		}
		delete(members, id)
		t.Members = slices.DeleteFunc(t.Members, func(m Member) bool { return m.ID == id })
		s := t.spans[id]
		s[len(s)-1].to, s[len(s)-1].open = at, false
	}
	for i, e := range evs {
		k := key{e.Author, e.Seq}
		if !ok[i] {
			continue
		}
		if e.Pos() == t.created {
			t.valid[k] = true
			t.Name = bodies[i].Name
			join(Member{ID: e.Author, Nick: creatorNick(bodies[i].Members, e.Author)}, e.Pos())
			for _, m := range bodies[i].Members {
				join(m, e.Pos())
			}
			continue
		}
		if !t.created.Less(e.Pos()) || !members[e.Author] || !t.withinCutoff(e.Author, e.Seq, e.Pos()) {
			continue
		}
		b := bodies[i]
		switch e.Kind {
		case KindAdd:
			for _, m := range b.Members {
				join(m, e.Pos())
			}
		case KindRemove:
			if !creatorMay(e) || b.Member == t.Creator || !members[b.Member] {
				continue
			}
			part(b.Member, e.Pos())
		case KindLeave:
			part(e.Author, e.Pos())
		case KindRename:
			if !creatorMay(e) {
				continue
			}
			t.Name = b.Name
		default:
			continue // a second creation
		}
		t.valid[k] = true
	}
	return t
}

func creatorNick(ms []Member, id string) string {
	for _, m := range ms {
		if m.ID == id {
			return m.Nick
		}
	}
	return ""
}

// withinCutoff reports whether an event of author's with seq, placed at, comes before the
// cutoff of the first removal of author placed after it.
func (t *Timeline) withinCutoff(author string, seq uint64, at Pos) bool {
	for _, r := range t.removals[author] {
		if at.Less(r.at) {
			return seq <= r.cutoff
		}
	}
	return true
}

// MemberAt reports whether id was a member at the place at in the order.
func (t *Timeline) MemberAt(id string, at Pos) bool {
	for _, s := range t.spans[id] {
		if s.from.Less(at) && (s.open || at.Less(s.to)) {
			return true
		}
	}
	return false
}

// IsMember reports whether id is a member now.
func (t *Timeline) IsMember(id string) bool {
	for _, m := range t.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// Valid reports whether e stands: a change the fold applied, or a message whose author was
// a member where it is placed (and not beyond a removal's cutoff).
func (t *Timeline) Valid(e *Event) bool {
	if !t.Created {
		return false
	}
	if e.Kind.Control() {
		return t.valid[key{e.Author, e.Seq}]
	}
	return t.created.Less(e.Pos()) && t.MemberAt(e.Author, e.Pos()) && t.withinCutoff(e.Author, e.Seq, e.Pos())
}

// Ever reports whether id was ever a member (a removed member may still be told of their
// removal).
func (t *Timeline) Ever(id string) bool { return len(t.spans[id]) > 0 }
