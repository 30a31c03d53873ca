package xfer

import (
	"strings"
	"testing"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("长", 120) + ".txt" // 364 bytes
	for in, want := range map[string]string{
		"report.pdf":        "report.pdf",
		"../../etc/passwd":  ".._.._etc_passwd",
		"/abs/path":         "_abs_path",
		`C:\Windows\x.dll`:  "C__Windows_x.dll",
		"a\x00b":            "a_b",
		"tab\there\n":       "tab_here_",
		"CON":               "_CON",
		"nul.txt":           "_nul.txt",
		"COM1.log":          "_COM1.log",
		"com10.log":         "com10.log",
		"trailing. . ":      "trailing",
		"evil\u202etxt.exe": "evil_txt.exe",
		"\xff\xfebad":       "_bad",
		"  spaced  ":        "spaced",
		"who?*.txt":         "who__.txt",
		".hidden":           ".hidden",
	} {
		got, err := safeName(in)
		if err != nil || got != want {
			t.Errorf("safeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "..", "...", "  ", " . "} {
		if got, err := safeName(bad); err == nil {
			t.Errorf("safeName(%q) = %q, want an error", bad, got)
		}
	}
	got, err := safeName(long)
	if err != nil || len(got) > maxNameBytes-len(PartSuffix)-maxClashSuffix || !strings.HasSuffix(got, ".txt") || !strings.HasPrefix(got, "长长") {
		t.Errorf("long name → %q (%d bytes), %v", got, len(got), err)
	}
	// Every name a clash may pick, on the longest safe name, still fits with the partial suffix.
	for k := range maxNameTries {
		if c := candidate(got, k, nil); len(c)+len(PartSuffix) > maxNameBytes || !strings.HasSuffix(c, ".txt") {
			t.Errorf("candidate %d of the long name: %q (%d bytes)", k, c, len(c))
		}
	}
	if numbered("a.tar.gz", 2) != "a.tar (2).gz" || numbered("noext", 1) != "noext (1)" || numbered(".bashrc", 1) != ".bashrc (1)" {
		t.Errorf("numbered: %q %q %q", numbered("a.tar.gz", 2), numbered("noext", 1), numbered(".bashrc", 1))
	}
}
