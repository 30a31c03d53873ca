//go:build linux

package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/xfer"
)

// The hostile-LAN soak: a victim node, an honest colleague exchanging messages with it, an
// attacker flooding the victim with everything the LAN lets anyone send, and a bystander
// whose address the attacker forges. The lab:
//
//	host 1  the victim: feigo serve --accept-files DIR (so offers are fetched at once)
//	host 2  the honest colleague: feigo serve --accept-files DIR
//	host 3  the attacker: goroutines of this test, with sockets in host 3's namespace
//	host 4  the bystander: the address the attacker forges, and 100 more (10.213.0.100 …
//	        199) on the same interface, with a UDP socket on port 2425 of all of them that
//	        reads and counts, nothing else
//
// The forged addresses belong to a host, as the reflection an attacker aims at would: a
// reply to an address nobody answers ARP for waits in the kernel's neighbour queue, and
// that is a bug of its own (TestHostileUnusedSourcesStallSends).

// floodRates is how much of each kind of hostile traffic the attacker sends per second.
type floodRates struct {
	Junk, HugeJunk  int  // random datagrams of up to 1,400 bytes; 60,000-byte ones
	Entries         int  // BR_ENTRYs of about 60 KB with huge fields, each with a new FeiGo ID
	ForgedEntries   int  // small entries with new FeiGo IDs, from forged source addresses
	Strangers       int  // messages from attacker ports that never announced themselves
	ForgedStrangers int  // messages from forged source addresses (a new one each time)
	Offers          int  // offers of 1,000 files (and some of 1,500) from the announced attacker
	StrangerOffers  int  // offers from unannounced attacker ports
	IdleConns       int  // TCP connections to port 2425 opened at once and held; then IdleConns/60 a second
	Folder          bool // first, a folder offered as 10 bytes whose stream goes on for 256 MB
}

// soakRates is the flood of the soak test: about 1,800 datagrams and 7 MB a second at the
// victim, and 50 new TCP connections a second after the first 3,000.
var soakRates = floodRates{Junk: 1000, HugeJunk: 20, Entries: 100, ForgedEntries: 200, Strangers: 200,
	ForgedStrangers: 200, Offers: 20, StrangerOffers: 20, IdleConns: 3000, Folder: true}

// The attacker's ports on host 3, besides 2425.
const (
	// poolPorts send entries with forged FeiGo IDs and junk; strangerPorts, which never
	// announce themselves, send strangers' messages and offers. A port that sent an entry
	// the victim took is a peer, and peers' messages are not limited (see
	// TestHostileKnownPeerFloodsHistory).
	poolPorts     = 8
	strangerPorts = 8
	fakeFirst     = 100
	fakeCount     = 100 // forged sources 10.213.0.100 … 199, on the bystander
	forgedPorts   = 8   // forged source ports: 2425 and 40001 … 40007
	folderOffer   = 10  // the size the oversized folder is offered with
	folderStream  = 256 << 20
)

// hostileLAN is the soak's lab.
type hostileLAN struct {
	victim, honest  *node
	evil, bystander *lab.Host
	dl              string // the victim's download folder
	honestDL        string // the honest node's
	evilIP, bystIP  netip.Addr
	victimUDP       netip.AddrPort
	bystGot         atomic.Int64 // UDP bytes the bystander's addresses received
}

// newHostileLAN builds the lab, starts both nodes and waits until they see each other.
// With ownFakes the bystander holds the other forged addresses too; without, nobody does.
func newHostileLAN(t testing.TB, ownFakes bool) *hostileLAN {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the soak needs nftables' nft to count bytes: %v", err)
	} else if err != nil {
		t.Skipf("the soak needs nftables' nft to count bytes: %v", err)
	}
	l := lab.New(t, 4)
	s := &hostileLAN{evil: l.Hosts[2], bystander: l.Hosts[3], dl: filepath.Join(t.TempDir(), "inbox")}
	s.evilIP, s.bystIP = s.evil.Addr, s.bystander.Addr
	s.victimUDP = netip.AddrPortFrom(l.Hosts[0].Addr, lan.DefaultPort)
	s.victim = serve(t, l.Hosts[0], "Alice", "QA", "--accept-files", s.dl)
	s.honestDL = filepath.Join(t.TempDir(), "bob-inbox")
	s.honest = serve(t, l.Hosts[1], "Bob", "QA", "--accept-files", s.honestDL)
	s.victim.waitPeers(t, 1, 10*time.Second)
	s.honest.waitPeers(t, 1, 10*time.Second)
	if ownFakes {
		s.addFakeAddrs(t, s.bystander)
	}
	for i := range forgedPorts {
		var byst *net.UDPConn
		err := s.bystander.Do(func() (err error) {
			byst, err = net.ListenUDP("udp4", &net.UDPAddr{Port: int(forgedPort(i))})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { byst.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				k, _, err := byst.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				s.bystGot.Add(int64(k))
			}
		}()
	}
	s.installCounters(t)
	t.Cleanup(func() {
		if t.Failed() {
			s.keepLogs(t)
		}
	})
	return s
}

// addFakeAddrs gives h the addresses the attacker forges besides the bystander's.
func (s *hostileLAN) addFakeAddrs(t testing.TB, h *lab.Host) {
	t.Helper()
	var b strings.Builder
	for j := range fakeCount {
		fmt.Fprintf(&b, "addr add 10.213.0.%d/24 dev eth0\n", fakeFirst+j)
	}
	cmd := exec.Command("ip", "-n", h.NS, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("adding the forged addresses to %s: %v\n%s", h.NS, err, out)
	}
}

// keepLogs copies both nodes' logs and the victim's profile listing to $FEIGO_ARTEFACTS
// (default: a folder under the system's temporary directory), for a failed run.
func (s *hostileLAN) keepLogs(t testing.TB) {
	dir := os.Getenv("FEIGO_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "feigo-artefacts")
	}
	dir = filepath.Join(dir, "hostile-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Log(err)
		return
	}
	for name, n := range map[string]*node{"victim": s.victim, "honest": s.honest} {
		if b, err := os.ReadFile(n.Log); err == nil {
			os.WriteFile(filepath.Join(dir, name+".log"), b, 0o644)
		}
		var events bytes.Buffer
		for _, ev := range n.Events() {
			b, _ := json.Marshal(ev)
			events.Write(append(b, '\n'))
		}
		os.WriteFile(filepath.Join(dir, name+"-events.jsonl"), events.Bytes(), 0o644)
	}
	var listing bytes.Buffer
	for _, d := range []string{s.victim.profile, s.dl} {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil {
				if info, err := e.Info(); err == nil {
					fmt.Fprintf(&listing, "%12d %s\n", info.Size(), p)
				}
			}
			return nil
		})
	}
	os.WriteFile(filepath.Join(dir, "victim-files.txt"), listing.Bytes(), 0o644)
	for _, f := range []string{"history.db", "history.db-wal", "transfers.json"} {
		p := filepath.Join(s.victim.profile, f)
		if info, err := os.Stat(p); err != nil || info.Size() > 32<<20 {
			continue // a history grown by a flood is described by its size in the listing
		}
		if b, err := os.ReadFile(p); err == nil {
			os.WriteFile(filepath.Join(dir, "victim-"+f), b, 0o644)
		}
	}
	t.Logf("logs, events and the victim's files are in %s", dir)
}

// byteCounts are the IP bytes (headers included) the victim's host received from and sent to
// the attacker, the bystander and the other forged addresses, counted by nftables in the
// victim's namespace: input after reassembly, output before the wire.
type byteCounts struct {
	EvilIn, EvilOut       int64 // everything from and to the attacker's address
	EvilUDPIn, EvilUDPOut int64
	EvilTCPIn, EvilTCPOut int64
	ForgedIn, ForgedOut   int64 // UDP with the bystander's address as source; everything to it
	FakeIn, FakeOut       int64 // UDP from the other forged addresses; everything to them
}

var counterNames = []string{"evil_in", "evil_out", "evil_udp_in", "evil_udp_out", "evil_tcp_in", "evil_tcp_out",
	"forged_in", "forged_out", "fake_in", "fake_out"}

func (s *hostileLAN) installCounters(t testing.TB) {
	t.Helper()
	evil, byst := s.evilIP.String(), s.bystIP.String()
	fake := fmt.Sprintf("10.213.0.%d-10.213.0.%d", fakeFirst, fakeFirst+fakeCount-1)
	var b strings.Builder
	b.WriteString("table inet fgsoak {\n")
	for _, c := range counterNames {
		fmt.Fprintf(&b, "  counter %s {}\n", c)
	}
	fmt.Fprintf(&b, `  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr %[1]s counter name evil_in
    ip saddr %[1]s meta l4proto udp counter name evil_udp_in
    ip saddr %[1]s meta l4proto tcp counter name evil_tcp_in
    ip saddr %[2]s meta l4proto udp counter name forged_in
    ip saddr %[3]s meta l4proto udp counter name fake_in
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr %[1]s counter name evil_out
    ip daddr %[1]s meta l4proto udp counter name evil_udp_out
    ip daddr %[1]s meta l4proto tcp counter name evil_tcp_out
    ip daddr %[2]s counter name forged_out
    ip daddr %[3]s counter name fake_out
  }
}
`, evil, byst, fake)
	cmd := exec.Command("ip", "netns", "exec", s.victim.Host.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft counters: %v\n%s\n%s", err, out, b.String())
	}
}

// counts reads the counters.
func (s *hostileLAN) counts(t testing.TB) byteCounts {
	t.Helper()
	out, errOut, code := s.victim.Host.Run("nft", "-j", "list", "counters", "table", "inet", "fgsoak")
	if code != 0 {
		t.Fatalf("nft list counters: %s", errOut)
	}
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name  string `json:"name"`
				Bytes int64  `json:"bytes"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, out)
	}
	m := map[string]int64{}
	for _, o := range doc.Nftables {
		if o.Counter != nil {
			m[o.Counter.Name] = o.Counter.Bytes
		}
	}
	return byteCounts{EvilIn: m["evil_in"], EvilOut: m["evil_out"], EvilUDPIn: m["evil_udp_in"], EvilUDPOut: m["evil_udp_out"],
		EvilTCPIn: m["evil_tcp_in"], EvilTCPOut: m["evil_tcp_out"], ForgedIn: m["forged_in"], ForgedOut: m["forged_out"],
		FakeIn: m["fake_in"], FakeOut: m["fake_out"]}
}

// sub returns c − o, field by field.
func (c byteCounts) sub(o byteCounts) byteCounts {
	return byteCounts{EvilIn: c.EvilIn - o.EvilIn, EvilOut: c.EvilOut - o.EvilOut,
		EvilUDPIn: c.EvilUDPIn - o.EvilUDPIn, EvilUDPOut: c.EvilUDPOut - o.EvilUDPOut,
		EvilTCPIn: c.EvilTCPIn - o.EvilTCPIn, EvilTCPOut: c.EvilTCPOut - o.EvilTCPOut,
		ForgedIn: c.ForgedIn - o.ForgedIn, ForgedOut: c.ForgedOut - o.ForgedOut,
		FakeIn: c.FakeIn - o.FakeIn, FakeOut: c.FakeOut - o.FakeOut}
}

// String says what crossed, and the ratios out/in.
func (d byteCounts) String() string {
	return fmt.Sprintf("attacker→victim %d bytes (UDP %d, TCP %d), victim→attacker %d (UDP %d, TCP %d): %.3f (UDP %.3f); "+
		"forged as the bystander %d, sent to it %d: %.3f; other forged addresses %d, sent to them %d: %.3f",
		d.EvilIn, d.EvilUDPIn, d.EvilTCPIn, d.EvilOut, d.EvilUDPOut, d.EvilTCPOut, ratio(d.EvilOut, d.EvilIn), ratio(d.EvilUDPOut, d.EvilUDPIn),
		d.ForgedIn, d.ForgedOut, ratio(d.ForgedOut, d.ForgedIn), d.FakeIn, d.FakeOut, ratio(d.FakeOut, d.FakeIn))
}

func ratio(out, in int64) float64 {
	if in == 0 {
		if out == 0 {
			return 0
		}
		return float64(out)
	}
	return float64(out) / float64(in)
}

// attacker is host 3's hostile traffic: sockets in its namespace, driven by goroutines of the
// test.
type attacker struct {
	h       *lab.Host
	target  netip.AddrPort
	eve     *net.UDPConn   // port 2425: the attacker's announced identity (an IPMsg client)
	pool    []*net.UDPConn // other ports that announce themselves (entries) or send junk
	strange []*net.UDPConn // ports that never announce themselves
	raw     int            // a raw IP socket (IP_HDRINCL) for forged source addresses
	ln      net.Listener   // TCP port 2425, which the victim fetches offers from
	forged  netip.Addr     // the bystander's address
	no      atomic.Uint32
	folder  atomic.Uint32 // the oversized folder offer's packet number
	wg      sync.WaitGroup
	closing chan struct{}

	mu    sync.Mutex
	idle  []net.Conn
	stats map[string]*[2]int64 // kind → datagrams (or connections), bytes

	got           atomic.Int64 // UDP bytes the attacker's sockets received
	folderReqs    atomic.Int64 // GETDIRFILES for the oversized folder
	folderWritten atomic.Int64 // bytes of folder stream the kernel took
	fileReqs      atomic.Int64 // other fetches (closed at once)
	idleFailed    atomic.Int64 // idle connections that could not be opened
}

func newAttacker(t testing.TB, s *hostileLAN) *attacker {
	t.Helper()
	a := &attacker{h: s.evil, target: s.victimUDP, forged: s.bystIP, closing: make(chan struct{}), stats: map[string]*[2]int64{}}
	a.no.Store(1000)
	var err error
	if a.eve, err = a.h.ListenUDP(lan.DefaultPort); err != nil {
		t.Fatal(err)
	}
	for i := range poolPorts + strangerPorts {
		c, err := a.h.ListenUDP(0)
		if err != nil {
			t.Fatal(err)
		}
		if i < poolPorts {
			a.pool = append(a.pool, c)
		} else {
			a.strange = append(a.strange, c)
		}
	}
	err = a.h.Do(func() error {
		var err error
		if a.ln, err = net.Listen("tcp4", netip.AddrPortFrom(a.h.Addr, lan.DefaultPort).String()); err != nil {
			return err
		}
		a.raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	for _, c := range append(append([]*net.UDPConn{a.eve}, a.pool...), a.strange...) {
		a.wg.Go(func() { a.drain(c) })
	}
	a.wg.Go(a.serveTCP)
	return a
}

// close ends the attack's sockets and goroutines.
func (a *attacker) close() {
	select {
	case <-a.closing:
		return
	default:
	}
	close(a.closing)
	a.eve.Close()
	for _, c := range append(a.pool, a.strange...) {
		c.Close()
	}
	a.ln.Close()
	unix.Close(a.raw)
	a.dropIdle()
	a.wg.Wait()
}

func (a *attacker) dropIdle() {
	a.mu.Lock()
	idle := a.idle
	a.idle = nil
	a.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

func (a *attacker) count(kind string, bytes int) { a.countN(kind, 1, bytes) }

// countN counts n datagrams (or connections) of a kind, bytes in all.
func (a *attacker) countN(kind string, n, bytes int) {
	a.mu.Lock()
	s := a.stats[kind]
	if s == nil {
		s = new([2]int64)
		a.stats[kind] = s
	}
	s[0] += int64(n)
	s[1] += int64(bytes)
	a.mu.Unlock()
}

// summary says what the attacker sent, kind by kind.
func (a *attacker) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var kinds []string
	for k := range a.stats {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s %d (%.1f MB); ", k, a.stats[k][0], float64(a.stats[k][1])/1e6)
	}
	fmt.Fprintf(&b, "folder requests %d, folder stream written %.1f MB, other fetches %d, idle connections not opened %d, UDP received %d bytes",
		a.folderReqs.Load(), float64(a.folderWritten.Load())/1e6, a.fileReqs.Load(), a.idleFailed.Load(), a.got.Load())
	return b.String()
}

func (a *attacker) drain(c *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		k, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		a.got.Add(int64(k))
	}
}

// packet is an IPMsg datagram written by hand, so that no field is bounded.
func (a *attacker) packet(version, user, host string, cmd ipmsg.Command, body []byte) []byte {
	head := fmt.Sprintf("%s:%d:%s:%s:%d:", version, a.no.Add(1), user, host, uint32(cmd))
	return append([]byte(head), body...)
}

func (a *attacker) send(c *net.UDPConn, kind string, b []byte) {
	if _, err := c.WriteToUDPAddrPort(b, a.target); err == nil {
		a.count(kind, len(b))
	}
}

// sendForged sends payload as a UDP datagram from src to the victim through the raw socket.
// An IP_HDRINCL packet is not fragmented by the kernel, so payload must fit in the MTU.
func (a *attacker) sendForged(kind string, src netip.AddrPort, payload []byte) {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45 // IPv4, 20-byte header
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8], b[9] = 64, unix.IPPROTO_UDP // TTL, protocol; the kernel fills in the checksum and ID
	copy(b[12:16], src.Addr().AsSlice())
	copy(b[16:20], a.target.Addr().AsSlice())
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], a.target.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload))) // UDP checksum 0: none
	copy(b[28:], payload)
	if err := unix.Sendto(a.raw, b, 0, &unix.SockaddrInet4{Addr: a.target.Addr().As4()}); err == nil {
		a.count(kind, len(payload))
	}
}

// forgedPort is the i-th forged source port.
func forgedPort(i int) uint16 {
	if i == 0 {
		return lan.DefaultPort
	}
	return uint16(40000 + i)
}

// fakeSource is one of the other forged addresses, on one of the forged ports.
func fakeSource(rng *rand.Rand) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 213, 0, byte(fakeFirst + rng.IntN(fakeCount))}), forgedPort(rng.IntN(forgedPorts)))
}

func randomID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
}

// hugeEntry is a FeiGo BR_ENTRY of about 60 KB with a new ID: either 8 KiB names and away
// text with a 20,000-comma FGCAP, or a 60,000-comma FGCAP.
func (a *attacker) hugeEntry(rng *rand.Rand) []byte {
	id := randomID(rng)
	var body []byte
	if rng.IntN(2) == 0 {
		nick := strings.Repeat("N", 8<<10)
		body = fmt.Appendf(nil, "%s\x00%s\x00\nUN:%s\nHN:%s\nNN:%s\nGN:%s\nFGID:%s\nFGCAP:%s\nFGAW:%s\x00",
			nick, strings.Repeat("G", 8<<10), strings.Repeat("u", 4<<10), strings.Repeat("h", 4<<10),
			nick, strings.Repeat("g", 4<<10), id, strings.Repeat(",", 20000)+"files", strings.Repeat("w", 8<<10))
	} else {
		body = fmt.Appendf(nil, "x\x00y\x00\nFGID:%s\nFGCAP:%s\x00", id, strings.Repeat(",", 60000))
	}
	return a.packet("1_feigo 9.9", strings.Repeat("U", 1000), strings.Repeat("H", 1000), ipmsg.BrEntry|ipmsg.CapUTF8Opt|ipmsg.FileAttachOpt, body)
}

// fileList is an offer's list of n one-byte files.
func fileList(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%d:f%05d.bin:1:0:1:\a", i, i)
	}
	return b.Bytes()
}

// announce makes the attacker's port 2425 a peer the victim knows (an IPMsg client, keyed
// by its address), which lifts the limits on strangers' messages from it.
func (a *attacker) announce() {
	a.send(a.eve, "announce", a.packet("1", "eve", "evil", ipmsg.BrEntry|ipmsg.FileAttachOpt, []byte("Eve\x00Evil\x00")))
}

// offerFolder offers a folder of folderOffer bytes; the TCP side streams far more.
func (a *attacker) offerFolder() {
	no := a.no.Add(1)
	a.folder.Store(no)
	b := fmt.Appendf(nil, "1:%d:eve:evil:%d:\x000:big:%x:0:2:\a\x00", no, uint32(ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt), folderOffer)
	a.send(a.eve, "folder offer", b)
}

// serveTCP answers the victim's fetches: the oversized folder's stream for its offer, an
// immediate close for anything else.
func (a *attacker) serveTCP() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 2048)
			k, _ := c.Read(buf)
			p, err := ipmsg.Decode(buf[:k])
			if err != nil || p.Cmd.Mode() != ipmsg.GetDirFiles {
				a.fileReqs.Add(1)
				return
			}
			r, err := ipmsg.ParseFileRequest(p.Body, false)
			if err != nil || r.PacketNo != a.folder.Load() {
				a.fileReqs.Add(1)
				return
			}
			a.folderReqs.Add(1)
			// The folder, its 10 bytes in a file, then a file of 1 GiB, written until the
			// victim hangs up or folderStream bytes went.
			head := dirRecord("big", 0, 2) + dirRecord("a", folderOffer, 1) + strings.Repeat("A", folderOffer) + dirRecord("b", 1<<30, 1)
			c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			k, err = io.WriteString(c, head)
			a.folderWritten.Add(int64(k))
			chunk := bytes.Repeat([]byte("B"), 1<<20)
			for err == nil && a.folderWritten.Load() < folderStream {
				select {
				case <-a.closing:
					return
				default:
				}
				k, err = c.Write(chunk)
				a.folderWritten.Add(int64(k))
			}
		})
	}
}

// openIdle opens n TCP connections to the victim's port 2425 and holds them without a byte.
func (a *attacker) openIdle(n int) {
	var conns []net.Conn
	a.h.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second}
		for range n {
			c, err := d.Dial("tcp4", netip.AddrPortFrom(a.target.Addr(), lan.DefaultPort).String())
			if err != nil {
				a.idleFailed.Add(1)
				continue
			}
			conns = append(conns, c)
		}
		return nil
	})
	a.mu.Lock()
	a.idle = append(a.idle, conns...)
	a.mu.Unlock()
	a.countN("idle TCP connection", len(conns), 0)
}

// every calls fn perSec times a second, in ticks of 10 ms, until stop is closed.
func every(stop <-chan struct{}, perSec int, fn func()) {
	if perSec <= 0 {
		return
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start, done := time.Now(), 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds() * float64(perSec))
		// A starved attacker does not make up for lost time in one burst.
		for k := 0; done < due && k < max(1, perSec/10); k++ {
			fn()
			done++
		}
		done = max(done, due-perSec/10)
	}
}

// flood runs the attack at rates until stop is closed, and returns when every part of it
// has stopped. The folder offer goes first, so that the offer flood cannot crowd it out;
// while it offers, the attacker announces itself every second, so as to stay a peer.
func (a *attacker) flood(stop <-chan struct{}, r floodRates) {
	var wg sync.WaitGroup
	part := func(seed uint64, perSec int, fn func(rng *rand.Rand)) {
		rng := rand.New(rand.NewPCG(seed, 99))
		wg.Go(func() { every(stop, perSec, func() { fn(rng) }) })
	}
	if r.Folder {
		a.offerFolder()
	}
	part(1, r.Junk, func(rng *rand.Rand) {
		b := make([]byte, rng.IntN(1400))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if rng.IntN(4) == 0 {
			b = append([]byte("1:1:u:h:"), b...) // a header, then garbage
		}
		a.send(a.pool[rng.IntN(poolPorts)], "junk", b)
	})
	part(2, r.HugeJunk, func(rng *rand.Rand) {
		b := bytes.Repeat([]byte{byte(rng.UintN(256))}, 60000)
		cmd := rng.Uint32N(1 << 24)
		if cmd&0xff == uint32(ipmsg.SendMsg) {
			cmd++ // a message from a port that is a peer would be stored: not this test's subject
		}
		copy(b, fmt.Sprintf("1:%d:u:h:%d:", rng.Uint32(), cmd))
		a.send(a.pool[rng.IntN(poolPorts)], "huge junk", b)
	})
	part(3, r.Entries, func(rng *rand.Rand) {
		a.send(a.pool[rng.IntN(poolPorts)], "huge entry", a.hugeEntry(rng))
	})
	part(4, r.ForgedEntries, func(rng *rand.Rand) {
		src := fakeSource(rng)
		kind := "forged entry (other address)"
		if rng.IntN(4) == 0 {
			src, kind = netip.AddrPortFrom(a.forged, forgedPort(rng.IntN(forgedPorts))), "forged entry (bystander)"
		}
		body := fmt.Appendf(nil, "%s\x00%s\x00\nFGID:%s\nFGCAP:%s\x00", strings.Repeat("n", 300), strings.Repeat("g", 300), randomID(rng), strings.Repeat(",", 600))
		a.sendForged(kind, src, a.packet("1_feigo 9.9", "forger", "forged", ipmsg.BrEntry|ipmsg.CapUTF8Opt, body))
	})
	part(5, r.Strangers, func(rng *rand.Rand) {
		text := strings.Repeat("spam ", 20+rng.IntN(2000)) // up to 10 KB: some over the strangers' 8 KiB
		a.send(a.strange[rng.IntN(strangerPorts)], "stranger message",
			a.packet("1", fmt.Sprint("spammer", rng.IntN(1e6)), "spamhost", ipmsg.SendMsg|ipmsg.SendCheckOpt, append([]byte(text), 0)))
	})
	part(6, r.ForgedStrangers, func(rng *rand.Rand) {
		a.sendForged("forged stranger message", fakeSource(rng),
			a.packet("1", fmt.Sprint("ghost", rng.IntN(1e6)), "ghosthost", ipmsg.SendMsg|ipmsg.SendCheckOpt, []byte("boo\x00")))
	})
	full, over := fileList(1000), fileList(1500)
	part(7, r.Offers, func(rng *rand.Rand) {
		list := full
		if rng.IntN(10) == 0 {
			list = over
		}
		body := append(append([]byte("files for you\x00"), list...), 0)
		a.send(a.eve, "offer", a.packet("1", "eve", "evil", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, body))
	})
	part(8, r.StrangerOffers, func(rng *rand.Rand) {
		body := append(append([]byte("\x00"), fileList(300)...), 0)
		a.send(a.strange[rng.IntN(strangerPorts)], "stranger offer", a.packet("1", "anon", "anonhost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, body))
	})
	if r.Offers > 0 || r.Folder {
		part(9, 1, func(*rand.Rand) { a.announce() })
	}
	if r.IdleConns > 0 {
		a.openIdle(r.IdleConns)
		part(10, max(1, r.IdleConns/60), func(*rand.Rand) { a.openIdle(1) })
	}
	wg.Wait()
	a.dropIdle()
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/PID/status, in KiB.
func rssKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return -1
}

// fileSizes lists the regular files directly in dir with their sizes.
func fileSizes(dir string) string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			out = append(out, fmt.Sprintf("%s %d", e.Name(), info.Size()))
		}
	}
	return strings.Join(out, ", ")
}

// udpDrops is how many datagrams the kernel dropped for a full receive buffer in the network
// namespace of process pid (Udp RcvbufErrors in /proc/PID/net/snmp).
func udpDrops(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/snmp", pid))
	if err != nil {
		return -1
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return -1
}

// dirBytes is the apparent size of the regular files under dir and how many entries it holds.
func dirBytes(dir string) (size int64, entries int) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		entries++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			size += info.Size()
		}
		return nil
	})
	return size, entries
}

// monitor samples the victim while the flood runs: its RSS, and `feigo status` through the
// control socket, timed from the command's start to its exit.
type monitor struct {
	stop chan struct{}
	done sync.WaitGroup

	mu          sync.Mutex
	maxRSS      int64 // KiB
	polls       int
	slowest     time.Duration
	pollsFailed []string
}

func startMonitor(n *node) *monitor {
	m := &monitor{stop: make(chan struct{})}
	pid := n.Cmd.Process.Pid
	m.done.Go(func() {
		for {
			if kb := rssKiB(pid, "VmRSS"); kb > 0 {
				m.mu.Lock()
				m.maxRSS = max(m.maxRSS, kb)
				m.mu.Unlock()
			}
			select {
			case <-m.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	m.done.Go(func() {
		for {
			start := time.Now()
			out, errOut, code := n.cli("status")
			took := time.Since(start)
			m.mu.Lock()
			m.polls++
			m.slowest = max(m.slowest, took)
			if code != 0 || !strings.Contains(out, "Alice") {
				m.pollsFailed = append(m.pollsFailed, fmt.Sprintf("exit %d after %v: %q %q", code, took.Round(time.Millisecond), out, errOut))
			}
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	return m
}

func (m *monitor) end() {
	close(m.stop)
	m.done.Wait()
}

// honestTraffic has a and b send each other n messages with `feigo send`, one every gap,
// every fifth time three at once, and returns each send's outcome by text.
func honestTraffic(a, b *node, n int, gap time.Duration) map[string]string {
	var mu sync.Mutex
	failed := map[string]string{}
	var wg sync.WaitGroup
	for _, dir := range []struct {
		from    *node
		to, tag string
	}{{a, "Bob", "A2B"}, {b, "Alice", "B2A"}} {
		wg.Go(func() {
			var inner sync.WaitGroup
			for i := 0; i < n; {
				burst := 1
				if i%5 == 0 {
					burst = 3
				}
				for k := 0; k < burst && i < n; k++ {
					text := fmt.Sprintf("%s honest message %02d", dir.tag, i)
					i++
					inner.Go(func() {
						out, errOut, code := dir.from.cli("send", dir.to, text)
						mu.Lock()
						if code != 0 || !strings.Contains(out, "delivered") {
							failed[text] = fmt.Sprintf("exit %d: %q %q", code, out, errOut)
						} else {
							failed[text] = ""
						}
						mu.Unlock()
					})
				}
				time.Sleep(gap)
			}
			inner.Wait()
		})
	}
	wg.Wait()
	return failed
}

// Bounds the soak holds the victim to: measured figures with room. Over 8 runs (5 of them
// with two busy loops on the 2-core VM) the victim's peak RSS (VmHWM) was 54–66 MiB
// (31 MiB idle; the Go heap itself peaks near 27 MiB, the rest is the binary, SQLite and
// stacks), so 80 MiB; its profile grew to 7.8 MB every time (history.db 1.8 MB with a
// 4.2 MB write-ahead log, transfers.json 1.8 MB: the offers are held to 1 MiB per sender),
// so 16 MiB; `feigo status`, a new process each time, answered within 0.26 s, so 3 s.
const (
	soakMaxRSS     = 80 << 10 // KiB
	soakMaxProfile = 16 << 20 // bytes: history.db with its WAL, transfers.json, settings
	soakMaxStatus  = 3 * time.Second
)

// TestHostileLANSoak floods one of two honest FeiGo nodes from a hostile host for a bounded
// time with everything the LAN lets anyone send (see floodRates): junk, entries with huge
// fields from many forged FeiGo IDs and forged source addresses, offers of 1,000 files,
// strangers' messages, thousands of idle TCP connections, and a folder offered as 10 bytes
// whose stream goes on for hundreds of MB. Meanwhile the two honest nodes exchange 50
// messages each way with `feigo send`, some at once. It passes only if every honest message
// is delivered exactly once, `feigo status` answers throughout, the victim's memory and
// profile stay within their bounds, the folder stops at its offered size, and the victim
// sends the attacker (and the forged addresses) no more bytes than it got from them.
func TestHostileLANSoak(t *testing.T) {
	s := newHostileLAN(t, true)
	a := newAttacker(t, s)
	a.announce()
	s.victim.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
		return ev["peer"].(map[string]any)["nick"] == "Eve"
	})
	profBefore, _ := dirBytes(s.victim.profile)
	before := s.counts(t)
	pid := s.victim.Cmd.Process.Pid
	rssIdle := rssKiB(pid, "VmRSS")
	dropsBefore := udpDrops(pid)

	const floodFor = 20 * time.Second
	mon := startMonitor(s.victim)
	stop := make(chan struct{})
	flooded := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(flooded)
		a.flood(stop, soakRates)
	}()
	time.AfterFunc(floodFor, func() { close(stop) })
	// A file from the victim to its colleague while the attacker holds thousands of
	// connections to the victim's TCP port: the colleague's fetch is served.
	src := filepath.Join(t.TempDir(), "report.bin")
	randomFile(t, src, 1<<20, 3)
	fileDone := make(chan string, 1)
	time.AfterFunc(floodFor/4, func() {
		out, errOut, code := s.victim.cli("send-file", "Bob", src)
		if code != 0 {
			fileDone <- fmt.Sprintf("exit %d: %q %q", code, out, errOut)
			return
		}
		fileDone <- ""
	})
	held := make(chan int, 1)
	time.AfterFunc(floodFor*3/4, func() {
		out, _, _ := s.victim.Host.Run("ss", "-Htn", "state", "established", "( sport = :2425 )", "dst", s.evilIP.String())
		held <- strings.Count(out, "\n")
	})
	results := honestTraffic(s.victim, s.honest, 50, 350*time.Millisecond)
	<-flooded
	floodTook := time.Since(start)
	mon.end()
	// Late copies of honest messages would show as duplicates; let retransmissions settle.
	time.Sleep(2 * time.Second)
	after := s.counts(t)
	hwm := rssKiB(pid, "VmHWM")
	profAfter, _ := dirBytes(s.victim.profile)
	t.Logf("victim's profile: %s", fileSizes(s.victim.profile))
	dlSize, dlEntries := dirBytes(s.dl)

	t.Logf("attacker: %s", a.summary())
	t.Logf("flood %v; victim RSS idle %.1f MiB, peak sampled %.1f MiB, VmHWM %.1f MiB; profile %d → %d bytes; downloads %d bytes in %d entries",
		floodTook.Round(time.Millisecond), float64(rssIdle)/1024, float64(mon.maxRSS)/1024, float64(hwm)/1024, profBefore, profAfter, dlSize, dlEntries)
	d := after.sub(before)
	t.Logf("bytes %v; the bystander's addresses received %d bytes of UDP", d, s.bystGot.Load())
	t.Logf("datagrams the victim's kernel dropped for a full socket buffer: %d", udpDrops(pid)-dropsBefore)
	t.Logf("feigo status answered %d times, slowest %v", mon.polls, mon.slowest.Round(time.Millisecond))
	conns := <-held
	t.Logf("TCP connections from the attacker established at the victim's port 2425 late in the flood (held by FeiGo or not yet accepted): %d", conns)
	if conns > 64 {
		t.Errorf("the attacker holds %d connections to the victim's port 2425 (FeiGo keeps %d per address)", conns, xfer.DefaultMaxConnsPerAddr)
	}
	if why := <-fileDone; why != "" {
		t.Errorf("feigo send-file during the flood: %s", why)
	} else if fileSum(t, src) != fileSum(t, filepath.Join(s.honestDL, "report.bin")) {
		t.Error("the file sent during the flood arrived different")
	}

	// Every honest message delivered, and shown exactly once.
	for text, why := range results {
		if why != "" {
			t.Errorf("feigo send %q: %s", text, why)
		}
	}
	if len(results) != 100 {
		t.Errorf("%d honest sends ran, want 100", len(results))
	}
	for i := range 50 {
		for _, c := range []struct {
			n   *node
			tag string
		}{{s.honest, "A2B"}, {s.victim, "B2A"}} {
			text := fmt.Sprintf("%s honest message %02d", c.tag, i)
			if k := countMessages(c.n, text); k != 1 {
				t.Errorf("%q shown %d times", text, k)
			}
		}
	}
	// The control socket answered throughout.
	for _, f := range mon.pollsFailed {
		t.Errorf("feigo status during the flood: %s", f)
	}
	if want := int(floodFor / time.Second); mon.polls < want {
		t.Errorf("feigo status answered only %d times in the flood", mon.polls)
	}
	if mon.slowest > soakMaxStatus {
		t.Errorf("feigo status took %v, over %v", mon.slowest, soakMaxStatus)
	}
	// Memory and disk.
	if hwm > soakMaxRSS {
		t.Errorf("victim's peak RSS %.1f MiB, over %d MiB", float64(hwm)/1024, soakMaxRSS>>10)
	}
	if profAfter > soakMaxProfile {
		t.Errorf("victim's profile grew to %d bytes, over %d", profAfter, soakMaxProfile)
	}
	// The folder stopped at its offered size: 10 bytes of content at most.
	if dlSize > folderOffer {
		t.Errorf("%d bytes downloaded from a folder offered as %d", dlSize, folderOffer)
	}
	if a.folderReqs.Load() == 0 {
		t.Error("the victim never fetched the oversized folder")
	}
	if written := a.folderWritten.Load(); written >= folderStream {
		t.Errorf("the victim read all %d bytes of the oversized folder stream", written)
	}
	// Reflection: no more bytes back than came in, to the attacker and to forged addresses.
	if d.EvilOut > d.EvilIn {
		t.Errorf("the victim sent the attacker %d bytes for %d", d.EvilOut, d.EvilIn)
	}
	if d.ForgedOut > d.ForgedIn {
		t.Errorf("the victim sent the forged bystander %d bytes for %d", d.ForgedOut, d.ForgedIn)
	}
	if d.FakeOut > d.FakeIn {
		t.Errorf("the victim sent the other forged addresses %d bytes for %d", d.FakeOut, d.FakeIn)
	}
	// The tables stayed bounded: at most MaxPerAddr peers per address, and the attacker's
	// unfinished offers within the per-sender bound.
	perIP := map[netip.Addr]int{}
	var ps []peers.Peer
	if resp, err := s.victim.call(control.Request{Cmd: "peers"}); err != nil {
		t.Errorf("peers: %v", err)
	} else {
		ps = resp.Peers
	}
	for _, p := range ps {
		perIP[p.Addr.Addr()]++
	}
	for ip, k := range perIP {
		if k > peers.MaxPerAddr {
			t.Errorf("%d peers listed at %s", k, ip)
		}
	}
	t.Logf("victim lists %d peers (%d at the attacker's address, %d at the bystander's)", len(ps), perIP[s.evilIP], perIP[s.bystIP])
	resp, err := s.victim.call(control.Request{Cmd: "transfers"})
	if err != nil {
		t.Fatalf("transfers: %v", err)
	}
	open, folderState := 0, ""
	for _, tr := range resp.Transfers {
		if tr.Addr.Addr() == s.evilIP && !tr.Final() {
			open++
		}
		if tr.PacketNo == a.folder.Load() {
			folderState = tr.State + ": " + tr.Error
		}
	}
	t.Logf("victim holds %d transfers, %d unfinished from the attacker; the folder: %s", len(resp.Transfers), open, folderState)
	if open > xfer.DefaultMaxOffersPerPeer {
		t.Errorf("%d unfinished offers from the attacker, over %d", open, xfer.DefaultMaxOffersPerPeer)
	}
	if !strings.HasPrefix(folderState, xfer.StateFailed) || !strings.Contains(folderState, "offered") {
		t.Errorf("the oversized folder ended %q, want failed for holding more than offered", folderState)
	}
	if !s.victim.Alive() || !s.honest.Alive() {
		t.Fatal("a node died")
	}
}
