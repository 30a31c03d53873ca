package xfer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// symlinkOrSkip makes a symlink, or skips where the system does not let this user make one
// (Windows without Developer Mode or the privilege, Wine 8), saying so.
func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symlink here, so the refusal cannot be shown: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skipf("this system did not make %s a symlink that Lstat sees as one (%v)", link, err)
	}
}

// Claim: an offered file replaced by a symlink is not served, on every system (O_NOFOLLOW on
// Unix, FILE_FLAG_OPEN_REPARSE_POINT on Windows); the secret it points to is never read.
func TestOfferedFileReplacedBySymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.txt")
	os.WriteFile(p, []byte("the offered text"), 0o600)
	tf, err := offerFile(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := openOffered(tf)
	if err != nil {
		t.Fatalf("the offered file itself: %v", err)
	}
	f.Close()

	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("not offered"), 0o600)
	os.Remove(p)
	symlinkOrSkip(t, secret, p)
	f, err = openOffered(tf)
	if err == nil {
		b, _ := io.ReadAll(f)
		f.Close()
		t.Fatalf("BREAK: a symlink in the offered file's place was served: %q", b)
	}
	if !errors.Is(err, errNotOffered) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("refused, but not as a symlink: %v", err)
	}
}
