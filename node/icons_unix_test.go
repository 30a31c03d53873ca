//go:build unix

package node_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The attacker's side of choosing my picture (a hostile local file): a FIFO no one writes
// to, a symlink to /dev/zero, a directory. Each is refused at once, the window's call never
// hangs, and the picture kept in the profile is bounded when read at start.
func TestMyPictureFromHostileFiles(t *testing.T) {
	dir := t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dir, "Alice", pa, pb, nil)
	files := t.TempDir()
	fifo := filepath.Join(files, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO here:", err)
	}
	t.Cleanup(func() { // whatever waits on the FIFO is let go
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	zero := filepath.Join(files, "zero.png")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, zero, files} {
		done := make(chan error, 1)
		go func() { done <- a.SetPicture(path) }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s taken as my picture", path)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("SetPicture(%s) still runs after 20 s", path)
		}
	}
	if a.Picture() != "" {
		t.Fatal("a refused file became my picture")
	}
}

// The picture kept in the profile is read at start: a FIFO (or a symlink to /dev/zero) put
// in its place neither hangs the start nor is read without end, and is not shown.
func TestMyPictureInProfileHostile(t *testing.T) {
	for _, kind := range []string{"fifo", "zero"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			pic := filepath.Join(dir, "picture")
			if kind == "fifo" {
				if err := syscall.Mkfifo(pic, 0o600); err != nil {
					t.Skip("no FIFO here:", err)
				}
			} else if err := os.Symlink("/dev/zero", pic); err != nil {
				t.Fatal(err)
			}
			// A watchdog lets a start stuck on the FIFO go on, and says it was stuck.
			hung := make(chan bool, 1)
			started := make(chan struct{})
			go func() {
				select {
				case <-started:
					hung <- false
				case <-time.After(20 * time.Second):
					if f, err := os.OpenFile(pic, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						f.Close()
					}
					hung <- true
				}
			}()
			a := startLoop(t, dir, "Alice", freePort(t), freePort(t), nil)
			close(started)
			if <-hung {
				t.Fatal("the node's start waited on the FIFO in the profile")
			}
			if a.Picture() != "" {
				t.Fatalf("my picture is %q", a.Picture())
			}
		})
	}
}
