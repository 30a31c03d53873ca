// Package leakcheck fails a package's tests when goroutines of FeiGo's code outlive them:
// every long-lived piece must have stopped by the time its Run has returned and its test
// has cleaned up.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then checks that no goroutine running FeiGo's code is left. It
// waits up to grace for goroutines that are finishing. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 5*time.Second)) }
func Main(m *testing.M, grace time.Duration) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(grace)
	for {
		left := leaked()
		if len(left) == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutines of FeiGo's code outlived the tests:\n\n%s\n",
				len(left), strings.Join(left, "\n\n"))
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaked returns the stacks of goroutines that run FeiGo code, other than this check's and
// the test runner's.
func leaked() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "feigo/") || strings.Contains(g, "feigo/internal/leakcheck.") {
			continue
		}
		out = append(out, g)
	}
	return out
}
