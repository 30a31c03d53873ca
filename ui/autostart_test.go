package ui

import (
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"

	"feigo/profile"
)

// TestAutostartInSettings: the Settings dialog's "Start FeiGo when I log in" shows the setting
// and its change reaches the settings saved (the app writes the autostart entry on save).
func TestAutostartInSettings(t *testing.T) {
	var saved []profile.Settings
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{
		Settings: profile.Settings{Language: "en", Autostart: true},
		Save:     func(s profile.Settings) error { saved = append(saved, s); return nil },
	})
	u.showSettings()
	top := u.Win.Canvas().Overlays().Top()
	box := findCheck(top, "Start FeiGo when I log in")
	if box == nil || !box.Checked {
		t.Fatalf("checkbox %v in %v", box, deepTexts(top))
	}
	test.Tap(box)
	test.Tap(findButton(top, "Save"))
	u.settle()
	if u.Settings().Autostart || len(saved) != 1 || saved[0].Autostart {
		t.Fatalf("settings %+v, saved %+v", u.Settings(), saved)
	}
}

// TestSession7SettingsInTheDialog: read receipts, the screenshot's hiding and key, the peer
// exchange, the host list and virtual interfaces are in the Settings dialog as the settings
// say, and what is changed there is saved; read receipts reach the node at once.
func TestSession7SettingsInTheDialog(t *testing.T) {
	var saved []profile.Settings
	core := &receiptsCore{fakeCore: newFakeCore(t)}
	u := newTestWindow(t, test.NewTempApp(t), core, Options{
		Settings: profile.Settings{Language: "en", NoHostList: true},
		Save:     func(s profile.Settings) error { saved = append(saved, s); return nil },
	})
	u.showSettings()
	top := u.Win.Canvas().Overlays().Top()
	for label, want := range map[string]bool{
		"Tell colleagues when I have read their messages":              true,
		"Hide FeiGo while taking a screenshot":                         true,
		"Ctrl+Alt+A takes a screenshot anywhere on the desktop":        true,
		"Trade colleague lists with FeiGo colleagues on other subnets": true,
		"Give IP Messenger users my list of colleagues":                false,
		"Also use virtual interfaces (containers, VPN tunnels)":        false,
	} {
		box := findCheck(top, label)
		if box == nil || box.Checked != want {
			t.Fatalf("%q: %v, want checked %v", label, box, want)
		}
		test.Tap(box)
	}
	test.Tap(findButton(top, "Save"))
	u.settle()
	st := u.Settings()
	if len(saved) != 1 || !st.NoReadReceipts || !st.ScreenshotKeepWindow || !st.NoScreenshotKey ||
		!st.NoPeerExchange || st.NoHostList || !st.VirtualInterfaces {
		t.Fatalf("settings %+v, saved %d times", st, len(saved))
	}
	if got := core.receipts.Load(); got != 2 { // 2: told "off"
		t.Fatalf("the node was told read receipts %d (0 never, 1 on, 2 off)", got)
	}
}

// receiptsCore records what the window tells the node of read receipts.
type receiptsCore struct {
	*fakeCore
	receipts atomic.Int32
}

func (c *receiptsCore) SetReadReceipts(on bool) {
	if on {
		c.receipts.Store(1)
	} else {
		c.receipts.Store(2)
	}
}
