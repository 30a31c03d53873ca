package gui

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// logFilter stands between the standard log package, through which Fyne (fyne.LogError) and
// the tray (fyne.io/systray) report, and the app's log. On a desktop without a D-Bus session
// bus (or without XDG_RUNTIME_DIR) they report, at every start, what only means "no tray
// here" and "the theme is not followed" as errors with causes and source lines. Those are
// said once in words (the tray) or not at all (the theme: FeiGo is light where the desktop
// does not say); everything else passes through as it was written.
type logFilter struct {
	mu      sync.Mutex
	w       io.Writer
	pending [][]byte // a fyne.LogError report: "Fyne error:", "  Cause:", "  At:"
	noTray  bool     // said once
}

func newLogFilter(w io.Writer) *logFilter { return &logFilter{w: w} }

// noTrayText is what a desktop without a session bus is told about the tray.
const noTrayText = "feigo: no system tray on this desktop (no D-Bus session bus); FeiGo runs without one\n"

func (f *logFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := string(p)
	switch {
	case strings.Contains(line, "systray error: failed to connect to DBus"):
		f.flush()
		if !f.noTray {
			f.noTray = true
			io.WriteString(f.w, noTrayText)
		}
		return len(p), nil
	case strings.Contains(line, "Fyne error: "):
		f.flush()
		f.pending = append(f.pending, bytes.Clone(p))
		return len(p), nil
	case len(f.pending) > 0 && (strings.Contains(line, "  Cause: ") || strings.Contains(line, "  At: ")):
		f.pending = append(f.pending, bytes.Clone(p))
		if strings.Contains(line, "  At: ") { // the report's last line
			f.flush()
		}
		return len(p), nil
	}
	f.flush()
	return f.w.Write(p)
}

// Flush writes a report still held (one that ended without its "At:" line).
func (f *logFilter) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flush()
}

func (f *logFilter) flush() {
	if len(f.pending) == 0 {
		return
	}
	report := f.pending
	f.pending = nil
	if benign(string(bytes.Join(report, nil))) {
		return
	}
	for _, l := range report {
		f.w.Write(l)
	}
}

// benign says whether a Fyne error report only says that there is no session bus behind a
// feature FeiGo does without.
func benign(report string) bool {
	if !strings.Contains(report, "failed to watch theme settings") {
		return false
	}
	for _, noBus := range []string{"dbus-launch", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "dial unix", "connection refused", "no such file or directory"} {
		if strings.Contains(report, noBus) {
			return true
		}
	}
	return false
}
