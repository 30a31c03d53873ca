package doctor

import (
	"bytes"
	"os"
	"os/exec"
	"time"

	"feigo/internal/locale"
)

// firewallReport (in words of the language asked) names Windows Defender Firewall, which blocks what comes in to a program it
// was not told to allow, and says how to allow FeiGo when no rule named FeiGo exists.
func firewallReport(port int) func(locale.Lang) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = `C:\path\to\FeiGo.exe`
	}
	// netsh's words are in the system's language, but its exit code is not (0 when a rule of
	// that name exists) and the rule's name is printed as it is; both are required, since a
	// netsh that does not know advfirewall (Wine's) exits 0 too.
	c := exec.Command("netsh", "advfirewall", "firewall", "show", "rule", "name="+firewallRuleName, "dir=in")
	c.WaitDelay = 2 * time.Second
	out, err := c.Output()
	found := err == nil && bytes.Contains(out, []byte(firewallRuleName))
	return func(lang locale.Lang) []string { return windowsFirewallAdvice(exe, port, found, lang) }
}
