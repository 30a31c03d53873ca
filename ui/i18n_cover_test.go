package ui

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

// TestEveryTextHasChinese: every text the window passes to its translation (u.t, T) as a
// literal has a Chinese entry, so no English sentence shows in the Chinese window. It reads
// the package's sources.
func TestEveryTextHasChinese(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	missing := map[string]string{}
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
			arg := -1
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if fn.Sel.Name == "t" {
					arg = 0
				}
			case *ast.Ident:
				if fn.Name == "T" {
					arg = 1
				}
			}
			if arg < 0 || len(call.Args) <= arg {
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
			if T(Chinese, s) == s && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
				missing[s] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	for s, at := range missing {
		t.Errorf("%s: %q has no Chinese", at, s)
	}
}
