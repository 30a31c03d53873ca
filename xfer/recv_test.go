package xfer

import (
	"errors"
	"io/fs"
	"os"
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
		name, err := makeEntry("same.txt", func(name string) error {
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
