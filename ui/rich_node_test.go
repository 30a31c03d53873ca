package ui

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"feigo/internal/wine"
	"feigo/lan"
	"feigo/node"
	"feigo/peers"
	"feigo/profile"
	"feigo/xfer"
)

// nodeCore is the window's core on a real node, as package gui makes it.
type nodeCore struct{ *node.Node }

func (c nodeCore) Peers() []peers.Peer { return c.Table().Snapshot() }

// loopNode starts a node with its own profile on 127.0.0.1:port, announcing to peerPort; its
// events go to the window *to once there is one.
func loopNode(t testing.TB, nick string, port, peerPort int, to *atomic.Pointer[testUI]) *node.Node {
	t.Helper()
	p, err := profile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LANConfig(p, profile.Settings{Nick: nick, Port: port, Interfaces: []string{"none"},
		Broadcast: []string{fmt.Sprintf("127.0.0.1:%d", peerPort)}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conn, cfg.TCP = conn, tcp
	cfg.OnEvent = func(ev lan.Event) {
		if to != nil {
			if u := to.Load(); u != nil {
				u.inbox.Push(ev)
			}
		}
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
		<-done
	})
	return n
}

func freeLoopPort(t testing.TB) int {
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

// nodeAndWindow starts two real nodes on loopback, Alice's and Bob's, waits until each has
// proved the other's key, and opens Bob's window (Fyne's test driver) on his node. It returns
// Alice's node, Bob's window, and each as the other lists them.
func nodeAndWindow(tb testing.TB) (a *node.Node, u *testUI, alice, bob peers.Peer) {
	tb.Helper()
	pa, pb := freeLoopPort(tb), freeLoopPort(tb)
	var win atomic.Pointer[testUI]
	a = loopNode(tb, "Alice", pa, pb, nil)
	b := loopNode(tb, "Bob", pb, pa, &win)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		qa, oka := b.Table().ByAddr(netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", pa)))
		qb, okb := a.Table().ByAddr(netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", pb)))
		if oka && okb && qa.Secure && qb.Secure {
			alice, bob = qa, qb
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("the nodes do not see each other")
		}
	}
	u = newTestWindow(tb, test.NewTempApp(tb), nodeCore{b}, Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(900, 600))
	win.Store(u)
	return a, u, alice, bob
}

// A PNG sent by one FeiGo node to another arrives byte-identical and the receiver's window
// (Fyne's test driver, on the real node) shows it inline at its place in the text.
func TestImageFromAnotherNodeShownInline(t *testing.T) {
	a, u, alice, bob := nodeAndWindow(t)

	src := testPNG(t, 300, 200)
	want, _ := os.ReadFile(src)
	text := "第一行\nsee:after"
	at := strings.Index(text, "after")
	if _, err := a.SendImages(context.Background(), "", text, []xfer.OutImage{{Path: src, At: at}}, bob.Addr); err != nil {
		t.Fatal(err)
	}
	var m *chatMsg
	u.until("the image shown", func() bool {
		c := u.convs[alice.ID]
		if c == nil {
			return false
		}
		for _, x := range c.msgs {
			if len(x.images) == 1 {
				m = x
				return true
			}
		}
		return false
	})
	got := strings.Join(bodyParts(m), "|")
	if wantParts := "T:第一行\nsee:|I:" + m.images[0].SHA256[:8] + "|T:after"; got != wantParts {
		t.Fatalf("the window shows %q, want %q", got, wantParts)
	}
	if data, err := os.ReadFile(m.images[0].Path); err != nil || !bytes.Equal(data, want) {
		t.Fatalf("the image shown is not the one sent: %v", err)
	}
	// An image without text: one row, the image alone (not an empty message first).
	c := u.convs[alice.ID]
	before := len(c.msgs)
	if _, err := a.SendImages(context.Background(), "", "", []xfer.OutImage{{Path: testPNG(t, 20, 20)}}, bob.Addr); err != nil {
		t.Fatal(err)
	}
	u.until("the second image shown", func() bool { return len(c.msgs) > before && len(c.msgs[len(c.msgs)-1].images) == 1 })
	u.settle()
	if len(c.msgs) != before+1 {
		t.Fatalf("an image without text made %d rows", len(c.msgs)-before)
	}
	if got := bodyParts(c.msgs[len(c.msgs)-1]); len(got) != 1 || !strings.HasPrefix(got[0], "I:") {
		t.Fatalf("the image alone shows %q", got)
	}
}
