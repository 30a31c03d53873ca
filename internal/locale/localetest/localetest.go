// Package localetest finds, for a package's tests, the texts its sources pass as literals to
// their translation functions and a catalogue lacks, so that no English sentence shows where
// the user chose Chinese.
package localetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Untranslated reads the non-test Go files of dir and reports, as test errors, every string
// literal passed to one of calls that translated says has no translation. calls maps a
// function's name ("T") or a method's (".t") to the index of its text argument. Texts with
// no lower-case Latin letter are taken as needing none.
func Untranslated(t *testing.T, dir string, calls map[string]int, translated func(string) bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn := ""
			switch x := call.Fun.(type) {
			case *ast.SelectorExpr:
				fn = "." + x.Sel.Name
			case *ast.Ident:
				fn = x.Name
			}
			arg, ok := calls[fn]
			if !ok || len(call.Args) <= arg {
				return true
			}
			lit, ok := call.Args[arg].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || s == "" {
				return true
			}
			if !translated(s) && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
				t.Errorf("%s: %q has no Chinese", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}
