//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
)

// seeAllWithin is how long the hosts of the three-subnet lab may take to list every other from
// one configured address per remote subnet (measured: see BenchmarkLabThreeSubnets).
const seeAllWithin = 60 * time.Second

// startSubnets starts `feigo serve` on every host of l with profiles under dir, host 1 with
// extra arguments; it returns the nodes in host order.
func startSubnets(t testing.TB, l *lab.Lab, dir string, first ...string) []*node {
	t.Helper()
	var ns []*node
	for i, h := range l.Hosts {
		var extra []string
		if i == 0 {
			extra = first
		}
		ns = append(ns, serveProfile(t, h, filepath.Join(dir, fmt.Sprint("p", i)), fmt.Sprintf("h%d-s%d", i+1, h.Subnet), "G", extra...))
	}
	return ns
}

// allSee waits until each node lists want colleagues, all proved (secure).
func allSee(t testing.TB, ns []*node, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, n := range ns {
		for {
			resp, err := n.call(control.Request{Cmd: "peers"})
			secure := 0
			for _, p := range resp.Peers {
				if p.Secure {
					secure++
				}
			}
			if err == nil && secure == want && len(resp.Peers) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s (%s) lists %d colleagues (%d secure), want %d (err %v): %+v\nlog:\n%s",
					n.Host.NS, n.Host.Addr, len(resp.Peers), secure, want, err, resp.Peers, n.LogTail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// Three subnets joined by a router that forwards unicast but no broadcast: with the address
// of one FeiGo on each remote subnet configured on one host, every host on all three subnets
// lists every other; that host quits and the others keep listing each other (past the
// expiry of a minute, so by their own beats); then all restart with no configuration and
// find each other again from what they remembered.
func TestLabThreeSubnetsNoMaster(t *testing.T) {
	l := lab.NewRouted(t, 3, 3, 3)
	dir := t.TempDir()
	total := len(l.Hosts)
	// Host 1 (10.213.0.1) knows 10.213.1.1 and 10.213.2.1; nobody else knows anything.
	start := time.Now()
	ns := startSubnets(t, l, dir, "--broadcast", l.Hosts[3].Addr.String(), "--broadcast", l.Hosts[6].Addr.String())
	allSee(t, ns, total-1, seeAllWithin)
	t.Logf("all %d hosts see all from one configured host in %v", total, time.Since(start).Round(time.Millisecond))

	if code := ns[0].Stop(); code != 0 {
		t.Fatalf("the configured host exited with %d", code)
	}
	rest := ns[1:]
	allSee(t, rest, total-2, 20*time.Second)
	// Past the expiry (55 s): still everyone, all the time, by unicast beats between the
	// subnets.
	for end := time.Now().Add(65 * time.Second); time.Now().Before(end); {
		allSee(t, rest, total-2, 5*time.Second)
		time.Sleep(2 * time.Second)
	}

	var wg sync.WaitGroup
	for _, n := range rest {
		wg.Go(func() { n.Stop() })
	}
	wg.Wait()
	start = time.Now()
	again := startSubnets(t, l, dir) // no --broadcast anywhere
	allSee(t, again, total-1, seeAllWithin)
	t.Logf("after a restart with no configuration, all see all in %v", time.Since(start).Round(time.Millisecond))
}

// BenchmarkLabThreeSubnets measures the time until 9 hosts on three subnets behind a router
// all list each other, from the address of one FeiGo on each remote subnet configured on one
// host (process start included), against the same 9 hosts on one subnet, found by broadcast,
// in the same run.
func BenchmarkLabThreeSubnets(b *testing.B) {
	for _, c := range []struct {
		name  string
		sizes []int
	}{{"one-subnet", []int{9}}, {"three-subnets", []int{3, 3, 3}}} {
		b.Run(c.name, func(b *testing.B) {
			var l *lab.Lab
			var first []string
			if len(c.sizes) == 1 {
				l = lab.New(b, c.sizes[0])
			} else {
				l = lab.NewRouted(b, c.sizes...)
				first = []string{"--broadcast", l.Hosts[3].Addr.String(), "--broadcast", l.Hosts[6].Addr.String()}
			}
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				start := time.Now()
				ns := startSubnets(b, l, b.TempDir(), first...)
				allSee(b, ns, len(l.Hosts)-1, seeAllWithin)
				total += time.Since(start)
				b.StopTimer()
				var wg sync.WaitGroup
				for _, n := range ns {
					wg.Go(func() { n.Stop() })
				}
				wg.Wait()
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/all-see-all")
		})
	}
}

// A running node's address changes (added on its interface, the old one removed): the others
// see it at the new address, as the same colleague (same ID, never offline), within seconds.
func TestLabAddressChangeSeen(t *testing.T) {
	l := lab.New(t, 3)
	var ns []*node
	for i, h := range l.Hosts {
		ns = append(ns, serve(t, h, fmt.Sprint("n", i+1), "G"))
	}
	for _, n := range ns {
		n.waitPeers(t, 2, 20*time.Second)
	}
	before := ns[0].peers(t)
	moved := l.Hosts[1]
	newAddr := netip.AddrFrom4([4]byte{10, 213, 0, 102})
	start := time.Now()
	moved.ChangeAddr(newAddr)
	want := newAddr.String() + ":2425"
	for _, i := range []int{0, 2} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ps := ns[i].peers(t)
			found := false
			for _, p := range ps {
				if p.Addr.String() == want && p.Secure {
					found = true
					for _, b := range before {
						if b.Nick == "n2" && b.ID != p.ID {
							t.Fatalf("host %d lists the moved colleague under a new ID: %s, was %s", i+1, p.ID, b.ID)
						}
					}
				}
			}
			if found && len(ps) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("host %d does not list n2 at %s: %+v\nmoved host's log:\n%s", i+1, want, ps, ns[1].LogTail())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("both colleagues list the moved node at its new address %v after the change", time.Since(start).Round(time.Millisecond))
	for _, i := range []int{0, 2} {
		for _, ev := range ns[i].Events() {
			if ev["type"] == "peer_offline" {
				t.Fatalf("host %d: the moved colleague went offline in between: %v", i+1, ev)
			}
		}
	}
}

// Two IPv6-only subnets behind a router that forwards unicast but no multicast (IP Messenger's
// group ff15::979 stays on each subnet): with Bob's IPv6 address configured on Alice alone,
// Alice and Bob meet, and Carol, on Alice's subnet, learns of Bob from Alice's peer list (a
// unique local IPv6 address), so all three list each other, proved; and messages cross.
func TestLabIPv6SubnetsPeerExchange(t *testing.T) {
	l := lab.NewRoutedWith(t, lab.Options{IPv6: true, NoIPv4: true}, 2, 1)
	alice, carol, bob := l.Hosts[0], l.Hosts[1], l.Hosts[2]
	dir := t.TempDir()
	a := serveProfile(t, alice, filepath.Join(dir, "a"), "Alice", "G", "--broadcast", "["+bob.Addr6.String()+"]:2425")
	c := serveProfile(t, carol, filepath.Join(dir, "c"), "Carol", "G")
	b := serveProfile(t, bob, filepath.Join(dir, "b"), "Bob", "G")
	ns := []*node{a, c, b}
	allSee(t, ns, 2, seeAllWithin)
	for i, n := range ns {
		for _, p := range n.peers(t) {
			if !p.Addr.Addr().Is6() || p.Addr.Addr().IsLinkLocalUnicast() {
				t.Errorf("host %d lists %s at %s, want its unique local IPv6 address", i+1, p.Nick, p.Addr)
			}
		}
	}
	if _, e, code := c.cli("send", "Bob", "跨网段 IPv6"); code != 0 {
		t.Fatalf("Carol to Bob: %s", e)
	}
	b.WaitEvent("message", 10*time.Second, nil)
}
