package doctor

import (
	"strings"
	"testing"

	"feigo/internal/locale"
)

func TestWindowsFirewallAdvice(t *testing.T) {
	exe := `C:\Program Files\FeiGo\FeiGo.exe`
	got := strings.Join(windowsFirewallAdvice(exe, 2425, false, locale.English), "\n")
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
	got = strings.Join(windowsFirewallAdvice(exe, 2425, true, locale.English), "\n")
	if strings.Contains(got, "netsh") || !strings.Contains(got, `rule named "FeiGo"`) {
		t.Errorf("advice with a rule: %s", got)
	}
}

// TestWindowsFirewallAdviceInChinese: the same advice in Chinese, with the command as it is.
func TestWindowsFirewallAdviceInChinese(t *testing.T) {
	exe := `C:\Program Files\FeiGo\FeiGo.exe`
	got := strings.Join(windowsFirewallAdvice(exe, 2425, false, locale.Chinese), "\n")
	for _, want := range []string{
		`Windows Defender 防火墙里没有名为 "FeiGo" 的规则`,
		"以管理员身份打开命令提示符",
		`netsh advfirewall firewall add rule name="FeiGo" dir=in action=allow program="C:\Program Files\FeiGo\FeiGo.exe" enable=yes`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Chinese advice without a rule lacks %q:\n%s", want, got)
		}
	}
	if got := windowsFirewallAdvice(exe, 2425, true, locale.Chinese)[0]; !strings.Contains(got, `名为 "FeiGo" 的规则（请确认它在当前网络类型下放行了 C:\Program Files\FeiGo\FeiGo.exe）`) {
		t.Errorf("Chinese advice with a rule: %s", got)
	}
}
