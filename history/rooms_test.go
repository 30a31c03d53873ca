package history

import (
	"testing"
	"time"
)

func TestRoomStore(t *testing.T) {
	s := openTemp(t)
	room := "00112233445566778899aabbccddeeff"
	if err := s.AddRoom(room); err != nil {
		t.Fatal(err)
	}
	s.AddRoom(room) // again: still one
	if ids, err := s.Rooms(); err != nil || len(ids) != 1 || ids[0] != room {
		t.Fatalf("rooms %v %v", ids, err)
	}
	old := time.Now().Add(-48 * time.Hour)
	ev := func(author string, seq, clock uint64, kind string, at time.Time) RoomEvent {
		return RoomEvent{Room: room, Author: author, Seq: seq, Clock: clock, Kind: kind, Time: at.UnixMilli(),
			Key: []byte("k"), Hash: []byte("h"), Sig: []byte("s"), Body: []byte(`{"text":"周报 ` + kind + `"}`), Valid: true}
	}
	rec := func(text string) *Record {
		return &Record{Time: old, PeerID: "a", Nick: "A", Text: text, Direction: "in", State: StateReceived}
	}
	if ok, msg, err := s.PutRoomEvent(ev("a", 1, 1, "create", old), nil); !ok || msg != 0 || err != nil {
		t.Fatal(ok, msg, err)
	}
	ok, msg, err := s.PutRoomEvent(ev("a", 2, 2, "msg", old), rec("周报 old"))
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if e, err := s.RoomEvent(room, "a", 2); err != nil || e.Message != msg || msg == 0 {
		t.Fatalf("the messages row returned %d, kept %d (%v)", msg, e.Message, err)
	}
	if ok, msg, err := s.PutRoomEvent(ev("a", 2, 2, "msg", old), rec("周报 again")); ok || msg != 0 || err != nil {
		t.Fatalf("a second event with the same author and seq: stored %v (row %d), %v", ok, msg, err)
	}
	if ok, _, err := s.PutRoomEvent(ev("b", 1, 3, "msg", time.Now()), rec("周报 new")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	heads, clocks, err := s.RoomHeads(room)
	if err != nil || heads["a"] != 2 || heads["b"] != 1 || clocks["a"] != 2 || clocks["b"] != 3 {
		t.Fatalf("heads %v clocks %v %v", heads, clocks, err)
	}
	found, err := s.Query(Filter{Search: "周报"})
	if err != nil || len(found) != 2 {
		t.Fatalf("search found %d room messages (want 2: the duplicate is not kept): %v", len(found), err)
	}
	for _, r := range found {
		if r.Peer != RoomPeer(room) || !r.Encrypted {
			t.Errorf("a room message's record: %+v", r)
		}
	}
	// A message that stops standing leaves the search; one that stands again comes back.
	if err := s.SetRoomEventValid(room, "b", 1, false, nil); err != nil {
		t.Fatal(err)
	}
	if found, _ := s.Query(Filter{Search: "周报 new"}); len(found) != 0 {
		t.Error("a message that no longer stands is still found")
	}
	if err := s.SetRoomEventValid(room, "b", 1, true, rec("周报 new")); err != nil {
		t.Fatal(err)
	}
	if found, _ := s.Query(Filter{Search: "周报 new"}); len(found) != 1 {
		t.Error("a message that stands again is not found")
	}
	// Acknowledgements only rise.
	if err := s.SetRoomAcks([]RoomAck{{room, "c", "a", 2}, {room, "c", "b", 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoomAcks([]RoomAck{{room, "c", "a", 1}}); err != nil {
		t.Fatal(err)
	}
	if acks, err := s.RoomAcks(room); err != nil || acks["c"]["a"] != 2 || acks["c"]["b"] != 1 {
		t.Errorf("acks %v %v", acks, err)
	}
	// Retention drops old messages' text, keeps their headers and the room's changes.
	if _, err := s.Prune(time.Now().Add(-24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	all, err := s.RoomEvents(room, false)
	if err != nil || len(all) != 3 {
		t.Fatalf("after pruning: %d events, %v", len(all), err)
	}
	for _, e := range all {
		switch {
		case e.Kind == "create" && e.Body == nil:
			t.Error("pruning dropped a change's body")
		case e.Kind == "msg" && e.Author == "a" && (e.Body != nil || e.Message != 0):
			t.Error("pruning kept an old message's text or its link to a deleted row")
		case e.Kind == "msg" && e.Author == "b" && e.Body == nil:
			t.Error("pruning dropped a new message's text")
		}
	}
	if ctl, _ := s.RoomEvents(room, true); len(ctl) != 1 {
		t.Errorf("changes only: %d", len(ctl))
	}
	if after, _ := s.RoomEventsAfter(room, "a", 1, 10); len(after) != 1 || after[0].Seq != 2 {
		t.Errorf("events after: %+v", after)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}
