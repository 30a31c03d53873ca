package main

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goList runs `go list` with args and returns its output's fields.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// TestCoreImportsNoUI keeps imports pointing one way: the wire, the peer table, the node
// and the CLI never depend on Fyne, so they build and test without cgo or a display.
func TestCoreImportsNoUI(t *testing.T) {
	core := []string{"./ipmsg", "./lan", "./xfer", "./peers", "./event", "./history", "./control", "./profile", "./node", "./cli"}
	var pkgs []string
	for _, p := range core {
		if _, err := os.Stat(p); err == nil {
			pkgs = append(pkgs, p)
		}
	}
	for _, dep := range goList(t, append([]string{"-deps"}, pkgs...)...) {
		if strings.HasPrefix(dep, "fyne.io/") {
			t.Errorf("a core package depends on %s", dep)
		}
	}
}

// TestWindowNeverImportsCLI: the window runs the node package, as `feigo serve` does; the
// command line is a face of its own, not the window's core.
func TestWindowNeverImportsCLI(t *testing.T) {
	for _, dep := range goList(t, "-deps", "./gui", "./ui") {
		if dep == "feigo/cli" {
			t.Errorf("the window depends on %s", dep)
		}
	}
}

// TestCodecIsPure: the IPMsg codec uses no sockets, no clock, no files and no other FeiGo
// package.
func TestCodecIsPure(t *testing.T) {
	for _, imp := range goList(t, "-f", "{{join .Imports \" \"}}", "./ipmsg") {
		switch imp {
		case "net", "net/netip", "time", "os", "syscall":
			t.Errorf("ipmsg imports %s", imp)
		}
	}
	for _, dep := range goList(t, "-deps", "./ipmsg") {
		if strings.HasPrefix(dep, "feigo/") && dep != "feigo/ipmsg" {
			t.Errorf("ipmsg depends on %s", dep)
		}
	}
}

// TestEveryPackageHasDoc: each package says what it is for in one package comment.
func TestEveryPackageHasDoc(t *testing.T) {
	dirs := map[string]bool{}
	filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") {
			dirs[filepath.Dir(p)] = true
		}
		return nil
	})
	for dir := range dirs {
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range pkgs {
			if strings.HasSuffix(name, "_test") && len(pkgs) > 1 {
				continue // an external test package of a documented one
			}
			documented := false
			for _, f := range pkg.Files {
				documented = documented || f.Doc != nil
			}
			if !documented {
				t.Errorf("package %s in %s has no package doc comment", name, dir)
			}
		}
	}
}

// TestNoProfileFilesInTree: a profile written by a test or a manual run (its ID file, its
// settings, its history) must never be committed.
func TestNoProfileFilesInTree(t *testing.T) {
	out, err := exec.Command("git", "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		switch filepath.Base(f) {
		case "id", "settings.json", "history.db", "transfers.json", "control.sock":
			t.Errorf("a profile file is committed: %s", f)
		}
	}
}
