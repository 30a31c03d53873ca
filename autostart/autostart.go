//go:build !windows

// Package autostart starts FeiGo at login: on Linux and the BSDs through the freedesktop.org
// autostart folder, an entry feigo.desktop in $XDG_CONFIG_HOME/autostart
// (~/.config/autostart), which the desktop (GNOME, KDE, Xfce, LXQt, MATE, Cinnamon…) runs when
// the user logs in; on Windows through the user's Run key in the registry (windows.go).
//
// The entry names the profile it starts (X-FeiGo-Profile; on Windows, in the command line),
// so turning autostart off in one profile never removes the entry another profile wrote.
package autostart

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Supported says whether FeiGo can start at login here: Linux, the BSDs and Windows
// (windows.go), not macOS.
const Supported = runtime.GOOS != "darwin" && runtime.GOOS != "ios" && runtime.GOOS != "android"

// ErrUnsupported is Set's error where there is no autostart folder.
var ErrUnsupported = errors.New("autostart: not supported on " + runtime.GOOS + " yet")

// FileName is the entry's name in the autostart folder.
const FileName = "feigo.desktop"

// profileKey names the profile an entry starts.
const profileKey = "X-FeiGo-Profile="

// maxEntry bounds what is read of an existing entry.
const maxEntry = 64 << 10

// Path is the autostart entry's path: $XDG_CONFIG_HOME/autostart/feigo.desktop when
// XDG_CONFIG_HOME is an absolute path, else ~/.config/autostart/feigo.desktop.
func Path() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart: no home directory: %w", err)
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart", FileName), nil
}

// Entry is the autostart entry that runs exe (an absolute path) with the profile in dir.
func Entry(exe, dir string) (string, error) {
	if !filepath.IsAbs(exe) || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("autostart: %q and %q must be absolute paths", exe, dir)
	}
	var args []string
	for _, a := range []string{exe, "gui", "--profile", dir} {
		q, err := quote(a)
		if err != nil {
			return "", err
		}
		args = append(args, q)
	}
	return fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=FeiGo
Comment=LAN messenger (IP Messenger, FeiQ, iptux compatible), started at login
Exec=%s
Icon=io.github.feigo
Terminal=false
X-GNOME-Autostart-enabled=true
%s%s
`, strings.Join(args, " "), profileKey, escape(dir)), nil
}

// Set makes the autostart entry start exe with the profile in dir at login (on), or removes
// the entry if it starts that profile (off). It returns the entry's path.
func Set(on bool, exe, dir string) (string, error) {
	if !Supported {
		return "", ErrUnsupported
	}
	path, err := Path()
	if err != nil {
		if !on { // no home, no entry to remove
			return "", nil
		}
		return "", err
	}
	if !on {
		if owner, err := entryProfile(path); err != nil || owner != dir {
			return path, err // none, or another profile's
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return path, fmt.Errorf("autostart: %w", err)
		}
		return path, nil
	}
	text, err := Entry(exe, dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return path, fmt.Errorf("autostart: %w", err)
	}
	if err := writeAtomic(path, []byte(text)); err != nil {
		return path, fmt.Errorf("autostart: %w", err)
	}
	return path, nil
}

// Enabled says whether the autostart entry starts the profile in dir.
func Enabled(dir string) (bool, error) {
	if !Supported {
		return false, nil
	}
	path, err := Path()
	if err != nil {
		return false, err
	}
	owner, err := entryProfile(path)
	return err == nil && owner == dir, err
}

// entryProfile returns the profile the entry at path starts ("" when there is no entry or it
// is not FeiGo's).
func entryProfile(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(&limited{f, maxEntry})
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), profileKey); ok {
			return unescape(v), nil
		}
	}
	return "", sc.Err()
}

// quote quotes an Exec argument as the desktop entry specification says: inside double
// quotes, `"`, '`', '$' and '\' take a backslash; '%' is doubled. The line is then escaped
// as a string value (a backslash doubled).
func quote(a string) (string, error) {
	if strings.ContainsAny(a, "\n\r\x00") {
		return "", fmt.Errorf("autostart: %q cannot be written in a desktop entry", a)
	}
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, " \t\"'\\><~|&;$*?#()`") {
		return a, nil
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range a {
		if strings.ContainsRune("\"`$\\", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return escape(b.String()), nil
}

// escape escapes a string value of a desktop entry (only the backslash can occur here).
func escape(s string) string { return strings.ReplaceAll(s, `\`, `\\`) }

func unescape(s string) string { return strings.ReplaceAll(s, `\\`, `\`) }

type limited struct {
	f *os.File
	n int
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("autostart: the entry is too large")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= n
	return n, err
}

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".feigo.desktop.*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
