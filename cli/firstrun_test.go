package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"feigo/control"
	"feigo/internal/wine"
)

// An empty history says so instead of printing nothing.
func TestEmptyHistorySaysSo(t *testing.T) {
	prof := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no messages yet\n"},
		{[]string{"Bob"}, "no messages with Bob yet\n"},
		{[]string{"--search", "周报"}, "nothing found\n"},
	} {
		out, errOut, code := run(append([]string{"history", "--profile", prof}, c.args...)...)
		if code != 0 || out != c.want {
			t.Errorf("history %q: exit %d, %q (stderr %q), want %q", c.args, code, out, errOut, c.want)
		}
	}
}

// `feigo status` names the group only when there is one (it said "in -").
func TestStatusWithoutGroup(t *testing.T) {
	s := control.Self{ID: "id1", Nick: "Li", User: "li", Host: "pc", Peers: 2}
	if got, want := statusLine(s), "Li (li@pc), online, 2 peers, ID id1"; got != want {
		t.Errorf("no group: %q, want %q", got, want)
	}
	s.Group, s.Away, s.AwayText = "研发部", true, "lunch"
	if got, want := statusLine(s), "Li (li@pc) in 研发部, away: lunch, 2 peers, ID id1"; got != want {
		t.Errorf("group: %q, want %q", got, want)
	}
}

// A serve that fails on a busy port leaves no new profile directory behind; an existing
// profile stays as it was.
func TestServeOnBusyPortLeavesNoProfile(t *testing.T) {
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer busy.Close()
	port := fmt.Sprint(busy.LocalAddr().(*net.UDPAddr).Port)
	prof := filepath.Join(t.TempDir(), "new")
	_, errOut, code := run("serve", "--profile", prof, "--interface", "none", "--port", port)
	if code != 1 || !strings.Contains(errOut, "is in use") {
		t.Fatalf("busy port: exit %d, %q", code, errOut)
	}
	if _, err := os.Lstat(prof); !os.IsNotExist(err) {
		t.Fatalf("the failed serve left %s: %v", prof, err)
	}
	existing := t.TempDir()
	os.WriteFile(filepath.Join(existing, "settings.json"), []byte("{}\n"), 0o600)
	if _, _, code := run("serve", "--profile", existing, "--interface", "none", "--port", port); code != 1 {
		t.Fatalf("busy port: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(existing, "settings.json")); err != nil {
		t.Fatalf("an existing profile lost its settings: %v", err)
	}
}
