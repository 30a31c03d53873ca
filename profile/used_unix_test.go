//go:build !windows

package profile_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"feigo/lan"
	"feigo/profile"
)

// Everything in a profile that a node has used (ID, settings, control socket, history with
// its WAL and shared-memory files, the transfers folder and its files) is owner-only, even
// under umask 0.
func TestUsedProfileIsOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	pa, pb := freePort(t), freePort(t)
	inbox := t.TempDir()
	a, evA := loopNode(t, dirA, "Alice", pa, pb, nil)
	_, evB := loopNode(t, dirB, "Bob", pb, pa, func(c *lan.Config) { c.AcceptDir = inbox })
	if p, err := profile.Open(dirA); err != nil {
		t.Fatal(err)
	} else if err := p.Save(profile.Settings{Nick: "Alice"}); err != nil {
		t.Fatal(err)
	}
	bob := waitFor(t, evA, "peer_online").Peer.Addr
	if ds, err := a.Send(context.Background(), "hello", bob); err != nil || ds[0].Err != nil {
		t.Fatalf("send: %v %v", err, ds)
	}
	waitFor(t, evB, "message")
	src := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(src, []byte("data"), 0o600)
	if _, err := a.SendFiles(context.Background(), "", []string{src}, bob); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evA, "transfer_done")
	waitFor(t, evB, "transfer_done")

	for _, dir := range []string{dirA, dirB} {
		seen := map[string]bool{}
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil // a file SQLite removed meanwhile
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s is %v, want %v", path, fi.Mode(), want)
			}
			seen[d.Name()] = true
			return nil
		})
		for _, f := range []string{"id", "feigo.sock", "history.db", "history.db-wal", "history.db-shm", "transfers", "1.json"} {
			if !seen[f] {
				t.Errorf("%s: no %s (the test does not exercise what it says)", dir, f)
			}
		}
	}
}
