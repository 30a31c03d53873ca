package node_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/node"
	"feigo/profile"
	"feigo/trust"
)

// legacyPeer is an iptux-like client on loopback: it announces itself to port and
// acknowledges every message, and reports the texts it got.
func legacyPeer(t *testing.T, port int) (addr netip.AddrPort, got <-chan string) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	texts := make(chan string, 10)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	write := func(no uint32, cmd ipmsg.Command, body string) {
		b, _ := ipmsg.Packet{Version: "1_iptux 0.8.3", No: no, User: []byte("lee"), Host: []byte("pc"), Cmd: cmd, Body: []byte(body)}.Marshal()
		c.WriteToUDPAddrPort(b, to)
	}
	write(1, ipmsg.BrEntry|ipmsg.UTF8Opt, "Lee\x00QA\x00")
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p, err := ipmsg.Decode(append([]byte(nil), buf[:n]...))
			if err != nil || p.Cmd.Mode() != ipmsg.SendMsg {
				continue
			}
			write(p.No+1, ipmsg.RecvMsg, fmt.Sprint(p.No))
			select {
			case texts <- string(ipmsg.FirstSection(p.Body)):
			default:
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), texts
}

// Under the "ask" policy, nothing goes to a client that cannot encrypt until the user allows
// that colleague (--unencrypted); under "refuse", nothing goes at all.
func TestLegacyPolicyAsks(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	a := startLoop(t, dir, "Alice", port, freePort(t), nil)
	a.ApplyPolicy(profile.Settings{Legacy: profile.LegacyAsk})
	lee, got := legacyPeer(t, port)
	a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Lee" })

	out, errOut, code := run("send", "--profile", dir, "Lee", "the password is hunter2")
	if code != 1 || !strings.Contains(errOut, "cannot encrypt") || !strings.Contains(errOut, "--unencrypted") {
		t.Fatalf("send to a legacy client under ask: %d %q %q", code, out, errOut)
	}
	src := filepath.Join(t.TempDir(), "payroll.xlsx")
	os.WriteFile(src, []byte("salaries"), 0o600)
	if _, err := a.SendFiles(t.Context(), "", []string{src}, lee); !errors.Is(err, node.ErrUnencrypted) {
		t.Fatalf("file offer under ask: %v", err)
	}
	select {
	case text := <-got:
		t.Fatalf("the legacy client got %q before it was allowed", text)
	case <-time.After(300 * time.Millisecond):
	}
	out, errOut, code = run("send", "--profile", dir, "--unencrypted", "Lee", "allowed now")
	if code != 0 || !strings.Contains(out, "delivered to Lee") {
		t.Fatalf("send --unencrypted: %d %q %q", code, out, errOut)
	}
	if text := <-got; text != "allowed now" {
		t.Fatalf("got %q", text)
	}
	if rs, err := a.History.Query(history.Filter{Peer: "lee@pc"}); err != nil || len(rs) != 1 || rs[0].Encrypted || rs[0].State != history.StateDelivered {
		t.Fatalf("the history of the message to Lee: %+v %v", rs, err)
	}
	// Allowed stays allowed while the node runs.
	if _, errOut, code = run("send", "--profile", dir, "Lee", "again"); code != 0 {
		t.Fatalf("second send: %d %q", code, errOut)
	}

	a.ApplyPolicy(profile.Settings{Legacy: profile.LegacyRefuse, LegacyAllowed: []string{lee.String()}})
	if _, err := a.Send(t.Context(), "no", lee); !errors.Is(err, node.ErrUnencrypted) || !strings.Contains(err.Error(), "refuses") {
		t.Fatalf("send under refuse: %v", err)
	}
}

// A typo in the policy is an error, not a silent default.
func TestPolicyTypoRefused(t *testing.T) {
	p, err := profile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.LANConfig(p, profile.Settings{Legacy: "alow"}); err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("legacy typo: %v", err)
	}
	if _, err := node.LANConfig(p, profile.Settings{Encryption: "optional"}); err == nil {
		t.Fatal("encryption typo accepted")
	}
	cfg, err := node.LANConfig(p, profile.Settings{Legacy: profile.LegacyRefuse, Encryption: profile.EncryptionPreferred})
	if err != nil || !cfg.RefuseLegacy || !cfg.PlaintextFallback {
		t.Fatalf("%+v %v", cfg, err)
	}
}

// A profile from before IDs were keys: its history knows Bob by his FeiGo ID. Once Bob
// proves his key, his conversation, contact and queue are his fingerprint's, and the message
// queued for him is delivered; `feigo history Bob` shows it all.
func TestHistoryFollowsTheKey(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pb, err := profile.Open(dirB)
	if err != nil {
		t.Fatal(err)
	}
	bobKey, err := trust.LoadOrCreate(dirB)
	if err != nil {
		t.Fatal(err)
	}
	old, err := history.Open(filepath.Join(dirA, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() }) // also when the test stops early (closing twice is harmless)
	t0 := time.Now().Add(-time.Hour)
	portA, portB := freePort(t), freePort(t)
	bobAt := fmt.Sprintf("127.0.0.1:%d", portB) // where Alice last saw Bob: he comes back there
	for _, r := range []history.Record{
		{PeerID: pb.ID, Nick: "Bob", Addr: bobAt, Direction: event.In, Text: "周报 attached", State: history.StateReceived, Time: t0},
		{PeerID: pb.ID, Nick: "Bob", Addr: bobAt, Direction: event.Out, Text: "waiting for you", State: history.StateQueued, Time: t0.Add(time.Minute)},
	} {
		if _, err := old.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	a := startLoop(t, dirA, "Alice", portA, portB, nil)
	b := startLoop(t, dirB, "Bob", portB, portA, nil)
	fp := bobKey.Fingerprint().String()
	on := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" })
	if on.Peer.ID != fp || !on.Peer.Secure {
		t.Fatalf("Bob listed as %+v, want ID %s", on.Peer, fp)
	}
	if ev := b.wait(t, "message", nil); ev.Message.Text != "waiting for you" || !ev.Message.Encrypted {
		t.Fatalf("Bob got %+v", ev.Message)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, err := a.History.Query(history.Filter{Peer: fp})
		if err == nil && len(rs) == 2 && rs[1].State == history.StateDelivered && rs[1].Encrypted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("under Bob's key: %+v %v", rs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rs, _ := a.History.Query(history.Filter{Peer: pb.ID}); len(rs) != 0 {
		t.Fatalf("left under the old ID: %+v", rs)
	}
	out, errOut, code := run("history", "--profile", dirA, "Bob")
	if code != 0 || !strings.Contains(out, "周报 attached") || !strings.Contains(out, "waiting for you") {
		t.Fatalf("feigo history Bob: %d %q %q", code, out, errOut)
	}
}

// The reach settings reach the node; a range that is not one is an error.
func TestReachSettings(t *testing.T) {
	p, err := profile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LANConfig(p, profile.Settings{NoHostList: true, NoPeerExchange: true, VirtualInterfaces: true, ReachRanges: []string{"203.0.113.7/24"}})
	if err != nil || !cfg.NoHostList || !cfg.NoExchange || !cfg.VirtualInterfaces || len(cfg.ReachRanges) != 1 || cfg.ReachRanges[0].String() != "203.0.113.0/24" {
		t.Fatalf("%+v %v", cfg, err)
	}
	cfg, err = node.LANConfig(p, profile.Settings{})
	if err != nil || cfg.NoHostList || cfg.NoExchange || cfg.VirtualInterfaces || cfg.ReachRanges != nil {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	if _, err := node.LANConfig(p, profile.Settings{ReachRanges: []string{"10.0.0.0/33"}}); err == nil || !strings.Contains(err.Error(), "reach range") {
		t.Fatalf("bad range: %v", err)
	}
}
