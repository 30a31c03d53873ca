package lan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"feigo/event"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/peers"
	"feigo/xfer"
)

// testNode is a Node on a loopback socket whose events arrive on a channel.
type testNode struct {
	*Node
	*xfer.Engine
	addr   netip.AddrPort
	events chan Event
	stop   func()
	// crashed: the test closed the node's socket under it, so Run's error is expected.
	crashed bool
}

// reservedTCP holds, for each loopback UDP socket, the TCP listener on its port that its node
// will use: bound at once, so that no outgoing connection's ephemeral port takes it meanwhile.
var reservedTCP sync.Map // *net.UDPConn → *net.TCPListener

func loopbackConn(t *testing.T) *net.UDPConn {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		tl, err := ListenTCP(netip.MustParseAddr("127.0.0.1"), int(addrOf(c).Port()))
		if err != nil {
			c.Close()
			continue
		}
		c.SetReadBuffer(4 << 20) // as Listen does: a burst must not overflow the default buffer
		reservedTCP.Store(c, tl)
		t.Cleanup(func() {
			if v, ok := reservedTCP.LoadAndDelete(c); ok {
				v.(*net.TCPListener).Close()
			}
		})
		return c
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return nil
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return netip.MustParseAddrPort(c.LocalAddr().String())
}

// startNode runs a node on conn that announces only to extra (never to a real interface).
func startNode(t *testing.T, conn *net.UDPConn, nick string, tweak func(*Config), extra ...netip.AddrPort) *testNode {
	t.Helper()
	var ex []string
	for _, a := range extra {
		ex = append(ex, a.String())
	}
	tn := &testNode{addr: addrOf(conn), events: make(chan Event, 1000)}
	cfg := Config{
		ID: "id-" + nick, Nick: nick, Group: "QA", User: strings.ToLower(nick), Host: "host-" + nick,
		Conn: conn, NoInterfaces: true, Extra: ex, Legacy: ipmsg.GBK,
		OnEvent: func(e Event) { tn.events <- e },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	if v, ok := reservedTCP.LoadAndDelete(conn); ok {
		if cfg.TCP == nil && (!cfg.NoFiles || cfg.Identity != nil) {
			cfg.TCP = v.(*net.TCPListener)
		} else {
			v.(*net.TCPListener).Close()
		}
	}
	n, err := NewNode(cfg, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	tn.Node, tn.Engine = n, n.Files()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once bool
	tn.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil && !tn.crashed {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(tn.stop)
	return tn
}

// waitEvent returns the first event of the given type that satisfies ok.
func (tn *testNode) waitEvent(t *testing.T, typ event.Type, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-tn.events:
			if e.Type == typ && (ok == nil || ok(e)) {
				return e
			}
		case <-deadline:
			t.Fatalf("%s: no %s event within 10s", tn.Self().Nick, typ)
		}
	}
}

// rawPeer is a hand-driven IPMsg client on loopback.
type rawPeer struct {
	t       *testing.T
	conn    *net.UDPConn
	no      uint32
	backlog []ipmsg.Packet // read while waiting for another mode
}

func newRawPeer(t *testing.T) *rawPeer {
	return &rawPeer{t: t, conn: loopbackConn(t), no: 1000}
}

// readAll hands got every datagram r receives, decoded (err: it could not be), from a
// goroutine of its own, until stop: stop closes r's socket and waits for that goroutine.
func (r *rawPeer) readAll(got func(ipmsg.Packet, error)) (stop func()) {
	done := make(chan struct{})
	r.conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			k, _, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			got(ipmsg.Decode(append([]byte(nil), buf[:k]...)))
		}
	}()
	return func() { r.conn.Close(); <-done }
}

func (r *rawPeer) addr() netip.AddrPort { return addrOf(r.conn) }

func (r *rawPeer) sendRaw(to netip.AddrPort, b []byte) {
	r.t.Helper()
	if _, err := r.conn.WriteToUDPAddrPort(b, to); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawPeer) send(to netip.AddrPort, version, user, host string, cmd ipmsg.Command, body string) uint32 {
	r.t.Helper()
	r.no++
	b, err := ipmsg.Packet{Version: version, No: r.no, User: []byte(user), Host: []byte(host), Cmd: cmd, Body: []byte(body)}.Marshal()
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(to, b)
	return r.no
}

// expect returns the first packet with the given mode, from what was read before or what
// arrives next; the others are kept for later calls.
func (r *rawPeer) expect(mode ipmsg.Command) ipmsg.Packet {
	r.t.Helper()
	for i, p := range r.backlog {
		if p.Cmd.Mode() == mode {
			r.backlog = append(r.backlog[:i], r.backlog[i+1:]...)
			return p
		}
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			r.t.Fatalf("waiting for mode %#x: %v", uint32(mode), err)
		}
		p, err := ipmsg.Decode(append([]byte(nil), buf[:n]...))
		if err != nil {
			r.t.Fatalf("node sent a malformed packet %q: %v", buf[:n], err)
		}
		if p.Cmd.Mode() == mode {
			return p
		}
		r.backlog = append(r.backlog, p)
	}
}

func TestTwoNodesDiscoverAndMessage(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", nil, addrOf(cb))
	b := startNode(t, cb, "张伟", func(c *Config) { c.Group = "研发部" }, addrOf(ca))

	pa := a.waitEvent(t, "peer_online", nil).Peer
	if pa.ID != "id-张伟" || pa.Nick != "张伟" || pa.Group != "研发部" || pa.Client != "feigo" || pa.Addr != b.addr {
		t.Fatalf("Alice sees %+v", pa)
	}
	pb := b.waitEvent(t, "peer_online", nil).Peer
	if pb.Nick != "Alice" || pb.Group != "QA" || pb.User != "alice" || pb.Host != "host-Alice" {
		t.Fatalf("张伟 sees %+v", pb)
	}

	ds, err := a.Send(context.Background(), "你好, 张伟 👋", b.addr)
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Send = %+v, %v", ds, err)
	}
	a.waitEvent(t, "message_delivered", nil)
	m := b.waitEvent(t, "message", nil).Message
	if m.Text != "你好, 张伟 👋" || m.PeerID != "id-Alice" || m.Nick != "Alice" {
		t.Fatalf("received %+v", m)
	}

	// A clean exit removes the peer at once.
	a.stop()
	if got := b.waitEvent(t, "peer_offline", nil).Peer; got.ID != "id-Alice" {
		t.Fatalf("offline: %+v", got)
	}
}

func TestDuplicatesAckedAgainShownOnce(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Bob", nil)
	r := newRawPeer(t)
	pkt := []byte("1:777:probe:probehost:288:hello once\x00")
	for range 3 {
		r.sendRaw(n.addr, pkt)
		ack := r.expect(ipmsg.RecvMsg)
		if string(ipmsg.FirstSection(ack.Body)) != "777" {
			t.Fatalf("ack body %q", ack.Body)
		}
	}
	m := n.waitEvent(t, "message", nil).Message
	if m.Text != "hello once" || m.User != "probe" {
		t.Fatalf("message %+v", m)
	}
	// The stranger was asked who it is (IPMsg behaviour), and is not shown again.
	r.expect(ipmsg.BrEntry)
	select {
	case e := <-n.events:
		if e.Type == "message" {
			t.Fatalf("duplicate shown: %+v", e.Message)
		}
	case <-time.After(200 * time.Millisecond):
	}
	// Broadcast and automatic messages are shown but never acknowledged.
	r.send(n.addr, "1", "probe", "probehost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.BroadcastOpt, "to all\x00")
	r.send(n.addr, "1", "probe", "probehost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.AutoRetOpt, "auto\x00")
	no := r.send(n.addr, "1", "probe", "probehost", ipmsg.SendMsg|ipmsg.SendCheckOpt, "third\x00")
	if ack := r.expect(ipmsg.RecvMsg); string(ipmsg.FirstSection(ack.Body)) != strconv.Itoa(int(no)) {
		t.Fatalf("acked %q, want only %d", ack.Body, no)
	}
}

func TestJunkIsDroppedAndNodeKeepsAnswering(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Carol", nil)
	junk, r := newRawPeer(t), newRawPeer(t) // the node's answers to junk must not crowd out r's ack
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if i%3 == 0 {
			b = append([]byte("1:1:u:h:"), b...) // a valid prefix, garbage after
		}
		junk.sendRaw(n.addr, b)
	}
	junk.sendRaw(n.addr, bytes.Repeat([]byte("1:"), 30000))            // huge
	junk.sendRaw(n.addr, []byte("1:5:u:h:33:notanumber\x00"))          // bad ack
	junk.sendRaw(n.addr, []byte("1:5:u:h:1:"))                         // entry with no body
	junk.sendRaw(n.addr, []byte("1:6:u:h:1:\x00\x00\x00\x00\x00\x00")) // only NULs
	junk.sendRaw(n.addr, []byte("1:7:u:h"))                            // truncated
	r.send(n.addr, "1", "probe", "probehost", ipmsg.SendMsg|ipmsg.SendCheckOpt, "still there?\x00")
	if ack := r.expect(ipmsg.RecvMsg); len(ack.Body) == 0 {
		t.Fatal("empty ack")
	}
}

func TestAwayAutoReplyDoesNotLoop(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "A", nil, addrOf(cb))
	b := startNode(t, cb, "B", nil, addrOf(ca))
	a.waitEvent(t, "peer_online", nil)
	b.waitEvent(t, "peer_online", nil)
	a.SetAway(true, "at lunch")
	b.SetAway(true, "in a meeting")
	if p := b.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.Status == peers.Away }).Peer; p.AwayText != "at lunch" {
		t.Fatalf("away text %q", p.AwayText)
	}
	if _, err := a.Send(context.Background(), "are you there?", b.addr); err != nil {
		t.Fatal(err)
	}
	reply := a.waitEvent(t, "message", nil).Message
	if !reply.Auto || reply.Text != "in a meeting" {
		t.Fatalf("auto reply %+v", reply)
	}
	b.waitEvent(t, "message", nil)
	// A's away mode must not answer B's automatic reply.
	select {
	case e := <-b.events:
		if e.Type == "message" {
			t.Fatalf("auto replies loop: %+v", e.Message)
		}
	case <-time.After(500 * time.Millisecond):
	}
	a.SetAway(false, "")
	b.waitEvent(t, "peer_updated", func(e Event) bool { return e.Peer.Status == peers.Online })
}

func TestInfoRequests(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Dan", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1", "probe", "probehost", ipmsg.GetInfo, "")
	if p := r.expect(ipmsg.SendInfo); !strings.HasPrefix(string(p.Body), "FeiGo ") {
		t.Fatalf("SENDINFO %q", p.Body)
	}
	r.send(n.addr, "1", "probe", "probehost", ipmsg.GetAbsenceInfo, "")
	if p := r.expect(ipmsg.SendAbsenceInfo); string(ipmsg.FirstSection(p.Body)) != "Not absence mode" {
		t.Fatalf("SENDABSENCEINFO %q", p.Body)
	}
	n.SetAway(true, "back at 3")
	r.send(n.addr, "1", "probe", "probehost", ipmsg.GetAbsenceInfo, "")
	if p := r.expect(ipmsg.SendAbsenceInfo); string(ipmsg.FirstSection(p.Body)) != "back at 3" {
		t.Fatalf("SENDABSENCEINFO %q", p.Body)
	}
}

func TestLongTextSplitAndLimits(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "A", nil, addrOf(cb))
	b := startNode(t, cb, "B", nil, addrOf(ca))
	a.waitEvent(t, "peer_online", nil)
	var sb strings.Builder
	for i := 0; sb.Len() < 20000; i++ {
		fmt.Fprintf(&sb, "第%d行: the quick brown fox\n", i)
	}
	text := sb.String()
	ds, err := a.Send(context.Background(), text, b.addr)
	if err != nil || ds[0].Err != nil {
		t.Fatalf("Send: %v %v", err, ds[0].Err)
	}
	if ds[0].Parts < 3 {
		t.Fatalf("%d bytes sent in %d parts", len(text), ds[0].Parts)
	}
	var got strings.Builder
	for range ds[0].Parts {
		got.WriteString(b.waitEvent(t, "message", nil).Message.Text)
	}
	if got.String() != text {
		t.Fatal("the parts do not add up to the text")
	}
	if _, err := a.Send(context.Background(), strings.Repeat("x", MaxText+1), b.addr); !errors.Is(err, ErrTooLong) {
		t.Fatalf("over-long: %v", err)
	}
	if _, err := a.Send(context.Background(), " \n", b.addr); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
}

func TestSendToSilentPeerFails(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Eve", func(c *Config) { c.RetryBudget = 600 * time.Millisecond })
	r := newRawPeer(t) // never acks
	ds, err := n.Send(context.Background(), "hello?", r.addr())
	if err != nil || !errors.Is(ds[0].Err, ErrNoAck) {
		t.Fatalf("Send = %+v, %v", ds, err)
	}
	copies := 0
	buf := make([]byte, 9000)
	r.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		if _, _, err := r.conn.ReadFromUDPAddrPort(buf); err != nil {
			break
		}
		copies++
	}
	if copies < 2 || copies > 6 {
		t.Fatalf("%d copies in a 600ms budget", copies)
	}
	n.waitEvent(t, "message_failed", nil)
}

func TestLivenessDropsSilentLegacyPeer(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Fay", func(c *Config) {
		c.ProbeAfter, c.ProbeEvery, c.Expiry = 300*time.Millisecond, 200*time.Millisecond, 2500*time.Millisecond
	})
	alive, dead := newRawPeer(t), newRawPeer(t)
	iptuxEntry := "tux\x00tuxgroup\x00icon-tux.png\x00utf-8\x00"
	alive.send(n.addr, "1_iptux 0.8.3", "root", "vm", ipmsg.BrEntry|ipmsg.AbsenceOpt, iptuxEntry)
	dead.send(n.addr, "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9", "admin", "pc", ipmsg.BrEntry, "\xd5\xc5\xc8\xfd\x00")
	seen := map[string]peers.Peer{}
	for len(seen) < 2 {
		p := n.waitEvent(t, "peer_online", nil).Peer
		seen[p.Client] = *p
	}
	if p := seen["iptux"]; p.Status != peers.Online || p.Nick != "tux" || p.Encoding != "utf-8" {
		t.Fatalf("iptux peer %+v (iptux's ABSENCEOPT must not mean away)", p)
	}
	if p := seen["feiq"]; p.Nick != "张三" || p.ID != "mac:001122aabbcc" || p.Encoding != "gbk" {
		t.Fatalf("FeiQ peer %+v", p)
	}
	alive.expect(ipmsg.AnsEntry)
	// The live peer answers each probe; the dead one never does.
	stopAnswering := make(chan struct{})
	defer close(stopAnswering)
	go func() {
		buf := make([]byte, 9000)
		for {
			select {
			case <-stopAnswering:
				return
			default:
			}
			alive.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			k, _, err := alive.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				continue
			}
			if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == ipmsg.BrEntry {
				alive.send(n.addr, "1_iptux 0.8.3", "root", "vm", ipmsg.AnsEntry|ipmsg.AbsenceOpt, iptuxEntry)
			}
		}
	}()
	gone := n.waitEvent(t, "peer_offline", nil).Peer
	if gone.Client != "feiq" {
		t.Fatalf("dropped %+v, want the silent FeiQ peer", gone)
	}
	if _, ok := n.Table().ByAddr(alive.addr()); !ok {
		t.Fatal("the answering peer was dropped too")
	}
	// The dead peer was probed with BR_ENTRY in GBK before it went.
	p := dead.expect(ipmsg.BrEntry)
	if p.Cmd.Has(ipmsg.UTF8Opt) {
		t.Fatal("probe to a GBK peer carries UTF8OPT")
	}
}

func TestLegacyPeerGetsItsCodePage(t *testing.T) {
	n := startNode(t, loopbackConn(t), "李雷", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9", "admin", "pc", ipmsg.AnsEntry, "\xd5\xc5\xc8\xfd\x00")
	// Our broadcast was UTF-8; a GBK-only peer gets our names again in GBK.
	p := r.expect(ipmsg.BrAbsence)
	if !bytes.HasPrefix(p.Body, ipmsg.GBK.Encode("李雷")) || p.Cmd.Has(ipmsg.UTF8Opt) {
		t.Fatalf("BR_ABSENCE to FeiQ: cmd %#x body %q", uint32(p.Cmd), p.Body)
	}
	n.waitEvent(t, "peer_online", nil)
	// A GBK message from it is decoded, and our reply goes out in GBK without UTF8OPT.
	r.send(n.addr, "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9", "admin", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt, "\xc4\xe3\xba\xc3\x00")
	if m := n.waitEvent(t, "message", nil).Message; m.Text != "你好" {
		t.Fatalf("decoded %q", m.Text)
	}
	r.expect(ipmsg.RecvMsg)
	go n.Send(context.Background(), "收到", r.addr())
	msg := r.expect(ipmsg.SendMsg)
	if string(ipmsg.FirstSection(msg.Body)) != string(ipmsg.GBK.Encode("收到")) || msg.Cmd.Has(ipmsg.UTF8Opt) {
		t.Fatalf("message to FeiQ: cmd %#x body %q", uint32(msg.Cmd), msg.Body)
	}
}

// A node's packets carry numbers from its packetNos (unpredictable), not from the clock.
func TestNodePacketNumbersNotFromTheClock(t *testing.T) {
	n, err := NewNode(Config{ID: "x"}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	now := uint32(time.Now().Unix())
	up := 0
	// Messages rise by random steps from a random start (iptux needs them rising, see
	// drawRising); every other packet's number is drawn at random.
	for range 100 {
		if no := n.packet(ipmsg.UTF8, true, ipmsg.SendMsg, nil).No; no-now < 600 || now-no < 600 {
			t.Fatalf("message number %d is within 10 minutes of the clock %d", no, now)
		}
	}
	prev := n.packet(ipmsg.UTF8, true, ipmsg.AnsEntry, nil).No
	for i := range 1000 {
		no := n.packet(ipmsg.UTF8, true, ipmsg.AnsEntry, nil).No
		if i < 100 && (no-now < 600 || now-no < 600) { // by chance: 1 in 18,000 runs
			t.Fatalf("number %d is within 10 minutes of the clock %d", no, now)
		}
		if no > prev {
			up++
		}
		prev = no
	}
	if up < 400 || up > 600 {
		t.Fatalf("%d of 1000 numbers were above the one before: not random", up)
	}
}

func TestFeiQMessagesAreCleaned(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Bob", nil)
	r := newRawPeer(t)
	const ver = "1_lbt6_0#128#000C29AABBCC#0#0#0"
	gbk := func(s string) string { return string(ipmsg.GBK.Encode(s)) }
	// A control string is acknowledged but not shown; a format block is removed.
	no := r.send(n.addr, ver, "feiq", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt, gbk("/~#>xyz<B~")+"\x00")
	if ack := r.expect(ipmsg.RecvMsg); string(ipmsg.FirstSection(ack.Body)) != strconv.Itoa(int(no)) {
		t.Fatalf("ack %q", ack.Body)
	}
	r.send(n.addr, ver, "feiq", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt, gbk("周五开会{/font;-12;0;0;0;400;0;0;0;134;3;2;1;2;宋体;000000}")+"\x00")
	r.expect(ipmsg.RecvMsg)
	m := n.waitEvent(t, "message", nil).Message
	if m.Text != "周五开会" {
		t.Fatalf("shown %q", m.Text)
	}
	// An IPMsg peer's braces are its text.
	r.send(n.addr, "1", "ipmsg", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "x {a;b}\x00")
	if m := n.waitEvent(t, "message", nil).Message; m.Text != "x {a;b}" {
		t.Fatalf("IPMsg text %q", m.Text)
	}
}

func TestFeiQNoticesIgnoredAndIPMsgPaddingTrimmed(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Bob", nil)
	r := newRawPeer(t)
	const ver = "1_lbt6_0#128#000C29AABBCC#0#0#0"
	// FeiQ's typing, stopped-typing, chat-opened and knock notices: no message, no reply.
	for _, cmd := range []ipmsg.Command{ipmsg.FeiQInputing, ipmsg.FeiQInputEnd, ipmsg.FeiQOpenYou, ipmsg.FeiQKnock} {
		r.send(n.addr, ver, "feiq", "pc", cmd, "\x00")
	}
	// IPMsg's last retries carry 64 NULs of padding: same text, acked, shown once.
	no := r.send(n.addr, "1", "ipmsg", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "padded\x00"+strings.Repeat("\x00", 64))
	if ack := r.expect(ipmsg.RecvMsg); string(ipmsg.FirstSection(ack.Body)) != strconv.Itoa(int(no)) {
		t.Fatalf("ack %q", ack.Body)
	}
	for _, p := range r.backlog { // a BR_ENTRY asks the stranger who it is; nothing else
		if p.Cmd.Mode() != ipmsg.BrEntry {
			t.Fatalf("the node answered FeiQ's notices: %+v", p)
		}
	}
	m := n.waitEvent(t, "message", nil).Message
	if m.Text != "padded" {
		t.Fatalf("shown %q", m.Text)
	}
	select {
	case e := <-n.events:
		if e.Type == "message" {
			t.Fatalf("a notice was shown: %+v", e.Message)
		}
	default:
	}
}

func TestAdvertisesOnlyWhatItImplements(t *testing.T) {
	for _, files := range []bool{true, false} {
		r := newRawPeer(t)
		n := startNode(t, loopbackConn(t), "Bob", func(c *Config) { c.NoFiles = !files })
		r.send(n.addr, "1", "probe", "pc", ipmsg.BrEntry, "probe\x00\x00")
		p := r.expect(ipmsg.AnsEntry)
		if p.Cmd.Has(ipmsg.EncryptOpt) || p.Cmd.Has(ipmsg.CapIPDictOpt) || !p.Cmd.Has(ipmsg.CapUTF8Opt) || p.Cmd.Has(ipmsg.FileAttachOpt) != files {
			t.Errorf("files=%v: entry options %#x", files, uint32(p.Cmd))
		}
	}
}

// A node whose Run failed (the port is taken) answers every later call at once instead of
// blocking forever on a socket that will never be bound.
func TestFailedRunDoesNotHang(t *testing.T) {
	busy := loopbackConn(t)
	n, err := NewNode(Config{ID: "id-x", Nick: "X", Port: int(addrOf(busy).Port()), NoInterfaces: true}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(context.Background()); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Run on a busy port: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if p := n.Port(); p != 0 {
			t.Errorf("Port after a failed Run: %d", p)
		}
		n.SetAway(true, "out")
		n.SetName("Y", "G")
		n.Refresh()
		if _, err := n.Send(context.Background(), "hi", addrOf(busy)); !errors.Is(err, ErrNodeClosed) {
			t.Errorf("Send after a failed Run: %v", err)
		}
		if tr, err := n.Files().SendFiles(context.Background(), "", []string{"node_test.go"}, addrOf(busy)); err != nil || tr.State != xfer.StateFailed {
			t.Errorf("SendFiles after a failed Run: %+v %v", tr, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a call after a failed Run blocked")
	}
}

// A forged FeiQ control string that takes a colleague's next packet number does not make
// the real message with that number a duplicate: it is still shown.
func TestControlStringDoesNotSuppressTheRealMessage(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Bob", nil)
	r := newRawPeer(t)
	const ver = "1_lbt6_0#128#000C29AABBCC#0#0#0"
	pkt := func(body string) []byte {
		b, _ := ipmsg.Packet{Version: ver, No: 777, User: []byte("feiq"), Host: []byte("pc"),
			Cmd: ipmsg.SendMsg | ipmsg.SendCheckOpt, Body: []byte(body + "\x00")}.Marshal()
		return b
	}
	r.sendRaw(n.addr, pkt("/~#>forged<B~"))
	r.expect(ipmsg.RecvMsg)
	r.sendRaw(n.addr, pkt("the real one"))
	r.expect(ipmsg.RecvMsg)
	if m := n.waitEvent(t, "message", nil).Message; m.Text != "the real one" {
		t.Fatalf("shown %q", m.Text)
	}
}

// An announcement under way while the user changes their state must not go out after the
// change's own announcement with the old state: the last entry packet a colleague gets says
// the state as it is now (else a colleague would show them away, or back, until the next
// beat). Announcements are made over and over on another goroutine (as the housekeeping's
// and a refresh's are) while away is switched. Without the lock in announceTo it failed 7
// runs in 10 here. A round whose datagrams did not all arrive (a loaded machine can overflow
// the receiver's buffer) proves nothing and is run again.
func TestAnnouncementsNeverOvertakeAStateChange(t *testing.T) {
	r := newRawPeer(t)
	n := startNode(t, loopbackConn(t), "Ann", nil, r.addr())
	var (
		mu       sync.Mutex
		received uint64
		last     ipmsg.Command
	)
	defer r.readAll(func(p ipmsg.Packet, err error) {
		mu.Lock()
		received++
		if m := p.Cmd.Mode(); err == nil && (m == ipmsg.BrEntry || m == ipmsg.BrAbsence) {
			last = p.Cmd
		}
		mu.Unlock()
	})()
	for round := 0; round < 5; round++ {
		mu.Lock()
		received, last = 0, 0
		mu.Unlock()
		sent0 := n.Stats().DatagramsSent
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					n.announce(ipmsg.BrEntry, nil)
				}
			}
		}()
		for i := range 300 {
			n.SetAway(i%2 == 0, "out")
		}
		n.SetAway(false, "")
		close(stop)
		<-done
		sent := n.Stats().DatagramsSent - sent0
		all := waitFor(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return received >= sent })
		mu.Lock()
		got, cmd := received, last
		mu.Unlock()
		if !all {
			t.Logf("round %d: %d of %d datagrams arrived; again", round, got, sent)
			continue
		}
		if cmd&ipmsg.AbsenceOpt != 0 {
			t.Fatalf("the last announcement says away (%#x), after the user came back", uint32(cmd))
		}
		return
	}
	t.Fatal("in 5 rounds, never did every datagram arrive")
}

// Every entry the node sends says its state as of the moment it was sent: a colleague's
// entries are answered by the read loop while the user changes state, and an answer built
// before a change must not reach the colleague after the change's own announcement (it left
// them with the old state until the next beat: TestAwayAutoReplyDoesNotLoop saw B keep A as
// online while A was away, when an ANSENTRY to B's start-up BR_ENTRY built before A's SetAway
// went out after A's BR_ABSENCE, so that A's return changed nothing at B). A raw peer floods
// the node with BR_ENTRY while the state changes 400 times, each to a text of its own: the
// states the peer hears never go back.
func TestEntryAnswersNeverOvertakeAStateChange(t *testing.T) {
	r := newRawPeer(t)
	// A clock that moves 10 s a look: the per-address answer budget never runs out.
	var clk atomic.Int64
	clk.Store(time.Now().UnixNano())
	n := startNode(t, loopbackConn(t), "Ann", func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, clk.Add(int64(10*time.Second))) }
	})
	var (
		mu       sync.Mutex
		last     = -1
		heard    int
		wentBack string
	)
	defer r.readAll(func(p ipmsg.Packet, err error) {
		if err != nil {
			return
		}
		switch p.Cmd.Mode() {
		case ipmsg.BrEntry, ipmsg.AnsEntry, ipmsg.BrAbsence:
		default:
			return
		}
		e := ipmsg.ParseEntry(p, ipmsg.GBK)
		i := -1
		if e.Away {
			i, _ = strconv.Atoi(strings.TrimPrefix(e.AwayText, "s"))
		}
		mu.Lock()
		heard++
		if i < last && wentBack == "" {
			wentBack = fmt.Sprintf("state %d heard after state %d (%#x)", i, last, uint32(p.Cmd))
		}
		last = max(last, i)
		mu.Unlock()
	})()
	// A FeiGo colleague (its ID in the trailer), so that answers carry the away text.
	body := ipmsg.EntryBody(ipmsg.UTF8, ipmsg.Entry{ID: "id-rob", Nick: "Rob", Group: "QA", User: "rob", Host: "robhost"})
	entry := func(no uint32) {
		b, _ := ipmsg.Packet{Version: "1", No: no, User: []byte("rob"), Host: []byte("robhost"), Cmd: ipmsg.BrEntry, Body: body}.Marshal()
		r.conn.WriteToUDPAddrPort(b, n.addr)
	}
	if !waitFor(5*time.Second, func() bool {
		entry(1)
		mu.Lock()
		defer mu.Unlock()
		return heard > 0
	}) {
		t.Fatal("the node does not answer the peer's entry")
	}
	stop, flooded := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flooded)
		for no := uint32(2); ; no++ {
			select {
			case <-stop:
				return
			default:
			}
			entry(no)
			if no%4 == 0 {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	for i := range 400 {
		n.SetAway(true, fmt.Sprintf("s%d", i))
		time.Sleep(200 * time.Microsecond)
	}
	close(stop)
	<-flooded
	time.Sleep(300 * time.Millisecond) // the last answers arrive
	mu.Lock()
	defer mu.Unlock()
	if heard < 100 {
		t.Fatalf("only %d entries heard: the test did not race anything", heard)
	}
	if wentBack != "" {
		t.Fatalf("of %d entries heard, %s", heard, wentBack)
	}
	t.Logf("%d entries heard, last state %d", heard, last)
}
