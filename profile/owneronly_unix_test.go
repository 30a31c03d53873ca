//go:build !windows

package profile

import (
	"os"
	"testing"
)

// checkOwnerOnly fails t unless path is the owner's alone: mode 0700 for a directory, 0600
// for a file.
func checkOwnerOnly(t *testing.T, path string, dir bool) {
	t.Helper()
	want := os.FileMode(0o600)
	if dir {
		want = 0o700
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != want {
		t.Fatalf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
	}
}
