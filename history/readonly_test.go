package history

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"feigo/event"
)

// OpenReadOnly reads what the node stored, writes nothing, and creates no database.
func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	if _, err := OpenReadOnly(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing database: %v", err)
	}
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(Record{Peer: "b", Direction: event.In, Text: "你好", State: StateReceived}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rs, err := r.Query(Filter{Search: "你好"}); err != nil || len(rs) != 1 {
		t.Fatalf("read %v, %v", rs, err)
	}
	if _, err := r.Add(Record{Peer: "b", Direction: event.In, Text: "x", State: StateReceived}); err == nil {
		t.Fatal("a read-only store wrote")
	}
	// The writer goes on while it is open.
	if _, err := w.Add(Record{Peer: "b", Direction: event.Out, Text: "在", State: StateDelivered}); err != nil {
		t.Fatal(err)
	}
	if rs, err := r.Query(Filter{Peer: "b"}); err != nil || len(rs) != 2 {
		t.Fatalf("after the writer wrote: %d, %v", len(rs), err)
	}
	// One of another schema is not read.
	if _, err := w.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := OpenReadOnly(path); err == nil {
		t.Fatal("a database of a newer schema was read")
	}
}
