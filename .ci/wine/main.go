// Command wine runs FeiGo's package tests compiled for Windows under Wine (make test-windows).
//
// It makes a throw-away Wine prefix (no display: WINEDEBUG=-all, DISPLAY unset), puts in it
// a stand-in bcryptprimitives.dll built with mingw-w64 from bcryptprimitives/ (Wine 8 lacks
// the DLL, which Go's runtime loads at start), compiles each package's tests for
// windows/amd64 (cgo off) and runs them, each package and the whole within a time limit. It
// prints what ran, passed, failed and was skipped per package, with the skip reasons, and
// fails when a test fails, a package's binary does not finish, or nothing ran.
//
// Each test binary gets one extra file, through go's -overlay (nothing is added to the
// packages): Wine 8 answers Go's FileDispositionInformationEx delete with
// STATUS_NOT_IMPLEMENTED, which Go does not take for "unsupported", so os.RemoveAll (and so
// every t.TempDir cleanup) fails there; the file sets Go's own switch to the fallback path
// Go uses on Windows before 10 1607 and on file systems without POSIX deletes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The packages whose tests can run on Windows without cgo (the GUI's app package needs it).
var defaultPkgs = "./ipmsg ./peers ./history ./xfer ./room ./lan ./node ./control ./cli ./trust ./profile ./legacygroup ./imgstore ./autostart ./internal/oserr ./internal/wine ./ui"

const shim = `package %s

import _ "unsafe"

// Wine 8 lacks FileDispositionInformationEx: use Go's fallback delete (see .ci/wine).
//
//go:linkname wineDeleteatFallback internal/syscall/windows.TestDeleteatFallback
var wineDeleteatFallback bool

func init() { wineDeleteatFallback = true }
`

// winPath is a Windows path in a skip reason (each test's temporary folder differs), so that
// one reason given by many tests is counted once.
var winPath = regexp.MustCompile(`[A-Z]:\\[^ :]*`)

type result struct {
	pkg                        string
	ran, passed, failed, skips int
	reasons                    map[string]int
	failures                   []string
	took                       time.Duration
	broken                     string // the binary did not build, crashed or overran
}

func main() {
	pkgs := flag.String("pkgs", defaultPkgs, "packages to test")
	total := flag.Duration("timeout", 20*time.Minute, "limit for everything")
	perPkg := flag.Duration("pkg-timeout", 6*time.Minute, "limit for one package's tests")
	wine := flag.String("wine", "/usr/lib/wine/wine64", "the wine64 loader")
	app := flag.String("app", "", "FeiGo.exe to start too (its help and its network doctor)")
	xpkgs := flag.String("xpkgs", "./screenshot", "packages tested with a display: an Xvfb of their own, which Wine draws on")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *total)
	defer cancel()
	if err := run(ctx, strings.Fields(*pkgs), strings.Fields(*xpkgs), *wine, *app, *perPkg); err != nil {
		fmt.Fprintln(os.Stderr, "test-windows:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, pkgs, xpkgs []string, wine, app string, perPkg time.Duration) error {
	tmp, err := os.MkdirTemp("", "feigo-wine-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	prefix := filepath.Join(tmp, "prefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	env = withoutVars(env, "DISPLAY=", "WAYLAND_DISPLAY=")
	defer func() { // the prefix's wineserver outlives its programs for a few seconds
		k := exec.Command(filepath.Join(filepath.Dir(wine), "wineserver"), "-k")
		k.Env = env
		_ = k.Run()
	}()

	t0 := time.Now()
	boot := exec.CommandContext(ctx, wine, "wineboot", "-i")
	boot.Env = env
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("making the Wine prefix: %v\n%s", err, out)
	}
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	src, _ := filepath.Abs(".ci/wine/bcryptprimitives/bcryptprimitives.c")
	def, _ := filepath.Abs(".ci/wine/bcryptprimitives/bcryptprimitives.def")
	cc := exec.CommandContext(ctx, "x86_64-w64-mingw32-gcc", "-O2", "-shared", "-o", dll, src, def, "-ladvapi32")
	if out, err := cc.CombinedOutput(); err != nil {
		return fmt.Errorf("building the bcryptprimitives.dll stand-in: %v\n%s", err, out)
	}
	fmt.Printf("Wine prefix ready in %v (%s)\n", time.Since(t0).Round(time.Second), wineVersion(wine, env))

	var results []result
	for _, p := range pkgs {
		if ctx.Err() != nil {
			results = append(results, result{pkg: p, broken: "not run: the total time limit was reached"})
			continue
		}
		results = append(results, testPkg(ctx, p, tmp, wine, env, perPkg))
	}
	for _, p := range xpkgs {
		if ctx.Err() != nil {
			results = append(results, result{pkg: p, broken: "not run: the total time limit was reached"})
			continue
		}
		display, stop, err := startXvfb(ctx)
		if err != nil {
			results = append(results, result{pkg: p, broken: err.Error()})
			continue
		}
		r := testPkg(ctx, p, tmp, wine, append(append([]string(nil), env...), "DISPLAY="+display), perPkg)
		r.pkg += " (on Xvfb)"
		results = append(results, r)
		stop()
	}
	if app != "" {
		results = append(results, smokeApp(ctx, app, wine, env))
	}
	return report(os.Stdout, results, time.Since(t0))
}

func wineVersion(wine string, env []string) string {
	c := exec.Command(wine, "--version")
	c.Env = env
	out, _ := c.Output()
	return strings.TrimSpace(string(out))
}

// withoutVars is env without the variables that start with one of prefixes.
func withoutVars(env []string, prefixes ...string) []string {
	var out []string
	for _, e := range env {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(e, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

func testPkg(ctx context.Context, pkg, tmp, wine string, env []string, limit time.Duration) (r result) {
	r = result{pkg: pkg, reasons: map[string]int{}}
	t0 := time.Now()
	defer func() { r.took = time.Since(t0) }()
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}} {{.Name}}", pkg).Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 2 {
		r.broken = fmt.Sprintf("go list: %v", err)
		return r
	}
	name := strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_")
	shimFile := filepath.Join(tmp, name+"_shim.go")
	if err := os.WriteFile(shimFile, fmt.Appendf(nil, shim, f[1]), 0o644); err != nil {
		r.broken = err.Error()
		return r
	}
	overlay := filepath.Join(tmp, name+"_overlay.json")
	ob, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(f[0], "zz_wine_shim_test.go"): shimFile}})
	os.WriteFile(overlay, ob, 0o644)
	exe := filepath.Join(tmp, name+".test.exe")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-overlay", overlay, "-ldflags=-checklinkname=0", "-o", exe, pkg)
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		r.broken = fmt.Sprintf("compiling for Windows: %v\n%s", err, b)
		return r
	}
	if _, err := os.Stat(exe); err != nil {
		r.broken = "no test files"
		return r
	}

	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// -test.timeout ends a stuck test inside the binary with its goroutines printed; the
	// context is the backstop if Wine itself hangs.
	timeout := limit - 30*time.Second
	cmd := exec.CommandContext(pctx, wine, exe, "-test.v=test2json", "-test.timeout="+timeout.String(), "-test.count=1")
	cmd.Env = env
	cmd.Dir = tmp
	cmd.WaitDelay = 10 * time.Second
	conv := exec.CommandContext(ctx, "go", "tool", "test2json", "-p", pkg)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	conv.Stdin = pr
	events, _ := conv.StdoutPipe()
	if err := conv.Start(); err != nil {
		r.broken = err.Error()
		return r
	}
	runErr := make(chan error, 1)
	go func() { err := cmd.Run(); pw.Close(); runErr <- err }()

	outputs := map[string][]string{}
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Test == "" {
			continue
		}
		top := !strings.Contains(ev.Test, "/")
		switch ev.Action {
		case "output":
			if len(outputs[ev.Test]) < 40 {
				outputs[ev.Test] = append(outputs[ev.Test], strings.TrimRight(ev.Output, "\n"))
			}
		case "pass":
			if top {
				r.ran++
				r.passed++
			}
		case "fail":
			if top {
				r.ran++
				r.failed++
				r.failures = append(r.failures, ev.Test+"\n"+strings.Join(outputs[ev.Test], "\n"))
			}
		case "skip":
			if top {
				r.ran++
				r.skips++
				r.reasons[skipReason(outputs[ev.Test])]++
			}
		}
	}
	conv.Wait()
	if err := <-runErr; err != nil && r.failed == 0 {
		r.broken = fmt.Sprintf("the test binary under Wine: %v", err)
		if errors.Is(pctx.Err(), context.DeadlineExceeded) {
			r.broken = fmt.Sprintf("overran its %v limit", limit)
		}
	}
	return r
}

// smokeApp starts the cross-compiled app's command line under Wine: `help` must print the
// usage, and `doctor` must name Windows Defender Firewall (the window itself is not opened).
func smokeApp(ctx context.Context, app, wine string, env []string) (r result) {
	r = result{pkg: "FeiGo.exe", reasons: map[string]int{}}
	t0 := time.Now()
	defer func() { r.took = time.Since(t0) }()
	exe, err := filepath.Abs(app)
	if err != nil {
		r.broken = err.Error()
		return r
	}
	for _, c := range []struct{ arg, want string }{
		{"help", "Usage: feigo COMMAND"},
		{"doctor", "Windows Defender Firewall"},
	} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(cctx, wine, exe, c.arg)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		cancel()
		r.ran++
		if err != nil || !strings.Contains(string(out), c.want) {
			r.failed++
			r.failures = append(r.failures, fmt.Sprintf("%s: %v, want %q in:\n%s", c.arg, err, c.want, out))
			continue
		}
		r.passed++
	}
	return r
}

// skipReason is the message a skipped test gave (the t.Skip line, without its file:line).
func skipReason(lines []string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") || l == "" {
			continue
		}
		if i := strings.Index(l, ": "); i > 0 && strings.Contains(l[:i], ".go:") {
			l = l[i+2:]
		}
		return winPath.ReplaceAllString(l, "<path>")
	}
	return "(no reason given)"
}

func report(w io.Writer, rs []result, took time.Duration) error {
	fmt.Fprintf(w, "\n%-22s %5s %6s %6s %7s %8s\n", "package (under Wine)", "ran", "passed", "failed", "skipped", "time")
	var ran, passed, failed, skipped int
	var bad []string
	for _, r := range rs {
		ran, passed, failed, skipped = ran+r.ran, passed+r.passed, failed+r.failed, skipped+r.skips
		fmt.Fprintf(w, "%-22s %5d %6d %6d %7d %8s\n", strings.TrimPrefix(r.pkg, "./"), r.ran, r.passed, r.failed, r.skips, r.took.Round(time.Second))
		if r.broken != "" {
			bad = append(bad, r.pkg+": "+r.broken)
		}
		if r.failed > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d failed", r.pkg, r.failed))
		}
	}
	fmt.Fprintf(w, "%-22s %5d %6d %6d %7d %8s\n", "total", ran, passed, failed, skipped, took.Round(time.Second))
	for _, r := range rs {
		if len(r.reasons) == 0 {
			continue
		}
		var keys []string
		for k := range r.reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "\nskipped in %s:\n", strings.TrimPrefix(r.pkg, "./"))
		for _, k := range keys {
			fmt.Fprintf(w, "  %3d × %s\n", r.reasons[k], k)
		}
	}
	for _, r := range rs {
		for _, f := range r.failures {
			fmt.Fprintf(w, "\nFAIL %s %s\n", strings.TrimPrefix(r.pkg, "./"), f)
		}
		if r.broken != "" {
			fmt.Fprintf(w, "\nBROKEN %s: %s\n", r.pkg, r.broken)
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	if ran == 0 {
		return errors.New("no test ran")
	}
	return nil
}

// startXvfb starts an Xvfb on a free display and returns its name; stop ends it (after the
// package's Wine programs, which the caller's wineserver -k ends too).
func startXvfb(ctx context.Context) (display string, stop func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	x := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		w.Close()
		return "", nil, fmt.Errorf("Xvfb (make deps installs it): %v", err)
	}
	w.Close()
	// SIGTERM, so that Xvfb removes its /tmp/.X<n>-lock (a killed one leaves it, and the
	// display number stays taken for the other tests that look for a free one).
	stop = func() { _ = x.Process.Signal(os.Interrupt); _ = x.Wait() }
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			stop()
			return "", nil, errors.New("Xvfb named no display")
		}
		return ":" + n, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("Xvfb did not start in 30 s")
	}
}
