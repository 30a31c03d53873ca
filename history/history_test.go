package history

import (
	"database/sql"
	"feigo/event"
	"fmt"
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
	add := func(peer string, dir event.Direction, text string, at time.Time) {
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

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAdd(t *testing.T, s *Store, r Record) int64 {
	t.Helper()
	id, err := s.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPagingStatesAndTransfers(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 120 {
		ids = append(ids, mustAdd(t, s, Record{PeerID: "bob", Direction: "in", Text: fmt.Sprintf("m%03d", i), State: StateReceived, Time: t0.Add(time.Duration(i) * time.Second)}))
	}
	// Paging back 50 at a time covers everything once, in order.
	var seen []string
	before := int64(0)
	for {
		page, err := s.Query(Filter{Peer: "bob", Before: before, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var texts []string
		for _, r := range page {
			texts = append(texts, r.Text)
		}
		seen = append(texts, seen...)
		before = page[0].ID
	}
	if len(seen) != 120 || seen[0] != "m000" || seen[119] != "m119" {
		t.Fatalf("paged %d records: first %q last %q", len(seen), seen[0], seen[len(seen)-1])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("out of order at %d: %q after %q", i, seen[i], seen[i-1])
		}
	}

	out := mustAdd(t, s, Record{PeerID: "bob", Direction: "out", Text: "are you there?", State: StateSending})
	if err := s.SetState(out, StateDelivered, "", 77); err != nil {
		t.Fatal(err)
	}
	stuck := mustAdd(t, s, Record{PeerID: "bob", Direction: "out", Text: "sent as the node died", State: StateSending})
	if n, err := s.Interrupted(); err != nil || n != 1 {
		t.Fatalf("Interrupted: %d, %v", n, err)
	}
	// A transfer that failed and was then resumed to the end is one record.
	xfer := Record{PeerID: "bob", Direction: "in", PacketNo: 5, Text: "季度报表.xlsx, photos", State: "failed", Error: "the disk is full",
		Folder: "/home/me/Downloads", Files: []File{{Name: "季度报表.xlsx", Size: 12345}, {Name: "photos", Size: 99, Dir: true}}}
	first, err := s.PutTransfer(xfer)
	if err != nil {
		t.Fatal(err)
	}
	xfer.State, xfer.Error = "done", ""
	if again, err := s.PutTransfer(xfer); err != nil || again != first {
		t.Fatalf("the resumed transfer got record %d (%v), want %d", again, err, first)
	}
	got, err := s.Query(Filter{Peer: "bob", Since: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d records", len(got))
	}
	if got[0].ID != out || got[0].State != StateDelivered || got[0].PacketNo != 77 || got[0].Kind != KindText {
		t.Errorf("delivered message: %+v", got[0])
	}
	if got[1].ID != stuck || got[1].State != StateFailed || got[1].Error == "" {
		t.Errorf("interrupted message: %+v", got[1])
	}
	f := got[2]
	if f.Kind != KindFile || f.State != "done" || f.Error != "" || f.Folder != "/home/me/Downloads" || len(f.Files) != 2 || !f.Files[1].Dir || f.Files[0].Size != 12345 {
		t.Errorf("transfer record: %+v", f)
	}
	// File names are searchable like messages.
	if r, _ := s.Query(Filter{Search: "报表"}); len(r) != 1 || r[0].Kind != KindFile {
		t.Errorf("search for a file name: %+v", r)
	}
}

func TestContactsClearAndPrune(t *testing.T) {
	s := openTemp(t)
	old := time.Now().Add(-40 * 24 * time.Hour)
	mustAdd(t, s, Record{PeerID: "10.0.0.9:2425", User: "wang", Host: "pc9", Addr: "10.0.0.9:2425", Nick: "老王", Direction: "in", Text: "old news", State: StateReceived, Time: old})
	mustAdd(t, s, Record{PeerID: "10.0.0.7:2425", User: "wang", Host: "pc9", Addr: "10.0.0.7:2425", Direction: "in", Text: "I moved desks", State: StateReceived})
	q := mustAdd(t, s, Record{PeerID: "feigo-id-1", Nick: "Bob", Direction: "out", Text: "for when you are back", State: StateQueued, Time: old})
	mustAdd(t, s, Record{PeerID: "feigo-id-1", Nick: "Bob", Direction: "in", Text: "hello", State: StateReceived})

	cs, err := s.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Contact{}
	for _, c := range cs {
		byKey[c.Peer] = c
	}
	// A legacy peer that changed address is one contact, keyed user@host, with its newest
	// address and the nick it last had.
	if len(cs) != 2 || byKey["wang@pc9"].Addr != "10.0.0.7:2425" || byKey["wang@pc9"].Nick != "老王" || byKey["feigo-id-1"].Nick != "Bob" {
		t.Fatalf("contacts: %+v", cs)
	}

	if ks, err := s.QueuedPeers(); err != nil || len(ks) != 1 || ks[0] != "feigo-id-1" {
		t.Fatalf("QueuedPeers: %q, %v", ks, err)
	}
	if n, err := s.Prune(time.Now().Add(-30 * 24 * time.Hour)); err != nil || n != 1 {
		t.Fatalf("Prune removed %d (%v), want only the old received message", n, err)
	}
	if n, err := s.Clear("feigo-id-1"); err != nil || n != 1 {
		t.Fatalf("Clear removed %d (%v), want the received message", n, err)
	}
	left, _ := s.Query(Filter{})
	if len(left) != 2 || left[0].Text != "I moved desks" || left[1].ID != q {
		t.Fatalf("left: %+v", left)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// Deleted records are gone from the search index too.
	if r, _ := s.Query(Filter{Search: "old news"}); len(r) != 0 {
		t.Fatalf("a pruned message is still found: %+v", r)
	}
}

// A database written by schema 1 (legacy peers keyed by address) opens and migrates.
func TestMigrationFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 1;
		INSERT INTO messages(time, peer, peer_id, user, host, addr, nick, direction, text, state)
		VALUES (1000, '10.0.0.9:2425', '10.0.0.9:2425', 'wang', 'pc9', '10.0.0.9:2425', '老王', 'in', '旧消息在这里', 'received'),
		       (2000, 'feigo-id-1', 'feigo-id-1', 'bob', 'pc1', '10.0.0.2:2425', 'Bob', 'out', 'hello there', 'delivered')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Query(Filter{Peer: "wang@pc9", Search: "消息在"})
	if err != nil || len(rs) != 1 || rs[0].Kind != KindText {
		t.Fatalf("migrated legacy record: %+v, %v", rs, err)
	}
	cs, _ := s.Contacts()
	if len(cs) != 2 || cs[0].Peer != "feigo-id-1" || cs[1].Peer != "wang@pc9" {
		t.Fatalf("contacts after migration: %+v", cs)
	}
}

func TestPeerKey(t *testing.T) {
	for _, c := range []struct{ id, user, host, want string }{
		{"3f2a-feigo", "bob", "pc1", "3f2a-feigo"},
		{"mac:00:11:22:33:44:55", "li", "PC-LI", "mac:00:11:22:33:44:55"},
		{"10.0.0.9:2425", "wang", "pc9", "wang@pc9"},
		{"", "wang", "pc9", "wang@pc9"},
		{"10.0.0.9:2425", "", "", "10.0.0.9:2425"},
	} {
		if got := PeerKey(c.id, c.user, c.host); got != c.want {
			t.Errorf("PeerKey(%q, %q, %q) = %q, want %q", c.id, c.user, c.host, got, c.want)
		}
	}
}

// Rename moves a colleague's conversation, queue and contact from their FeiGo ID to their
// key's fingerprint; messages of others stay, and renaming again changes nothing.
func TestRename(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, r := range []Record{
		{PeerID: "uuid-bob", Nick: "Bob", Direction: "in", Text: "周报", State: StateReceived, Time: t0},
		{PeerID: "uuid-bob", Nick: "Bob", Direction: "out", Text: "queued for Bob", State: StateQueued, Time: t0.Add(time.Minute)},
		{PeerID: "carol", Nick: "Carol", Direction: "in", Text: "not Bob's", State: StateReceived, Time: t0},
		// Already one message under the fingerprint (the new key proved before the rename).
		{PeerID: "fp-bob", Nick: "Bobby", Direction: "in", Text: "after", State: StateReceived, Time: t0.Add(time.Hour)},
	} {
		if _, err := s.Add(r); err != nil {
			t.Fatal(i, err)
		}
	}
	moved, err := s.Rename("uuid-bob", "fp-bob")
	if err != nil || moved != 2 {
		t.Fatalf("moved %d, %v", moved, err)
	}
	rs, _ := s.Query(Filter{Peer: "fp-bob"})
	if len(rs) != 3 || rs[0].PeerID != "fp-bob" {
		t.Fatalf("under the fingerprint: %+v", rs)
	}
	if rs, _ := s.Query(Filter{Peer: "uuid-bob"}); len(rs) != 0 {
		t.Fatalf("left under the old key: %+v", rs)
	}
	if rs, _ := s.Query(Filter{Peer: "fp-bob", State: StateQueued}); len(rs) != 1 {
		t.Fatalf("queue: %+v", rs)
	}
	if rs, _ := s.Query(Filter{Search: "周报"}); len(rs) != 1 || rs[0].Peer != "fp-bob" {
		t.Fatalf("search after the rename: %+v", rs)
	}
	cs, _ := s.Contacts()
	names := map[string]string{}
	for _, c := range cs {
		names[c.Peer] = c.Nick
	}
	if len(cs) != 2 || names["fp-bob"] != "Bobby" || names["carol"] != "Carol" {
		t.Fatalf("contacts: %+v", cs)
	}
	if moved, err := s.Rename("uuid-bob", "fp-bob"); err != nil || moved != 0 {
		t.Fatalf("again: %d %v", moved, err)
	}
}

// Holding and Queuing answer for a batch of colleagues at once (more than one query's worth).
func TestHoldingAndQueuing(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for _, r := range []Record{
		{PeerID: "talked", Nick: "A", Direction: "in", Text: "hi", State: StateReceived, Time: t0},
		{PeerID: "waiting", Nick: "B", Direction: "out", Text: "later", State: StateQueued, Time: t0},
		{PeerID: "sent", Nick: "C", Direction: "out", Text: "done", State: StateDelivered, Time: t0},
	} {
		if _, err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"talked", "waiting", "sent"}
	for i := range 450 {
		keys = append(keys, fmt.Sprint("stranger-", i))
	}
	held, err := s.Holding(keys)
	if err != nil || len(held) != 3 || !held["talked"] || !held["waiting"] || !held["sent"] {
		t.Fatalf("holding %v %v", held, err)
	}
	queued, err := s.Queuing(append(keys[3:], "waiting"))
	if err != nil || len(queued) != 1 || !queued["waiting"] {
		t.Fatalf("queuing %v %v", queued, err)
	}
	if m, err := s.Holding(nil); err != nil || len(m) != 0 {
		t.Fatal(m, err)
	}
}
