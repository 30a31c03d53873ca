package profile_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"feigo/internal/wine"
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
		wine.SkipUnsupported(t, err)
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
			wine.SkipUnsupported(t, err)
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
