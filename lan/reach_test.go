//go:build linux

package lan

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/peers"
	"feigo/trust"
)

// farNode is a keyed loopback node whose broadcasts reach nobody (every colleague is "on
// another subnet"), with a state folder, learning loopback addresses (ReachRanges), with the
// liveness timings divided by 20.
func farNode(t *testing.T, conn *net.UDPConn, nick, dir string, tweak func(*Config), extra ...netip.AddrPort) *testNode {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "key"), 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := trust.LoadOrCreate(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	return startNode(t, conn, nick, func(c *Config) {
		c.Identity = id
		c.Pins, _ = trust.OpenPins("", nil)
		c.StateDir = dir
		c.NoFiles = true
		c.ReachRanges = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.BeatEvery, c.ProbeAfter, c.ProbeEvery, c.Expiry = time.Second, 2*time.Second, 250*time.Millisecond, 2750*time.Millisecond
		if tweak != nil {
			tweak(c)
		}
	}, extra...)
}

// rebind opens UDP and reserves TCP on a loopback address a node used before (a restart).
func rebind(t *testing.T, a netip.AddrPort) *net.UDPConn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(a))
		if err == nil {
			tl, err := ListenTCP(a.Addr(), int(a.Port()))
			if err == nil {
				reservedTCP.Store(c, tl)
				t.Cleanup(func() {
					if v, ok := reservedTCP.LoadAndDelete(c); ok {
						v.(*net.TCPListener).Close()
					}
				})
				return c
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebinding %v: %v", a, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listsSecure(n *testNode, a netip.AddrPort) bool {
	p, ok := n.Table().ByAddr(a)
	return ok && p.Secure
}

// A and C each know only B's address (their broadcasts reach nobody): through B's peer
// exchanges they learn each other, greet each other and prove each other's keys; when B
// quits they keep listing each other (beating by unicast), and when all restart with no
// address configured they find each other again from what they remembered.
func TestPeerExchangeLinksSubnets(t *testing.T) {
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	connB := loopbackConn(t)
	b := farNode(t, connB, "B", dirB, nil)
	connA, connC := loopbackConn(t), loopbackConn(t)
	a := farNode(t, connA, "A", dirA, nil, b.addr)
	c := farNode(t, connC, "C", dirC, nil, b.addr)
	// An IP Messenger on "another subnet" that A heard once: remembered by its address.
	legacy := newRawPeer(t)
	legacy.send(a.addr, "1", "taro", "pc", ipmsg.BrEntry, "Taro\x00\x00")
	legacy.expect(ipmsg.AnsEntry)
	for _, w := range []struct {
		n  *testNode
		at netip.AddrPort
	}{{a, b.addr}, {a, c.addr}, {c, a.addr}, {c, b.addr}, {b, a.addr}, {b, c.addr}} {
		if !waitFor(30*time.Second, func() bool { return listsSecure(w.n, w.at) }) {
			t.Fatalf("%s does not list %v: %+v; stats %+v", w.n.Self().Nick, w.at, w.n.Table().Snapshot(), w.n.Stats())
		}
	}
	// They met through a list (B's, in its request or its answer): one greeted the other.
	if a.Stats().LearntGreeted == 0 && c.Stats().LearntGreeted == 0 {
		t.Fatalf("A and C met without a list? A %+v C %+v", a.Stats(), c.Stats())
	}

	b.stop() // the linking node quits
	if !waitFor(10*time.Second, func() bool {
		_, la := a.Table().ByAddr(b.addr)
		_, lc := c.Table().ByAddr(b.addr)
		return !la && !lc
	}) {
		t.Fatal("B's goodbye did not take it off the lists")
	}
	// Several expiry periods (2.75 s) without B: A and C still list each other.
	end := time.Now().Add(8 * time.Second)
	for time.Now().Before(end) {
		if !listsSecure(a, c.addr) || !listsSecure(c, a.addr) {
			t.Fatalf("A and C lost each other once B quit: A %+v C %+v", a.Table().Snapshot(), c.Table().Snapshot())
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.stop()
	c.stop()
	for _, d := range []string{dirA, dirC} {
		b, err := os.ReadFile(filepath.Join(d, reachFile))
		if err != nil {
			t.Fatalf("nothing remembered: %v", err)
		}
		if !strings.Contains(string(b), "127.0.0.1:") {
			t.Fatalf("remembered %s", b)
		}
	}

	// Restart with no configured address at all: they find each other from memory.
	a2 := farNode(t, rebind(t, a.addr), "A", dirA, nil)
	c2 := farNode(t, rebind(t, c.addr), "C", dirC, nil)
	if !waitFor(30*time.Second, func() bool { return listsSecure(a2, c.addr) && listsSecure(c2, a.addr) }) {
		t.Fatalf("after a restart: A %+v C %+v", a2.Table().Snapshot(), c2.Table().Snapshot())
	}
	// The legacy client is greeted at its last address (it is not passed on to C: only
	// colleagues that proved a key are).
	legacy.backlog = nil
	if g := legacy.expect(ipmsg.BrEntry); !strings.Contains(string(g.Body), "A") {
		t.Fatalf("greeting %q", g.Body)
	}
}

// hostileList is what an attacker's list names: addresses the node must never greet, then n
// loopback addresses it may (the test's ReachRanges), from first.
func hostileList(n int, first int) string {
	var b strings.Builder
	for _, bad := range []string{
		"8.8.8.8:2425", "1.1.1.1:2425", // public, outside the ranges
		"10.9.9.255:2425", "192.168.1.0:2425", // broadcast and network addresses
		"224.0.0.1:2425", "239.255.255.250:1900", // multicast (SSDP)
		"10.9.9.9:53", "10.9.9.9:123", "10.9.9.9:0", // privileged ports: DNS, NTP
		"0.0.0.0:2425", "[::1]:2425", "garbage", "",
	} {
		b.WriteString(bad + "\n")
	}
	for i := range n {
		b.WriteString(loopAddr(first+i).String() + "\n")
	}
	return b.String()
}

// loopAddr is the k-th loopback address of hostileList.
func loopAddr(k int) netip.AddrPort {
	return netip.MustParseAddrPort(fmt.Sprintf("127.%d.%d.%d:%d", 1+k/62500, (k/250)%250, 1+k%250, 40000+k%1000))
}

// An attacker with a key of its own (anyone can make one) is a colleague like any other: its
// lists are read, but they cannot make the node greet what it must not (public, broadcast,
// multicast addresses, privileged ports), more than MaxShared addresses a list, an address
// twice within learnAgain, more than learnBurst at once then one a second, nor be taken more
// than exchangeAskBurst times in a row. The greetings it gets through go to loopback
// addresses nobody listens on (and, as the node is greeting a stranger, one datagram each).
func TestHostilePeerListIsBounded(t *testing.T) {
	victim := farNode(t, loopbackConn(t), "Victim", t.TempDir(), nil)
	// The attacker's own node asks for no lists: the test's pushes are all the victim takes from it.
	atk := farNode(t, loopbackConn(t), "Attacker", t.TempDir(), func(c *Config) { c.NoExchange = true }, victim.addr)
	if !waitFor(20*time.Second, func() bool { return listsSecure(victim, atk.addr) && listsSecure(atk, victim.addr) }) {
		t.Fatalf("attacker not listed: %+v", victim.Table().Snapshot())
	}
	vp, _ := atk.Table().ByAddr(victim.addr)
	push := func(body string) (ipmsg.Packet, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return atk.request(ctx, vp, atk.packet(ipmsg.UTF8, true, CmdPeers, []byte(body)))
	}
	before := victim.Stats()
	start := time.Now()
	// One list of 3 000 lines: MaxShared are read, of which the hostile ones refused.
	ans, err := push(hostileList(3000, 0))
	if err != nil || ans.Cmd.Mode() != CmdPeers {
		t.Fatalf("exchange: %v %#x", err, uint32(ans.Cmd.Mode()))
	}
	// The same addresses again, and lists of new ones: the fifth list in a row is refused.
	refused := 0
	for i := range 6 {
		ans, err := push(hostileList(MaxShared, 1000*(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if ans.Cmd.Mode() != CmdPeers {
			refused++
		}
	}
	if refused < 3 {
		t.Errorf("%d of 6 lists in a row refused, want the ones over the burst of %d", refused, exchangeAskBurst)
	}
	// The greetings drain at their pace; count them over a few seconds.
	time.Sleep(3 * time.Second)
	after := victim.Stats()
	elapsed := time.Since(start)
	greeted := after.LearntGreeted - before.LearntGreeted
	if limit := uint64(learnBurst) + uint64(elapsed/learnEvery) + 1; greeted > limit {
		t.Errorf("greeted %d learnt addresses in %v, the budget is %d", greeted, elapsed, limit)
	}
	if greeted < 100 {
		t.Errorf("greeted only %d of the legitimate-looking addresses (a budget of %d at once)", greeted, learnBurst)
	}
	// Refused: the 11 well-formed hostile ones of the first list, and the lines over MaxShared.
	if got := after.LearnRefused - before.LearnRefused; got < 11 {
		t.Errorf("refused %d addresses, want at least the 11 hostile ones", got)
	}
	// What the first list named beyond its MaxShared lines was never queued.
	victim.far.mu.Lock()
	held := len(victim.far.greeted)
	_, over := victim.far.greeted[loopAddr(MaxShared)] // past line MaxShared of the first list
	victim.far.mu.Unlock()
	if over {
		t.Error("an address past the list's MaxShared lines was learnt")
	}
	if held > MaxLearned {
		t.Errorf("%d learnt addresses held, want at most %d", held, MaxLearned)
	}
	// Pushed again, nothing is greeted a second time.
	time.Sleep(exchangeAskEvery) // the attacker's budget of lists refills
	victim.far.mu.Lock()
	held = len(victim.far.greeted)
	victim.far.mu.Unlock()
	if ans, err := push(hostileList(MaxShared-13, 0)); err != nil || ans.Cmd.Mode() != CmdPeers {
		t.Fatalf("exchange after the refill: %v %#x", err, uint32(ans.Cmd.Mode()))
	}
	victim.far.mu.Lock()
	heldAgain := len(victim.far.greeted)
	victim.far.mu.Unlock()
	if heldAgain != held {
		t.Errorf("the same list again queued %d more greetings, want none within learnAgain", heldAgain-held)
	}
}

// Which addresses a list may name, one by one (no datagram leaves: learnable only decides).
func TestLearnableAddresses(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", func(c *Config) {
		c.NoInterfaces, c.subnets = false, []netip.Prefix{netip.MustParsePrefix("10.213.0.0/24")}
		c.Extra = []string{"10.50.1.9", "198.51.100.7", "[2001:db8:5::9]:2425"}
		c.ReachRanges = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:77::/48")}
	})
	targets, covered := n.announceTargets()
	for a, want := range map[string]bool{
		"10.1.2.3:2425":                        true,  // private, another subnet
		"172.16.5.5:2425":                      true,  // private
		"192.168.7.7:2426":                     true,  // private, another port
		"169.254.3.3:2425":                     true,  // link-local
		"203.0.113.9:2425":                     true,  // a configured range
		"198.51.100.20:2425":                   true,  // the /24 of a configured address
		fmt.Sprintf("10.213.0.7:%d", n.Port()): false, // on our subnet: the broadcasts reach it
		fmt.Sprintf("10.50.1.9:%d", n.Port()):  false, // a configured address: announced to already
		"8.8.8.8:2425":                         false, // public
		"198.51.101.20:2425":                   false, // public, next to a configured one
		"10.1.2.255:2425":                      false, // a broadcast address
		"10.1.2.0:2425":                        false,
		"224.0.0.1:2425":                       false, // multicast
		"255.255.255.255:2425":                 false,
		"10.1.2.3:53":                          false, // a privileged port
		"10.1.2.3:1023":                        false,
		"127.0.0.1:2425":                       false, // loopback, not configured
		"0.0.0.0:2425":                         false,
		// IPv6: unique local addresses, configured ranges and the /64 of a configured address;
		// never link-local (its zone is an interface of the lister's), multicast or loopback.
		"[fd00:1::5]:2425":        true,
		"[2001:db8:77:1::1]:2425": true,
		"[2001:db8:5::20]:2426":   true,
		"[2001:db8:6::20]:2425":   false, // public
		"[fe80::1%eth0]:2425":     false,
		"[fe80::1]:2425":          false,
		"[ff15::979]:2425":        false,
		"[::1]:2425":              false,
		"[::]:2425":               false,
		"[fd00:1::5]:53":          false,
	} {
		if got := n.learnable(netip.MustParseAddrPort(a), targets, covered); got != want {
			t.Errorf("learnable(%s) = %v, want %v", a, got, want)
		}
	}
}

// Peer exchanges are FeiGo-only, over channels: a CmdPeers datagram (anyone can send one) is
// ignored, learns nothing and is not answered; a client that cannot prove a key gets none.
func TestPeerListNotOverUDP(t *testing.T) {
	n := farNode(t, loopbackConn(t), "N", t.TempDir(), nil)
	raw := newRawPeer(t)
	raw.send(n.addr, "1", "ipmsg", "pc", ipmsg.BrEntry, "Legacy\x00G\x00")
	raw.expect(ipmsg.AnsEntry)
	if !waitFor(5*time.Second, func() bool { _, ok := n.Table().ByAddr(raw.addr()); return ok }) {
		t.Fatal("legacy peer not listed")
	}
	raw.send(n.addr, "1", "ipmsg", "pc", CmdPeers, "127.0.0.9:40001\n127.0.0.10:40002\n")
	// A message after it, acknowledged: the datagram before it was read and ignored.
	no := raw.send(n.addr, "1", "ipmsg", "pc", ipmsg.SendMsg|ipmsg.SendCheckOpt, "hi")
	ack := raw.expect(ipmsg.RecvMsg)
	if string(ipmsg.FirstSection(ack.Body)) != fmt.Sprint(no) {
		t.Fatalf("ack %q", ack.Body)
	}
	n.far.mu.Lock()
	learnt := len(n.far.greeted)
	n.far.mu.Unlock()
	if learnt != 0 || n.Stats().LearntGreeted != 0 {
		t.Fatalf("a datagram's list was learnt: %d", learnt)
	}
	// Nothing of the exchange reaches the legacy client: all it gets are entries and acks.
	raw.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	for {
		k, _, err := raw.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == CmdPeers {
			t.Fatalf("a legacy client got a peer list: %q", buf[:k])
		}
	}
	for _, p := range raw.backlog {
		if p.Cmd.Mode() == CmdPeers {
			t.Fatal("a legacy client got a peer list")
		}
	}
	_ = peers.Online
}

// Virtual interfaces (containers, VPNs) are left out of announcements by default: a host with
// a Docker bridge announces on its LAN only, unless virtual interfaces are chosen.
func TestVirtualInterfacesLeftOut(t *testing.T) {
	for name, want := range map[string]bool{"docker0": true, "veth1a2b": true, "br-5f2e": true, "virbr0": true, "tun0": true,
		"wg0": true, "tailscale0": true, "eth0": false, "enp3s0": false, "wlan0": false, "wlp2s0": false, "br0": false} {
		if VirtualInterface(name) != want {
			t.Errorf("VirtualInterface(%q) = %v", name, !want)
		}
	}
	l := lab.New(t, 1)
	h := l.Hosts[0]
	for _, args := range [][]string{
		{"link", "add", "docker0", "type", "bridge"},
		{"addr", "add", "172.17.0.1/16", "brd", "+", "dev", "docker0"},
		{"link", "set", "docker0", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", h.NS}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	lanNet, docker := netip.MustParsePrefix("10.213.0.0/24"), netip.MustParsePrefix("172.17.0.0/16")
	var def, all, named []netip.Prefix
	if err := h.Do(func() (err error) {
		if def, err = announceSubnets(nil, false); err != nil {
			return err
		}
		if all, err = announceSubnets(nil, true); err != nil {
			return err
		}
		named, err = announceSubnets([]string{"docker0"}, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(def, lanNet) || slices.Contains(def, docker) {
		t.Errorf("by default: %v", def)
	}
	if !slices.Contains(all, lanNet) || !slices.Contains(all, docker) {
		t.Errorf("with virtual interfaces: %v", all)
	}
	if !slices.Equal(named, []netip.Prefix{docker}) {
		t.Errorf("docker0 chosen: %v", named)
	}
}
