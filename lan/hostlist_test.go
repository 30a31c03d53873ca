package lan

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// listClient is an IP Messenger host-list client written for the test from the published
// format (IP Messenger's protocol text and SendHostList/AddHostListCore), not with package
// ipmsg's parser: "%5d\a%5d\a" (next index, count), then user\ahost\astatus\aaddr\aport\anick\agroup\a
// per host, "\b" for an empty nickname or group.
type listedHost struct {
	user, host, nick, group string
	status                  uint64
	addr                    netip.AddrPort
}

func parsePage(t *testing.T, body []byte) (next, count int, hosts []listedHost) {
	t.Helper()
	body = bytes.TrimRight(body, "\x00")
	f := bytes.Split(body, []byte("\a"))
	if len(f) < 3 || len(f[0]) != 5 || len(f[1]) != 5 {
		t.Fatalf("page header %q", body)
	}
	next, _ = strconv.Atoi(string(bytes.TrimSpace(f[0])))
	count, _ = strconv.Atoi(string(bytes.TrimSpace(f[1])))
	if string(f[len(f)-1]) != "" || (len(f)-3)%7 != 0 {
		t.Fatalf("page of %d fields (%d hosts): %q", len(f)-3, count, body)
	}
	for i := 2; i+7 <= len(f); i += 7 {
		st, err := strconv.ParseUint(string(f[i+2]), 10, 32)
		if err != nil || st == 0 {
			t.Fatalf("status %q", f[i+2])
		}
		ip, err1 := netip.ParseAddr(string(f[i+3]))
		port, err2 := strconv.Atoi(string(f[i+4]))
		if err1 != nil || err2 != nil {
			t.Fatalf("address %q port %q", f[i+3], f[i+4])
		}
		dummy := func(b []byte) string {
			if string(b) == "\b" {
				return ""
			}
			return string(b)
		}
		hosts = append(hosts, listedHost{string(f[i]), string(f[i+1]), dummy(f[i+5]), dummy(f[i+6]), st, netip.AddrPortFrom(ip, uint16(port))})
	}
	if len(hosts) != count {
		t.Fatalf("page says %d hosts, holds %d", count, len(hosts))
	}
	return next, count, hosts
}

// rawPeerOn is a raw IPMsg client on a loopback address of its own (the node's per-address
// limits apart from the other clients').
func rawPeerOn(t *testing.T, ip string) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, no: 1000}
}

// colleagues fills n's table with k legacy colleagues on loopback addresses nobody listens on.
func colleagues(t *testing.T, n *testNode, k int) {
	t.Helper()
	for i := range k {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 3, byte(1 + i)}), 2425)
		if _, err := n.Table().Upsert(peers.Peer{ID: a.String(), Addr: a, Nick: fmt.Sprintf("同事%d", i), Group: "研发",
			User: fmt.Sprint("user", i), Host: fmt.Sprint("pc", i), Client: "ipmsg", Status: peers.Online, UTF8: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// An IP Messenger on another subnet asks FeiGo for its list (BR_ISGETLIST2, OKGETLIST,
// GETLIST…) and gets every colleague, in pages that each fit a datagram.
func TestHostListServedInPages(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", nil)
	const k = 200
	colleagues(t, n, k)
	c := newRawPeer(t)
	c.send(n.addr, "1", "taro", "pc", ipmsg.BrIsGetList2|ipmsg.CapUTF8Opt, "Taro\x00\x00")
	c.expect(ipmsg.OkGetList)
	got := map[netip.AddrPort]listedHost{}
	start, pages := "", 0
	for {
		c.send(n.addr, "1", "taro", "pc", ipmsg.GetList|ipmsg.CapUTF8Opt, start)
		p := c.expect(ipmsg.AnsList)
		if b, _ := p.Marshal(); len(b) > ipmsg.MaxPacket {
			t.Fatalf("page of %d bytes", len(b))
		}
		pages++
		next, _, hosts := parsePage(t, p.Body)
		for _, h := range hosts {
			got[h.addr] = h
		}
		if next == 0 {
			break
		}
		if pages > 20 {
			t.Fatal("pages without end")
		}
		start = strconv.Itoa(next)
	}
	if len(got) != k || pages < 2 {
		t.Fatalf("%d hosts in %d pages, want %d in several", len(got), pages, k)
	}
	h := got[netip.MustParseAddrPort("127.0.3.8:2425")]
	if h.nick != "同事7" || h.group != "研发" || h.user != "user7" || h.host != "pc7" {
		t.Fatalf("host %+v", h)
	}
}

// Whether FeiGo serves its list is a setting: with NoHostList, no answer at all.
func TestHostListNotServedWhenOff(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", func(c *Config) { c.NoHostList = true })
	colleagues(t, n, 3)
	c := newRawPeer(t)
	c.send(n.addr, "1", "taro", "pc", ipmsg.BrIsGetList2, "Taro\x00\x00")
	c.send(n.addr, "1", "taro", "pc", ipmsg.GetList, "")
	c.send(n.addr, "1", "taro", "pc", ipmsg.GetInfo, "") // answered: the two before were read
	c.expect(ipmsg.SendInfo)
	for _, p := range c.backlog {
		if m := p.Cmd.Mode(); m == ipmsg.OkGetList || m == ipmsg.AnsList {
			t.Fatalf("answered %#x with the list off", uint32(m))
		}
	}
}

// A forged GETLIST flood (a few bytes each, a page back each) from one address, the victim's,
// gets at most listBytesBurst bytes of pages there.
func TestHostListFloodIsBounded(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", nil)
	colleagues(t, n, 200)
	victim := newRawPeer(t)
	sent := 0
	for range 100 {
		victim.send(n.addr, "1", "x", "y", ipmsg.GetList, "0")
		sent += 20
	}
	got := 0
	buf := make([]byte, 65536)
	victim.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		k, _, err := victim.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		got += k
	}
	if got == 0 || got > listBytesBurst+ipmsg.MaxPacket {
		t.Fatalf("%d bytes of pages for %d bytes of requests, want some and at most %d", got, sent, listBytesBurst)
	}
}

// FeiGo asks a listed IP Messenger for its list and merges it: the hosts it names are greeted
// and listed once they answer. Pages from a host not asked are ignored, and a server whose
// pages never end is asked at most maxListPages times.
func TestHostListMerged(t *testing.T) {
	n := startNode(t, loopbackConn(t), "N", func(c *Config) {
		c.ReachRanges = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	srv := rawPeerOn(t, "127.0.0.3")
	srv.send(n.addr, "1", "master", "srv", ipmsg.BrEntry|ipmsg.CapUTF8Opt, "Master\x00\x00")
	srv.expect(ipmsg.AnsEntry)
	hs := []*rawPeer{rawPeerOn(t, "127.0.0.4"), rawPeerOn(t, "127.0.0.5"), rawPeerOn(t, "127.0.0.6")}
	// An unsolicited page is ignored.
	stranger := rawPeerOn(t, "127.0.0.7")
	stranger.send(n.addr, "1", "x", "y", ipmsg.AnsList, string(ipmsg.AnsListBody(ipmsg.UTF8, 0,
		[]ipmsg.HostListEntry{{User: "u", Host: "h", Status: 1, IP: hs[0].addr().Addr().String(), Port: hs[0].addr().Port()}})))
	waitStat(t, n, "unsolicited page refused", func(s Stats) bool { return s.ListsRefused >= 1 })

	n.askLists()
	ask := srv.expect(ipmsg.BrIsGetList2)
	if !ask.Cmd.Has(ipmsg.RetryOpt) {
		t.Errorf("BR_ISGETLIST2 without RETRYOPT: %#x", uint32(ask.Cmd))
	}
	srv.send(n.addr, "1", "master", "srv", ipmsg.OkGetList, "")
	if p := srv.expect(ipmsg.GetList); len(bytes.TrimRight(p.Body, "\x00")) != 0 {
		t.Fatalf("first GETLIST body %q", p.Body)
	}
	entry := func(i int) ipmsg.HostListEntry {
		return ipmsg.HostListEntry{User: fmt.Sprint("u", i), Host: "h", Status: ipmsg.BrEntry | ipmsg.FileAttachOpt, IP: hs[i].addr().Addr().String(), Port: hs[i].addr().Port(), Nick: fmt.Sprint("H", i)}
	}
	srv.send(n.addr, "1", "master", "srv", ipmsg.AnsList, string(ipmsg.AnsListBody(ipmsg.UTF8, 2, []ipmsg.HostListEntry{entry(0), entry(1)})))
	if p := srv.expect(ipmsg.GetList); string(bytes.TrimRight(p.Body, "\x00")) != "2" {
		t.Fatalf("second GETLIST body %q", p.Body)
	}
	srv.send(n.addr, "1", "master", "srv", ipmsg.AnsList, string(ipmsg.AnsListBody(ipmsg.UTF8, 0, []ipmsg.HostListEntry{entry(2)})))
	for i, h := range hs {
		h.expect(ipmsg.BrEntry) // greeted
		h.send(n.addr, "1", fmt.Sprint("u", i), "h", ipmsg.AnsEntry, fmt.Sprintf("H%d\x00\x00", i))
	}
	for _, h := range hs {
		if !waitFor(5*time.Second, func() bool { _, ok := n.Table().ByAddr(h.addr()); return ok }) {
			t.Fatalf("host %v of the list not listed: %+v", h.addr(), n.Table().Snapshot())
		}
	}

	// A server whose pages never end: at most maxListPages GETLISTs. The hosts it names
	// are on public documentation addresses (TEST-NET-1), outside the ranges: never greeted.
	endless := rawPeerOn(t, "127.0.0.8")
	endless.send(n.addr, "1", "e", "e", ipmsg.BrEntry, "Endless\x00\x00")
	endless.expect(ipmsg.AnsEntry)
	n.askLists()
	endless.expect(ipmsg.BrIsGetList2)
	endless.send(n.addr, "1", "e", "e", ipmsg.OkGetList, "")
	asks := 0
	for i := 1; ; i++ {
		endless.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 65536)
		got := false
		for {
			k, _, err := endless.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == ipmsg.GetList {
				got = true
				break
			}
		}
		if !got {
			break
		}
		asks++
		if asks > maxListPages+1 {
			t.Fatalf("%d pages asked for", asks)
		}
		far := ipmsg.HostListEntry{User: "u", Host: "h", Status: 1, IP: fmt.Sprintf("192.0.2.%d", i), Port: 2425}
		endless.send(n.addr, "1", "e", "e", ipmsg.AnsList, string(ipmsg.AnsListBody(ipmsg.UTF8, i, []ipmsg.HostListEntry{far})))
	}
	if asks == 0 || asks > maxListPages {
		t.Fatalf("%d GETLISTs to an endless server, want 1..%d", asks, maxListPages)
	}
}
