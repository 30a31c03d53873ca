//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/internal/xvfb"
)

// BenchmarkGUIIdle measures the window at rest under Xvfb (Mesa's software rendering, as on
// a desktop without a GPU driver): a conversation with Bob open, the cursor in its message
// box, nothing happening. It reports the CPU the process uses (utime+stime from
// /proc/PID/stat over $FEIGO_IDLE_SECONDS, default 30, after 5 s to settle), as a percentage
// of one core, and its memory: VmRSS at the end and VmHWM, the peak. For comparison, in the
// same run: the same window with Fyne's loop polling alone (FEIGO_IDLE=poll: no idler,
// gui/idle.go), and the CPU of the colleague's `feigo serve` (a node without a window). Then the
// colleague sends a 200 MiB file, which the window's node accepts, and VmRSS and VmHWM are
// read again.
//
//	go test -run '^$' -bench GUIIdle -benchtime 1x ./e2e/
func BenchmarkGUIIdle(b *testing.B) {
	secs := 30
	if s, err := strconv.Atoi(os.Getenv("FEIGO_IDLE_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	l := lab.New(b, 2)
	bob := serve(b, l.Hosts[1], "Bob", "研发部")
	b.Setenv("DISPLAY", xvfb.Start(b))
	b.Setenv("LANG", "zh_CN.UTF-8")
	prof := filepath.Join(b.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	os.WriteFile(filepath.Join(prof, "settings.json"), []byte(`{"nick":"王芳","group":"财务部"}`), 0o600)
	b.ResetTimer()
	for range b.N {
		// The baseline first: Fyne's own loop alone, polling 60 times a second
		// (FEIGO_IDLE=poll turns the idler off), measured as the window is measured after it.
		b.Setenv("FEIGO_IDLE", "poll")
		g := startGUI(b, l.Hosts[0], prof, 1)
		poll, _ := idleCPU(b, g, bob, secs)
		g.Stop()
		b.Setenv("FEIGO_IDLE", "")
		g = startGUI(b, l.Hosts[0], prof, 1)
		pid := g.Cmd.Process.Pid
		cpu, serve := idleCPU(b, g, bob, secs)
		rss, hwm, err := memKB(pid)
		if err != nil {
			b.Fatal(err)
		}
		// Then Bob sends a 200 MiB file, which the window's node accepts.
		src := filepath.Join(b.TempDir(), "大文件.bin")
		randomFile(b, src, 200<<20, 7)
		if _, e, c := bob.cli("send-file", "--no-wait", "王芳", src); c != 0 {
			b.Fatalf("send-file: %s", e)
		}
		offer := 0
		for deadline := time.Now().Add(10 * time.Second); offer == 0; time.Sleep(100 * time.Millisecond) {
			for _, tr := range g.transfers(b) {
				if tr.Direction == "in" {
					offer = tr.ID
				}
			}
			if time.Now().After(deadline) {
				b.Fatal("no offer reached the window")
			}
		}
		if out, e, c := g.cli("accept", fmt.Sprint(offer), "--to", b.TempDir(), "--wait"); c != 0 {
			b.Fatalf("accept: %s %s", out, e)
		}
		time.Sleep(5 * time.Second) // the window shows it done
		xrss, xhwm, err := memKB(pid)
		if err != nil {
			b.Fatal(err)
		}
		g.Stop()
		b.ReportMetric(float64(xrss)/1024, "MiB-rss-after-200MiB")
		b.ReportMetric(float64(xhwm)/1024, "MiB-hwm-after-200MiB")
		b.ReportMetric(cpu, "%cpu")
		b.ReportMetric(poll, "%cpu-poll")   // the same window with Fyne's loop polling alone
		b.ReportMetric(serve, "%cpu-serve") // Bob's `feigo serve`: the node without a window
		b.ReportMetric(float64(rss)/1024, "MiB-rss")
		b.ReportMetric(float64(hwm)/1024, "MiB-hwm")
	}
}

// idleCPU has bob send the window g a message, which opens his conversation in front with the
// cursor in its message box, waits 5 s, and returns the CPU g and bob's `feigo serve` use over
// the next secs seconds, in percent of one core.
func idleCPU(b *testing.B, g, bob *node, secs int) (gui, serve float64) {
	b.Helper()
	if out, e, c := bob.cli("send", "王芳", "下午三点开会，别忘了带报表"); c != 0 {
		b.Fatalf("send: %s %s", out, e)
	}
	time.Sleep(5 * time.Second)
	pid := g.Cmd.Process.Pid
	t0, err := cpuTicks(pid)
	if err != nil {
		b.Fatal(err)
	}
	s0, _ := cpuTicks(bob.Cmd.Process.Pid)
	start := time.Now()
	time.Sleep(time.Duration(secs) * time.Second)
	t1, err := cpuTicks(pid)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	s1, _ := cpuTicks(bob.Cmd.Process.Pid)
	const hz = 100 // USER_HZ: the unit of utime and stime on Linux
	return float64(t1-t0) / hz / elapsed * 100, float64(s1-s0) / hz / elapsed * 100
}

// cpuTicks returns utime+stime of process pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return utime + stime, nil
}

// memKB returns VmRSS and VmHWM of process pid, in KiB.
func memKB(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}
