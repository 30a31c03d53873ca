package history

import (
	"path/filepath"
	"testing"
	"time"
)

func TestStoreSearchAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	add := func(peer, dir, text string, at time.Time) {
		if _, err := s.Add(Record{PeerID: peer, Nick: peer, Direction: dir, Text: text, State: "received", Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	add("bob", "in", "周五下午三点在三楼会议室开会", t0)
	add("bob", "out", "好的，我把季度报表带过去", t0.Add(time.Minute))
	add("carol", "in", "the build path is /srv/builds/nightly", t0.Add(24*time.Hour))
	add("carol", "in", "50% done_ok", t0.Add(25*time.Hour))
	for _, tc := range []struct {
		f    Filter
		want []string
	}{
		{Filter{Search: "会议室"}, []string{"周五下午三点在三楼会议室开会"}}, // a Chinese word inside a sentence (trigram)
		{Filter{Search: "开会"}, []string{"周五下午三点在三楼会议室开会"}},  // two characters: the scan
		{Filter{Search: "报表"}, []string{"好的，我把季度报表带过去"}},
		{Filter{Search: "nightly"}, []string{"the build path is /srv/builds/nightly"}},
		{Filter{Search: "BUILD path"}, []string{"the build path is /srv/builds/nightly"}},
		{Filter{Search: "50%"}, []string{"50% done_ok"}},
		{Filter{Search: "5_"}, nil}, // LIKE wildcards are literal
		{Filter{Peer: "bob"}, []string{"周五下午三点在三楼会议室开会", "好的，我把季度报表带过去"}},
		{Filter{Since: t0.Add(12 * time.Hour)}, []string{"the build path is /srv/builds/nightly", "50% done_ok"}},
		{Filter{Limit: 1}, []string{"50% done_ok"}},
		{Filter{Peer: "bob", Search: "nightly"}, nil},
	} {
		got, err := s.Query(tc.f)
		if err != nil {
			t.Fatalf("%+v: %v", tc.f, err)
		}
		var texts []string
		for _, r := range got {
			texts = append(texts, r.Text)
		}
		if len(texts) != len(tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.f, texts, tc.want)
			continue
		}
		for i := range texts {
			if texts[i] != tc.want[i] {
				t.Errorf("%+v: got %q, want %q", tc.f, texts, tc.want)
			}
		}
	}
	s.Close()
	// Reopened (the migrations already done), everything is there.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	all, _ := s2.Query(Filter{})
	if len(all) != 4 || all[0].Time.UnixMilli() != t0.UnixMilli() || all[0].Peer != "bob" {
		t.Fatalf("after reopening: %+v", all)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, _ := Open(path)
	s.db.Exec("PRAGMA user_version = 99")
	s.Close()
	if _, err := Open(path); err == nil {
		t.Fatal("a newer schema was opened")
	}
}
