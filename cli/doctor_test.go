package cli

import (
	"testing"

	"feigo/doctor"
	"feigo/internal/locale"
	"feigo/internal/locale/localetest"
)

// TestDoctorCommandHasChinese: what `feigo doctor` says of its own (through doctor.Say) has
// its Chinese, for a terminal whose locale is Chinese.
func TestDoctorCommandHasChinese(t *testing.T) {
	localetest.Untranslated(t, ".", map[string]int{".Say": 1}, func(s string) bool { return doctor.Say(locale.Chinese, s) != s })
}
