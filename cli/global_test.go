package cli

import (
	"slices"
	"testing"
)

// `make run ARGS='--profile DIR'` runs `feigo --profile DIR`: global flags come before the
// command (or stand alone, for the window).
func TestGlobalFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		prof string
		rest []string
	}{
		{nil, "", nil},
		{[]string{"--profile", "/p"}, "/p", nil},
		{[]string{"-profile", "/p", "peers", "--json"}, "/p", []string{"peers", "--json"}},
		{[]string{"--profile=/p", "gui"}, "/p", []string{"gui"}},
		{[]string{"--profile", "/a", "--profile", "/b", "status"}, "/b", []string{"status"}},
		{[]string{"peers", "--profile", "/p"}, "", []string{"peers", "--profile", "/p"}},
		{[]string{"--version"}, "", []string{"--version"}},
		{[]string{"--profile", "/p", "--", "--version"}, "/p", []string{"--version"}},
	} {
		prof, rest, err := Global(c.args)
		if err != nil || prof != c.prof || !slices.Equal(rest, c.rest) {
			t.Errorf("Global(%q) = %q, %q, %v; want %q, %q", c.args, prof, rest, err, c.prof, c.rest)
		}
	}
	for _, bad := range [][]string{{"--profile"}, {"--profile="}, {"--profile", ""}} {
		if _, _, err := Global(bad); err == nil {
			t.Errorf("Global(%q) took it", bad)
		}
	}
}
