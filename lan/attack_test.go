package lan

// An attacker's pass over the trust layer. Each test here states a claim of README's "Trust"
// section and tries to break it; a failure ("BREAK: …") says what the attacker achieved. Each
// broke the first version of the trust layer and holds since its fix. Loopback stands for the LAN: every node is on 127.0.0.1 with
// its own port, so a socket on 127.0.0.1 with another port is "another program or user on the
// colleague's machine" (or a LAN host that forges the colleague's IP with another port).

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/trust"
	"feigo/xfer"
)

// securePair starts Alice and Bob, each with a key, and waits until each lists the other as
// a colleague who proved a key.
func securePair(t *testing.T, tweak func(*Config)) (a, b *testNode) {
	t.Helper()
	ca, cb := loopbackConn(t), loopbackConn(t)
	tw := func(c *Config) {
		withKey(t)(c)
		c.StateDir = t.TempDir()
		if tweak != nil {
			tweak(c)
		}
	}
	a = startNode(t, ca, "Alice", tw, addrOf(cb))
	b = startNode(t, cb, "Bob", tw, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Alice" && e.Peer.Secure })
	return a, b
}

// samePort returns a UDP socket and a TCP listener on one loopback port, as a host that
// serves port 2425 has.
func samePort(t *testing.T) (*net.UDPConn, net.Listener) {
	t.Helper()
	uc := loopbackConn(t)
	v, ok := reservedTCP.LoadAndDelete(uc) // the TCP port loopbackConn reserved next to it
	if !ok {
		t.Fatal("no TCP port reserved")
	}
	ln := v.(*net.TCPListener)
	t.Cleanup(func() { uc.Close(); ln.Close() })
	return uc, ln
}

// samePortAt is samePort on another loopback address: another host, as far as the node can
// tell.
func samePortAt(t *testing.T, ip string) (*net.UDPConn, net.Listener) {
	t.Helper()
	for range 50 {
		uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp4", uc.LocalAddr().String())
		if err == nil {
			t.Cleanup(func() { uc.Close(); ln.Close() })
			return uc, ln
		}
		uc.Close()
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil, nil
}

func sendUDP(t *testing.T, c *net.UDPConn, to netip.AddrPort, no uint32, user, host string, cmd ipmsg.Command, body []byte) {
	t.Helper()
	b, err := ipmsg.Packet{Version: "1_feigo 0.1.0", No: no, User: []byte(user), Host: []byte(host), Cmd: cmd, Body: body}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls f for up to d.
func waitFor(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f()
}

// Claim 1: "a host that copies a colleague's announcement ... moves nothing".
//
// Break: the proof checks only that *something* answers TLS with the key at the announced
// address. A host that copies Bob's announcement and relays TCP from its own port 2425 to
// Bob's makes Bob himself answer the proof, so Alice moves Bob to the relay's address. No
// key, no spoofing. Then a BR_EXIT from the relay's own address, with the relay shut,
// removes Bob from Alice's list while Bob is still running (and every message, queued
// message and file for Bob now goes to the relay, which may drop it).
func TestAttackRelayMovesColleague(t *testing.T) {
	a, b := securePair(t, nil)
	uc, ln := samePort(t)
	relay := addrOf(uc)

	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp4", b.addr.String())
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, u)
			mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})

	// Bob's own announcement, copied byte for byte, sent from the relay's address.
	sendUDP(t, uc, a.addr, 4242, "bob", "host-Bob", ipmsg.BrEntry, ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	moved := waitFor(3*time.Second, func() bool { p, _ := colleague(a, "id-Bob"); return p.Addr == relay })
	if moved {
		p, _ := colleague(a, "id-Bob")
		t.Errorf("BREAK: a copied announcement + a TCP relay moved Bob in Alice's table to the relay %v (secure=%v, warning=%q)", p.Addr, p.Secure, p.Warning)
	}

	// The relay stops relaying and says goodbye from its own address.
	ln.Close()
	mu.Lock()
	for _, c := range open {
		c.Close()
	}
	mu.Unlock()
	sendUDP(t, uc, a.addr, 4243, "bob", "host-Bob", ipmsg.BrExit, ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	gone := waitFor(3*time.Second, func() bool { _, ok := colleague(a, "id-Bob"); return !ok })
	if gone {
		t.Errorf("BREAK: Bob, still running at %v, was removed from Alice's list by a BR_EXIT from the relay's address", b.addr)
	}
}

// Claim 2: "a forged RELEASEFILES in the name of a colleague who proved a key changes
// nothing; offers are not cancelled".
//
// Break: handle() drops datagrams only from the colleague's exact address and port. A
// RELEASEFILES from the colleague's IP with any other source port (another user on Bob's
// machine, no spoofing needed; or a LAN host forging Bob's IP) goes to xfer.OnRelease, whose
// fallback matches "a live recipient at this IP" and declines Bob's offer. Packet numbers are
// the sender's clock in seconds, so an attacker can spray a range without knowing it.
func TestAttackForgedReleaseFromColleaguesIP(t *testing.T) {
	a, b := securePair(t, nil)
	src := filepath.Join(t.TempDir(), "payroll.xlsx")
	writeRandom(t, src, 100<<10, 9)
	out, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil || len(out.Recipients[0].Key) == 0 {
		t.Fatalf("offer %+v %v", out, err)
	}
	in := incoming(t, b)

	evil := loopbackConn(t) // Bob's IP, another port
	for no := out.PacketNo - 3; no <= out.PacketNo+3; no++ {
		sendUDP(t, evil, a.addr, 77, "bob", "host-Bob", ipmsg.ReleaseFiles, []byte(fmt.Sprint(no)+"\x00"))
	}
	time.Sleep(500 * time.Millisecond)
	tr, _ := a.Transfer(out.ID)
	if st := tr.Recipients[0].State; st != xfer.StateOffered {
		t.Errorf("BREAK: a RELEASEFILES from Bob's IP (port %d, not Bob's) ended Alice's offer to Bob: recipient %s (%s)", addrOf(evil).Port(), st, tr.Recipients[0].Error)
	}
	if _, err := b.Accept(in.ID, t.TempDir(), nil); err == nil {
		if got := waitFinal(t, b, in.ID); got.State != xfer.StateDone {
			t.Errorf("BREAK: Bob can no longer fetch the file he was offered: %s %s", got.State, got.Error)
		}
	}
}

// Claims 2/3: "no forged message is shown as from them"; messages between colleagues are
// authenticated and delivered exactly once.
//
// Break: the duplicate filter is keyed by (sender IP, user name, packet number) and is shared
// by the TLS channel and by plain UDP. A SENDMSG from Alice's IP with another port (another
// user on Alice's machine, or a forged source IP), with Alice's user name and the packet
// numbers Alice will use next (her clock in seconds), is taken as a stranger's message and
// remembered; Alice's real message then arrives over TLS, is acknowledged (Alice is told
// "delivered") and silently dropped as a duplicate.
func TestAttackDedupPoisonSuppressesMessage(t *testing.T) {
	a, b := securePair(t, nil)
	evil := loopbackConn(t) // Alice's IP, another port
	// Packet numbers used to follow the clock; they are unpredictable now (packetNos), so
	// these are the guesses that used to hit.
	now := uint32(time.Now().Unix())
	nos := map[uint32]bool{now: true, now + 1: true, now + 2: true, now + 3: true}
	for no := range nos {
		sendUDP(t, evil, b.addr, no, "alice", "host-Alice", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.NoAddListOpt, []byte("ok\x00"))
	}
	// Wait for Bob's acknowledgements: the numbers are remembered.
	buf := make([]byte, 2048)
	for range nos {
		evil.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, _, err := evil.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("no ack for the poison: %v", err)
		}
	}
	ds, err := a.Send(context.Background(), "the real message", b.addr)
	if err != nil || ds[0].Err != nil {
		t.Fatalf("send: %+v %v", ds, err)
	}
	deadline := time.After(3 * time.Second)
	for {
		select {
		case e := <-b.events:
			if e.Type == "message" && e.Message.Text == "the real message" {
				return // held
			}
			continue
		case <-deadline:
		}
		break
	}
	t.Errorf("BREAK: Alice's message (packet %d) was acknowledged over TLS (Alice: delivered, encrypted=%v) but never shown to Bob: a datagram from Alice's IP with another port had taken its number", ds[0].PacketNo, ds[0].Encrypted)
}

// Claim 4: the TLS port "cannot be used to exhaust the node".
//
// Break: proofs are capped at 32 in flight, globally. One host announces 32 made-up keyed
// identities whose address accepts TCP and never says a word: each proof hangs for
// proveTimeout (5 s), and every other announcement meanwhile (a colleague starting up) is
// dropped by scheduleProof, never retried. A 5-second burst of 32 datagrams at the right
// time hides a colleague from Alice until the colleague next announces itself (and Alice
// refuses its messages over TLS meanwhile: not proved here).
func TestAttackStalledProofsHideColleague(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t))
	uc, ln := samePortAt(t, "127.0.0.2") // the attacker is another host than Bob
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	var bodies [][]byte
	ghosts := maxProofs
	if os.Getenv("GHOSTS") != "" {
		fmt.Sscan(os.Getenv("GHOSTS"), &ghosts)
	}
	for i := range ghosts {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		bodies = append(bodies, ipmsg.EntryBody(ipmsg.UTF8, ipmsg.Entry{User: "x", Host: "x", Nick: fmt.Sprint("ghost", i),
			Client: ipmsg.ClientFeiGo, Charset: ipmsg.UTF8, UTF8: true, ID: fmt.Sprint("ghost-", i), Key: pub}))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for round := uint32(0); ; round++ {
			for i, body := range bodies {
				sendUDP(t, uc, a.addr, 1000+round*100+uint32(i), "x", "x", ipmsg.BrEntry, body)
			}
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	// Bob starts while the attack runs (he announces at 0, 1 and 3 s), then the attack stops.
	b := startNode(t, cb, "Bob", withKey(t), a.addr)
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()
	listed := waitFor(6*time.Second, func() bool { p, ok := colleague(a, "id-Bob"); return ok && p.Secure })
	if !listed {
		_, bobSeesAlice := colleague(b, "id-Alice")
		t.Errorf("BREAK: Bob (running, announced 3 times) is not listed by Alice 6 s after 32 stalled proofs ended (Bob lists Alice: %v)", bobSeesAlice)
	}
}

// Claim 4: the demux "cannot be used to exhaust the node" (README: "at most 256 connections at
// once and 16 per address").
//
// Break: the demux, which every TCP connection passes first, has only the global cap of 256
// and no cap per address. One host that opens 256 connections and sends nothing (each held
// 10 s by the first-byte sniff, then simply reopened; or a TLS channel with any key, held
// 60 s per idle frame) shuts Bob's port: no channel, no proof, no file. Alice's message to
// Bob fails, and — the real harm — a forged BR_EXIT from Bob's address is now "believed",
// since the exit proof cannot reach Bob: Bob disappears from Alice's list.
func TestAttackDemuxSlotsExhausted(t *testing.T) {
	a, b := securePair(t, func(c *Config) { c.RetryBudget = 2 * time.Second })
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// The attacker is another host: 127.0.0.2 (Alice is 127.0.0.1).
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	for range maxChannels {
		c, err := d.Dial("tcp4", b.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	ds, err := a.Send(context.Background(), "are you there", b.addr)
	if err == nil && ds[0].Err != nil {
		t.Errorf("BREAK: 256 silent TCP connections from one address shut Bob's TLS port: Alice's message failed (%v)", ds[0].Err)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the forged BR_EXIT part is skipped")
		return
	}
	// A BR_EXIT with Bob's address forged (raw socket: the attacker is root on its host).
	pkt, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 99, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: ipmsg.BrExit,
		Body: ipmsg.EntryBody(ipmsg.UTF8, b.Self())}.Marshal()
	if err := spoofUDP(b.addr, a.addr, pkt); err != nil {
		t.Logf("raw socket: %v", err)
		return
	}
	if waitFor(4*time.Second, func() bool { _, ok := colleague(a, "id-Bob"); return !ok }) {
		t.Errorf("BREAK: with Bob's port full, one forged BR_EXIT removed Bob (running) from Alice's list")
	}
}

// Claims 1 and 5: "pins cannot be ... corrupted remotely"; "an announcement without the key
// cannot touch a colleague who proved one".
//
// Break: MaxPins evicts the oldest unverified pins, and every remote identity that proves a
// key is pinned (Pins.See runs before the table's limits, so one address can add any number).
// Once a hostile host has proved 10,000 made-up identities (here 9,999 are put in directly,
// as those proofs would have left them, and the last one is a real remote FeiGo node), Bob's
// pin is gone. Then a keyless FeiGo entry naming Bob's ID, from the attacker's own address,
// is no longer refused: Alice's table moves id-Bob to the attacker, insecure, and Alice's
// next message to Bob goes to the attacker in plain text (the node resolves Bob by ID; the
// offline queue is delivered on that BR_ENTRY too).
func TestAttackPinEvictionTakeover(t *testing.T) {
	a, _ := securePair(t, nil)
	pins := a.cfg.Pins
	if _, ok := pins.Get("id-Bob"); !ok {
		t.Fatal("Bob is not pinned")
	}
	for i := range trust.MaxPins {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		pins.See(fmt.Sprint("filler-", i), pub, "")
	}
	// One more identity, proved remotely by a real node at another address.
	cm := loopbackConn(t)
	startNode(t, cm, "Mallory", withKey(t), a.addr)
	if !waitFor(5*time.Second, func() bool { _, ok := colleague(a, "id-Mallory"); return ok }) {
		t.Fatal("Mallory was not proved")
	}
	if _, ok := pins.Get("id-Bob"); !ok {
		t.Errorf("BREAK: Bob's pin was evicted by a stranger's proved identity (%d pins)", len(pins.All()))
	}

	// A keyless entry with Bob's ID, from the attacker's own address.
	r := newRawPeer(t)
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, "Bob\x00QA\x00\nFGID:id-Bob\x00")
	// Bob is listed by his key's fingerprint; the name id-Bob must not go to the attacker.
	if !waitFor(3*time.Second, func() bool { p, _ := a.Table().Get("id-Bob"); return p.Addr == r.addr() }) {
		return
	}
	p, _ := a.Table().Get("id-Bob")
	t.Errorf("BREAK: a keyless entry took id-Bob in Alice's table: now at %v, secure=%v, warning=%q", p.Addr, p.Secure, p.Warning)
	go a.Send(context.Background(), "the payroll password is hunter2", p.Addr)
	got := r.expect(ipmsg.SendMsg)
	t.Errorf("BREAK: Alice's message to id-Bob reached the attacker in plain text: %q", ipmsg.FirstSection(got.Body))
}

// Held (passes): frames before or without a hello, malformed and oversized frames, odd modes
// and a file request from another key over TLS neither crash the node nor get a file.
func TestAttackChannelJunkHeld(t *testing.T) {
	a, b := securePair(t, nil)
	src := filepath.Join(t.TempDir(), "x.bin")
	writeRandom(t, src, 50<<10, 4)
	out, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	mal, _ := trust.LoadOrCreate(t.TempDir())
	dial := func() net.Conn {
		cfg := mal.ClientConfig(nil)
		cfg.VerifyPeerCertificate = nil
		c, err := tlsDial(a.addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	frames := [][]byte{
		{0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 3, 'a', 'b', 'c'},
		{0, 0, 0, 0},
	}
	for _, mode := range []ipmsg.Command{ipmsg.SendMsg | ipmsg.SendCheckOpt, ipmsg.RecvMsg, ipmsg.BrExit, ipmsg.ReleaseFiles, ipmsg.GetInfo, ipmsg.GetDirFiles, 0xff} {
		p, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 5, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: mode, Body: []byte(fmt.Sprint(out.PacketNo) + "\x00")}.Marshal()
		frames = append(frames, append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...))
	}
	for _, f := range frames {
		c := dial()
		c.Write(f)
		c.SetReadDeadline(time.Now().Add(time.Second))
		io.ReadAll(c)
		c.Close()
	}
	// A file request for Bob's offer, over TLS with another key.
	c := dial()
	p, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 6, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: ipmsg.GetFileData,
		Body: []byte(fmt.Sprintf("%x:0:0:", out.PacketNo))}.Marshal()
	writeFrame(c, p)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Errorf("BREAK: another key got %d bytes of Bob's file", len(got))
	}
	c.Close()
	tr, _ := a.Transfer(out.ID)
	if tr.Recipients[0].State != xfer.StateOffered {
		t.Errorf("BREAK: junk over TLS changed the offer: %s", tr.Recipients[0].State)
	}
	if ds, err := a.Send(context.Background(), "still here", b.addr); err != nil || ds[0].Err != nil {
		t.Errorf("after the junk: %+v %v", ds, err)
	}
}

func tlsDial(to netip.AddrPort, cfg *tls.Config) (net.Conn, error) {
	d := tls.Dialer{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return d.DialContext(ctx, "tcp4", to.String())
}
