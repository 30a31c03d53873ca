package cli

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"feigo/control"
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
	if _, errOut, code = run("serve", "--profile", t.TempDir(), "--interface", "none", "--broadcast", "not-an-ip"); code != 1 || !strings.Contains(errOut, "not an IPv4 address") {
		t.Fatalf("bad broadcast: exit %d, %q", code, errOut)
	}
	if _, errOut, code = run("serve", "--profile", t.TempDir(), "--legacy-encoding", "latin9"); code != 1 || !strings.Contains(errOut, "unknown text encoding") {
		t.Fatalf("bad encoding: exit %d, %q", code, errOut)
	}
}
