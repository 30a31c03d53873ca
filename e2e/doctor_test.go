//go:build linux

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
)

// `feigo doctor` on lab hosts: it names the firewall of a host that drops UDP 2425, says a
// colleague behind that firewall does not answer a greeting though its TCP port does, says
// an address on the subnet with no machine is off or firewalled, one on another subnet is a
// VLAN or firewall matter (with the addresses to add), and a colleague that works, works;
// in English, and in Chinese where the locale is Chinese.
func TestLabDoctor(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nftables' nft")
	}
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "Alice", "QA")
	c := serve(t, l.Hosts[2], "Carol", "QA")
	a.waitPeers(t, 1, 10*time.Second)
	walled := serve(t, l.Hosts[1], "Bob", "QA")
	for _, args := range [][]string{
		{"add", "table", "inet", "fw"},
		{"add", "chain", "inet", "fw", "input", "{ type filter hook input priority 0; }"},
		{"add", "rule", "inet", "fw", "input", "udp", "dport", "2425", "drop"},
	} {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", l.Hosts[1].NS, "nft"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("nft %v: %v %s", args, err, out)
		}
	}
	out, _, _ := walled.cliIn("C.UTF-8", "doctor")
	if !strings.Contains(out, "the firewall drops FeiGo's port: udp dport 2425 drop") || !strings.Contains(out, "FeiGo (Bob) listens") {
		t.Errorf("doctor behind a firewall:\n%s", out)
	}
	for _, c := range []struct{ target, want string }{
		{"10.213.0.2", "its firewall drops UDP 2425"},
		{"10.213.0.77", "no answer from 10.213.0.77: the machine is off, or a firewall drops port 2425"},
		{"10.213.7.9", "a firewall or a different VLAN; add 10.213.7.255 or 10.213.7.9 in Settings"},
		{"Carol", "10.213.0.3 answers a greeting in"},
	} {
		out, errOut, code := a.cliIn("C.UTF-8", "doctor", c.target)
		if !strings.Contains(out, c.want) {
			t.Errorf("doctor %s (exit %d):\n%s%s\nwant %q", c.target, code, out, errOut, c.want)
			continue
		}
		if ok := strings.Contains(c.want, "answers a greeting"); ok != (code == 0) {
			t.Errorf("doctor %s: exit %d", c.target, code)
		}
	}
	out, _, _ = a.cliIn("C.UTF-8", "doctor")
	if !strings.Contains(out, "10.213.0.0/24: announcements go to 10.213.0.255") || !strings.Contains(out, "on 10.213.0.0/24") {
		t.Errorf("doctor:\n%s", out)
	}
	// Where the locale is Chinese, the doctor speaks Chinese.
	out, _, _ = walled.cliIn("zh_CN.UTF-8", "doctor")
	for _, want := range []string{"10.213.0.0/24：上线广播发往 10.213.0.255", "UDP 2425：FeiGo（Bob）正在监听", "防火墙拦截了 FeiGo 的端口：udp dport 2425 drop", "同事（"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor in zh_CN lacks %q:\n%s", want, out)
		}
	}
	for _, c := range []struct{ target, want string }{
		{"10.213.0.2", "10.213.0.2 没有回应问候，但它的 TCP 2425 端口可以连接：它的防火墙拦截了 UDP 2425"},
		{"10.213.7.9", "10.213.7.9 没有回应：可能被防火墙拦截，或者不在同一个 VLAN；请在“设置”的“其他广播地址或主机”中添加 10.213.7.255 或 10.213.7.9"},
	} {
		if out, errOut, _ := a.cliIn("zh_CN.UTF-8", "doctor", c.target); !strings.Contains(out, c.want) {
			t.Errorf("doctor %s in zh_CN:\n%s%s\nwant %q", c.target, out, errOut, c.want)
		}
	}
	_ = c
}

// cliIn runs `feigo CMD --profile … ARGS…` against n with the locale set to locale (LC_ALL).
func (n *node) cliIn(locale string, args ...string) (stdout, stderr string, code int) {
	return n.Host.Run("env", append([]string{"LC_ALL=" + locale, bin, args[0], "--profile", n.profile}, args[1:]...)...)
}

// `feigo doctor` on an IPv6-only lab host: it says the colleagues are reached over IPv6 alone,
// names the interface's IPv6 subnet and the group announcements go to, counts the colleague
// on that subnet, greets it at its IPv6 address, and says an unanswered address on the
// subnet is off or firewalled.
func TestLabDoctorIPv6(t *testing.T) {
	l := lab.NewWith(t, 2, lab.Options{IPv6: true, NoIPv4: true})
	a := serve(t, l.Hosts[0], "Alice", "QA")
	serve(t, l.Hosts[1], "Bob", "QA")
	a.waitPeers(t, 1, 20*time.Second)
	out, _, _ := a.cliIn("C.UTF-8", "doctor")
	for _, want := range []string{"FeiGo reaches colleagues over IPv6 alone", "eth0: IPv6 fd21:3::/64; announcements go to ff15::979 there", "1 on fd21:3::/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	for _, c := range []struct{ target, want string }{
		{l.Hosts[1].Addr6.String(), l.Hosts[1].Addr6.String() + " answers a greeting in"},
		{"fd21:3::77", "no answer from fd21:3::77: the machine is off, or a firewall drops port 2425"},
	} {
		if out, errOut, code := a.cliIn("C.UTF-8", "doctor", c.target); !strings.Contains(out, c.want) {
			t.Errorf("doctor %s (exit %d):\n%s%s\nwant %q", c.target, code, out, errOut, c.want)
		}
	}
}
