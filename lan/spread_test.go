package lan

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// On a LAN of many colleagues, answers to announcements are spread over a random delay (at
// most spreadPerPeer per colleague listed), so an announcement is not met by hundreds of
// answers at once; on a small LAN they go at once.
func TestAnswersSpreadOnLargeLANs(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Hub", nil)
	asked := 0
	ask := func() time.Duration {
		r := newRawPeer(t)
		asked++
		start := time.Now()
		r.send(n.addr, "1_iptux 0.8.3", fmt.Sprint("u", asked), "h", ipmsg.BrEntry, "x\x00g\x00")
		r.expect(ipmsg.AnsEntry)
		return time.Since(start)
	}
	if d := ask(); d > 200*time.Millisecond {
		t.Fatalf("on a small LAN an answer took %v", d)
	}
	for i := range spreadFrom + 10 {
		if _, err := n.Table().Upsert(peers.Peer{ID: fmt.Sprint("far-", i), Nick: "far", Client: "iptux",
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}), 2425), Status: peers.Online}); err != nil {
			t.Fatal(err)
		}
	}
	limit := time.Duration(n.Table().Len()) * spreadPerPeer
	var slowest time.Duration
	for range 6 {
		d := ask()
		if d > limit+time.Second {
			t.Fatalf("an answer waited %v, past the spread's %v", d, limit)
		}
		slowest = max(slowest, d)
	}
	if slowest < 20*time.Millisecond {
		t.Fatalf("six answers among %d colleagues all came within %v: not spread", n.Table().Len(), slowest)
	}
	t.Logf("the slowest of six answers waited %v (spread up to %v)", slowest.Round(time.Millisecond), limit)
}

// Refreshes asked for in quick succession go out as two announcements: one at once, one
// when refreshEvery is up, not one per request.
func TestRefreshesCoalesced(t *testing.T) {
	r := newRawPeer(t)
	n := startNode(t, loopbackConn(t), "Hub", nil, r.addr())
	r.expect(ipmsg.BrEntry)             // the start's announcement
	time.Sleep(3500 * time.Millisecond) // and its repeats, at 1 s and 3 s
	before := n.Stats().DatagramsSent
	for range 20 {
		n.Refresh()
	}
	time.Sleep(300 * time.Millisecond)
	if got := n.Stats().DatagramsSent - before; got != 1 {
		t.Fatalf("20 refreshes at once sent %d datagrams, want 1", got)
	}
	time.Sleep(refreshEvery + 1500*time.Millisecond)
	if got := n.Stats().DatagramsSent - before; got != 2 {
		t.Fatalf("the coalesced refresh: %d datagrams in all, want 2", got)
	}
}

// At start the node greets, by unicast, the addresses colleagues were last seen at that its
// broadcasts do not reach (Config.Remembered): once each (a repeated address too), and not
// those that are not IPv4 with a port.
func TestRememberedColleaguesGreetedAtStart(t *testing.T) {
	far, near := newRawPeer(t), newRawPeer(t)
	n := startNode(t, loopbackConn(t), "Back", func(c *Config) {
		c.Remembered = []netip.AddrPort{far.addr(), far.addr(), near.addr(), netip.MustParseAddrPort("[::1]:2425"), {}}
	}, near.addr())
	p := far.expect(ipmsg.BrEntry)
	if e := ipmsg.ParseEntry(p, ipmsg.UTF8); e.Nick != "Back" {
		t.Fatalf("greeting %+v", e)
	}
	if q, quiet := far.quiet(time.Second); !quiet {
		t.Fatalf("the remembered address got a second packet: %#x", uint32(q.Cmd.Mode()))
	}
	_ = n
}
