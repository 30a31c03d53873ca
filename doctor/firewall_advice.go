package doctor

import "fmt"

// firewallRuleName is the name of the Windows Defender Firewall rule the doctor suggests.
const firewallRuleName = "FeiGo"

// windowsFirewallAdvice is what the doctor says of Windows Defender Firewall: whether a rule
// named FeiGo lets it in, and if not, the command that adds one for exe (run as
// administrator), since colleagues cannot see or reach a FeiGo the firewall blocks.
func windowsFirewallAdvice(exe string, port int, ruleFound bool) []string {
	if ruleFound {
		return []string{fmt.Sprintf("Windows Defender Firewall has a rule named %q (check it allows %s on this network's profile)", firewallRuleName, exe)}
	}
	return []string{
		fmt.Sprintf("Windows Defender Firewall has no rule named %q: unless FeiGo was allowed when Windows asked at its first start, colleagues cannot see or reach this machine (UDP and TCP %d)", firewallRuleName, port),
		"to allow it, run in a Command Prompt opened as administrator:",
		fmt.Sprintf(`  netsh advfirewall firewall add rule name="%s" dir=in action=allow program="%s" enable=yes profile=private,domain`, firewallRuleName, exe),
	}
}
