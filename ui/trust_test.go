package ui

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/profile"
)

// A colleague the user verified, announced with another key, brings up a dialog that cannot
// be missed, once per key; "Verify now" opens their conversation and shows the safety code.
func TestKeyChangeDialog(t *testing.T) {
	u, core := newTestUI(t, "en")
	ev := online("fp-new", "Bob", "Dev", netip.MustParseAddrPort("10.0.0.9:2425"))
	ev.Peer.Secure, ev.Peer.Fingerprint, ev.Peer.KeyChanged = true, "fp-new", true
	ev.Peer.Warning = "claims to be Bob, whom you verified with another key"
	u.HandleEvent(ev)
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(deepTexts(top), " "), "key changed") {
		t.Fatalf("no dialog: %v", top)
	}
	now := findButton(top, "Verify now")
	if now == nil {
		t.Fatalf("no Verify now in %v", deepTexts(top))
	}
	test.Tap(now)
	u.settle()
	if _, ok := u.convs["fp-new"]; !ok {
		t.Fatal("Verify now opened no conversation")
	}
	core.mu.Lock()
	calls := slices.Clone(core.verified)
	core.mu.Unlock()
	if len(calls) != 1 || calls[0] != "fp-new/false/" {
		t.Fatalf("verify calls %v", calls)
	}
	// The safety code is shown; dismiss it. The same key again asks nothing more.
	u.Win.Canvas().Overlays().Top().Hide()
	u.Win.Canvas().Overlays().Remove(u.Win.Canvas().Overlays().Top())
	before := len(u.Win.Canvas().Overlays().List())
	u.HandleEvent(ev)
	u.settle()
	if got := len(u.Win.Canvas().Overlays().List()); got != before {
		t.Fatalf("a second dialog for the same key (%d overlays, %d before)", got, before)
	}
	// An impostor of an unverified colleague gets the warning in the list, not the dialog.
	imp := online("fp-x", "Carol", "Dev", netip.MustParseAddrPort("10.0.0.10:2425"))
	imp.Peer.Secure, imp.Peer.Fingerprint, imp.Peer.Warning = true, "fp-x", "claims to be Carol"
	u.HandleEvent(imp)
	u.settle()
	if got := len(u.Win.Canvas().Overlays().List()); got != before {
		t.Fatal("a dialog for an unverified colleague's claim")
	}
}

// Under the "ask" policy a message to a client that cannot encrypt asks first; Send with
// "Always" allows that colleague, saves it in the profile and sends the message.
func TestAskBeforeSendingUnencrypted(t *testing.T) {
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	core.askLegacy = true
	var saved []profile.Settings
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "en", Legacy: profile.LegacyAsk},
		Save: func(st profile.Settings) error { saved = append(saved, st); return nil }})
	u.Win.Resize(fyne.NewSize(900, 600))
	lee := online("c", "Lee", "Dev", carolAddr)
	lee.Peer.Client, lee.Peer.Secure = "iptux", false
	core.mu.Lock()
	core.peers = append(core.peers, *lee.Peer)
	core.mu.Unlock()
	u.HandleEvent(lee)
	c := u.openConv(whoPeer(u.peers["c"]), true)
	u.settle()
	c.input.SetText("the password is hunter2")
	c.submit()
	u.settle()
	core.mu.Lock()
	sent := len(core.sent)
	core.mu.Unlock()
	if sent != 0 {
		t.Fatal("sent before the user said yes")
	}
	top := u.Win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(deepTexts(top), " "), "cannot encrypt") {
		t.Fatalf("no question: %v", top)
	}
	always := findCheck(top, "Always for Lee")
	if always == nil {
		t.Fatalf("no Always in %v", deepTexts(top))
	}
	test.Tap(always)
	test.Tap(findButton(top, "Send"))
	u.settle()
	core.mu.Lock()
	defer core.mu.Unlock()
	if !slices.Contains(core.allowed, carolAddr) || !slices.Contains(core.sent, "the password is hunter2") {
		t.Fatalf("allowed %v, sent %q", core.allowed, core.sent)
	}
	if len(saved) == 0 || !slices.Contains(saved[len(saved)-1].LegacyAllowed, "c") {
		t.Fatalf("saved %+v", saved)
	}
	if len(core.policies) == 0 || !slices.Contains(core.policies[len(core.policies)-1].LegacyAllowed, "c") {
		t.Fatalf("policy applied %+v", core.policies)
	}
}

// The policy is chosen in the settings and applied to the node at once.
func TestPolicyInSettings(t *testing.T) {
	u, core := newTestUI(t, "en")
	items, apply := u.policyItems(profile.Settings{})
	if len(items) != 2 {
		t.Fatalf("%d policy rows", len(items))
	}
	items[1].Widget.(*widget.Select).SetSelectedIndex(2) // refuse
	items[0].Widget.(*widget.Select).SetSelectedIndex(1) // preferred
	st := u.opt.Settings
	apply(&st)
	if st.Legacy != profile.LegacyRefuse || st.Encryption != profile.EncryptionPreferred {
		t.Fatalf("%+v", st)
	}
	u.applySettings(st)
	u.settle()
	core.mu.Lock()
	defer core.mu.Unlock()
	if len(core.policies) != 1 || core.policies[0].Legacy != profile.LegacyRefuse {
		t.Fatalf("applied %+v", core.policies)
	}
}

// Each colleague's row carries a lock: verified, encrypted, open, or a warning.
func TestLockOnEachColleague(t *testing.T) {
	u, _ := newTestUI(t, "en")
	sec := online("b", "Bob", "Dev", bobAddr)
	sec.Peer.Secure = true
	u.HandleEvent(sec)
	carol := online("c", "Carol", "Dev", carolAddr)
	carol.Peer.Secure, carol.Peer.Client = false, "iptux"
	u.HandleEvent(carol)
	row := u.treeCreate(false)
	icons := map[string]string{}
	for _, id := range []string{"p:b", "p:c"} {
		u.treeUpdate(id, false, row)
		icon := rowParts(row).lock
		if !icon.Visible() || icon.Resource == nil {
			t.Fatalf("row %s has no lock", id)
		}
		icons[id] = icon.Resource.Name()
	}
	if icons["p:b"] == icons["p:c"] {
		t.Fatalf("the encrypted and the unencrypted colleague show the same icon %q", icons["p:b"])
	}
	// And each conversation's tab.
	for id, want := range map[string]string{"b": icons["p:b"], "c": icons["p:c"]} {
		c := u.openConv(whoPeer(u.peers[id]), true)
		if c.tab.Icon == nil || c.tab.Icon.Name() != want {
			t.Errorf("conversation %s: tab icon %v, want %s", id, c.tab.Icon, want)
		}
	}
}
