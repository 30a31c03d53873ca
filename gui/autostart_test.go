package gui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"feigo/profile"
)

// TestAutostartFollowsTheSetting: saving the settings writes the XDG autostart entry (under
// $XDG_CONFIG_HOME) when autostart is turned on, and removes it when turned off; a failed
// save changes nothing.
func TestAutostartFollowsTheSetting(t *testing.T) {
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	entry := filepath.Join(conf, "autostart", "feigo.desktop")
	prof := t.TempDir()
	var stored profile.Settings
	failSave := false
	save := saveFollowing(func(s profile.Settings) error {
		if failSave {
			return errors.New("disk full")
		}
		stored = s
		return nil
	}, false, autostarter(prof))

	if err := save(profile.Settings{Nick: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("an entry without the setting: %v", err)
	}
	failSave = true
	if err := save(profile.Settings{Autostart: true}); err == nil {
		t.Fatal("the failed save was not reported")
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("an entry after a failed save: %v", err)
	}
	failSave = false
	if err := save(profile.Settings{Autostart: true}); err != nil || !stored.Autostart {
		t.Fatal(err, stored)
	}
	b, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if !strings.Contains(string(b), "Exec="+exe+" gui --profile "+prof+"\n") {
		t.Errorf("entry:\n%s", b)
	}
	if err := save(profile.Settings{Autostart: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("the entry is still there: %v", err)
	}
}
