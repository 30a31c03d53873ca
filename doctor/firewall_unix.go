//go:build !windows

package doctor

import (
	"feigo/internal/safetext"
	"os/exec"
	"strings"
	"time"
)

// firewallReport says whether the local firewall drops FeiGo's port, from nftables' and
// iptables' rules.
func firewallReport(port int) []string {
	rules := firewallDrops(port)
	if len(rules) == 0 {
		return []string{"no rule found that drops port 2425 (nftables and iptables looked at, where present)"}
	}
	var out []string
	for _, r := range rules {
		out = append(out, "the firewall drops FeiGo's port: "+safetext.Printable(r))
	}
	return append(out, "colleagues cannot see or reach this machine until port 2425 (UDP and TCP) is let in")
}

// firewallDrops returns the firewall rules that drop or reject FeiGo's port: from nftables'
// ruleset and iptables' rules, where those tools are present and readable.
func firewallDrops(port int) []string {
	var text strings.Builder
	for _, cmd := range [][]string{{"nft", "list", "ruleset"}, {"iptables", "-S"}} {
		if _, err := exec.LookPath(cmd[0]); err != nil {
			continue
		}
		c := exec.Command(cmd[0], cmd[1:]...)
		c.WaitDelay = 2 * time.Second
		if out, err := c.Output(); err == nil {
			text.Write(out)
			text.WriteByte('\n')
		}
	}
	return dropRules(text.String(), port)
}
