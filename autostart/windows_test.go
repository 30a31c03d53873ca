//go:build windows

package autostart

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// TestRunKey: on Windows, autostart is a value of the user's Run key whose command line starts
// FeiGo's window with the profile (paths with spaces quoted as Windows splits them); turning it
// off from another profile leaves it, from its own removes it. The test uses a key of its own,
// not the real Run key.
func TestRunKey(t *testing.T) {
	key := fmt.Sprintf(`Software\FeiGo-test-%d`, os.Getpid())
	t.Cleanup(func() { registry.DeleteKey(registry.CURRENT_USER, key) })
	exe, dir := `C:\Program Files\FeiGo\FeiGo.exe`, `C:\Users\王芳\AppData\Roaming\feigo`
	if on, err := enabled(key, dir); on || err != nil {
		t.Fatalf("before: %v %v", on, err)
	}
	if _, err := set(key, true, exe, dir); err != nil {
		t.Fatal(err)
	}
	if on, err := enabled(key, dir); !on || err != nil {
		t.Fatalf("after on: %v %v", on, err)
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, key, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	cmd, _, err := k.GetStringValue(value)
	k.Close()
	args, derr := windows.DecomposeCommandLine(cmd)
	if err != nil || derr != nil || len(args) != 4 || args[0] != exe || args[1] != "gui" || args[2] != "--profile" || args[3] != dir {
		t.Fatalf("the Run value is %q: %q %v %v", cmd, args, err, derr)
	}
	if _, err := set(key, false, exe, `D:\other`); err != nil {
		t.Fatal(err)
	}
	if on, _ := enabled(key, dir); !on {
		t.Fatal("another profile's off removed this profile's start")
	}
	if _, err := set(key, false, exe, dir); err != nil {
		t.Fatal(err)
	}
	if on, _ := enabled(key, dir); on {
		t.Fatal("off left the start in place")
	}
	if _, err := set(key, true, `FeiGo.exe`, dir); err == nil {
		t.Fatal("a relative program path was written")
	}
}
