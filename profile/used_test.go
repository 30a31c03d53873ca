package profile_test

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"feigo/lan"
	"feigo/node"
	"feigo/profile"
)

// loopNode runs a node with the profile in dir on 127.0.0.1:port, announcing to peerPort,
// until the test ends; its events arrive on the returned channel.
func loopNode(t *testing.T, dir, nick string, port, peerPort int, tweak func(*lan.Config)) (*node.Node, chan lan.Event) {
	t.Helper()
	p, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	cfg, err := node.LANConfig(p, profile.Settings{Nick: nick, Port: port, Interfaces: []string{"none"},
		Broadcast: []string{fmt.Sprintf("127.0.0.1:%d", peerPort)}})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan lan.Event, 1000)
	cfg.Conn, cfg.TCP = conn, tcp
	cfg.OnEvent = func(ev lan.Event) {
		select {
		case events <- ev:
		default:
		}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := node.Start(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return n, events
}

func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		tc, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
		u.Close()
		if err == nil {
			tc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func waitFor(t *testing.T, events chan lan.Event, typ string) lan.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if string(ev.Type) == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 15s", typ)
		}
	}
}

// Everything in a profile that a node has used (ID, settings, control socket, history with
// its WAL and shared-memory files, the transfers folder and its files) is owner-only, even
// under umask 0.
func TestUsedProfileIsOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	pa, pb := freePort(t), freePort(t)
	inbox := t.TempDir()
	a, evA := loopNode(t, dirA, "Alice", pa, pb, nil)
	_, evB := loopNode(t, dirB, "Bob", pb, pa, func(c *lan.Config) { c.AcceptDir = inbox })
	if p, err := profile.Open(dirA); err != nil {
		t.Fatal(err)
	} else if err := p.Save(profile.Settings{Nick: "Alice"}); err != nil {
		t.Fatal(err)
	}
	bob := waitFor(t, evA, "peer_online").Peer.Addr
	if ds, err := a.Send(context.Background(), "hello", bob); err != nil || ds[0].Err != nil {
		t.Fatalf("send: %v %v", err, ds)
	}
	waitFor(t, evB, "message")
	src := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(src, []byte("data"), 0o600)
	if _, err := a.SendFiles(context.Background(), "", []string{src}, bob); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evA, "transfer_done")
	waitFor(t, evB, "transfer_done")

	for _, dir := range []string{dirA, dirB} {
		seen := map[string]bool{}
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil // a file SQLite removed meanwhile
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s is %v, want %v", path, fi.Mode(), want)
			}
			seen[d.Name()] = true
			return nil
		})
		for _, f := range []string{"id", "feigo.sock", "history.db", "history.db-wal", "history.db-shm", "transfers", "1.json"} {
			if !seen[f] {
				t.Errorf("%s: no %s (the test does not exercise what it says)", dir, f)
			}
		}
	}
}
