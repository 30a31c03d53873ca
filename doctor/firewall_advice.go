package doctor

import (
	"fmt"

	"feigo/internal/locale"
	"feigo/internal/safetext"
)

// firewallRuleName is the name of the Windows Defender Firewall rule the doctor suggests.
const firewallRuleName = "FeiGo"

// windowsFirewallAdvice is what the doctor says, in lang, of Windows Defender Firewall:
// whether a rule named FeiGo lets it in, and if not, the command that adds one for exe (run as
// administrator), since colleagues cannot see or reach a FeiGo the firewall blocks.
func windowsFirewallAdvice(exe string, port int, ruleFound bool, lang locale.Lang) []string {
	if ruleFound {
		return []string{words.T(lang, "Windows Defender Firewall has a rule named %q (check it allows %s on this network's profile)", firewallRuleName, exe)}
	}
	return []string{
		words.T(lang, "Windows Defender Firewall has no rule named %q: unless FeiGo was allowed when Windows asked at its first start, colleagues cannot see or reach this machine (UDP and TCP %d)", firewallRuleName, port),
		words.T(lang, "to allow it, run in a Command Prompt opened as administrator:"),
		fmt.Sprintf(`  netsh advfirewall firewall add rule name="%s" dir=in action=allow program="%s" enable=yes profile=private,domain`, firewallRuleName, exe),
	}
}

// firewallWords says, in lang, what dropRules found in nftables' and iptables' rules.
func firewallWords(port int, policy string, rules []string, lang locale.Lang) []string {
	if policy == "" && len(rules) == 0 {
		return []string{words.T(lang, "no rule found that drops port %d (nftables and iptables looked at, where present)", port)}
	}
	var out []string
	if policy != "" {
		out = append(out, words.T(lang, "the firewall drops what no rule lets in: %s (and no rule lets port %d in)", safetext.Printable(policy), port))
	}
	for _, r := range rules {
		out = append(out, words.T(lang, "the firewall drops FeiGo's port: %s", safetext.Printable(r)))
	}
	return append(out, words.T(lang, "colleagues cannot see or reach this machine until port %d (UDP and TCP) is let in", port))
}
