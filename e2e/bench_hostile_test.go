//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"feigo/control"
)

// rtts are round trips of acknowledged messages, asked for through the control socket as
// `feigo send` does.
type rtts struct {
	mu     sync.Mutex
	d      []time.Duration
	failed int
}

// pingPong sends acknowledged messages between a and b, alternating directions, one at a
// time with gap between them, until stop is closed (or n messages when stop is nil).
func pingPong(a, b *node, tag string, n int, gap time.Duration, stop <-chan struct{}) *rtts {
	r := &rtts{}
	for i := 0; stop != nil || i < n; i++ {
		if stop != nil {
			select {
			case <-stop:
				return r
			default:
			}
		}
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		start := time.Now()
		resp, err := from.call(control.Request{Cmd: "send", To: []string{to.Host.Addr.String()}, Text: fmt.Sprintf("%s %d", tag, i)})
		took := time.Since(start)
		r.mu.Lock()
		if err != nil || !resp.OK {
			r.failed++
		} else {
			r.d = append(r.d, took)
		}
		r.mu.Unlock()
		time.Sleep(gap)
	}
	return r
}

// quantile returns the q-quantile (0…1) of the round trips in milliseconds.
func (r *rtts) quantile(q float64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.d) == 0 {
		return -1
	}
	d := slices.Clone(r.d)
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
}

// BenchmarkLabHostileFlood floods the victim of the hostile lab (see TestHostileLANSoak) for
// a minute at the soak's rates and reports, from the same run: the honest round trip of an
// acknowledged message between the victim and its colleague (both ways, one every 100 ms,
// through the control socket as `feigo send` does) during the flood against idle, median
// and 99th percentile (goal: within 2×); the victim's peak RSS (goal ≤ 64 MiB); how much its
// profile and its history (history.db and its WAL) grew in the flood, the colleague's
// messages included; and the reflection factor: bytes the victim sent to the attacker, and
// to the forged addresses, over the bytes it received from them (goal ≤ 1), counted until
// the forged peers have expired, so that every probe is in it.
func BenchmarkLabHostileFlood(b *testing.B) {
	const floodFor = time.Minute
	for range b.N {
		s := newHostileLAN(b, true)
		a := newAttacker(b, s)
		a.announce()
		s.victim.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
			return ev["peer"].(map[string]any)["nick"] == "Eve"
		})
		pid := s.victim.Cmd.Process.Pid
		idle := pingPong(s.victim, s.honest, "idle", 200, 100*time.Millisecond, nil)
		rssIdle := rssKiB(pid, "VmRSS")
		profBefore, _ := dirBytes(s.victim.profile)
		histBefore := historyBytes(s.victim.profile)
		before := s.counts(b)
		dropsBefore := udpDrops(pid)

		mon := startMonitor(s.victim)
		stop := make(chan struct{})
		var flood *rtts
		var wg sync.WaitGroup
		wg.Go(func() { flood = pingPong(s.victim, s.honest, "flood", 0, 100*time.Millisecond, stop) })
		start := time.Now()
		time.AfterFunc(floodFor, func() { close(stop) })
		a.flood(stop, soakRates)
		wg.Wait()
		took := time.Since(start)
		mon.end()
		hwm := rssKiB(pid, "VmHWM")
		profAfter, _ := dirBytes(s.victim.profile)
		histAfter := historyBytes(s.victim.profile)
		drops := udpDrops(pid) - dropsBefore
		// Forged peers are dropped 45 s after their last packet; until then the victim
		// probes them. Count everything it sends them.
		time.Sleep(50 * time.Second)
		d := s.counts(b).sub(before)

		b.Logf("attacker: %s", a.summary())
		b.Logf("flood %v: %.1f MB/s at the victim; kernel drops %d; bytes %v", took.Round(time.Millisecond),
			float64(d.EvilIn+d.ForgedIn+d.FakeIn)/1e6/took.Seconds(), drops, d)
		b.Logf("round trips idle: %d, median %.2f ms, p99 %.2f ms, %d failed; in the flood: %d, median %.2f ms, p99 %.2f ms, %d failed",
			len(idle.d), idle.quantile(0.5), idle.quantile(0.99), idle.failed, len(flood.d), flood.quantile(0.5), flood.quantile(0.99), flood.failed)
		b.Logf("victim RSS idle %.1f MiB, VmHWM %.1f MiB; profile %d → %d bytes (%s); feigo status answered %d times, slowest %v, %d failures",
			float64(rssIdle)/1024, float64(hwm)/1024, profBefore, profAfter, fileSizes(s.victim.profile), mon.polls, mon.slowest.Round(time.Millisecond), len(mon.pollsFailed))

		b.ReportMetric(idle.quantile(0.5), "ms-rtt-idle")
		b.ReportMetric(flood.quantile(0.5), "ms-rtt-flood")
		b.ReportMetric(flood.quantile(0.5)/idle.quantile(0.5), "rtt-flood/idle")
		b.ReportMetric(flood.quantile(0.99)/idle.quantile(0.99), "rtt-p99-flood/idle")
		b.ReportMetric(float64(flood.failed), "msgs-failed")
		b.ReportMetric(float64(hwm)/1024, "MiB-RSS-peak")
		b.ReportMetric(float64(profAfter-profBefore)/(1<<20), "MiB-profile-growth")
		b.ReportMetric(float64(histAfter-histBefore)/(1<<20), "MiB-history-growth")
		b.ReportMetric(ratio(d.EvilOut, d.EvilIn), "reflect-attacker")
		b.ReportMetric(ratio(d.ForgedOut+d.FakeOut, d.ForgedIn+d.FakeIn), "reflect-forged")
		b.ReportMetric(float64(d.EvilIn+d.ForgedIn+d.FakeIn)/1e6/took.Seconds(), "MB/s-flood")
	}
}

// historyBytes is the size of the history database with its write-ahead log.
func historyBytes(profile string) int64 {
	var n int64
	for _, f := range []string{"history.db", "history.db-wal"} {
		if info, err := os.Stat(filepath.Join(profile, f)); err == nil {
			n += info.Size()
		}
	}
	return n
}
