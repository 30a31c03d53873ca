package doctor

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"feigo/lan"
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
	if got := dropRules(nft, 2425); len(got) != 1 || got[0] != "udp dport 2425 drop" {
		t.Fatalf("nft: %q", got)
	}
	ipt := "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 2425 -j REJECT --reject-with icmp-port-unreachable\n-A INPUT -p tcp --dport 22 -j DROP"
	if got := dropRules(ipt, 2425); len(got) != 1 || !strings.Contains(got[0], "REJECT") {
		t.Fatalf("iptables: %q", got)
	}
	closed := "table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  tcp dport 22 accept\n }\n}"
	if got := dropRules(closed, 2425); len(got) != 1 || !strings.Contains(got[0], "no rule lets port 2425 in") {
		t.Fatalf("policy drop: %q", got)
	}
	open := "table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  udp dport 2425 accept\n  tcp dport 2425 accept\n }\n}"
	if got := dropRules(open, 2425); len(got) != 0 {
		t.Fatalf("a closed firewall that lets 2425 in: %q", got)
	}
	if got := dropRules("tcp dport 24250 accept\nudp dport 12425 drop", 2425); len(got) != 0 {
		t.Errorf("other ports taken for 2425: %q", got)
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
		g    lan.Greeting
		want string
	}{
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), Answered: true, RTT: 1500 * time.Microsecond, TCP: "open"}, "answers a greeting in 1.5 ms; its TCP port 2425 accepts"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), Answered: true, TCP: "no answer"}, "files and encryption need that port"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "refused"}, "not running on it"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "open"}, "its firewall drops UDP 2425"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.1.2.3:2425"), TCP: "no answer"}, "the machine is off, or a firewall"},
		{lan.Greeting{Addr: netip.MustParseAddrPort("10.9.5.7:2425"), TCP: "no answer"}, "a different VLAN; add 10.9.5.255 or 10.9.5.7 in Settings"},
	} {
		if got := Diagnose(c.g, lab); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.g, got, c.want)
		}
	}
}
