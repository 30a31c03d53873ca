//go:build linux

// Package xvfb starts a virtual X display of a test's own.
package xvfb

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start starts Xvfb on a free display number from :90 up and returns its DISPLAY value; the
// server is stopped when the test ends. A number whose lock names a live server is skipped;
// a stale lock and socket (a server that was killed) are cleared. The server is stopped with
// SIGTERM so that it removes its own socket and lock: a killed one leaves its lock behind,
// and enough of those use up every number. Without Xvfb the test is skipped, or fails when
// CI=true.
func Start(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and Xvfb is missing: %v", err)
		}
		t.Skipf("this test needs Xvfb: %v", err)
	}
	for n := 90; n < 200; n++ {
		lock := fmt.Sprintf("/tmp/.X%d-lock", n)
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if b, err := os.ReadFile(lock); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				continue // a live server
			}
			os.Remove(lock)
			os.Remove(sock)
		} else if _, err := os.Stat(sock); err == nil {
			os.Remove(sock)
		}
		disp := fmt.Sprintf(":%d", n)
		// -noreset: the server does not reset when its last client leaves, when a client
		// coming right then would be refused (a probe, then the window manager).
		cmd := exec.Command("Xvfb", disp, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
		if up(t, disp, cmd.Process.Pid, lock, sock, exited) {
			return disp
		}
		// Another test run (another go test process) took the number between our look at its
		// lock and our server's start: ours exits ("Server is already active"), leaving that
		// run's lock and socket alone. Try the next number.
	}
	t.Fatal("no free X display number")
	return ""
}

// up waits until the Xvfb with the given PID serves disp: its socket is there and the lock
// names it, not a server of another test run that started on the same number at the same
// time (the socket alone would be that server's). It reports false if our server exited.
func up(t testing.TB, disp string, pid int, lock, sock string, exited <-chan struct{}) bool {
	t.Helper()
	for range 100 {
		select {
		case <-exited:
			return false
		default:
		}
		b, err := os.ReadFile(lock)
		owner, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if _, serr := os.Stat(sock); err == nil && serr == nil && owner == pid {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Xvfb %s did not come up", disp)
	return false
}
