//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"feigo/control"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/xfer"
)

// Reproductions of bugs the hostile-LAN soak found; each failed before its fix and says what
// it measured either way.

// honestRTTs sends from `from` to `to` one acknowledged message after another, 100 ms
// apart, until stop is closed, and returns the round trips and how many failed.
func honestRTTs(from, to *node, stop <-chan struct{}) (rtts []time.Duration, failed int) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return rtts, failed
		default:
		}
		start := time.Now()
		resp, err := from.call(control.Request{Cmd: "send", To: []string{to.Host.Addr.String()}, Text: fmt.Sprint("ping ", i)})
		if err != nil || !resp.OK {
			failed++
		} else {
			rtts = append(rtts, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Forged entries from on-link addresses that no host answers ARP for: the victim's replies
// wait in the kernel's neighbour queue (about 3 s, until resolution fails), charged to its
// one UDP socket's send buffer (212,992 bytes by default; FeiGo does not raise it). Once it
// is full every write on the socket blocks, and the read loop writes its replies itself, so
// the whole node stalls: acknowledgements to colleagues, their messages, everything. The
// per-destination reply budget does not help, since each forged address has its own.
//
// Where: lan/node.go, Node.send (a blocking WriteToUDPAddrPort on the shared socket, called
// from the read loop through Node.reply).
// Measured (200 forged entries a second from 100 unused addresses, 10 s): the socket's send
// queue fills to its 212,992 bytes within 2 s and stays near full; a colleague's message
// waits up to 3.0 s for its acknowledgement instead of 2–6 ms, and only 24 go in 10 s
// instead of about 90. With the same addresses held by a host (ARP answered) the send queue
// stays empty and round trips stay at 2–6 ms. In a 20 s flood of every kind (the soak's,
// with these addresses unused) the victim's kernel dropped 21,527 datagrams for a full
// receive buffer while the read loop was blocked, and 5 of 50 messages from the victim
// failed (no acknowledgement within 8 s).
func TestHostileUnusedSourcesStallSends(t *testing.T) {
	s := newHostileLAN(t, false)
	a := newAttacker(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sendQ []int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			out, _, _ := s.victim.Host.Run("ss", "-Huanm", "sport", "=", ":2425")
			var q int
			if f := strings.Fields(out); len(f) > 3 {
				fmt.Sscan(f[2], &q)
			}
			sendQ = append(sendQ, q)
		}
	})
	var rtts []time.Duration
	var failed int
	wg.Go(func() { rtts, failed = honestRTTs(s.honest, s.victim, stop) })
	time.AfterFunc(10*time.Second, func() { close(stop) })
	a.flood(stop, floodRates{ForgedEntries: 200})
	wg.Wait()
	slowest := time.Duration(0)
	for _, d := range rtts {
		slowest = max(slowest, d)
	}
	t.Logf("%d messages acknowledged, %d failed, slowest %v; the victim's send queue (bytes) every 0.5 s: %v",
		len(rtts), failed, slowest.Round(time.Millisecond), sendQ)
	if failed > 0 || slowest > time.Second {
		t.Errorf("a colleague's message waited %v for its acknowledgement (%d failed) while forged entries came from addresses without a host", slowest.Round(time.Millisecond), failed)
	}
}

// One BR_ENTRY makes any host a peer, and a peer's messages are not limited: each is
// stored in the history (with its full-text index) before it is acknowledged. The limits
// on strangers (5 messages, then one every 10 s per address; 30, then one a second in
// all) are lifted by announcing first, and the history then grows as fast as the
// attacker sends, with nothing to bound it but the disk.
//
// Where: lan/message.go, Node.onSendMsg (admitStranger only for senders not in the table)
// and node.Node's Deliver (history.Add for every message).
// Measured: one BR_ENTRY, then 100 messages of 60 KB a second for 10 s: all 1,000 stored,
// history.db and its WAL grew by 108 MB (the trigram index doubles the text), about
// 650 MB a minute; a colleague's messages were not slowed.
func TestHostileKnownPeerFloodsHistory(t *testing.T) {
	s := newHostileLAN(t, true)
	a := newAttacker(t, s)
	a.announce()
	s.victim.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
		return ev["peer"].(map[string]any)["nick"] == "Eve"
	})
	before := historyBytes(s.victim.profile)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var rtts []time.Duration
	var failed int
	wg.Go(func() { rtts, failed = honestRTTs(s.honest, s.victim, stop) })
	time.AfterFunc(10*time.Second, func() { close(stop) })
	text := []byte(strings.Repeat("广告 spam ", 5000) + "\x00") // 60 KB
	every(stop, 100, func() {
		a.send(a.eve, "message", a.packet("1", "eve", "evil", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.UTF8Opt, text))
	})
	wg.Wait()
	time.Sleep(time.Second)
	grew := historyBytes(s.victim.profile) - before
	stored := countMessages(s.victim, string(text[:len(text)-1]))
	slowest := time.Duration(0)
	for _, d := range rtts {
		slowest = max(slowest, d)
	}
	t.Logf("attacker: %s", a.summary())
	t.Logf("in 10 s the history grew by %.1f MB: %d messages of %d bytes stored from one announced host; a colleague's messages meanwhile: %d acknowledged, %d failed, slowest %v",
		float64(grew)/1e6, stored, len(text)-1, len(rtts), failed, slowest.Round(time.Millisecond))
	if grew > 16<<20 {
		t.Errorf("one host that announced itself grew the history by %.1f MB in 10 s", float64(grew)/1e6)
	}
}

// An incoming offer whose sender does not answer on TCP is retried for FetchPatience (2 min)
// per file, not per transfer, and a refused connection counts as a link problem: an offer
// of n files is retried every 3 s for 2n minutes. With the offers accepted at once (serve
// --accept-files; the window's auto-accept list, which matches a nick or peer ID anyone can
// claim in an entry), a forged entry and forged offers from a third party's address make
// the node connect to that address for hours: a reflection that grows with time, at a host
// that never sent anything. Each attempt also leaves an empty partial file behind.
//
// Where: xfer/recv.go, Engine.fetchWithRetry (lastMoved starts again for every file;
// dial errors are retryable) and runIncoming (moves on to the next file after one gave up);
// the partial is created in fetchFile before the connection is tried.
// Measured: one forged entry and 64 forged offers of 20 files, 30 KB with the bystander's
// address: in the first minute the victim sent the bystander 93 KB of connection attempts
// (3.1×), all 64 offers still retrying, each for 40 minutes in all.
func TestHostileAutoAcceptForgedOffersReflect(t *testing.T) {
	s := newHostileLAN(t, true)
	a := newAttacker(t, s)
	byst := netip.AddrPortFrom(s.bystIP, lan.DefaultPort)
	before := s.counts(t)
	// The bystander becomes a peer, then "offers" 64 times 20 files (under the per-sender
	// bound of 64 offers). It has no TCP listener: every connection is refused.
	a.sendForged("forged entry", byst, a.packet("1", "carol", "pc-carol", ipmsg.BrEntry, []byte("Carol\x00QA\x00")))
	time.Sleep(200 * time.Millisecond)
	for range xfer.DefaultMaxOffersPerPeer {
		body := append(append([]byte("\x00"), fileList(20)...), 0)
		a.sendForged("forged offer", byst, a.packet("1", "carol", "pc-carol", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, body))
	}
	const watch = 15 * time.Second
	time.Sleep(watch)
	d := s.counts(t).sub(before)
	resp, err := s.victim.call(control.Request{Cmd: "transfers"})
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, tr := range resp.Transfers {
		if tr.Addr == byst && !tr.Final() {
			active++
		}
	}
	_, partials := dirBytes(s.dl)
	t.Logf("forged from the bystander: %d bytes; the victim sent it %d bytes in %v (%.1f×); %d of its offers still being fetched, each with 20 files of 2 min; %d files in the download folder",
		d.ForgedIn, d.ForgedOut, watch, ratio(d.ForgedOut, d.ForgedIn), active, partials)
	if d.ForgedOut > d.ForgedIn {
		t.Errorf("the victim sent the forged address %d bytes for %d in %v, and goes on", d.ForgedOut, d.ForgedIn, watch)
	}
	if active > 0 || partials > 0 {
		t.Errorf("%d forged offers still fetched after %v, %d partial files left", active, watch, partials)
	}
}
