package ui

import (
	"strings"
	"testing"

	"feigo/event"
	"feigo/lan"
	"feigo/peers"
)

// TestNoColleaguesYet: a newcomer alone on the LAN is told, in the list's place, that no
// colleague is there yet and what to check (the firewall, the subnet, the Network doctor
// button, by the name it has in the window), in
// English and Chinese; the hint goes when a colleague appears and comes back when the last
// one leaves.
func TestNoColleaguesYet(t *testing.T) {
	for lang, want := range map[string][]string{
		"en": {"No colleagues yet.", "port 2425", "Settings"},
		"zh": {"还没有同事。", "2425", "设置"},
	} {
		u, _ := newTestUI(t, lang)
		u.settle()
		want = append(want, u.t("Network doctor")) // the button the hint points to
		if !u.noPeers.Visible() || !shows(u, u.noPeers) {
			t.Fatalf("%s: no hint in an empty list", lang)
		}
		for _, w := range want {
			if !strings.Contains(u.noPeers.Text, w) {
				t.Errorf("%s: the hint lacks %q: %q", lang, w, u.noPeers.Text)
			}
		}
		u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
		u.settle()
		if u.noPeers.Visible() {
			t.Fatalf("%s: the hint stays with a colleague listed", lang)
		}
		u.HandleEvent(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: "b"}})
		u.settle()
		if !u.noPeers.Visible() {
			t.Fatalf("%s: no hint once the last colleague left", lang)
		}
	}
}
