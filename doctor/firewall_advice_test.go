package doctor

import (
	"strings"
	"testing"
)

func TestWindowsFirewallAdvice(t *testing.T) {
	exe := `C:\Program Files\FeiGo\FeiGo.exe`
	got := strings.Join(windowsFirewallAdvice(exe, 2425, false), "\n")
	for _, want := range []string{
		"Windows Defender Firewall",
		"2425",
		`netsh advfirewall firewall add rule name="FeiGo" dir=in action=allow program="C:\Program Files\FeiGo\FeiGo.exe" enable=yes`,
		"administrator",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("advice without a rule lacks %q:\n%s", want, got)
		}
	}
	got = strings.Join(windowsFirewallAdvice(exe, 2425, true), "\n")
	if strings.Contains(got, "netsh") || !strings.Contains(got, `rule named "FeiGo"`) {
		t.Errorf("advice with a rule: %s", got)
	}
}
