//go:build linux

// Package lab builds a LAN on one machine for FeiGo's network tests: hosts are network
// namespaces joined by a bridge that lives in a namespace of its own, so no packet reaches
// the machine's real interfaces. Random UDP loss can be injected at the bridge. It needs
// root and iproute2 (nftables for loss); without them New skips the test, except under
// CI=true where a lab that cannot be built fails it.
package lab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Subnet is the lab's address range; host i (from 1) is 10.213.0.i.
const Subnet = "10.213.0.0/24"

// Subnet6 is the IPv6 subnet of a lab built with Options.IPv6; host i (from 1) is fd21:3::i.
const Subnet6 = "fd21:3::/64"

// Options change how New builds a lab. The zero Options is the plain lab: IPv4 only, IPv6
// turned off in every host (no link-local address either), as it has always behaved.
type Options struct {
	// IPv6 gives every host fd21:3::i/64 besides its link-local address, usable at once
	// (no duplicate address detection).
	IPv6 bool
	// NoIPv4 leaves the hosts without an IPv4 address: an IPv6-only LAN (with IPv6).
	// Host.Addr still numbers the host (its MAC address) but is not configured.
	NoIPv4 bool
	// LinkLocal, with IPv6, gives the hosts only their link-local addresses (fe80::/64, from
	// the MAC address): no fd21:3::i, Host.Addr6 stays zero.
	LinkLocal bool
}

var labCount atomic.Int32

// Lab is a switch and its hosts; a routed lab (NewRouted) has a switch per subnet and a
// router between them.
type Lab struct {
	t      testing.TB
	prefix string
	sw     string
	Hosts  []*Host
	// Subnets are the lab's subnets (one unless routed); Router, in a routed lab, is the
	// namespace of the router host.
	Subnets []netip.Prefix
	Router  string
}

// Host is one machine of the lab.
type Host struct {
	lab  *Lab
	NS   string
	Addr netip.Addr
	// Subnet is the index in Lab.Subnets of the host's subnet.
	Subnet int
	// Addr6 is the host's IPv6 address in a lab built with Options.IPv6, else zero.
	Addr6 netip.Addr
	mu    sync.Mutex
	proc  []*Proc
}

// Available says whether a lab can be built here, and if not, why.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the LAN lab needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("the LAN lab needs iproute2's ip command: %w", err)
	}
	return nil
}

// skipOrFail skips the test with why, or fails it under CI=true.
func skipOrFail(t testing.TB, why error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the lab cannot be built: %v", why)
	}
	t.Skipf("skipping lab test: %v", why)
}

// New builds a lab of n hosts and tears it down when the test ends.
func New(t testing.TB, n int) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		skipOrFail(t, err)
	}
	if n < 1 || n > 250 {
		t.Fatalf("lab: %d hosts", n)
	}
	return build(t, []int{n}, Options{})
}

// NewWith builds a lab of n hosts on one switch as o says, and tears it down when the test
// ends.
func NewWith(t testing.TB, n int, o Options) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		skipOrFail(t, err)
	}
	if n < 1 || n > 250 {
		t.Fatalf("lab: %d hosts", n)
	}
	if o.NoIPv4 && !o.IPv6 {
		t.Fatalf("lab: a host needs IPv4 or IPv6")
	}
	return build(t, []int{n}, o)
}

// NewRouted builds a lab of several subnets: subnet s (from 0) is 10.213.s.0/24, with
// sizes[s] hosts (10.213.s.1, …) on a switch of its own, and a router host (Lab.Router,
// 10.213.s.254 on each subnet, every host's default gateway) forwards unicast between the
// subnets but no broadcast (Linux forwards no directed broadcast unless told to), as an
// office's router between VLANs. Hosts are numbered across the subnets, from 1: the first
// subnet's, then the second's.
func NewRouted(t testing.TB, sizes ...int) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		skipOrFail(t, err)
	}
	if len(sizes) < 2 || len(sizes) > 16 {
		t.Fatalf("lab: %d subnets", len(sizes))
	}
	return build(t, sizes, Options{})
}

// NewRoutedWith is NewRouted as o says. With o.IPv6, subnet s is also fd21:3:0:s::/64
// (host j fd21:3:0:s::j, the router fd21:3:0:s::fe, every host's IPv6 default gateway), and
// the router forwards IPv6 unicast but no multicast (it runs no multicast routing), so IP
// Messenger's group ff15::979 stays on each subnet, as behind an office's router.
func NewRoutedWith(t testing.TB, o Options, sizes ...int) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		skipOrFail(t, err)
	}
	if len(sizes) < 2 || len(sizes) > 16 {
		t.Fatalf("lab: %d subnets", len(sizes))
	}
	if o.NoIPv4 && !o.IPv6 || o.LinkLocal {
		t.Fatalf("lab: a routed lab needs IPv4 or IPv6 addresses beyond the link")
	}
	return build(t, sizes, o)
}

// addr6 is the IPv6 address of host j (or the router, 0xfe) on subnet s.
func addr6(s, j int) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x21, 3: 3, 7: byte(s), 15: byte(j)})
}

func build(t testing.TB, sizes []int, o Options) *Lab {
	t.Helper()
	total := 0
	for _, n := range sizes {
		if n < 1 || n > 250 {
			t.Fatalf("lab: %d hosts", n)
		}
		total += n
	}
	l := &Lab{t: t, prefix: fmt.Sprintf("fg%d-%d", os.Getpid(), labCount.Add(1))}
	l.sw = l.prefix + "-sw"
	t.Cleanup(l.teardown)
	l.must("netns", "add", l.sw)
	routed := len(sizes) > 1
	if routed {
		l.Router = l.prefix + "-r"
		l.must("netns", "add", l.Router)
		if o.IPv6 {
			l.sysctls(l.Router, o)
		}
		l.must("-n", l.Router, "link", "set", "lo", "up")
	}
	i := 0
	for s, n := range sizes {
		br := fmt.Sprintf("br%d", s)
		l.Subnets = append(l.Subnets, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(s), 0}), 24))
		if o.IPv6 {
			// Without a multicast router (an MLD querier) to keep its snooping right, the
			// bridge floods multicast to every port, as an office switch does.
			l.must("-n", l.sw, "link", "add", br, "type", "bridge", "mcast_snooping", "0")
		} else {
			l.must("-n", l.sw, "link", "add", br, "type", "bridge")
		}
		l.must("-n", l.sw, "link", "set", br, "up")
		if routed {
			veth, dev := fmt.Sprintf("r%d", s), fmt.Sprintf("eth%d", s)
			l.must("link", "add", "name", veth, "netns", l.sw, "type", "veth", "peer", "name", dev, "netns", l.Router,
				"address", fmt.Sprintf("02:fe:00:00:%02x:fe", s))
			l.must("-n", l.sw, "link", "set", veth, "master", br)
			l.must("-n", l.sw, "link", "set", veth, "up")
			l.must("-n", l.Router, "addr", "add", fmt.Sprintf("10.213.%d.254/24", s), "brd", "+", "dev", dev)
			if o.IPv6 {
				l.must("-n", l.Router, "addr", "add", addr6(s, 0xfe).String()+"/64", "dev", dev, "nodad")
			}
			l.must("-n", l.Router, "link", "set", dev, "up")
		}
		for j := 1; j <= n; j++ {
			i++
			h := &Host{lab: l, NS: fmt.Sprintf("%s-h%d", l.prefix, i), Addr: netip.AddrFrom4([4]byte{10, 213, byte(s), byte(j)}), Subnet: s}
			veth := fmt.Sprintf("v%d", i)
			l.must("netns", "add", h.NS)
			l.sysctls(h.NS, o)
			l.must("link", "add", "name", veth, "netns", l.sw, "type", "veth", "peer", "name", "eth0", "netns", h.NS, "address", h.MAC())
			l.must("-n", l.sw, "link", "set", veth, "master", br)
			l.must("-n", l.sw, "link", "set", veth, "up")
			if !o.NoIPv4 {
				l.must("-n", h.NS, "addr", "add", h.Addr.String()+"/24", "brd", "+", "dev", "eth0")
			}
			if o.IPv6 && !o.LinkLocal {
				h.Addr6 = addr6(s, j)
				l.must("-n", h.NS, "addr", "add", h.Addr6.String()+"/64", "dev", "eth0", "nodad")
			}
			l.must("-n", h.NS, "link", "set", "eth0", "up")
			l.must("-n", h.NS, "link", "set", "lo", "up")
			if routed && !o.NoIPv4 {
				l.must("-n", h.NS, "route", "add", "default", "via", fmt.Sprintf("10.213.%d.254", s))
			}
			if routed && o.IPv6 {
				l.must("-n", h.NS, "-6", "route", "add", "default", "via", addr6(s, 0xfe).String())
			}
			l.Hosts = append(l.Hosts, h)
		}
	}
	if routed {
		fwd := []string{"netns", "exec", l.Router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"}
		if o.IPv6 {
			fwd = append(fwd, "net.ipv6.conf.all.forwarding=1")
		}
		out, err := exec.Command("ip", fwd...).CombinedOutput()
		if err != nil {
			t.Fatalf("lab: the router does not forward: %v\n%s", err, out)
		}
	}
	for s, n := range sizes {
		if n > neighboursFrom {
			l.permanentNeighbours(s)
		}
	}
	return l
}

// sysctls turn IPv6 off in host ns for a plain lab, or make its addresses usable at once
// (no duplicate address detection) for an IPv6 lab. They apply to the interfaces created
// afterwards (eth0) through "default".
func (l *Lab) sysctls(ns string, o Options) {
	l.t.Helper()
	args := []string{"netns", "exec", ns, "sysctl", "-q", "-w"}
	if o.IPv6 {
		args = append(args, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0")
	} else {
		args = append(args, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("lab: sysctl in %s: %v\n%s", ns, err, out)
	}
}

// neighboursFrom is the size beyond which the hosts know each other's MAC addresses from the
// start. The software bridge on two cores cannot flood the ARP of a large LAN (every unicast
// answer needs a resolution; beyond about 50 hosts most are lost, for any IPMsg client), which
// a hardware switch does at wire speed: permanent neighbour entries stand for that speed.
const neighboursFrom = 50

// MAC is the host's Ethernet address: 02:fe:00:00:s:i for 10.213.s.i.
func (h *Host) MAC() string {
	a := h.Addr.As4()
	return fmt.Sprintf("02:fe:00:00:%02x:%02x", a[2], a[3])
}

// permanentNeighbours gives the hosts of subnet s each other's MAC addresses.
func (l *Lab) permanentNeighbours(s int) {
	l.t.Helper()
	for _, h := range l.Hosts {
		if h.Subnet != s {
			continue
		}
		var b strings.Builder
		for _, o := range l.Hosts {
			if o != h && o.Subnet == s {
				fmt.Fprintf(&b, "neigh replace %s lladdr %s dev eth0 nud permanent\n", o.Addr, o.MAC())
			}
		}
		cmd := exec.Command("ip", "-n", h.NS, "-batch", "-")
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			l.t.Fatalf("lab: neighbours of %s: %v\n%s", h.NS, err, out)
		}
	}
}

func (l *Lab) must(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("lab: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// SetLoss drops pct percent of the UDP datagrams crossing the switch (0 stops dropping).
func (l *Lab) SetLoss(pct int) {
	l.t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		skipOrFail(l.t, fmt.Errorf("packet loss needs nftables' nft: %w", err))
	}
	nft := func(args ...string) error {
		out, err := exec.Command("ip", append([]string{"netns", "exec", l.sw, "nft"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	_ = nft("delete", "table", "bridge", "loss")
	if pct <= 0 {
		return
	}
	for _, cmd := range [][]string{
		{"add", "table", "bridge", "loss"},
		{"add", "chain", "bridge", "loss", "drops", "{ type filter hook forward priority 0; }"},
		{"add", "rule", "bridge", "loss", "drops", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop"},
	} {
		if err := nft(cmd...); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
}

// LinkDown takes host i's (from 1) link to the switch down: it vanishes from the LAN
// without a word, as a machine that crashed or was unplugged.
func (l *Lab) LinkDown(i int) {
	l.t.Helper()
	l.must("-n", l.sw, "link", "set", fmt.Sprintf("v%d", i), "down")
}

// Shape limits the rate of traffic the switch sends to host i (from 1) with a token bucket
// (tc tbf), e.g. rate "1gbit"; "" removes the limit.
func (l *Lab) Shape(i int, rate string) {
	l.t.Helper()
	if _, err := exec.LookPath("tc"); err != nil {
		skipOrFail(l.t, fmt.Errorf("shaping needs iproute2's tc: %w", err))
	}
	dev := fmt.Sprintf("v%d", i)
	exec.Command("ip", "netns", "exec", l.sw, "tc", "qdisc", "del", "dev", dev, "root").Run()
	if rate == "" {
		return
	}
	// A burst of 1 ms at the rate (at least 64 KiB) keeps TCP smooth without overshooting.
	out, err := exec.Command("ip", "netns", "exec", l.sw, "tc", "qdisc", "add", "dev", dev, "root",
		"tbf", "rate", rate, "burst", "256kb", "latency", "50ms").CombinedOutput()
	if err != nil {
		l.t.Fatalf("lab: tc tbf %s on %s: %v\n%s", rate, dev, err, out)
	}
}

func (l *Lab) teardown() {
	for _, h := range l.Hosts {
		h.mu.Lock()
		procs := h.proc
		h.mu.Unlock()
		for _, p := range procs {
			p.Kill()
		}
	}
	for _, h := range l.Hosts {
		exec.Command("ip", "netns", "del", h.NS).Run()
	}
	if l.Router != "" {
		exec.Command("ip", "netns", "del", l.Router).Run()
	}
	exec.Command("ip", "netns", "del", l.sw).Run()
}

// Do runs fn on a thread inside the host's network namespace: sockets fn creates belong to
// the host and stay there afterwards.
func (h *Host) Do(fn func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + h.NS)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := setns(target.Fd()); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering %s: %w", h.NS, err)
	}
	ferr := fn()
	if err := setns(self.Fd()); err != nil {
		// The thread is stuck in the lab's namespace: keep it locked so it dies with the
		// goroutine instead of running other code there.
		return fmt.Errorf("leaving %s: %w", h.NS, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// ListenUDP opens a UDP socket on the host's address (port 0 picks a free port).
func (h *Host) ListenUDP(port int) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := h.Do(func() (err error) {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(h.Addr.AsSlice()), Port: port})
		return err
	})
	return c, err
}

func setns(fd uintptr) error {
	return unix.Setns(int(fd), unix.CLONE_NEWNET)
}

// Proc is a program running on a host, whose standard output is read as JSON event lines.
type Proc struct {
	Host   *Host
	Cmd    *exec.Cmd
	Log    string // the path of its standard error
	events chan map[string]any
	done   chan struct{}
	mu     sync.Mutex
	all    []map[string]any
}

// Start runs bin with args on the host. Its standard error goes to a file in dir.
func (h *Host) Start(dir, bin string, args ...string) *Proc {
	t := h.lab.t
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", filepath.Base(h.NS), time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
	// A process group of its own, so that Kill and Stop reach what it starts (iptux under
	// dbus-run-session), which would otherwise keep its output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s on %s: %v", bin, h.NS, err)
	}
	logf.Close()
	p := &Proc{Host: h, Cmd: cmd, Log: logPath, events: make(chan map[string]any, 100000), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.mu.Lock()
				p.all = append(p.all, ev)
				p.mu.Unlock()
				p.events <- ev
			}
		}
		cmd.Wait()
	}()
	h.mu.Lock()
	h.proc = append(h.proc, p)
	h.mu.Unlock()
	// Killed at the end of the test before the directories made before it are removed (the
	// lab's own teardown comes after them): a node still writing its downloads or profile
	// would make their removal fail.
	t.Cleanup(p.Kill)
	return p
}

// WaitEvent returns the next event of type typ for which match (if any) is true, skipping
// others, or fails the test after timeout.
func (p *Proc) WaitEvent(typ string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	t := p.Host.lab.t
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-p.events:
			if ev["type"] == typ && (match == nil || match(ev)) {
				return ev
			}
		case <-p.done:
			t.Fatalf("%s exited while waiting for %s; its log:\n%s", p.Host.NS, typ, p.LogTail())
		case <-deadline:
			t.Fatalf("%s: no %s event within %v; its log:\n%s", p.Host.NS, typ, timeout, p.LogTail())
		}
	}
}

// Events returns a copy of every event read so far.
func (p *Proc) Events() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.all...)
}

// Alive reports whether the program is still running.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL (a crash, a pulled plug) to the program and what it started, and waits
// for it to end.
func (p *Proc) Kill() {
	if !p.Alive() {
		return // ended and reaped: its process group's number may be another's by now
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM (a clean quit) and waits for the program to end; it returns the exit
// code.
func (p *Proc) Stop() int {
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
	return p.Cmd.ProcessState.ExitCode()
}

// LogTail returns the end of the program's standard error.
func (p *Proc) LogTail() string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// Run runs a short command on the host and returns its standard output, standard error and
// exit code.
func (h *Host) Run(bin string, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code == 0 {
		code = -1
		e.WriteString(err.Error())
	}
	return o.String(), e.String(), code
}

// Capture records every frame that crosses the lab's switch into a pcap file at path with
// tcpdump, until the returned stop is called (or the test ends).
func (l *Lab) Capture(path string) (stop func()) {
	l.t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		skipOrFail(l.t, fmt.Errorf("capturing needs tcpdump: %w", err))
	}
	cmd := exec.Command("ip", "netns", "exec", l.sw, "tcpdump", "-i", "br0", "-U", "-B", "65536", "-s", "0", "-w", path)
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("tcpdump: %v", err)
	}
	// tcpdump says "listening on br0" once it captures.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "listening on") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			l.t.Fatalf("tcpdump did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGINT)
			cmd.Wait()
		})
	}
	l.t.Cleanup(stop)
	return stop
}

// lockedBuffer is a buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// ChangeAddr gives the host a new address on its subnet in place of its own, while its
// programs run (a DHCP renewal, a laptop plugged into another port): the new address is
// added, then the old one removed.
func (h *Host) ChangeAddr(to netip.Addr) {
	l := h.lab
	l.t.Helper()
	// Removing the primary address would take the new one (a secondary on the same subnet)
	// with it, unless secondaries are promoted.
	if out, err := exec.Command("ip", "netns", "exec", h.NS, "sysctl", "-q", "-w", "net.ipv4.conf.eth0.promote_secondaries=1").CombinedOutput(); err != nil {
		l.t.Fatalf("lab: promote_secondaries on %s: %v\n%s", h.NS, err, out)
	}
	l.must("-n", h.NS, "addr", "add", to.String()+"/24", "brd", "+", "dev", "eth0")
	l.must("-n", h.NS, "addr", "del", h.Addr.String()+"/24", "dev", "eth0")
	h.Addr = to
}

// ChangeAddr6 gives the host a new IPv6 address in place of its fd21:3:: one, while its
// programs run (a renumbering): the new address is added, then the old one removed.
func (h *Host) ChangeAddr6(to netip.Addr) {
	l := h.lab
	l.t.Helper()
	l.must("-n", h.NS, "addr", "add", to.String()+"/64", "dev", "eth0", "nodad")
	l.must("-n", h.NS, "addr", "del", h.Addr6.String()+"/64", "dev", "eth0")
	h.Addr6 = to
}
