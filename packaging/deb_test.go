package packaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// need returns the paths of the named tools; a missing one skips the test, or fails it under
// CI=true (make test installs them: dpkg-dev, appstream, lintian).
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (make deps installs it)", tool)
			}
			t.Skipf("%s is missing (make deps installs it): the package is not checked", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	// A cold build of feigo takes minutes on a loaded 2-core machine; -timeout bounds the whole.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestDeb builds the .deb from a freshly built feigo, checks what it holds and declares, and
// installs it into a throwaway root (dpkg --root: its own admin directory and files, never
// this machine's /usr), runs the installed feigo --version, and removes it again.
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds feigo and a package: not in -short")
	}
	need(t, "go", "dpkg", "dpkg-deb", "dpkg-shlibdeps", "dpkg-query", "appstreamcli", "lintian")
	dir := t.TempDir()
	bin := filepath.Join(dir, "feigo")
	// The flags e2e builds with (the build cache serves both), stripped as make package does.
	run(t, "go", "build", "-ldflags", "-s -w", "-o", bin, "feigo")
	version := strings.TrimPrefix(strings.TrimSpace(run(t, bin, "--version")), "FeiGo ")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	deb, err := Build(ctx, Config{Binary: bin, OutDir: filepath.Join(dir, "out"), Maintainer: "Test <test@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	arch := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	if want := fmt.Sprintf("feigo_%s_%s.deb", version, arch); filepath.Base(deb) != want {
		t.Errorf("package file %s, want %s", filepath.Base(deb), want)
	}

	// What it declares.
	info := run(t, "dpkg-deb", "--info", deb)
	field := func(name string) string {
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+": "); ok {
				return v
			}
		}
		t.Errorf("dpkg-deb --info has no %s:\n%s", name, info)
		return ""
	}
	if v := field("Package"); v != "feigo" {
		t.Errorf("Package: %q", v)
	}
	if v := field("Version"); v != version {
		t.Errorf("Version: %q, the binary says %q", v, version)
	}
	if v := field("Architecture"); v != arch {
		t.Errorf("Architecture: %q, want %q", v, arch)
	}
	depends := field("Depends")
	deps := map[string]bool{}
	for _, d := range strings.Split(depends, ", ") {
		deps[strings.Fields(d)[0]] = true
	}
	// libc6 and libgl1 are linked (dpkg-shlibdeps); the X11 extensions and Wayland's
	// libraries are opened at run time by GLFW and must be declared too.
	for _, p := range []string{"libc6", "libgl1", "libx11-6", "libxcursor1", "libxrandr2", "libxinerama1", "libxi6", "libegl1", "libwayland-client0", "libxkbcommon0"} {
		if !deps[p] {
			t.Errorf("Depends lacks %s: %s", p, depends)
		}
	}

	// What it holds: exactly these files.
	want := []string{
		"./usr/bin/feigo",
		"./usr/share/applications/io.github.feigo.desktop",
		"./usr/share/doc/feigo/changelog.gz",
		"./usr/share/doc/feigo/copyright",
		"./usr/share/man/man1/feigo.1.gz",
		"./usr/share/metainfo/io.github.feigo.metainfo.xml",
	}
	for _, s := range IconSizes {
		want = append(want, fmt.Sprintf("./usr/share/icons/hicolor/%dx%d/apps/io.github.feigo.png", s, s))
	}
	sort.Strings(want)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "--contents", deb)), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents line %q", l)
		}
		if f[1] != "root/root" {
			t.Errorf("%s owned by %s, want root/root", f[5], f[1])
		}
		if !strings.HasPrefix(f[0], "d") {
			got = append(got, f[5])
			if mode := f[0]; mode != "-rw-r--r--" && !(f[5] == "./usr/bin/feigo" && mode == "-rwxr-xr-x") {
				t.Errorf("%s has mode %s", f[5], mode)
			}
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the package holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The icons are PNGs of their sizes; the metainfo file is valid AppStream.
	x := filepath.Join(dir, "x")
	run(t, "dpkg-deb", "-x", deb, x)
	for _, s := range IconSizes {
		b, err := os.ReadFile(filepath.Join(x, fmt.Sprintf("usr/share/icons/hicolor/%dx%d/apps/io.github.feigo.png", s, s)))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != s || cfg.Height != s {
			t.Errorf("icon %d: %dx%d, %v", s, cfg.Width, cfg.Height, err)
		}
	}
	t.Log(run(t, "appstreamcli", "validate", "--no-net", "--pedantic", filepath.Join(x, "usr/share/metainfo/io.github.feigo.metainfo.xml")))

	// lintian: no errors, and no warnings but the one explained here.
	allowed := map[string]string{
		"hardening-no-pie": "this test's binary is built with e2e's flags; make package builds -buildmode=pie",
	}
	cmd := exec.CommandContext(ctx, "lintian", "--tag-display-limit", "0", deb)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("lintian: %v\n%s", err, out)
	}
	t.Logf("lintian:\n%s", out)
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || (f[0] != "E:" && f[0] != "W:") {
			continue
		}
		if _, ok := allowed[f[2]]; !ok || f[0] == "E:" {
			t.Errorf("lintian: %s", l)
		}
	}

	// Install into a throwaway root whose dpkg database holds this machine's records of the
	// packages feigo depends on (so the dependencies are checked, not forced: they are what the
	// binary runs with here), then run it, then remove it.
	root := filepath.Join(dir, "root")
	admin := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"info", "updates", "triggers"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var status bytes.Buffer
	for p := range deps {
		status.WriteString(strings.TrimSpace(run(t, "dpkg-query", "-s", p)) + "\n\n")
		// In this root the dependencies have no files.
		if err := os.WriteFile(filepath.Join(admin, "info", p+".list"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"status", "available"} {
		if err := os.WriteFile(filepath.Join(admin, f), status.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		t.Helper()
		return run(t, "dpkg", append([]string{"--root=" + root, "--force-not-root", "--log=" + filepath.Join(dir, "dpkg.log")}, args...)...)
	}
	t.Log(dpkg("--install", deb))
	if s := dpkg("--status", "feigo"); !strings.Contains(s, "Status: install ok installed") {
		t.Fatalf("after install:\n%s", s)
	}
	dpkg("--verify", "feigo") // every file as its md5sum says
	installed := filepath.Join(root, "usr/bin/feigo")
	if v := strings.TrimSpace(run(t, installed, "--version")); v != "FeiGo "+version {
		t.Errorf("installed feigo --version: %q", v)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/applications/io.github.feigo.desktop")); err != nil {
		t.Error(err)
	}
	t.Log(dpkg("--purge", "feigo"))
	if out, err := exec.Command("dpkg", "--root="+root, "--status", "feigo").CombinedOutput(); err == nil {
		t.Errorf("feigo still known after purge:\n%s", out)
	}
	filepath.WalkDir(filepath.Join(root, "usr"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left after purge: %s", p)
		}
		return nil
	})
}

func TestIcons(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image1x1()); err != nil {
		t.Fatal(err)
	}
	icons, err := Icons(b.Bytes(), []int{16, 48})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{16, 48} {
		cfg, err := png.DecodeConfig(bytes.NewReader(icons[s]))
		if err != nil || cfg.Width != s || cfg.Height != s {
			t.Errorf("size %d: %dx%d %v", s, cfg.Width, cfg.Height, err)
		}
	}
	if _, err := Icons([]byte("not a png"), []int{16}); err == nil {
		t.Error("a broken icon was scaled")
	}
	if _, err := Icons(b.Bytes(), []int{1 << 20}); err == nil {
		t.Error("a 1M×1M icon was made")
	}
}

func image1x1() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 200, A: 255})
	return img
}
