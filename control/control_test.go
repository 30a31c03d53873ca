package control

import (
	"errors"
	"feigo/internal/wine"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenReplacesStaleSocketOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "feigo.sock")
	// A socket file left by a node that died: nothing answers on it.
	dead, err := net.Listen("unix", path)
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	dead.(*net.UnixListener).SetUnlinkOnClose(false)
	dead.Close()
	ln, err := Listen(path)
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatalf("stale socket not replaced: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", fi.Mode(), err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen(path); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	ln.Close()

	plain := filepath.Join(dir, "not-a-socket")
	os.WriteFile(plain, []byte("keep me"), 0o600)
	if _, err := Listen(plain); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("regular file: %v", err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "keep me" {
		t.Fatal("a regular file was touched")
	}
	if _, err := Listen(filepath.Join(dir, strings.Repeat("x", 120))); err == nil || !strings.Contains(err.Error(), "over the system's limit") {
		t.Fatalf("long path: %v", err)
	}
	if _, err := Call(filepath.Join(dir, "none.sock"), Request{Cmd: "status"}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Call with no node: %v", err)
	}
}
