package history

import (
	"feigo/event"
	"strings"
	"testing"
	"time"
)

func TestImagesOfAMessage(t *testing.T) {
	s := openTemp(t)
	sha := func(c string) string { return strings.Repeat(c, 64) }
	id, err := s.Add(Record{PeerID: "bob", Direction: event.In, Text: "look: and", State: StateReceived, PacketNo: 7,
		Images: []Image{{SHA256: sha("a"), Format: "png", Pos: 5, Path: "/not/stored"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The second image arrives after the text: found by packet number, kept in place order.
	got, found, err := s.AddImages("bob", event.In, 7, []Image{{SHA256: sha("b"), Format: "jpeg", Pos: 0}, {SHA256: sha("a"), Format: "png", Pos: 5}})
	if err != nil || !found || got != id {
		t.Fatalf("AddImages: %d %v %v", got, found, err)
	}
	if _, found, _ := s.AddImages("bob", event.Out, 7, []Image{{SHA256: sha("c")}}); found {
		t.Error("found a message of the other direction")
	}
	if _, found, _ := s.AddImages("carol", event.In, 7, []Image{{SHA256: sha("c")}}); found {
		t.Error("found another peer's message")
	}
	rs, err := s.Query(Filter{Peer: "bob"})
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	ims := rs[0].Images
	if len(ims) != 2 || ims[0].SHA256 != sha("b") || ims[1].SHA256 != sha("a") || ims[1].Pos != 5 || ims[1].Path != "" {
		t.Fatalf("images %+v", ims)
	}
	if _, err := s.Add(Record{PeerID: "carol", Direction: event.In, Text: "x", State: StateReceived, Images: []Image{{SHA256: sha("c")}}}); err != nil {
		t.Fatal(err)
	}
	use, err := s.ImagesInUse()
	if err != nil || len(use) != 3 {
		t.Fatalf("in use %v %v", use, err)
	}
	if _, err := s.Clear("bob"); err != nil {
		t.Fatal(err)
	}
	use, _ = s.ImagesInUse()
	if len(use) != 1 || !use[sha("c")] {
		t.Fatalf("after clearing bob: %v", use)
	}
}

func TestReadState(t *testing.T) {
	s := openTemp(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	out, _ := s.Add(Record{PeerID: "bob", Direction: event.Out, Text: "mine", State: StateDelivered, PacketNo: 5, ReadCheck: true})
	in1, _ := s.Add(Record{PeerID: "bob", Direction: event.In, Text: "plain", State: StateReceived, PacketNo: 6, ReadCheck: true})
	sealed, _ := s.Add(Record{PeerID: "bob", Direction: event.In, Text: "secret", State: StateReceived, PacketNo: 7, Sealed: true})
	s.Add(Record{PeerID: "carol", Direction: event.In, Text: "other", State: StateReceived, PacketNo: 8})
	if id, err := s.SetReadOut("bob", 5, at); err != nil || id != out {
		t.Fatalf("SetReadOut: %d %v", id, err)
	}
	if id, _ := s.SetReadOut("bob", 5, at); id != 0 {
		t.Fatal("read twice")
	}
	if id, _ := s.SetReadOut("carol", 5, at); id != 0 {
		t.Fatal("another peer's notice marked bob's message")
	}
	if id, _ := s.SetReadOut("bob", 6, at); id != 0 {
		t.Fatal("a notice marked a received message")
	}
	// Opening the conversation reads what is not sealed.
	rs, err := s.MarkRead("bob", 0, at)
	if err != nil || len(rs) != 1 || rs[0].ID != in1 || !rs[0].ReadCheck {
		t.Fatalf("MarkRead: %+v %v", rs, err)
	}
	if rs, _ := s.MarkRead("bob", 0, at); len(rs) != 0 {
		t.Fatalf("read twice: %+v", rs)
	}
	if rs, _ := s.MarkRead("bob", sealed, at); len(rs) != 1 || !rs[0].Sealed {
		t.Fatalf("opening the sealed one: %+v", rs)
	}
	all, _ := s.Query(Filter{Peer: "bob"})
	for _, r := range all {
		if r.ReadAt.IsZero() || !r.ReadAt.Equal(at) {
			t.Errorf("%q: read at %v", r.Text, r.ReadAt)
		}
	}
}
