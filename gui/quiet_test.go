package gui

import (
	"bytes"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupNoiseWithoutDBus feeds the log lines a start without a session bus printed
// (Fyne 2.8.1, systray) through the filter, as the standard logger writes them: the tray's
// failure is said once in words, the theme watcher's is not said, and other reports, Fyne's
// included, pass through whole.
func TestStartupNoiseWithoutDBus(t *testing.T) {
	var out bytes.Buffer
	f := newLogFilter(&out)
	l := log.New(f, "", log.LstdFlags)
	l.Printf("systray error: failed to connect to DBus: exec: \"dbus-launch\": executable file not found in $PATH\n")
	l.Println("Fyne error: ", "failed to watch theme settings")
	l.Println("  Cause:", `exec: "dbus-launch": executable file not found in $PATH`)
	l.Printf("  At: %s:%d", "/root/go/pkg/mod/fyne.io/fyne/v2@v2.8.1/app/app_xdg.go", 152)
	l.Printf("systray error: failed to connect to DBus: again\n")
	if got := out.String(); got != noTrayText {
		t.Fatalf("without a bus the log says:\n%s", got)
	}

	out.Reset()
	l.Println("Fyne error: ", "Failed to create app storage space")
	l.Println("  Cause:", "permission denied")
	l.Printf("  At: %s:%d", "app.go", 163)
	l.Println("Fyne error: ", "failed to watch theme settings") // a cause that is not the bus
	l.Println("  Cause:", "out of memory")
	l.Printf("  At: %s:%d", "app_xdg.go", 152)
	l.Printf("systray error: failed to emit new icon signal: broken\n")
	l.Println("Fyne error: ", "held") // no At: line; the next line lets it out
	l.Println("plain line")
	l.Println("Fyne error: ", "last")
	f.Flush()
	got := out.String()
	for _, want := range []string{"Failed to create app storage space", "permission denied", "app.go:163",
		"out of memory", "app_xdg.go:152", "failed to emit new icon signal", "held", "plain line", "last"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q was hidden:\n%s", want, got)
		}
	}
	if strings.Index(got, "held") > strings.Index(got, "plain line") {
		t.Errorf("out of order:\n%s", got)
	}
}

// TestCacheDirOnANewAccount: on an account without ~/.cache (XDG_CACHE_HOME not made yet),
// the folder Fyne's cache goes in is made, owner-only, before Fyne looks for it.
func TestCacheDirOnANewAccount(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "home", ".cache")
	t.Setenv("XDG_CACHE_HOME", cache)
	makeCacheDir()
	for _, d := range []string{cache, filepath.Join(cache, "fyne")} {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", d, fi, err)
		}
	}
}
