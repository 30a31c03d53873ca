package node

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"feigo/history"
)

// The addresses greeted at start are those the history last saw its colleagues at, the most
// recent first; an address that does not parse is left out.
func TestRememberedFromTheHistory(t *testing.T) {
	h, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, r := range []history.Record{
		{PeerID: "old", Nick: "Old", Addr: "10.0.5.7:2425", Direction: "in", Text: "a", State: history.StateReceived, Time: t0},
		{PeerID: "new", Nick: "New", Addr: "10.0.9.3:2425", Direction: "in", Text: "b", State: history.StateReceived, Time: t0.Add(time.Hour)},
		{PeerID: "odd", Nick: "Odd", Addr: "not an address", Direction: "in", Text: "c", State: history.StateReceived, Time: t0},
	} {
		if _, err := h.Add(r); err != nil {
			t.Fatal(i, err)
		}
	}
	got := remembered(h, slog.New(slog.DiscardHandler))
	want := []netip.AddrPort{netip.MustParseAddrPort("10.0.9.3:2425"), netip.MustParseAddrPort("10.0.5.7:2425")}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("remembered %v, want %v", got, want)
	}
}
