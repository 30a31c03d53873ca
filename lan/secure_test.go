package lan

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
	"feigo/trust"
	"feigo/xfer"
)

// withKey gives a test node an identity key and an empty pin store.
func withKey(t *testing.T) func(*Config) {
	return func(c *Config) {
		id, err := trust.LoadOrCreate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		c.Identity = id
		c.Pins, _ = trust.OpenPins("", nil)
	}
}

// colleague returns the peer n lists as the colleague pinned under the FeiGo ID name (not an
// impostor claiming it, which has a warning).
func colleague(n *testNode, name string) (peers.Peer, bool) {
	for _, p := range n.Table().Snapshot() {
		if p.Secure && p.PinName == name && p.Warning == "" {
			return p, true
		}
	}
	return peers.Peer{}, false
}

// waitStat waits until f holds for the node's counters.
func waitStat(t *testing.T, n *testNode, what string, f func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f(n.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters %+v", what, n.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A FeiGo colleague is their key: announcing their ID, with their key or with another, from
// another address moves nothing, and an impostor with a key of its own is listed apart,
// with a warning, while messages keep going to the real colleague.
func TestIdentityCannotBeTaken(t *testing.T) {
	ca, cb, cm := loopbackConn(t), loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb), addrOf(cm))
	b := startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	bob := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" }).Peer
	if !bob.Secure || bob.Fingerprint != b.cfg.Identity.Fingerprint().String() || bob.Addr != b.addr || bob.Warning != "" {
		t.Fatalf("Bob as Alice lists him: %+v", bob)
	}

	// A host that only copies Bob's announcement (his ID and his key) cannot prove the key.
	r := newRawPeer(t)
	body := string(ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, body)
	r.expect(ipmsg.AnsEntry) // answered as any entry is, believed in nothing
	waitStat(t, a, "the copied announcement was not proved", func(s Stats) bool { return s.NotProved >= 1 })
	if p, _ := colleague(a, "id-Bob"); p.Addr != b.addr {
		t.Fatalf("a copied announcement moved Bob to %v", p.Addr)
	}
	// An entry with Bob's ID and no key is listed apart, by its address.
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, "Bob\x00QA\x00\nFGID:id-Bob\x00")
	r.expect(ipmsg.AnsEntry)
	keyless := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == r.addr() }).Peer
	if keyless.ID == "id-Bob" || keyless.Secure || keyless.Warning == "" {
		t.Fatalf("a keyless claim of Bob's ID: %+v", keyless)
	}

	// A real FeiGo node with a key of its own announces Bob's ID (startNode names it id-Bob).
	m := startNode(t, cm, "Bob", withKey(t), addrOf(ca))
	imp := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == m.addr }).Peer
	if imp.ID == bob.ID || imp.ID != m.cfg.Identity.Fingerprint().String() || imp.Warning == "" || imp.Verified {
		t.Fatalf("the impostor is listed as %+v", imp)
	}
	if p, _ := colleague(a, "id-Bob"); p.Addr != b.addr || p.Fingerprint != bob.Fingerprint {
		t.Fatalf("the impostor moved Bob: %+v", p)
	}

	// Messages to Bob reach Bob.
	ds, err := a.Send(context.Background(), "payroll", bob.Addr)
	if err != nil || ds[0].Err != nil || ds[0].PeerID != bob.ID || !ds[0].Encrypted {
		t.Fatalf("send to Bob: %+v %v", ds, err)
	}
	if got := b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "payroll" }).Message; !got.Encrypted || got.PeerID != a.cfg.Identity.Fingerprint().String() {
		t.Fatalf("Bob received %+v", got)
	}
	for {
		select {
		case e := <-m.events:
			if e.Type == "message" {
				t.Fatalf("the impostor received %q", e.Message.Text)
			}
			continue
		default:
		}
		break
	}

	// Bob quits: his goodbye is believed once he no longer answers at his address.
	b.stop()
	a.waitEvent(t, "peer_offline", func(e Event) bool { return e.Peer.PinName == "id-Bob" })
}

// Files between FeiGo peers that proved their keys go over TLS, to the recipient's key only:
// a plain request from the recipient's own address (another program or user on its
// machine), naming the offer and the recipient's names, gets nothing; the recipient gets the
// file whole.
func TestFilesOnlyToTheRecipientsKey(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	src := filepath.Join(t.TempDir(), "payroll.xlsx")
	data := writeRandom(t, src, 3<<20, 7)
	out, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil || len(out.Recipients) != 1 || len(out.Recipients[0].Key) == 0 {
		t.Fatalf("offer: %+v %v", out, err)
	}
	in := incoming(t, b)
	if !in.FeiGo {
		t.Fatalf("incoming %+v", in)
	}
	// The other user on Bob's machine: same address, Bob's names, no key.
	c := dialTCP(t, a)
	pkt, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 9, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: ipmsg.GetFileData,
		Body: []byte(fmt.Sprintf("%x:0:0:", out.PacketNo))}.Marshal()
	c.Write(pkt)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Fatalf("a plain request for Bob's file got %d bytes", len(got))
	}
	c.Close()
	// Bob fetches it over TLS.
	dl := t.TempDir()
	if _, err := b.Accept(in.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitFinal(t, b, in.ID); got.State != xfer.StateDone {
		t.Fatalf("%+v", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dl, "payroll.xlsx")); !bytes.Equal(got, data) {
		t.Fatal("the file differs")
	}
}

// A colleague's change (away) that comes right after another announcement is not lost to
// the rule of one proof a second: it is proved a little later.
func TestQuickChangesAreProved(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb))
	b := startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	for range 3 {
		b.Refresh()
		b.SetAway(true, "lunch")
		a.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.AwayText == "lunch" })
		b.Refresh()
		b.SetAway(false, "")
		a.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Status == "online" })
	}
}

// A channel's keys are renewed: once ChannelMaxAge old, the next message goes over a new
// channel (a new TLS 1.3 handshake, new ephemeral keys); before that, the open one is used.
func TestChannelsAreRenewed(t *testing.T) {
	const age = 600 * time.Millisecond
	a, b := securePair(t, func(c *Config) { c.ChannelMaxAge = age })
	send := func(text string) {
		t.Helper()
		ds, err := a.Send(context.Background(), text, b.addr)
		if err != nil || ds[0].Err != nil {
			t.Fatalf("send: %+v %v", ds, err)
		}
		b.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == text })
	}
	start := time.Now()
	send("one")
	send("two")
	dialled := a.stats.channelsDialled.Load()
	if time.Since(start) < age && dialled != 1 {
		t.Fatalf("%d channels for two quick messages, want 1", dialled)
	}
	time.Sleep(age)
	send("three")
	if got := a.stats.channelsDialled.Load(); got != dialled+1 {
		t.Fatalf("%d channels after the age, want %d", got, dialled+1)
	}
}

// A peer that keeps a channel open past twice ChannelMaxAge has it closed by the server.
func TestOldChannelsAreClosed(t *testing.T) {
	const age = 300 * time.Millisecond
	a, b := securePair(t, func(c *Config) { c.ChannelMaxAge = age })
	d := tls.Dialer{Config: a.cfg.Identity.ClientConfig(b.cfg.Identity.Pub)}
	c, err := d.DialContext(context.Background(), "tcp4", b.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, _ := a.packet(ipmsg.UTF8, true, ipmsg.BrEntry, nil).Marshal()
	if err := writeFrame(c, hello); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(c); err != nil {
		t.Fatalf("no answer on a fresh channel: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := readFrame(c); err == nil {
		t.Fatal("a frame came unasked")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the channel stayed open %v", waited)
	}
}

// A verified colleague's name announced with another key (Bob reinstalled, or someone takes
// his place) is listed apart and flagged KeyChanged, which the window turns into a dialog;
// an unverified one only gets the warning.
func TestVerifiedKeyChangeFlagged(t *testing.T) {
	ca, cb, cn := loopbackConn(t), loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t), addrOf(cb), addrOf(cn))
	startNode(t, cb, "Bob", withKey(t), addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	if err := a.cfg.Pins.Verify("id-Bob"); err != nil {
		t.Fatal(err)
	}
	startNode(t, cn, "Bob", withKey(t), addrOf(ca)) // Bob's FeiGo ID, a new key
	p := a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Addr == addrOf(cn) }).Peer
	if !p.KeyChanged || !strings.Contains(p.Warning, "verified") || p.Verified {
		t.Fatalf("the new key is listed as %+v", p)
	}
	if bob, ok := colleague(a, "id-Bob"); !ok || bob.Addr != addrOf(cb) || bob.KeyChanged {
		t.Fatalf("Bob: %+v %v", bob, ok)
	}
}

// A FeiGo fetch over TLS presents the token its offer gave that recipient: each recipient of
// each offer gets its own, carried inside the channel; the recipient's key without it, or
// with another offer's token, gets nothing and is counted. The token is kept with the offer,
// so a restarted sender still serves the recipient.
func TestFileTokenPerOfferAndRecipient(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	stateA := t.TempDir()
	withA := withKey(t)
	var idA func(*Config)
	a := startNode(t, ca, "Alice", func(c *Config) {
		withA(c)
		c.StateDir = stateA
		idA = func(c2 *Config) { c2.Identity, c2.Pins = c.Identity, c.Pins }
	}, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	src := filepath.Join(t.TempDir(), "payroll.xlsx")
	data := writeRandom(t, src, 1<<20, 7)
	out1, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	in1 := incoming(t, b)
	out2, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	in2 := incoming(t, b)
	tok1, tok2 := out1.Recipients[0].Token, out2.Recipients[0].Token
	if len(tok1) != 32 || len(tok2) != 32 || tok1 == tok2 || in1.Token != tok1 || in2.Token != tok2 {
		t.Fatalf("tokens: out %q %q, in %q %q", tok1, tok2, in1.Token, in2.Token)
	}
	if b, _ := json.Marshal(out1); strings.Contains(string(b), tok1) {
		t.Fatalf("the token is shown: %s", b)
	}
	// Bob's own key over TLS, without the token and with the other offer's: nothing.
	sender := a
	ask := func(token string) int {
		d := tls.Dialer{Config: b.cfg.Identity.ClientConfig(sender.cfg.Identity.Pub)}
		c, err := d.DialContext(context.Background(), "tcp4", sender.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := ipmsg.EncodeFileRequest(ipmsg.FileRequest{PacketNo: out1.PacketNo, Token: token}, true)
		pkt, _ := ipmsg.Packet{Version: "1_feigo 0.1.0", No: 9, User: []byte("bob"), Host: []byte("host-Bob"), Cmd: ipmsg.GetFileData, Body: body}.Marshal()
		writeFrame(c, pkt)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		return len(got)
	}
	for i, tok := range []string{"", tok2, strings.Repeat("0", 32)} {
		if n := ask(tok); n != 0 {
			t.Fatalf("a request with token %q got %d bytes", tok, n)
		}
		if got := a.Files().BadTokens(); got != int64(i+1) {
			t.Fatalf("%d refusals counted after %d", got, i+1)
		}
	}
	// The sender restarts (same key, same state): Bob fetches with the token, over TLS.
	a.stop()
	a2 := startNode(t, loopbackConn(t), "Alice", func(c *Config) { idA(c); c.StateDir = stateA }, b.addr)
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure && e.Peer.Addr == a2.addr })
	sender = a2
	if n := ask(""); n != 0 || a2.Files().BadTokens() != 1 {
		t.Fatalf("after the restart, a request without the token got %d bytes (%d refusals)", n, a2.Files().BadTokens())
	}
	dl := t.TempDir()
	if _, err := b.Accept(in1.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	// Over TLS no SHA-256 is computed: the channel's AEAD authenticated every byte.
	if got := waitFinal(t, b, in1.ID); got.State != xfer.StateDone || got.Files[0].SHA256 != "" {
		t.Fatalf("%+v", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dl, "payroll.xlsx")); !bytes.Equal(got, data) {
		t.Fatal("the file differs")
	}
	if got := waitFinal(t, a2, out1.ID); got.State != xfer.StateDone {
		t.Fatalf("sender: %+v", got)
	}
}

// Over TLS, a receiver that fetches without a verdict (--no-verify: as a legacy client does)
// and its sender end the stream with a close_notify each: neither waits out the other's
// deadline before the file counts as received and sent.
func TestTLSFetchWithoutVerdictEndsAtOnce(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir(); c.NoVerify = true }, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	src := filepath.Join(t.TempDir(), "x.bin")
	data := writeRandom(t, src, 100<<10, 5)
	out, err := a.SendFiles(context.Background(), "", []string{src}, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	in := incoming(t, b)
	dl := t.TempDir()
	start := time.Now()
	if _, err := b.Accept(in.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitFinal(t, b, in.ID); got.State != xfer.StateDone {
		t.Fatalf("%+v", got)
	}
	if got := waitFinal(t, a, out.ID); got.State != xfer.StateDone {
		t.Fatalf("sender: %+v", got)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("100 KiB over loopback took %v: an end waited for the other's deadline", took)
	}
	if got, _ := os.ReadFile(filepath.Join(dl, "x.bin")); !bytes.Equal(got, data) {
		t.Fatal("the file differs")
	}
}

// Over TLS a file fetched from its start is not hashed, but one resumed from a partial an
// earlier run left is checked whole with SHA-256: a damaged partial is caught, not saved.
func TestTLSResumeFromDamagedPartialIsCaught(t *testing.T) {
	src := filepath.Join(t.TempDir(), "x.bin")
	writeRandom(t, src, 1<<20, 3)
	ca, cb := loopbackConn(t), loopbackConn(t)
	state := t.TempDir()
	var idB func(*Config)
	a := startNode(t, ca, "Alice", func(c *Config) { withKey(t)(c); c.StateDir = t.TempDir() }, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) {
		withKey(t)(c)
		c.StateDir = state
		idB = func(c2 *Config) { c2.Identity, c2.Pins = c.Identity, c.Pins }
	}, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	if _, err := a.SendFiles(context.Background(), "", []string{src}, b.addr); err != nil {
		t.Fatal(err)
	}
	in := incoming(t, b)
	b.stop()
	// What a previous run left: a partial of 1000 wrong bytes, named in the transfer's file.
	dl := t.TempDir()
	os.WriteFile(filepath.Join(dl, "x.bin"+xfer.PartSuffix), bytes.Repeat([]byte{0xEE}, 1000), 0o644)
	path := filepath.Join(state, "transfers", fmt.Sprint(in.ID)+".json")
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(saved, &f); err != nil {
		t.Fatal(err)
	}
	f["files"].([]any)[0].(map[string]any)["part"] = "x.bin" + xfer.PartSuffix
	saved, _ = json.Marshal(f)
	os.WriteFile(path, saved, 0o600)
	b2 := startNode(t, loopbackConn(t), "Bob", func(c *Config) { idB(c); c.StateDir = state }, a.addr)
	b2.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.Secure })
	if _, err := b2.Accept(in.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b2, in.ID)
	if got.State != xfer.StateFailed || !strings.Contains(got.Error, "SHA-256 mismatch") {
		t.Fatalf("%+v", got)
	}
	if _, err := os.Stat(filepath.Join(dl, "x.bin")); !os.IsNotExist(err) {
		t.Fatal("a damaged file was presented as complete")
	}
}
