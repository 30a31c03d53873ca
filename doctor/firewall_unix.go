//go:build !windows

package doctor

import (
	"os/exec"
	"strings"
	"time"

	"feigo/internal/locale"
)

// firewallReport looks at nftables' and iptables' rules and returns what they do to FeiGo's
// port, in words of the language asked.
func firewallReport(port int) func(locale.Lang) []string {
	policy, rules := firewallDrops(port)
	return func(lang locale.Lang) []string { return firewallWords(port, policy, rules, lang) }
}

// firewallDrops returns what drops or rejects FeiGo's port (see dropRules): from nftables'
// ruleset and iptables' rules, where those tools are present and readable.
func firewallDrops(port int) (policy string, rules []string) {
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
