package history

import (
	"feigo/event"
	"strings"
	"testing"
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
