//go:build !windows

package history

import (
	"database/sql"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The history is the user's conversations: the database and the -wal and -shm files SQLite
// keeps next to it are owner-only whatever the umask, and an older, readable database is
// made owner-only when opened.
func TestFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	check := func(path string) {
		t.Helper()
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Errorf("%v (the test expects SQLite's files while the store is open)", err)
				continue
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want -rw-------", filepath.Base(f), fi.Mode())
			}
		}
	}

	fresh := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(Record{PeerID: "bob", Direction: "in", Text: "hi", State: StateReceived, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	check(fresh)
	s.Close()

	// A database an older FeiGo left world-readable, with its -wal and -shm still there
	// (a crash), opened again.
	older := filepath.Join(t.TempDir(), "history.db")
	db, err := sql.Open("sqlite", "file:"+older+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t(x)"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{older, older + "-wal", older + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(older)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Add(Record{PeerID: "bob", Direction: "in", Text: "hi", State: StateReceived, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	check(older)
}
