package xfer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestNameClashesCostFewTries(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	const count = 2000
	tries := 0
	seen := map[string]bool{}
	for range count {
		name, err := makeEntry("same.txt", nil, func(name string) error {
			tries++
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen[name] {
			t.Fatalf("%q given twice", name)
		}
		seen[name] = true
	}
	// Counting up from "same (1).txt" would take count*(count+1)/2 tries.
	if tries > 12*count {
		t.Errorf("%d tries for %d entries of one name", tries, count)
	}
	// uniqueName and finalize, on the same crowded folder, are as cheap.
	if _, err := uniqueName(root, ".", "same.txt", true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root.Name()+"/p", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := finalize(root, "p", "same.txt")
	if err != nil || seen[got] {
		t.Fatalf("finalize: %q %v", got, err)
	}
	if _, err := root.Lstat(got); errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("finalize did not create %q", got)
	}
}

// A resumed folder finds its entries under the names the interrupted attempt gave them:
// claim gives, for the stream's names in order, what makeEntry gave in a folder that started
// empty (colliding names numbered alike).
func TestClaimMatchesMakeEntry(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	names := []string{"a.txt", "a.txt", "b", "a.txt", "con", "x/../y", "a (1).txt", "a.txt"}
	// Past the numbered names a clash takes a random one: the interrupted attempt's must be
	// found too (they were not, and the folder started again).
	for range 30 {
		names = append(names, "same")
	}
	claimed := map[string]bool{}
	made1, claim1 := clashNames(7, 3, "p"), clashNames(7, 3, "p")
	for _, n := range names {
		made, err := makeEntry(n, made1, func(name string) error {
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		})
		got, cerr := claim(n, claimed, claim1)
		if (err == nil) != (cerr == nil) || got != made {
			t.Errorf("%q: makeEntry %q (%v), claim %q (%v)", n, made, err, got, cerr)
		}
	}
}

// What an interrupted folder download left is measured from its regular files only; a link
// or anything else planted in it (another local user, a tampered disk) makes the download
// start again instead of being followed, and so do too many entries.
func TestHeldContent(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if n, _, err := heldContent(root, "none.feigo-part", 100, 1000); n != 0 || err != nil {
		t.Fatalf("a missing partial: %d, %v", n, err)
	}
	os.MkdirAll(filepath.Join(dir, "p", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "p", "a"), make([]byte, 10), 0o644)
	os.WriteFile(filepath.Join(dir, "p", "sub", "b"), make([]byte, 20), 0o644)
	os.WriteFile(filepath.Join(dir, "p", "sub", "c"), nil, 0o644)
	if n, _, err := heldContent(root, "p", 100, 1000); n != 30 || err != nil {
		t.Fatalf("held %d, %v; want 30", n, err)
	}
	if _, _, err := heldContent(root, "p", 3, 1000); err == nil {
		t.Error("5 entries held under a bound of 3")
	}
	if _, _, err := heldContent(root, "p", 100, 29); err == nil {
		t.Error("30 bytes held under a bound of 29")
	}
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	if _, _, err := heldContent(root, "f", 100, 1000); err == nil {
		t.Error("a file where the partial folder should be is taken for one")
	}
	link := filepath.Join(dir, "p", "sub", "link")
	if err := os.Symlink("/etc/passwd", link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Skip("this system makes no symlink Go sees as one (Wine)")
	}
	if _, _, err := heldContent(root, "p", 100, 1000); err == nil {
		t.Error("a link in the partial folder is counted")
	}
}
