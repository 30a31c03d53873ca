package lan

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/peers"
)

// clock is an injected clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// logLines keeps what a node logs, to count lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}

// count returns how many lines contain s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// barrierAddrs numbers the addresses barrier sends from, one fresh address each time so
// that no per-address limit applies to it.
var barrierAddrs atomic.Int32

// barrier returns once n has handled every datagram sent to it before: its read loop takes
// datagrams in the order they arrive, so the answer to a GETINFO sent now comes after them.
func barrier(t *testing.T, n *testNode) {
	t.Helper()
	i := barrierAddrs.Add(1)
	r := rawPeerAt(t, fmt.Sprintf("127.0.%d.%d", 200+i/250, 1+i%250))
	r.send(n.addr, "1", "barrier", "test", ipmsg.GetInfo, "")
	r.expect(ipmsg.SendInfo)
}

// quiet reports whether r receives nothing for d.
func (r *rawPeer) quiet(d time.Duration) (ipmsg.Packet, bool) {
	buf := make([]byte, 65536)
	r.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := r.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return ipmsg.Packet{}, true
	}
	p, _ := ipmsg.Decode(append([]byte(nil), buf[:n]...))
	return p, false
}

// An attacker fills one host's share of the peer table (8 clients) and floods from a 9th
// port: the 9th is refused (no answer, not listed), counted, and logged once a minute, not
// once a packet.
func TestRefusedPeersLoggedOncePerMinute(t *testing.T) {
	clk, logs := newClock(), &logLines{}
	n := startNode(t, loopbackConn(t), "Gus", func(c *Config) {
		c.Now, c.Log = clk.now, slog.New(logs)
		c.ProbeAfter, c.Expiry = time.Hour, 2*time.Hour // the clock jumps; nobody expires
	})
	for i := range peers.MaxPerAddr {
		r := newRawPeer(t)
		r.send(n.addr, "1", fmt.Sprint("u", i), "h", ipmsg.BrEntry, "fill\x00\x00")
		r.expect(ipmsg.AnsEntry)
	}
	barrier(t, n)
	if n.Table().Len() != peers.MaxPerAddr {
		t.Fatalf("%d peers listed, want %d", n.Table().Len(), peers.MaxPerAddr)
	}
	attacker := newRawPeer(t)
	for range 50 {
		attacker.send(n.addr, "1", "eve", "evil", ipmsg.BrEntry, "one too many\x00\x00")
	}
	barrier(t, n)
	if got := n.Stats().PeersRefused; got != 50 {
		t.Fatalf("%d refusals counted, want 50", got)
	}
	if got := logs.count("refused"); got != 1 {
		t.Fatalf("50 refused entries logged %d times, want once", got)
	}
	if p, quiet := attacker.quiet(200 * time.Millisecond); !quiet {
		t.Fatalf("a refused peer was answered: %+v", p)
	}
	if _, ok := n.Table().ByAddr(attacker.addr()); ok || n.Table().Len() != peers.MaxPerAddr {
		t.Fatal("the 9th peer of one host was listed")
	}
	clk.advance(61 * time.Second)
	attacker.send(n.addr, "1", "eve", "evil", ipmsg.BrEntry, "one too many\x00\x00")
	barrier(t, n)
	if got := n.Stats().PeersRefused; got != 51 {
		t.Fatalf("%d refusals counted, want 51", got)
	}
	if got := logs.count("refused"); got != 2 {
		t.Fatalf("a minute later: %d log lines, want 2", got)
	}
}

// rawPeerAt is a raw peer on another loopback address (127.0.0.x): another source IP.
func rawPeerAt(t *testing.T, ip string) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, no: 1000}
}

// drain reads what r receives until it has been quiet for d, and counts each mode.
func (r *rawPeer) drain(d time.Duration) map[ipmsg.Command]int {
	got := map[ipmsg.Command]int{}
	for _, p := range r.backlog {
		got[p.Cmd.Mode()]++
	}
	r.backlog = nil
	for {
		p, quiet := r.quiet(d)
		if quiet {
			return got
		}
		got[p.Cmd.Mode()]++
	}
}

// Messages from strangers (senders not in the peer table) are limited per source address
// and overall before any work is done on them: the excess is dropped unacknowledged, never
// stored, counted, and logged once per source per minute. A stranger's datagram is at most
// MaxStrangerDatagram. Known peers are not limited, and a copy of a stranger's message that
// was accepted is still acknowledged.
func TestStrangerMessagesLimited(t *testing.T) {
	clk, logs := newClock(), &logLines{}
	var mu sync.Mutex
	stored := 0
	n := startNode(t, loopbackConn(t), "Hal", func(c *Config) {
		c.Now, c.Log = clk.now, slog.New(logs)
		c.ProbeAfter, c.Expiry = time.Hour, 2*time.Hour
		c.Deliver = func(Message) error { mu.Lock(); stored++; mu.Unlock(); return nil }
	})
	storedNow := func() int { mu.Lock(); defer mu.Unlock(); return stored }

	// One stranger floods: only its burst gets through.
	spam := rawPeerAt(t, "127.0.0.1")
	var first uint32
	for i := range 100 {
		no := spam.send(n.addr, "1", "spam", "spamhost", ipmsg.SendMsg|ipmsg.SendCheckOpt, fmt.Sprint("buy now ", i, "\x00"))
		if i == 0 {
			first = no
		}
	}
	barrier(t, n)
	if got := n.Stats().StrangersDropped; got != 100-StrangerBurst {
		t.Fatalf("%d of the flood dropped, want %d", got, 100-StrangerBurst)
	}
	if got := spam.drain(200 * time.Millisecond)[ipmsg.RecvMsg]; got != StrangerBurst {
		t.Fatalf("%d of 100 stranger messages acknowledged, want %d", got, StrangerBurst)
	}
	if storedNow() != StrangerBurst {
		t.Fatalf("%d stranger messages stored, want %d", storedNow(), StrangerBurst)
	}
	if got := logs.count("stranger"); got != 1 {
		t.Fatalf("the flood was logged %d times, want once", got)
	}
	// Its first message, sent again (the ack was lost), is acknowledged again and not stored.
	spam.sendRaw(n.addr, []byte(fmt.Sprintf("1:%d:spam:spamhost:%d:buy now 0\x00", first, ipmsg.SendMsg|ipmsg.SendCheckOpt)))
	if ack := spam.expect(ipmsg.RecvMsg); string(ipmsg.FirstSection(ack.Body)) != fmt.Sprint(first) {
		t.Fatalf("re-ack %q", ack.Body)
	}

	// A stranger's oversized datagram is dropped; a known peer's is not.
	big := strings.Repeat("长", 3000) // 9000 bytes
	huge := rawPeerAt(t, "127.0.0.2")
	huge.send(n.addr, "1", "big", "bighost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, big+"\x00")
	barrier(t, n)
	if got := n.Stats().StrangersDropped; got != 100-StrangerBurst+1 {
		t.Fatalf("the oversized datagram was not dropped: %d dropped", got)
	}
	friend := rawPeerAt(t, "127.0.0.3")
	friend.send(n.addr, "1", "friend", "pc", ipmsg.BrEntry|ipmsg.CapUTF8Opt, "Friend\x00\x00")
	friend.expect(ipmsg.AnsEntry)
	no := friend.send(n.addr, "1", "friend", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, big+"\x00")
	if ack := friend.expect(ipmsg.RecvMsg); string(ipmsg.FirstSection(ack.Body)) != fmt.Sprint(no) {
		t.Fatalf("known peer's ack %q", ack.Body)
	}
	if p, quiet := huge.quiet(100 * time.Millisecond); !quiet {
		t.Fatalf("the oversized stranger message was answered: %+v", p)
	}

	// Many strangers: together they get the overall burst, less what the first one used.
	before := storedNow()
	var crowd []*rawPeer
	for i := range 40 {
		r := rawPeerAt(t, fmt.Sprint("127.0.1.", 10+i))
		r.send(n.addr, "1", fmt.Sprint("s", i), "h", ipmsg.SendMsg|ipmsg.SendCheckOpt, "hello\x00")
		crowd = append(crowd, r)
	}
	want := StrangersBurst - StrangerBurst
	barrier(t, n)
	if got, dropped := storedNow()-before, n.Stats().StrangersDropped; got != want || dropped != 100-StrangerBurst+1+uint64(40-want) {
		t.Fatalf("of 40 strangers, %d stored (want %d); %d dropped in all", got, want, dropped)
	}
	// A minute later the limits have refilled.
	clk.advance(time.Minute)
	crowd[39].send(n.addr, "1", "s39", "h", ipmsg.SendMsg|ipmsg.SendCheckOpt, "again\x00")
	crowd[39].expect(ipmsg.RecvMsg)
}

// A message's user and host names are bounded as an entry's are (they name the sender in
// the history as user@host).
func TestMessageNamesBounded(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Ian", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1", strings.Repeat("u", 3000), strings.Repeat("主", 1000), ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "hi\x00")
	r.expect(ipmsg.RecvMsg)
	m := n.waitEvent(t, "message", nil).Message
	for _, s := range []string{m.User, m.Host, m.Nick} {
		if k := utf8.RuneCountInString(s); k == 0 || k > ipmsg.MaxName {
			t.Fatalf("a name of %d runes", k)
		}
	}
}

// reflection sends burst copies of a forged BR_ENTRY (numbered apart, so none is a
// duplicate) from victim, the address the attacker forges, and returns the bytes victim
// sent and got back until the forged peer has left the node's table and a little after:
// answers, liveness probes, everything. It may run on its own goroutine.
func reflection(n *testNode, victim *rawPeer, burst int, version, body string) (sent, got int, err error) {
	for range burst {
		victim.no++
		b, _ := ipmsg.Packet{Version: version, No: victim.no, User: []byte("eve"), Host: []byte("evil"), Cmd: ipmsg.BrEntry, Body: []byte(body)}.Marshal()
		if _, err := victim.conn.WriteToUDPAddrPort(b, n.addr); err != nil {
			return 0, 0, err
		}
		sent += len(b)
	}
	buf := make([]byte, 65536)
	gone := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		victim.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if k, _, err := victim.conn.ReadFromUDPAddrPort(buf); err == nil {
			got += k
			continue
		}
		_, listed := n.Table().ByAddr(victim.addr())
		if !listed && gone {
			return sent, got, nil // left, and 100 ms of quiet after a further 100 ms
		}
		gone = !listed
	}
	return sent, got, fmt.Errorf("the forged peer never left the table")
}

// A forged BR_ENTRY must not make the node a reflector: over a burst of forged entries
// and the liveness probes that follow, the bytes sent to the forged source are at most the
// bytes it sent. (The forged source is a raw socket here: it sends the entries itself and
// counts what comes back.) A single tiny entry cannot pay for an answer and a probe; it is
// measured, not held to that.
func TestForgedEntriesAreNotAmplified(t *testing.T) {
	type run struct {
		name      string
		burst     int
		n         *testNode
		sent, got int
		err       error
	}
	var runs []*run
	var wg sync.WaitGroup
	for i, tc := range []struct{ name, version, body string }{
		{"tiny IPMsg entry", "1", "x\x00"},
		{"tiny FeiGo entry", "1", "x\x00\x00\nFGID:f"},
		{"iptux's own entry", "1_iptux 0.8.3", "tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00"},
	} {
		for j, burst := range []int{100, 1} {
			r := &run{name: tc.name, burst: burst}
			r.n = startNode(t, loopbackConn(t), "Joe", func(c *Config) {
				// As many probes as the defaults allow (at 15, 20, … 40 s: six), on a
				// housekeeping tick of a second.
				c.ProbeAfter, c.ProbeEvery, c.Expiry = time.Second, time.Second, 7*time.Second
			})
			victim := rawPeerAt(t, fmt.Sprint("127.0.3.", 10+10*j+i))
			runs = append(runs, r)
			wg.Add(1)
			go func() { // the six measurements take as long as one
				defer wg.Done()
				r.sent, r.got, r.err = reflection(r.n, victim, burst, tc.version, tc.body)
			}()
		}
	}
	wg.Wait()
	for _, r := range runs {
		if r.err != nil {
			t.Fatalf("%s ×%d: %v", r.name, r.burst, r.err)
		}
		t.Logf("%s ×%d: %d bytes in, %d bytes back: %.2f", r.name, r.burst, r.sent, r.got, float64(r.got)/float64(r.sent))
		if r.burst == 1 {
			continue
		}
		if r.got > r.sent {
			t.Errorf("%s ×%d: the forged source got %d bytes for %d: %.1f times", r.name, r.burst, r.got, r.sent, float64(r.got)/float64(r.sent))
		}
		if r.n.Stats().RepliesDropped == 0 {
			t.Errorf("%s ×%d: no reply was dropped: are they counted?", r.name, r.burst)
		}
	}
}

// The reply budget does not cost an honest colleague its acknowledgements: an IPMsg peer
// with the shortest headers (each of our acknowledgements is twice the size of its message)
// sends 60 messages at once and, as IPMsg does, sends again what was not acknowledged; every
// one is acknowledged in the end, and shown once.
func TestBurstOfShortMessagesAllAcknowledged(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Kim", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1", "a", "b", ipmsg.BrEntry, "A\x00\x00")
	r.expect(ipmsg.AnsEntry)
	pending := map[string]string{} // packet number → message
	for i := range 60 {
		no := r.send(n.addr, "1", "a", "b", ipmsg.SendMsg|ipmsg.SendCheckOpt, fmt.Sprint(i, "\x00"))
		pending[fmt.Sprint(no)] = fmt.Sprint(i, "\x00")
	}
	buf := make([]byte, 65536)
	for copies := 1; len(pending) > 0; copies++ {
		r.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			k, _, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == ipmsg.RecvMsg {
				delete(pending, string(ipmsg.FirstSection(p.Body)))
			}
		}
		if len(pending) == 0 {
			break
		}
		if copies == 4 {
			t.Fatalf("%d of 60 messages unacknowledged after 4 copies (IPMsg gives up then)", len(pending))
		}
		for no, text := range pending {
			r.sendRaw(n.addr, []byte("1:"+no+":a:b:"+fmt.Sprint(uint32(ipmsg.SendMsg|ipmsg.SendCheckOpt))+":"+text))
		}
	}
	shown := map[string]bool{}
	for len(shown) < 60 {
		m := n.waitEvent(t, "message", nil).Message
		if shown[m.Text] {
			t.Fatalf("%q shown twice", m.Text)
		}
		shown[m.Text] = true
	}
}

// A FeiGo peer that writes to us before we know it is asked who it is with an entry that
// carries our FeiGo ID, so that it keys us by ID, not by address.
func TestStrangerFeiGoGetsOurID(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Lou", nil)
	r := newRawPeer(t)
	r.send(n.addr, versionField, "mia", "pc-mia", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, "hi\x00")
	p := r.expect(ipmsg.BrEntry)
	if e := ipmsg.ParseEntry(p, ipmsg.GBK); e.Client != ipmsg.ClientFeiGo || e.ID != "id-Lou" {
		t.Fatalf("a FeiGo stranger was asked with %q, read as %+v", p.Body, e)
	}
}

// A host that announced itself is a colleague, but not an unlimited one: past PeerBurst its
// messages are dropped unacknowledged (its retries get in later), so it cannot grow the
// history as fast as it sends; another colleague is not slowed.
func TestColleagueMessagesLimited(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Bob", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1_lbt6_0#128#000C29AABBCC#0#0#0", "eve", "evilhost", ipmsg.BrEntry, "eve\x00grp\x00")
	r.expect(ipmsg.AnsEntry)
	const flood = 400
	for i := range flood {
		r.send(n.addr, "1_lbt6_0#128#000C29AABBCC#0#0#0", "eve", "evilhost", ipmsg.SendMsg|ipmsg.SendCheckOpt, fmt.Sprint("spam ", i, "\x00"))
	}
	other := rawPeerAt(t, "127.0.0.3")
	other.send(n.addr, "1_lbt6_0#128#000C29DDEEFF#0#0#0", "li", "pc-li", ipmsg.BrEntry, "li\x00grp\x00")
	other.expect(ipmsg.AnsEntry)
	other.send(n.addr, "1_lbt6_0#128#000C29DDEEFF#0#0#0", "li", "pc-li", ipmsg.SendMsg|ipmsg.SendCheckOpt, "lunch?\x00")
	other.expect(ipmsg.RecvMsg)
	shown := 0
	for {
		e := n.waitEvent(t, "message", nil)
		if e.Message.Text == "lunch?" {
			break
		}
		shown++
	}
	if shown > PeerBurst+20 || n.Stats().PeerMessagesDropped < flood-PeerBurst-20 {
		t.Fatalf("%d of %d flooded messages shown, %d dropped", shown, flood, n.Stats().PeerMessagesDropped)
	}
}
