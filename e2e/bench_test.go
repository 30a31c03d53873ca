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

// BenchmarkLabDiscovery30 starts `feigo serve` on 30 lab hosts at once and measures the
// time until every node lists the 29 others (process start included).
func BenchmarkLabDiscovery30(b *testing.B) {
	const hosts = 30
	l := lab.New(b, hosts)
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		dir := b.TempDir()
		start := time.Now()
		var procs []*lab.Proc
		var socks []string
		for j, h := range l.Hosts {
			prof := filepath.Join(dir, fmt.Sprintf("p%d", j))
			procs = append(procs, h.Start(dir, bin, "serve", "--profile", prof, "--nick", fmt.Sprintf("n%d-%d", i, j)))
			socks = append(socks, filepath.Join(prof, "feigo.sock"))
		}
		for j, s := range socks {
			for {
				resp, err := control.Call(s, control.Request{Cmd: "peers"})
				if err == nil && len(resp.Peers) == hosts-1 {
					break
				}
				if time.Since(start) > time.Minute {
					b.Fatalf("host %d sees %d peers after a minute (err %v)", j+1, len(resp.Peers), err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		total += time.Since(start)
		b.StopTimer()
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
		wg.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/all-see-all")
}

// BenchmarkLabMessageRTT measures one acknowledged message between two lab hosts, asked
// for through the control socket as `feigo send` does: between FeiGo peers (over their TLS
// channel, encrypted) and, as the baseline, between two nodes started with --no-key (plain
// IPMsg datagrams, as FeiGo before keys), against a raw UDP echo between the same hosts in
// the same run. control-status is the control socket's own cost (a request that does not
// touch the network).
func BenchmarkLabMessageRTT(b *testing.B) {
	l := lab.New(b, 2)
	to := l.Hosts[1].Addr.String()
	b.Run("raw-udp-echo", func(b *testing.B) {
		srv, err := l.Hosts[1].ListenUDP(9000)
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := srv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				srv.WriteToUDPAddrPort(buf[:n], from)
			}
		}()
		cli, err := l.Hosts[0].ListenUDP(0)
		if err != nil {
			b.Fatal(err)
		}
		defer cli.Close()
		echo := netip.AddrPortFrom(l.Hosts[1].Addr, 9000)
		buf := make([]byte, 2048)
		msg := []byte("1:1:u:h:288:hello\x00")
		b.ResetTimer()
		for range b.N {
			cli.WriteToUDPAddrPort(msg, echo)
			cli.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mode := range []struct {
		name  string
		extra []string
	}{{"feigo-send-unencrypted", []string{"--no-key"}}, {"feigo-send", nil}} {
		a := serve(b, l.Hosts[0], "Alice", "QA", mode.extra...)
		bob := serve(b, l.Hosts[1], "Bob", "QA", mode.extra...)
		a.waitPeers(b, 1, 10*time.Second)
		bob.waitPeers(b, 1, 10*time.Second)
		if ps := a.peers(b); ps[0].Secure != (mode.extra == nil) {
			b.Fatalf("%s: Bob listed as %+v", mode.name, ps[0])
		}
		if mode.extra == nil {
			b.Run("control-status", func(b *testing.B) {
				for range b.N {
					if _, err := a.call(control.Request{Cmd: "status"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(mode.name, func(b *testing.B) {
			for i := range b.N {
				resp, err := a.call(control.Request{Cmd: "send", To: []string{to}, Text: fmt.Sprintf("ping %d", i)})
				if err != nil || !resp.OK {
					b.Fatalf("send: %v %s", err, resp.Error)
				}
			}
		})
		a.Stop()
		bob.Stop()
	}
}

// BenchmarkLabDelivery100 sends 100 messages (10 in flight) from one lab host to another,
// with 30 % of UDP datagrams dropped at the switch and, as the baseline, with none.
func BenchmarkLabDelivery100(b *testing.B) {
	l, a, _ := pair(b)
	to := l.Hosts[1].Addr.String()
	for _, loss := range []int{0, 30} {
		b.Run(fmt.Sprintf("loss-%d%%", loss), func(b *testing.B) {
			l.SetLoss(loss)
			defer l.SetLoss(0)
			failed := 0
			for range b.N {
				var wg sync.WaitGroup
				var mu sync.Mutex
				sem := make(chan struct{}, 10)
				for j := range 100 {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						resp, err := a.call(control.Request{Cmd: "send", To: []string{to}, Text: fmt.Sprintf("m%d", j)})
						if err != nil || !resp.OK {
							mu.Lock()
							failed++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(failed)/float64(b.N), "failed/100msgs")
		})
	}
}

// BenchmarkLabAtRest starts `feigo serve` on 30, 100 and 250 lab hosts at once and reports
// the time until every node lists all the others, the datagrams each node sends during
// start-up (its first minute, or until 10 s after all see all when that is later: 250 nodes
// on 2 cores take longer than a minute) and in the minute after (at rest), and, after one
// node is killed with SIGKILL (no goodbye), the time until every other node has dropped it.
// Beyond 50 hosts the lab's hosts have permanent neighbour entries (see internal/lab).
// -bench 'AtRest/30$' runs one size.
func BenchmarkLabAtRest(b *testing.B) {
	for _, hosts := range []int{30, 100, 250} {
		b.Run(fmt.Sprint(hosts), func(b *testing.B) { benchAtRest(b, hosts) })
	}
}

func benchAtRest(b *testing.B, hosts int) {
	// All see all within allSeeWait: 100 nodes took 13 s on 2 cores, most of it the TLS
	// handshakes between every two of them (n²/2), so 250 take several times that.
	const allSeeWait = 5 * time.Minute
	l := lab.New(b, hosts)
	for i := range b.N {
		dir := b.TempDir()
		var procs []*lab.Proc
		var socks []string
		start := time.Now()
		for j, h := range l.Hosts {
			prof := filepath.Join(dir, fmt.Sprintf("p%d", j))
			procs = append(procs, h.Start(dir, bin, "serve", "--profile", prof, "--nick", fmt.Sprintf("r%d-%d", i, j)))
			socks = append(socks, filepath.Join(prof, "feigo.sock"))
		}
		status := func(j int) (*control.Self, error) {
			resp, err := control.Call(socks[j], control.Request{Cmd: "status"})
			if err != nil {
				return nil, err
			}
			if resp.Self == nil || resp.Self.Stats == nil {
				return nil, fmt.Errorf("no stats")
			}
			return resp.Self, nil
		}
		for j := range socks {
			for {
				s, err := status(j)
				if err == nil && s.Peers == hosts-1 {
					break
				}
				if time.Since(start) > allSeeWait {
					b.Fatalf("host %d lists %v after %v (%v)", j+1, s, allSeeWait, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		allSee := time.Since(start)
		sent := func() []uint64 {
			out := make([]uint64, hosts)
			for j := range socks {
				s, err := status(j)
				if err != nil {
					b.Fatalf("host %d status: %v", j+1, err)
				}
				if s.Peers != hosts-1 {
					b.Fatalf("host %d lists %d peers", j+1, s.Peers)
				}
				out[j] = s.Stats.DatagramsSent
			}
			return out
		}
		startUp := max(time.Minute, allSee+10*time.Second)
		time.Sleep(time.Until(start.Add(startUp)))
		first := sent()
		time.Sleep(time.Until(start.Add(startUp + time.Minute)))
		second := sent()
		var maxFirst, maxRest, sumRest uint64
		for j := range hosts {
			maxFirst = max(maxFirst, first[j])
			rest := second[j] - first[j]
			maxRest, sumRest = max(maxRest, rest), sumRest+rest
		}
		// A crash: the last host's node is killed; every other must drop it.
		procs[hosts-1].Kill()
		killed := time.Now()
		var worst time.Duration
		for j := range socks[:hosts-1] {
			for {
				s, err := status(j)
				if err == nil && s.Peers == hosts-2 {
					worst = max(worst, time.Since(killed))
					break
				}
				if time.Since(killed) > 2*time.Minute {
					b.Fatalf("host %d still lists the killed node after 2 minutes", j+1)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		b.ReportMetric(allSee.Seconds(), "s-until-all-see-all")
		b.ReportMetric(startUp.Seconds(), "s-of-start-up")
		b.ReportMetric(float64(maxFirst), "max-datagrams-start-up")
		b.ReportMetric(float64(maxRest), "max-datagrams-per-minute-at-rest")
		b.ReportMetric(float64(sumRest)/float64(hosts), "mean-datagrams-per-minute-at-rest")
		b.ReportMetric(worst.Seconds(), "s-until-a-killed-node-left-every-list")
		b.StopTimer()
		var wg sync.WaitGroup
		for _, p := range procs[:hosts-1] {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
		wg.Wait()
		b.StartTimer()
	}
}
