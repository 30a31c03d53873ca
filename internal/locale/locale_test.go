package locale

import "testing"

func TestSystemFollowsTheLocale(t *testing.T) {
	for _, c := range []struct {
		all, messages, lang, language string
		want                          Lang
	}{
		{"", "", "zh_CN.UTF-8", "", Chinese},
		{"zh_TW.UTF-8", "", "en_US.UTF-8", "", Chinese},
		{"C.UTF-8", "", "zh_CN.UTF-8", "", English}, // LC_ALL decides
		{"", "en_GB.UTF-8", "zh_CN.UTF-8", "", English},
		{"", "", "", "zh_CN:en", Chinese},
		{"", "", "", "", English},
	} {
		t.Setenv("LC_ALL", c.all)
		t.Setenv("LC_MESSAGES", c.messages)
		t.Setenv("LANG", c.lang)
		t.Setenv("LANGUAGE", c.language)
		if got := System(); got != c.want {
			t.Errorf("%+v: %s", c, got)
		}
	}
}

func TestParseAndCatalog(t *testing.T) {
	if Parse("zh_CN.UTF-8") != Chinese || Parse("en") != English || Parse("fr") != English {
		t.Error("Parse")
	}
	c := Catalog{"%d colleagues": "%d 位同事"}
	if got := c.T(Chinese, "%d colleagues", 3); got != "3 位同事" {
		t.Errorf("Chinese: %q", got)
	}
	if got := c.T(English, "%d colleagues", 3); got != "3 colleagues" {
		t.Errorf("English: %q", got)
	}
	if got := c.T(Chinese, "not in it"); got != "not in it" {
		t.Errorf("a text the catalogue lacks: %q", got)
	}
}
