package doctor

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"feigo/internal/locale"
	"feigo/internal/locale/localetest"
	"feigo/lan"
	"feigo/peers"
)

func TestDoctorFirewallRules(t *testing.T) {
	nft := `table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 accept
		udp dport 2425 drop
		tcp dport { 80, 443 } accept
	}
}`
	if pol, got := dropRules(nft, 2425); pol != "" || len(got) != 1 || got[0] != "udp dport 2425 drop" {
		t.Fatalf("nft: %q %q", pol, got)
	}
	ipt := "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 2425 -j REJECT --reject-with icmp-port-unreachable\n-A INPUT -p tcp --dport 22 -j DROP"
	if pol, got := dropRules(ipt, 2425); pol != "" || len(got) != 1 || !strings.Contains(got[0], "REJECT") {
		t.Fatalf("iptables: %q %q", pol, got)
	}
	closed := "table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  tcp dport 22 accept\n }\n}"
	if pol, got := dropRules(closed, 2425); pol != "type filter hook input priority filter; policy drop;" || len(got) != 0 {
		t.Fatalf("policy drop: %q %q", pol, got)
	}
	if pol, _ := dropRules("-P INPUT DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT", 2425); pol != "-P INPUT DROP" {
		t.Fatalf("iptables policy drop: %q", pol)
	}
	open := "table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  udp dport 2425 accept\n  tcp dport 2425 accept\n }\n}"
	if pol, got := dropRules(open, 2425); pol != "" || len(got) != 0 {
		t.Fatalf("a closed firewall that lets 2425 in: %q %q", pol, got)
	}
	if pol, got := dropRules("tcp dport 24250 accept\nudp dport 12425 drop", 2425); pol != "" || len(got) != 0 {
		t.Errorf("other ports taken for 2425: %q %q", pol, got)
	}
}

func TestDoctorSocketTable(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:0979 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 555123 2 0000000000000000 0
  124: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 777 2 0000000000000000 0`
	if got := parseSocketTable(strings.NewReader(table), 2425); len(got) != 1 || got[0] != "555123" {
		t.Fatalf("%q", got)
	}
}

func TestDoctorDiagnosis(t *testing.T) {
	lab := []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24")}
	for _, c := range []struct {
		g        lan.Greeting
		want, zh string
	}{
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), Answered: true, RTT: 1500 * time.Microsecond, TCP: "open"},
			"answers a greeting in 1.5 ms; its TCP port 2425 accepts", "10.1.2.3 回应了问候，用时 1.5 毫秒；它的 TCP 2425 端口可以连接"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), Answered: true, TCP: "no answer"},
			"files and encryption need that port", "它的 TCP 2425 端口没有响应：消息能收发，但传文件和加密都要用这个端口"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "refused"},
			"not running on it", "对方没有运行 FeiGo 或 IP Messenger，或者它的防火墙拦截了 UDP 2425"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "open"},
			"its firewall drops UDP 2425", "它的 TCP 2425 端口可以连接：它的防火墙拦截了 UDP 2425"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "no answer"},
			"the machine is off, or a firewall", "10.1.2.3 没有回应：这台电脑没开机，或者防火墙拦截了 2425 端口"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.9.5.7:2425"), TCP: "no answer"},
			"a different VLAN; add 10.9.5.255 or 10.9.5.7 in Settings", "不在同一个 VLAN；请在“设置”的“其他广播地址或主机”中添加 10.9.5.255 或 10.9.5.7"},
		// An IPv6 address has no broadcast: the address itself is the advice (and no panic).
		{lan.Greeting{Addr: netip.MustParseAddrPort("[fd00::7]:2425"), TCP: "no answer"},
			"a firewall or a different network; add fd00::7 in Settings", "不在同一个网络；请在“设置”的“其他广播地址或主机”中添加 fd00::7"},
	} {
		if got := Diagnose(c.g, lab, locale.English); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.g, got, c.want)
		}
		if got := Diagnose(c.g, lab, locale.Chinese); !strings.Contains(got, c.zh) {
			t.Errorf("%+v in Chinese: %q, want %q", c.g, got, c.zh)
		}
	}
}

// TestDoctorFirewallWords: what the firewall's rules come to, in both languages.
func TestDoctorFirewallWords(t *testing.T) {
	got := strings.Join(firewallWords(2425, "policy drop;", []string{"udp dport 2425 drop"}, locale.English), "\n")
	for _, want := range []string{"the firewall drops what no rule lets in: policy drop; (and no rule lets port 2425 in)", "the firewall drops FeiGo's port: udp dport 2425 drop", "until port 2425 (UDP and TCP) is let in"} {
		if !strings.Contains(got, want) {
			t.Errorf("English lacks %q:\n%s", want, got)
		}
	}
	got = strings.Join(firewallWords(2425, "policy drop;", []string{"udp dport 2425 drop"}, locale.Chinese), "\n")
	for _, want := range []string{"防火墙默认拦截所有未放行的连接：policy drop;（且没有规则放行 2425 端口）", "防火墙拦截了 FeiGo 的端口：udp dport 2425 drop", "在放行 2425 端口（UDP 和 TCP）之前"} {
		if !strings.Contains(got, want) {
			t.Errorf("Chinese lacks %q:\n%s", want, got)
		}
	}
	if got := firewallWords(2425, "", nil, locale.Chinese); len(got) != 1 || got[0] != "没有发现拦截 2425 端口的规则（已检查本机安装的 nftables 和 iptables）" {
		t.Errorf("no rule, in Chinese: %q", got)
	}
}

// TestDoctorEveryTextHasChinese: every sentence the doctor says has its Chinese, so the
// Chinese window and a Chinese terminal show no English sentence.
func TestDoctorEveryTextHasChinese(t *testing.T) {
	localetest.Untranslated(t, ".", map[string]int{".T": 1, "say": 0, "Say": 1}, func(s string) bool { return words.T(locale.Chinese, s) != s })
}

// TestDoctorReportInChinese: the whole report (networks, port, firewall, colleagues) reads
// Chinese when asked, and no line of it is left in English; the same facts in English.
func TestDoctorReportInChinese(t *testing.T) {
	s := seen{
		subnets:  []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24")},
		ports:    [2]portSeen{{proto: "udp"}, {proto: "tcp", free: true}},
		firewall: func(l locale.Lang) []string { return firewallWords(2425, "", []string{"udp dport 2425 drop"}, l) },
	}
	listed := []peers.Peer{{Addr: netip.MustParseAddrPort("10.1.2.7:2425")}, {Addr: netip.MustParseAddrPort("10.9.0.7:2425")}}
	report := func(lang locale.Lang, running bool) string {
		var b strings.Builder
		s.write(&b, lang, "小王", running, listed)
		return b.String()
	}
	zh := report(locale.Chinese, true)
	for _, want := range []string{"网络：\n  10.1.2.0/24：上线广播发往 10.1.2.255\n", "端口 2425：\n  UDP 2425：FeiGo（小王）正在监听\n  TCP 2425：空闲，本机没有运行 FeiGo",
		"防火墙：\n  防火墙拦截了 FeiGo 的端口：udp dport 2425 drop\n", "同事（2 位）：\n  1 位在 10.1.2.0/24\n  1 位在其他网段（通过单播联系）\n"} {
		if !strings.Contains(zh, want) {
			t.Errorf("the Chinese report lacks %q:\n%s", want, zh)
		}
	}
	if strings.ContainsAny(strings.NewReplacer("FeiGo", "", "UDP", "", "TCP", "", "feigo serve", "", "feigo", "", "udp dport", "", "drop", "", "IPv6", "", "IPv4", "", "eth0", "", "fd21:3::/64", "", "ff15::979", "", "fe80::/10", "").Replace(zh), "abcdefghijklmnopqrstuvwxyz") {
		t.Errorf("English words left in the Chinese report:\n%s", zh)
	}
	if en := report(locale.English, true); !strings.Contains(en, "Colleagues (2):\n  1 on 10.1.2.0/24\n  1 on another subnet (reached by unicast)\n") {
		t.Errorf("the English report's colleagues:\n%s", en)
	}
	en := report(locale.English, false)
	for _, want := range []string{"Networks:\n  10.1.2.0/24: announcements go to 10.1.2.255\n  no IPv6 network: FeiGo runs on IPv4 alone\n", "UDP 2425: taken by another program, not by a FeiGo of this profile", "the firewall drops FeiGo's port: udp dport 2425 drop"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English report lacks %q:\n%s", want, en)
		}
	}
	if strings.Contains(en, "Colleagues") {
		t.Errorf("colleagues listed with no FeiGo running:\n%s", en)
	}
}

// TestDoctorReportIPv6: the interfaces with IPv6 (their subnets, or link-local only, and the
// group FeiGo announces to there), and colleagues at IPv6 addresses counted on those subnets
// or on the link, not "on another subnet"; an IPv6-only host is told it reaches colleagues
// over IPv6, not that it reaches no one.
func TestDoctorReportIPv6(t *testing.T) {
	s := seen{
		err:      nil,
		ifs6:     []lan.Interface6{{Name: "eth0", Prefixes: []netip.Prefix{netip.MustParsePrefix("fd21:3::/64")}}, {Name: "wlan0"}},
		ports:    [2]portSeen{{proto: "udp"}, {proto: "tcp"}},
		firewall: func(l locale.Lang) []string { return firewallWords(2425, "", nil, l) },
	}
	listed := []peers.Peer{
		{Addr: netip.MustParseAddrPort("[fd21:3::7]:2425")}, {Addr: netip.MustParseAddrPort("[fd21:3::8]:2425")},
		{Addr: netip.MustParseAddrPort("[fe80::9%wlan0]:2425")}, {Addr: netip.MustParseAddrPort("[2001:db8::1]:2425")},
	}
	for lang, wants := range map[locale.Lang][]string{
		locale.English: {"Networks:\n  no IPv4 network is up (<nil>): FeiGo reaches colleagues over IPv6 alone\n" +
			"  eth0: IPv6 fd21:3::/64; announcements go to ff15::979 there\n  wlan0: IPv6 link-local only; announcements go to ff15::979 there\n",
			"Colleagues (4):\n  2 on fd21:3::/64\n  1 on fe80::/10 (wlan0)\n  1 on another subnet (reached by unicast)\n"},
		locale.Chinese: {"  eth0：IPv6 fd21:3::/64；上线广播发往该网卡上的 ff15::979\n", "  2 位在 fd21:3::/64\n"},
	} {
		var b strings.Builder
		s.write(&b, lang, "小王", true, listed)
		for _, want := range wants {
			if !strings.Contains(b.String(), want) {
				t.Errorf("the report lacks %q:\n%s", want, b.String())
			}
		}
	}
	g := lan.Greeting{Addr: netip.MustParseAddrPort("[fe80::9%wlan0]:2425"), TCP: "timeout"}
	if got := Diagnose(g, nil, locale.English); !strings.Contains(got, "the machine is off, or a firewall drops port 2425") {
		t.Errorf("an unanswered colleague on the link: %s", got)
	}
	g.Addr = netip.MustParseAddrPort("[fd21:3::7]:2425")
	if got := Diagnose(g, []netip.Prefix{netip.MustParsePrefix("fd21:3::/64")}, locale.English); !strings.Contains(got, "the machine is off") {
		t.Errorf("an unanswered colleague on an IPv6 subnet of ours: %s", got)
	}
}
