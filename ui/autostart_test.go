package ui

import (
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
