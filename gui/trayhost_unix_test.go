//go:build linux || freebsd || openbsd || netbsd

package gui

import (
	"path/filepath"
	"testing"
	"time"
)

// TestNoSessionBusNoTray: without a session bus to ask (none set, or one that is gone) there
// is no tray to hide the window to, and the answer comes at once: closing then quits.
func TestNoSessionBusNoTray(t *testing.T) {
	for _, addr := range []string{"", "unix:path=" + filepath.Join(t.TempDir(), "gone")} {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // no bus socket there either
		start := time.Now()
		if trayHost() {
			t.Errorf("bus %q: a tray host", addr)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("bus %q: %v to answer", addr, d)
		}
	}
}
