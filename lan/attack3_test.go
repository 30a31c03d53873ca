//go:build linux

package lan

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/legacygroup"
	"feigo/peers"
	"feigo/xfer"
)

// One list (a peer exchange's, or a host list's page, which an IP Messenger client with no key
// can serve) naming one host on MaxShared ports: each address:port is new, so without a bound
// per host the node would greet that one host MaxShared times for a list of a few kilobytes,
// a datagram cannon aimed at a single victim. At most peers.MaxPerAddr ports of one host are
// greeted within learnAgain (as many as the table would list there); other hosts in the same
// list are still learnt.
func TestAttackLearntPortsOfOneHostBounded(t *testing.T) {
	n := farNode(t, loopbackConn(t), "Victim", t.TempDir(), nil)
	victim := netip.MustParseAddr("127.77.0.5")
	var b strings.Builder
	for i := range MaxShared - 8 {
		fmt.Fprintf(&b, "%s:%d\n", victim, 40000+i)
	}
	for i := range 8 {
		fmt.Fprintf(&b, "127.78.0.%d:40000\n", 1+i)
	}
	from := netip.MustParseAddrPort("127.0.0.1:2425")
	n.learn([]byte(b.String()), from)
	// The same host again, on other ports, in a second list.
	b.Reset()
	for i := range 16 {
		fmt.Fprintf(&b, "%s:%d\n", victim, 50000+i)
	}
	n.learn([]byte(b.String()), from)
	n.far.mu.Lock()
	atVictim, others := 0, 0
	for a := range n.far.greeted {
		switch {
		case a.Addr() == victim:
			atVictim++
		case strings.HasPrefix(a.Addr().String(), "127.78.0."):
			others++
		}
	}
	n.far.mu.Unlock()
	if atVictim > peers.MaxPerAddr {
		t.Errorf("%d ports of one host queued for greetings, want at most %d", atVictim, peers.MaxPerAddr)
	}
	if atVictim == 0 || others != 8 {
		t.Errorf("legitimate-looking addresses not learnt: %d at the host, %d others (want 8)", atVictim, others)
	}
}

// Every group message in a room joined, or in an iptux window (which any iptux message opens),
// is kept in the history. A stranger sending long iptux messages from many source addresses
// (forged, or the loopback addresses here) was held back only by the datagram rates
// (legacyAllBurst at once, then one every legacyAllEvery): megabytes a second written to
// disk for as long as it went on. The text delivered from all senders together is bounded
// (legacyTextBurst bytes at once, then legacyTextRate a second); what is over is dropped
// and counted.
func TestAttackLegacyGroupTextFloodBounded(t *testing.T) {
	var mu sync.Mutex
	delivered, bytes := 0, 0
	n := startNode(t, loopbackConn(t), "Grace", func(c *Config) {
		c.LegacyGroups, c.LegacyMAC = true, "02:42:ac:1f:00:02"
		c.OnLegacyGroup = func(e legacygroup.Event) {
			if e.Type == legacygroup.RoomMessage {
				mu.Lock()
				delivered, bytes = delivered+1, bytes+len(e.Text)
				mu.Unlock()
			}
		}
	})
	const sources, each, size = 20, legacyBurst, 7000
	text := strings.Repeat("x", size)
	start := time.Now()
	for s := range sources {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 9, byte(1+s))})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range each {
			p, err := ipmsg.IptuxGroupPacket(ipmsg.IptuxRegular, ipmsg.UTF8, text)
			if err != nil {
				t.Fatal(err)
			}
			p.Version, p.No, p.User, p.Host = "1", uint32(100+i), []byte("flood"), []byte("pc")
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WriteToUDPAddrPort(b, n.addr); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Everything sent is either delivered or counted as dropped (the socket may lose some
	// under load: the count stops growing then).
	last, still := -1, 0
	for still < 20 {
		mu.Lock()
		got := delivered + int(n.LegacyGroups().Dropped())
		mu.Unlock()
		if got >= sources*each {
			break
		}
		if got == last {
			still++
		} else {
			last, still = got, 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if limit := legacyTextBurst + int(elapsed.Seconds()*legacyTextRate) + size; bytes > limit {
		t.Errorf("%d messages, %d bytes of text delivered in %v from a flood of %d; the budget is %d", delivered, bytes, elapsed, sources*each, limit)
	}
	if delivered == 0 {
		t.Error("nothing delivered at all")
	}
}

// On a LAN of spreadFrom colleagues or more, answers to announcements wait in a queue of
// maxSpread. A flood of BR_ENTRY from one address (new packet numbers, so none is a copy)
// queued one answer each, filling the queue: a colleague announcing itself meanwhile got no
// answer (dropped as over maxSpread). One answer waits per address at most; an address
// already waiting for one gets nothing more (the control limit would drop the copies anyway).
func TestAttackSpreadQueueFloodFromOneAddress(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Hub", nil)
	for i := range spreadFrom + 10 {
		if _, err := n.Table().Upsert(peers.Peer{ID: fmt.Sprint("far-", i), Nick: "far", Client: "iptux",
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}), 2425), Status: peers.Online}); err != nil {
			t.Fatal(err)
		}
	}
	flood := netip.MustParseAddrPort("127.0.2.1:2425")
	for range 2 * maxSpread {
		n.answerEntry(flood)
	}
	n.spread.mu.Lock()
	fromFlood := 0
	for _, d := range n.spread.due {
		if d.to == flood {
			fromFlood++
		}
	}
	n.spread.mu.Unlock()
	if fromFlood > 1 {
		t.Errorf("%d answers to one address waiting, want 1", fromFlood)
	}
	// Another address is still answered.
	colleague := newRawPeer(t)
	colleague.send(n.addr, "1_iptux 0.8.3", "u", "h", ipmsg.BrEntry, "x\x00g\x00")
	colleague.expect(ipmsg.AnsEntry)
}

// FeiGo sends iptux group messages (IPTUX_SENDMSG) only to iptux peers, and a colleague that
// proved its key speaks to us only over TLS: such a datagram from a FeiGo colleague's
// address is someone else's. It was delivered in that colleague's name (its nick from the
// table); it is dropped, as any other datagram in the name of a peer that uses TLS.
func TestAttackIptuxGroupMessageInAFeiGoColleaguesName(t *testing.T) {
	forger := newRawPeer(t)
	n, evs := startGroupsNode(t)
	if _, err := n.Table().Upsert(peers.Peer{ID: "fp-alice", Nick: "Alice", Client: string(ipmsg.ClientFeiGo), Addr: forger.addr(),
		Status: peers.Online, Secure: true, Key: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	p, err := ipmsg.IptuxGroupPacket(ipmsg.IptuxRegular, ipmsg.UTF8, "transfer the money to account 42")
	if err != nil {
		t.Fatal(err)
	}
	p.Version, p.No, p.User, p.Host = "1", 77, []byte("alice"), []byte("pc")
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	forger.sendRaw(n.addr, b)
	// A real iptux's message after it is delivered: the forged one, sent first, was not.
	iptux := newRawPeer(t)
	p.No, p.Body = 78, []byte("hello\x00")
	if b, err = p.Marshal(); err != nil {
		t.Fatal(err)
	}
	iptux.sendRaw(n.addr, b)
	e := waitGroupEvent(t, evs, legacygroup.RoomMessage)
	if e.From.Addr != iptux.addr() {
		t.Fatalf("delivered in a FeiGo colleague's name: %+v", e)
	}
}

// Another user on a colleague's machine (same IP address) opens a channel with a key of its
// own and says, in its hello, that its UDP port is the colleague's (FGUP). The hello was
// taken as proof once that address's TCP port accepted a connection, which the colleague's
// FeiGo does: the stranger's key was listed at the colleague's address and the colleague,
// whose address it took over, vanished from the list. A hello naming an address another
// colleague holds is proved by dialling it instead, where only that key's holder answers.
func TestAttackHelloClaimsAColleaguesPort(t *testing.T) {
	victim := farNode(t, loopbackConn(t), "Victim", t.TempDir(), nil)
	alice := farNode(t, loopbackConn(t), "Alice", t.TempDir(), nil, victim.addr)
	if !waitFor(20*time.Second, func() bool { return listsSecure(victim, alice.addr) && listsSecure(alice, victim.addr) }) {
		t.Fatalf("Alice not listed: %+v", victim.Table().Snapshot())
	}
	mallory := farNode(t, loopbackConn(t), "Mallory", t.TempDir(), func(c *Config) { c.NoExchange = true })
	vp, _ := alice.Table().ByAddr(victim.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mallory.dialTLS(ctx, victim.addr, ed25519.PublicKey(vp.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	self := mallory.Self()
	self.Nick = "Alice"
	self.Dialed, self.Port = victim.addr.String(), alice.addr.Port()
	hello, err := mallory.packet(ipmsg.UTF8, true, mallory.entryCmd(ipmsg.BrEntry), ipmsg.EntryBody(ipmsg.UTF8, self)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := writeFrame(c, hello); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(c); err != nil {
		t.Fatal(err)
	}
	mfp := mallory.cfg.Identity.Fingerprint().String()
	taken := waitFor(5*time.Second, func() bool {
		q, ok := victim.Table().ByAddr(alice.addr)
		return !ok || q.ID == mfp
	})
	if taken {
		q, _ := victim.Table().ByAddr(alice.addr)
		t.Fatalf("Alice's address taken over by another key through a hello: %+v", q)
	}
	if _, ok := victim.Table().Get(mfp); ok {
		t.Error("Mallory's key listed")
	}
}

// Images embedded in a message are fetched at once, without the user's word, and kept in the
// image store: MaxInline of MaxInlineBytes each a message. A stranger sending a few messages
// (within the stranger limit) had the node take 20 MB × 20 × each of them, and so on every
// minute: the disk filled at the link's speed. What embedded images may bring is bounded
// per sender and from all together (xfer.InlineSenderBytes, xfer.InlineAllBytes, regained
// over xfer.InlineRefill); images over it are dropped, the message still shown.
func TestAttackInlineImagesFillTheDisk(t *testing.T) {
	top := t.TempDir()
	imgs := filepath.Join(top, "images", "incoming")
	n := startNode(t, loopbackConn(t), "Bob", func(c *Config) {
		c.ImageDir, c.DownloadDir, c.FetchPatience = imgs, filepath.Join(top, "dl"), time.Second
	})
	h := newHostileSender(t, func(req ipmsg.Packet, c net.Conn) { io.WriteString(c, "IMG!") })
	const messages = 3
	for m := range messages {
		var list strings.Builder
		for i := range xfer.MaxInline {
			fmt.Fprintf(&list, "%d:s%d-%d.png:%x:0:20:8=%x:\a", i, m, i, xfer.MaxInlineBytes, i)
		}
		text := fmt.Sprint("look ", m)
		h.send(n.addr, "1", "eve", "evilhost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, text+"\x00"+list.String()+"\x00")
		n.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == text })
	}
	var declared int64
	for _, tr := range n.Files().Transfers() {
		if tr.Inline {
			declared += tr.Total
		}
	}
	if declared > xfer.InlineSenderBytes {
		t.Errorf("%d MB of embedded images taken from one stranger in %d messages, the bound is %d MB",
			declared>>20, messages, xfer.InlineSenderBytes>>20)
	}
	if declared == 0 {
		t.Error("no embedded image taken at all")
	}
}

// A colleague listed that the broadcasts do not reach is remembered (reach.json) and greeted
// at every start for a month. A legacy client is listed on one datagram, whose source can be
// forged: a forged BR_ENTRY from a DNS server's address (port 53), or a public one, had the
// node greet it at each start. A colleague that did not prove a key is remembered only at an
// address a peer list could name (learnable's ranges, a port from 1024, not a network or
// broadcast address).
func TestAttackForgedEntryRememberedForAMonth(t *testing.T) {
	n := farNode(t, loopbackConn(t), "N", t.TempDir(), nil)
	bad := netip.MustParseAddrPort("127.0.5.5:53")
	good := netip.MustParseAddrPort("127.0.5.6:40000")
	for i, a := range []netip.AddrPort{bad, good} {
		if _, err := n.Table().Upsert(peers.Peer{ID: fmt.Sprint("legacy-", i), Nick: "x", Client: string(ipmsg.ClientIPMsg),
			Addr: a, Status: peers.Online}); err != nil {
			t.Fatal(err)
		}
	}
	remembered := func(a netip.AddrPort) bool {
		n.far.mu.Lock()
		defer n.far.mu.Unlock()
		_, ok := n.far.remembered[a]
		return ok
	}
	if !waitFor(10*time.Second, func() bool { return remembered(good) }) {
		t.Fatal("a legacy colleague on another subnet not remembered")
	}
	if remembered(bad) {
		t.Error("a legacy 'colleague' at a privileged port remembered, to be greeted at every start")
	}
}

// The addresses of the history's contacts are greeted at start (Config.Remembered). A
// stranger's message from a forged source makes a contact: a forged message "from" a DNS
// server's port 53 had the node greet it at every start. They are greeted only at addresses
// a peer list could name (farAddr).
func TestAttackForgedContactGreetedAtStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding a privileged port (the victim's) needs root")
	}
	victim, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 5, 5), Port: 999})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	far := newRawPeer(t)
	startNode(t, loopbackConn(t), "Back", func(c *Config) {
		c.ReachRanges = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.Remembered = []netip.AddrPort{addrOf(victim), far.addr()}
	})
	far.expect(ipmsg.BrEntry) // greeted after the victim's address, had it been greeted
	victim.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, _, err := victim.ReadFromUDPAddrPort(make([]byte, 2048)); err == nil {
		t.Fatalf("a contact at a privileged port greeted (%d bytes)", n)
	}
}

// Embedded images are fetched at once from the message's source address, which can be forged.
// Aimed at a bystander whose TCP port accepts (any IPMsg client: it closes a request for a
// packet it never sent), one datagram naming MaxInline images of 1 byte made the node
// connect and ask 20 times per image, each retried for FetchPatience (2 minutes by default):
// hundreds of connections at the bystander per datagram. An inline fetch is tried a few
// times (maxInlineTries) and, while nothing ever came, the first image that fails ends it.
func TestAttackInlineFetchAimedAtABystander(t *testing.T) {
	top := t.TempDir()
	n := startNode(t, loopbackConn(t), "Bob", func(c *Config) {
		c.ImageDir, c.DownloadDir = filepath.Join(top, "images", "incoming"), filepath.Join(top, "dl")
	})
	bystander := newHostileSender(t, func(req ipmsg.Packet, c net.Conn) {}) // closes every request
	var list strings.Builder
	for i := range xfer.MaxInline {
		fmt.Fprintf(&list, "%d:i%d.png:1:0:20:8=%x:\a", i, i, i)
	}
	bystander.send(n.addr, "1", "eve", "evilhost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, "x\x00"+list.String()+"\x00")
	ev := n.waitEvent(t, "transfer_offered", func(e Event) bool { return e.Transfer.Inline })
	if got := waitFinal(t, n, ev.Transfer.ID); got.State != xfer.StateFailed {
		t.Fatalf("%+v", got)
	}
	asked := len(bystander.requests)
	if asked > 3 {
		t.Errorf("one forged datagram made the node ask a bystander %d times", asked)
	}
}
