package history

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/event"
)

// Looking a contact up by user@host or by address is an index search, whatever the number
// of contacts: the LAN's read loop does it for each message from a stranger.
func TestContactLookupsUseIndexes(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		`SELECT peer FROM peers WHERE user = 'bob' AND host = 'pc' ORDER BY addr = '10.0.0.1:2425' DESC, last DESC LIMIT 1`,
		`SELECT peer FROM peers WHERE addr = '10.0.0.1:2425' ORDER BY last DESC LIMIT 1`,
	} {
		rows, err := s.db.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX") {
			t.Errorf("%s\n  plan: %s", q, p)
		}
	}
}

// ContactNamed prefers the one of several user@host contacts last at the address, else the
// most recent; ContactAt is the one last seen at an address.
func TestContactNamedAndAt(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, r := range []Record{
		{PeerID: "feigo-1", User: "bob", Host: "pc", Addr: "10.0.0.1:2425", Nick: "Bob at home"},
		{PeerID: "feigo-2", User: "bob", Host: "pc", Addr: "10.0.0.2:2425", Nick: "Bob at work"},
		{PeerID: "feigo-3", User: "carol", Host: "pc", Addr: "10.0.0.1:2425", Nick: "Carol"},
	} {
		r.Direction, r.Text, r.State, r.Time = event.In, "hi", StateReceived, t0.Add(time.Duration(i)*time.Minute)
		if _, err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ user, host, addr, want string }{
		{"bob", "pc", "10.0.0.1:2425", "feigo-1"},
		{"bob", "pc", "10.0.0.9:2425", "feigo-2"}, // nobody there: the most recent
		{"bob", "other", "10.0.0.1:2425", ""},
	} {
		c, ok, err := s.ContactNamed(tc.user, tc.host, tc.addr)
		if err != nil || ok != (tc.want != "") || c.Peer != tc.want {
			t.Errorf("ContactNamed(%s, %s, %s) = %q %v %v, want %q", tc.user, tc.host, tc.addr, c.Peer, ok, err, tc.want)
		}
	}
	if c, ok, err := s.ContactAt("10.0.0.1:2425"); err != nil || !ok || c.Peer != "feigo-3" || c.Nick != "Carol" {
		t.Errorf("ContactAt: %+v %v %v", c, ok, err)
	}
	if _, ok, err := s.ContactAt("10.0.0.7:2425"); err != nil || ok {
		t.Errorf("ContactAt nobody: %v %v", ok, err)
	}
}
