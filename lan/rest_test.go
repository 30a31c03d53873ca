//go:build linux

package lan

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"feigo/internal/lab"
)

// labNodes starts an in-process node on each of the lab's hosts, on the hosts' port 2425,
// announcing to the lab's broadcast address as on an office LAN. crash(i) ends node i as
// kill -9 ends a process: its sockets close under it (no goodbye goes out) and it stops.
func labNodes(t *testing.T, l *lab.Lab, tweak func(*Config)) (ns []*testNode, crash func(i int)) {
	t.Helper()
	var closers []func()
	for i, h := range l.Hosts {
		var conn *net.UDPConn
		var ln net.Listener
		if err := h.Do(func() (err error) {
			if conn, err = Listen(2425); err != nil {
				return err
			}
			ln, err = net.Listen("tcp4", h.Addr.String()+":2425")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(); ln.Close() })
		closers = append(closers, func() { conn.Close(); ln.Close() })
		ns = append(ns, startNode(t, conn, fmt.Sprint("n", i), func(c *Config) {
			withKey(t)(c)
			c.TCP = ln
			c.NoInterfaces, c.subnets = false, []netip.Prefix{netip.MustParsePrefix("10.213.0.0/24")}
			c.dialer = func(ctx context.Context, addr netip.AddrPort) (conn net.Conn, err error) {
				err = h.Do(func() error {
					conn, err = (&net.Dialer{}).DialContext(ctx, "tcp4", addr.String())
					return err
				})
				return conn, err
			}
			if tweak != nil {
				tweak(c)
			}
		}))
		ns[i].addr = netip.AddrPortFrom(h.Addr, 2425)
	}
	return ns, func(i int) {
		ns[i].crashed = true
		closers[i]()
		ns[i].stop()
	}
}

// At rest a node sends one beat per Config.BeatEvery, whatever the size of the LAN (before
// the beat, every node asked every quiet colleague, every ProbeEvery: the chatter grew with
// the square of the office), and nobody is dropped; a colleague that vanishes (its link
// down: no goodbye) leaves every list within Config.Expiry, and so does one killed with -9
// (its sockets closed under it, its host still up). The timings are the defaults divided
// by 20.
func TestLabAtRestOneBeatPerPeriod(t *testing.T) {
	l := lab.New(t, 8)
	scaled := func(c *Config) {
		c.BeatEvery, c.ProbeAfter, c.ProbeEvery, c.Expiry = time.Second, 2*time.Second, 250*time.Millisecond, 2750*time.Millisecond
	}
	start := time.Now()
	ns, crash := labNodes(t, l, scaled)
	for _, n := range ns {
		if !waitFor(15*time.Second, func() bool { return n.Table().Len() == len(ns)-1 }) {
			t.Fatalf("%s lists %d colleagues: %+v", n.Self().Nick, n.Table().Len(), n.Stats())
		}
	}
	time.Sleep(time.Until(start.Add(4 * time.Second))) // the announcements repeated at start
	before := make([]uint64, len(ns))
	for i, n := range ns {
		before[i] = n.Stats().DatagramsSent
	}
	const rest = 6 * time.Second
	time.Sleep(rest)
	for i, n := range ns {
		sent := n.Stats().DatagramsSent - before[i]
		// Six periods: six beats, seven if the jitter put one more in.
		if sent > 7 {
			t.Errorf("%s sent %d datagrams in %v at rest (%d beats' worth), want at most 7", n.Self().Nick, sent, rest, int(rest/time.Second))
		}
		if got := n.Table().Len(); got != len(ns)-1 {
			t.Errorf("%s lists %d colleagues at rest, want %d", n.Self().Nick, got, len(ns)-1)
		}
	}
	// Host 8 vanishes without a word: its link goes down.
	gone := ns[len(ns)-1]
	l.LinkDown(len(ns))
	leaves := func(what string, gone *testNode, others []*testNode) {
		t.Helper()
		cut := time.Now()
		for _, n := range others {
			if !waitFor(10*time.Second, func() bool { _, ok := n.Table().ByAddr(gone.addr); return !ok }) {
				t.Fatalf("%s still lists the %s colleague", n.Self().Nick, what)
			}
		}
		// Expiry (2.75 s) after it was last heard, found at the next housekeeping tick (1 s),
		// and 3 s of slack for a loaded 2-core machine.
		if took := time.Since(cut); took > 2750*time.Millisecond+time.Second+3*time.Second {
			t.Errorf("the %s colleague left every list after %v, want within Expiry (2.75 s), a tick and 3 s of slack", what, took)
		} else {
			t.Logf("the %s colleague left every list after %v", what, took.Round(10*time.Millisecond))
		}
	}
	leaves("vanished", gone, ns[:len(ns)-1])
	// Host 7's node is killed with -9: its host still answers (ICMP, TCP resets), its
	// sockets are closed by the kernel, no goodbye goes out.
	killed := ns[len(ns)-2]
	crash(len(ns) - 2)
	leaves("killed", killed, ns[:len(ns)-2])
}
