//go:build !windows

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"feigo/profile"
)

// `feigo autostart on|off` writes and removes the XDG autostart entry for this profile and
// keeps the choice in the profile's settings (the window shows it in Settings).
func TestAutostartCommand(t *testing.T) {
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	entry := filepath.Join(conf, "autostart", "feigo.desktop")
	prof := t.TempDir()
	setting := func() bool {
		t.Helper()
		var st profile.Settings
		if b, err := os.ReadFile(filepath.Join(prof, "settings.json")); err == nil {
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
		}
		return st.Autostart
	}
	if out, errOut, code := run("autostart", "--profile", prof); code != 0 || out != "off\n" {
		t.Fatalf("status: %d %q %q", code, out, errOut)
	}
	out, errOut, code := run("autostart", "--profile", prof, "on")
	if code != 0 || !strings.Contains(out, "on: "+entry) || !setting() {
		t.Fatalf("on: %d %q %q, setting %v", code, out, errOut, setting())
	}
	b, err := os.ReadFile(entry)
	if err != nil || !strings.Contains(string(b), " gui --profile "+prof+"\n") {
		t.Fatalf("entry %q %v", b, err)
	}
	if out, _, code := run("autostart", "--profile", prof); code != 0 || !strings.HasPrefix(out, "on: ") {
		t.Fatalf("status after on: %d %q", code, out)
	}
	if out, errOut, code := run("autostart", "--profile", prof, "off"); code != 0 || out != "off\n" || setting() {
		t.Fatalf("off: %d %q %q, setting %v", code, out, errOut, setting())
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("entry after off: %v", err)
	}
	if _, errOut, code := run("autostart", "--profile", prof, "maybe"); code != 2 || !strings.Contains(errOut, "on or off") {
		t.Fatalf("maybe: %d %q", code, errOut)
	}
}
