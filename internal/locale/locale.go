// Package locale is the language FeiGo speaks to its user: Chinese where the system's locale
// (or the user's choice) is Chinese, else English, with catalogues of translations keyed by
// the English text. The window (ui) and the command line share it; it does not import Fyne.
package locale

import (
	"fmt"
	"os"
	"strings"
)

// Lang is a language FeiGo speaks.
type Lang string

// The languages FeiGo speaks.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// System picks Chinese when the system's locale is Chinese, else English: the first of
// LC_ALL, LC_MESSAGES, LANG and LANGUAGE that is set decides (zh_CN.UTF-8, zh_TW, zh…).
func System() Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		if s := os.Getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "zh") {
				return Chinese
			}
			return English
		}
	}
	return English
}

// Parse reads "en", "zh", "zh_CN.UTF-8" and the like; "" or "system" is System.
func Parse(s string) Lang {
	s = strings.ToLower(s)
	switch {
	case s == "" || s == "system":
		return System()
	case strings.HasPrefix(s, "zh"):
		return Chinese
	}
	return English
}

// Catalog maps English texts (fmt formats) to their Chinese.
type Catalog map[string]string

// T translates msg to lang from c and formats it with args as fmt.Sprintf does; a text the
// catalogue lacks stays English.
func (c Catalog) T(lang Lang, msg string, args ...any) string {
	if lang == Chinese {
		if z, ok := c[msg]; ok {
			msg = z
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}
