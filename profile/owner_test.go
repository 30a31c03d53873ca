//go:build !windows

package profile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A directory another user made first is never used: they could have planted an ID,
// settings or transfers.json, or could swap the control socket.
func TestOpenRefusesAnotherUsersDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a directory owned by another user")
	}
	dir := filepath.Join(t.TempDir(), "prof")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534, not you") || !strings.Contains(err.Error(), "--profile") {
		t.Fatalf("Open on another user's directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "id")); !os.IsNotExist(err) {
		t.Fatalf("an ID was written into another user's directory: %v", err)
	}

	// Our own directory holding a file another user planted while it was open to them.
	own := t.TempDir()
	planted := filepath.Join(own, "transfers.json")
	os.WriteFile(planted, []byte("[]"), 0o600)
	if err := os.Chown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(own); err == nil || !strings.Contains(err.Error(), "transfers.json") || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("Open with a planted file: %v", err)
	}
}

// Our own directory that others may write to is made owner-only again, and the user is told.
func TestOpenRepairsOpenDirectory(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("profile mode after Open: %v, %v", fi.Mode(), err)
	}
	if !strings.Contains(logged.String(), dir) || !strings.Contains(logged.String(), "0700") {
		t.Fatalf("the repair was not logged: %q", logged.String())
	}

	// A regular file is not a profile.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open on a file: %v", err)
	}
}

// Files FeiGo writes are owner-only whatever the umask.
func TestFilesAreOwnerOnlyUnderOpenUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "a", "b")
	p, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Save(Settings{Nick: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v", d, fi.Mode())
		}
	}
	for _, f := range []string{"id", "settings.json"} {
		if fi, _ := os.Stat(filepath.Join(dir, f)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v", f, fi.Mode())
		}
	}
}
