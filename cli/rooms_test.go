package cli

import (
	"strings"
	"testing"
)

func TestRoomUsage(t *testing.T) {
	prof := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"room"}, "Usage: feigo room"},
		{[]string{"room", "--profile", prof}, "Usage: feigo room"},
		{[]string{"room", "frob", "--profile", prof}, `unknown subcommand "frob"`},
		{[]string{"room", "--profile", prof, "create", "项目组"}, "need NAME and at least one MEMBER"},
		{[]string{"room", "send", "--profile", prof, "r"}, "need ROOM and TEXT"},
		{[]string{"room", "remove", "r", "a", "b", "--profile", prof}, "need ROOM and one MEMBER"},
		{[]string{"room", "history", "--profile", prof}, "need one ROOM"},
		{[]string{"room", "members", "--profile", prof}, "need one ROOM"},
	} {
		_, errOut, code := run(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %q", tc.args, code, errOut)
		}
	}
	// With the subcommand after --profile, it reaches the node (none runs here).
	if _, errOut, code := run("room", "--profile", prof, "members", "r"); code != 1 || !strings.Contains(errOut, "no FeiGo is running") {
		t.Errorf("room members with no node: exit %d, %q", code, errOut)
	}
	// Listing reads the profile's history when no node runs: a new profile has no rooms.
	if out, errOut, code := run("room", "--profile", prof, "list"); code != 0 || strings.TrimSpace(out) != "no rooms" {
		t.Errorf("room list with no node: exit %d, %q %q", code, out, errOut)
	}
	if _, errOut, code := run("room", "--profile", prof, "history", "r"); code != 1 || !strings.Contains(errOut, "no such room") {
		t.Errorf("room history of a new profile with no node: exit %d, %q", code, errOut)
	}
}
