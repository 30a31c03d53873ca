package xfer

import (
	"os"
	"path/filepath"
	"testing"
)

// Claim: transfer state is one owner-only ID.json per transfer, read as a bounded regular
// file whose name is its ID. Attack: a local user (or a restored backup) plants in the
// transfers folder a symlink named 5.json pointing at another file, a file named 7.json
// whose content claims ID 8, and a file with an ID outside the folder's names; none may be
// loaded, followed or written through.
func TestAttackPlantedTransferFilesHeld(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "transfers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "victim.json")
	os.WriteFile(target, []byte(`{"id":5}`), 0o600)
	if err := os.Symlink(target, filepath.Join(dir, "5.json")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "7.json"), []byte(`{"id":8}`), 0o600)
	os.WriteFile(filepath.Join(dir, "..json"), []byte(`{"id":-1}`), 0o600)
	ts, err := loadTransfers(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.all) != 0 {
		t.Errorf("BREAK: planted transfer files were loaded: %d", len(ts.all))
	}
	if b, _ := os.ReadFile(target); string(b) != `{"id":5}` {
		t.Errorf("BREAK: the symlink's target was changed: %q", b)
	}
}
