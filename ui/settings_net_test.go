package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/profile"
)

// The Settings dialog's "Use IPv6" box follows and saves the no_ipv6 setting, and broadcast
// addresses the node would not start with (a link-local address without its interface, an
// IPv6 address with IPv6 off, a name) are not saved: an error names each, the good ones stay.
func TestSettingsIPv6AndBroadcastAddresses(t *testing.T) {
	var saved []profile.Settings
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{
		Settings: profile.Settings{Language: "en", Broadcast: []string{"10.9.9.255"}},
		Save:     func(s profile.Settings) error { saved = append(saved, s); return nil },
	})
	u.showSettings()
	top := u.Win.Canvas().Overlays().Top()
	box := findCheck(top, "Use IPv6 where the network has it")
	if box == nil || !box.Checked {
		t.Fatalf("the IPv6 box: %v, want ticked by default", box)
	}
	entries := findEntries(top)
	k := slices.IndexFunc(entries, func(e *widget.Entry) bool { return e.Text == "10.9.9.255" })
	if k < 0 {
		t.Fatal("no box shows the broadcast addresses")
	}
	entries[k].SetText("10.1.2.255, fe80::7, [fe80::7%eth0]:2425, fd00::7, office.example")
	test.Tap(box)
	test.Tap(findButton(top, "Save"))
	u.settle()
	st := u.Settings()
	if len(saved) != 1 || !st.NoIPv6 || strings.Join(st.Broadcast, " ") != "10.1.2.255" {
		t.Fatalf("saved %d times: no_ipv6 %v, broadcast %q", len(saved), st.NoIPv6, st.Broadcast)
	}
	shown := strings.Join(deepTexts(u.Win.Canvas().Overlays().Top()), "\n")
	for _, want := range []string{"not saved", `"fe80::7": a link-local address needs its interface`, `"[fe80::7%eth0]:2425" is an IPv6 address, and IPv6 is off`,
		`"fd00::7" is an IPv6 address, and IPv6 is off`, `"office.example" is not an address`} {
		if !strings.Contains(shown, want) {
			t.Errorf("the error does not say %q:\n%s", want, shown)
		}
	}
}
