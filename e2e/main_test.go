//go:build linux

// Package e2e runs the real feigo binary on the hosts of a LAN lab (internal/lab).
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/peers"
)

// bin is the feigo binary built for this test run.
var bin string

func TestMain(m *testing.M) {
	if os.Getenv("FEIGO_FANOUT_HELPER") == "1" { // a benchmark's helper on a lab host: no build
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "feigo-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "feigo")
	build := exec.Command("go", "build", "-o", bin, "feigo")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building feigo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a `feigo serve` running on a lab host.
type node struct {
	*lab.Proc
	profile string
}

// serve starts `feigo serve` on h with the given nick and group and waits until it is up.
func serve(t testing.TB, h *lab.Host, nick, group string, extra ...string) *node {
	t.Helper()
	return serveProfile(t, h, filepath.Join(t.TempDir(), "p"), nick, group, extra...)
}

// serveProfile is serve with a given profile directory (a restart keeps it).
func serveProfile(t testing.TB, h *lab.Host, prof, nick, group string, extra ...string) *node {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"serve", "--profile", prof, "--nick", nick, "--group", group}, extra...)
	p := h.Start(dir, bin, args...)
	p.WaitEvent("ready", 10*time.Second, nil)
	n := &node{Proc: p, profile: prof}
	// The control socket is up once `status` answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := control.Call(filepath.Join(prof, "feigo.sock"), control.Request{Cmd: "status"}); err == nil {
			return n
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: control socket not answering: %v", h.NS, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pair builds a two-host lab with a node on each that sees the other.
func pair(t testing.TB) (l *lab.Lab, a, b *node) {
	t.Helper()
	l = lab.New(t, 2)
	a = serve(t, l.Hosts[0], "Alice", "QA")
	b = serve(t, l.Hosts[1], "Bob", "QA")
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)
	return l, a, b
}

// cli runs a feigo command against n's profile.
func (n *node) cli(args ...string) (stdout, stderr string, code int) {
	return n.Host.Run(bin, append([]string{args[0], "--profile", n.profile}, args[1:]...)...)
}

// cliJSON runs `feigo CMD --json ARGS…` against n and decodes what it prints.
func cliJSON[T any](t testing.TB, n *node, cmd string, args ...string) T {
	t.Helper()
	out, errOut, code := n.cli(append([]string{cmd, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("feigo %s: exit %d: %s", cmd, code, errOut)
	}
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("feigo %s --json printed %q: %v", cmd, out, err)
	}
	return v
}

// peers returns what `feigo peers --json` prints.
func (n *node) peers(t testing.TB) []peers.Peer {
	t.Helper()
	return cliJSON[[]peers.Peer](t, n, "peers")
}

// call sends a request to n's control socket.
func (n *node) call(req control.Request) (control.Response, error) {
	return control.Call(filepath.Join(n.profile, "feigo.sock"), req)
}

// waitPeers waits until n's table holds want peers.
func (n *node) waitPeers(t testing.TB, want int, timeout time.Duration) []peers.Peer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := n.call(control.Request{Cmd: "peers"})
		if err == nil && len(resp.Peers) == want {
			return resp.Peers
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s sees %d peers, want %d (err %v); log:\n%s", n.Host.NS, len(resp.Peers), want, err, n.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// labWith builds a two-host lab with one `feigo serve` on host 2; host 1 is left free.
func labWith(t testing.TB, nick, group string) (*lab.Lab, *node, *lab.Host) {
	t.Helper()
	l := lab.New(t, 2)
	return l, serve(t, l.Hosts[1], nick, group), l.Hosts[0]
}
