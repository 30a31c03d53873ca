package ui

import (
	"testing"

	"feigo/internal/locale/localetest"
)

// TestEveryTextHasChinese: every text the window passes to its translation (u.t, T) as a
// literal has a Chinese entry, so no English sentence shows in the Chinese window. It reads
// the package's sources.
func TestEveryTextHasChinese(t *testing.T) {
	localetest.Untranslated(t, ".", map[string]int{".t": 0, "T": 1}, func(s string) bool { return T(Chinese, s) != s })
}
