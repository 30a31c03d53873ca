package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoUI keeps imports pointing one way: the wire, the peer table and the CLI
// core never depend on Fyne, so they build and test without cgo or a display.
func TestCoreImportsNoUI(t *testing.T) {
	pkgs := []string{"./lan", "./peers", "./control", "./profile", "./cli"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "fyne.io/") {
			t.Errorf("a core package depends on %s", dep)
		}
	}
}
