package cli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
)

func run(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = Main(args, Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e})
	return o.String(), e.String(), code
}

func TestHelpEverywhere(t *testing.T) {
	if out, _, code := run(); code != 0 || !strings.Contains(out, "Commands:") {
		t.Fatalf("no args: %d %q", code, out)
	}
	for _, c := range commands {
		out, errOut, code := run(c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: feigo "+c.name) || !strings.Contains(out, "-profile") {
			t.Errorf("%s --help: exit %d, out %q, err %q", c.name, code, out, errOut)
		}
	}
	if _, errOut, code := run("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if _, errOut, code := run("send", "--profile", t.TempDir(), "only-peer"); code != 2 || !strings.Contains(errOut, "need PEER and TEXT") {
		t.Fatalf("send without text: %d %q", code, errOut)
	}
	if _, errOut, code := run("serve", "--bogus"); code != 2 || !strings.Contains(errOut, "bogus") {
		t.Fatalf("bad flag: %d %q", code, errOut)
	}
}

func TestCommandsWithoutANode(t *testing.T) {
	prof := t.TempDir()
	for _, args := range [][]string{{"peers"}, {"send", "x", "y"}, {"away"}, {"back"}, {"refresh"}, {"status"}} {
		_, errOut, code := run(append([]string{args[0], "--profile", prof}, args[1:]...)...)
		if code != 1 || !strings.Contains(errOut, "no FeiGo is running with this profile") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}

func TestServeRefusesBusyPortAndBusyProfile(t *testing.T) {
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.LocalAddr().(*net.UDPAddr).Port
	_, errOut, code := run("serve", "--profile", t.TempDir(), "--interface", "none", "--port", fmt.Sprint(port))
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("UDP port %d is in use", port)) || !strings.Contains(errOut, "FeiQ") {
		t.Fatalf("busy port: exit %d, %q", code, errOut)
	}

	prof := t.TempDir()
	ln, err := control.Listen(filepath.Join(prof, "feigo.sock"))
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, errOut, code = run("serve", "--profile", prof, "--interface", "none", "--port", "0")
	if code != 1 || !strings.Contains(errOut, "already running with this profile") {
		t.Fatalf("busy profile: exit %d, %q", code, errOut)
	}
	if _, errOut, code = run("serve", "--profile", t.TempDir(), "--interface", "none", "--broadcast", "not-an-ip"); code != 1 || !strings.Contains(errOut, "\"not-an-ip\" is not an address") {
		t.Fatalf("bad broadcast: exit %d, %q", code, errOut)
	}
	if _, errOut, code = run("serve", "--profile", t.TempDir(), "--legacy-encoding", "latin9"); code != 1 || !strings.Contains(errOut, "unknown text encoding") {
		t.Fatalf("bad encoding: exit %d, %q", code, errOut)
	}
}

// Every flag's placeholder in the help is one word that names what to give: Go's flag
// package takes a `quoted` word of the usage text as it, so "when `feigo accept` names"
// made "-download-dir feigo accept".
func TestFlagPlaceholders(t *testing.T) {
	for _, c := range commands {
		out, _, _ := run(c.name, "--help")
		for _, line := range strings.Split(out, "\n") {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			flag, _, _ := strings.Cut(line, "\t")
			if f := strings.Fields(flag); len(f) > 2 || (len(f) == 2 && f[1] == "value") {
				t.Errorf("%s --help: %q", c.name, line)
			}
		}
	}
}

// `feigo history` reads the profile's history itself, read-only, when no FeiGo runs.
func TestHistoryWithoutANode(t *testing.T) {
	prof := t.TempDir()
	if out, errOut, code := run("history", "--profile", prof, "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("no history yet: exit %d, %q, %q", code, out, errOut)
	}
	h, err := history.Open(filepath.Join(prof, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.Local)
	err = h.AddAll([]history.Record{
		{Time: t0, PeerID: "id-bob", User: "bob", Host: "pc1", Addr: "10.0.0.2:2425", Nick: "Bob", Direction: event.In, Text: "周报写好了吗", State: history.StateReceived},
		{Time: t0.Add(time.Second), PeerID: "id-bob", User: "bob", Host: "pc1", Addr: "10.0.0.2:2425", Nick: "Bob", Direction: event.Out, Text: "快了", State: history.StateDelivered},
		{Time: t0.Add(2 * time.Second), PeerID: "id-carol", User: "carol", Host: "pc2", Addr: "10.0.0.3:2425", Nick: "Carol", Direction: event.In, Text: "lunch?", State: history.StateReceived},
	})
	if err != nil {
		t.Fatal(err)
	}
	// What reading may leave: SQLite's lock files beside the database (owner-only, as the
	// database; FeiGo's node makes the same), nothing else, the database untouched.
	listing := func() []string {
		es, _ := os.ReadDir(prof)
		var names []string
		for _, e := range es {
			fi, _ := e.Info()
			switch e.Name() {
			case "history.db-wal", "history.db-shm":
				if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 { // Windows: the profile's access list
					t.Errorf("%s: %v", e.Name(), fi.Mode())
				}
				continue
			}
			names = append(names, fmt.Sprint(e.Name(), " ", fi.Size(), " ", fi.ModTime().UnixNano()))
		}
		return names
	}
	check := func(when string) {
		t.Helper()
		out, errOut, code := run("history", "--profile", prof)
		if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "← Bob [received] 周报写好了吗") || !strings.Contains(out, "→ Bob [delivered] 快了") {
			t.Fatalf("%s: exit %d, %q, %q", when, code, out, errOut)
		}
		out, _, code = run("history", "--profile", prof, "Carol")
		if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "lunch?") {
			t.Fatalf("%s: Carol's: exit %d, %q", when, code, out)
		}
		out, _, code = run("history", "--profile", prof, "--search", "周报", "--json")
		if code != 0 || !strings.Contains(out, `"text":"周报写好了吗"`) || strings.Contains(out, "lunch") {
			t.Fatalf("%s: search: exit %d, %q", when, code, out)
		}
	}
	check("while another process writes it") // a FeiGo that is starting, say
	h.Close()
	before := listing()
	check("closed")
	if after := listing(); !slices.Equal(before, after) {
		t.Fatalf("reading changed the profile: %q → %q", before, after)
	}
	// Clearing needs the node, which keeps the history.
	if _, errOut, code := run("history", "--profile", prof, "--clear", "Bob"); code != 1 || !strings.Contains(errOut, "no FeiGo is running") {
		t.Fatalf("--clear without a node: exit %d, %q", code, errOut)
	}
}
