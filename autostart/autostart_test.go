//go:build !windows

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	if p, err := Path(); err != nil || p != filepath.Join(home, ".config/autostart/feigo.desktop") {
		t.Errorf("no XDG_CONFIG_HOME: %q %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/dir") // not absolute: ignored, as the spec says
	if p, _ := Path(); p != filepath.Join(home, ".config/autostart/feigo.desktop") {
		t.Errorf("relative XDG_CONFIG_HOME: %q", p)
	}
	t.Setenv("XDG_CONFIG_HOME", "/x/conf")
	if p, _ := Path(); p != "/x/conf/autostart/feigo.desktop" {
		t.Errorf("XDG_CONFIG_HOME=/x/conf: %q", p)
	}
	// No home and no XDG_CONFIG_HOME: nothing to remove, and no entry can be written.
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if _, err := Set(false, "/usr/bin/feigo", "/p"); err != nil {
		t.Errorf("off without a home: %v", err)
	}
	if _, err := Set(true, "/usr/bin/feigo", "/p"); err == nil {
		t.Error("on without a home: no error")
	}
}

func TestSetOnOff(t *testing.T) {
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	exe, prof := "/usr/bin/feigo", "/home/li lei/.config/feigo"
	path, err := Set(true, exe, prof)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(conf, "autostart", FileName) {
		t.Errorf("written to %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", "Name=FeiGo\n",
		`Exec=/usr/bin/feigo gui --profile "/home/li lei/.config/feigo"` + "\n", "X-FeiGo-Profile=/home/li lei/.config/feigo\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("entry lacks %q:\n%s", want, text)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if on, err := Enabled(prof); !on || err != nil {
		t.Errorf("Enabled(%q) = %v, %v", prof, on, err)
	}
	if on, _ := Enabled("/other"); on {
		t.Error("enabled for another profile")
	}

	// Off in another profile leaves this one's entry.
	if _, err := Set(false, exe, "/other"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("another profile's off removed the entry: %v", err)
	}
	// Off in this profile removes it; again is no error.
	for range 2 {
		if _, err := Set(false, exe, prof); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("entry still there: %v", err)
		}
	}
	if on, err := Enabled(prof); on || err != nil {
		t.Errorf("after off: %v %v", on, err)
	}
	// A user's own feigo.desktop (not FeiGo's) is left alone.
	os.WriteFile(path, []byte("[Desktop Entry]\nExec=mine\n"), 0o644)
	if _, err := Set(false, exe, prof); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error("a foreign entry was removed")
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/feigo": "/usr/bin/feigo",
		"/a b":           `"/a b"`,
		`/a"b`:           `"/a\\"b"`,
		"/a$b":           `"/a\\$b"`,
		`/a\b`:           `"/a\\\\b"`,
		"/100%":          "/100%%",
		"/it's":          `"/it's"`,
		"/x`rm -rf ~`":   "\"/x\\\\`rm -rf ~\\\\`\"",
		"/中文/飞秋":         "/中文/飞秋",
	} {
		if got, err := quote(in); err != nil || got != want {
			t.Errorf("quote(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"/a\nb", "/a\x00"} {
		if _, err := Entry("/usr/bin/feigo", bad); err == nil {
			t.Errorf("%q was written", bad)
		}
	}
	if _, err := Entry("feigo", "/p"); err == nil {
		t.Error("a relative executable was written")
	}
}
