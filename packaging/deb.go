// Package packaging builds FeiGo's Debian package (.deb) from a built binary: the binary, the
// desktop entry, the icon at the hicolor sizes (scaled from assets/icon.png here), an AppStream
// metainfo file, the copyright and changelog a Debian package carries, and a control file whose
// Depends are derived on the build machine (dpkg-shlibdeps for the libraries the binary links,
// dpkg -S for the ones GLFW opens at run time). It runs Debian's own tools: dpkg-deb,
// dpkg-shlibdeps (dpkg-dev) and dpkg-query.
package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"feigo/assets"
)

// AppID is the reverse-DNS name of the app: the desktop entry, the icon and the metainfo file
// are named after it (FyneApp.toml's ID).
const AppID = "io.github.feigo"

// Package is the Debian package's name.
const Package = "feigo"

// IconSizes are the hicolor sizes the package installs (usr/share/icons/hicolor/NxN/apps).
var IconSizes = []int{16, 22, 24, 32, 48, 64, 128, 256, 512}

// RuntimeLibs are the libraries GLFW (Fyne's window driver) opens with dlopen at start, so
// dpkg-shlibdeps, which reads only the binary's DT_NEEDED entries, cannot see them (the list is
// from go-gl/glfw's x11_init.c, wl_init.c and egl_context.c). libdecor is left out: GLFW uses
// it only when present.
var RuntimeLibs = []string{
	"libX11.so.6", "libX11-xcb.so.1", "libXcursor.so.1", "libXrandr.so.2", "libXinerama.so.1",
	"libXi.so.6", "libXxf86vm.so.1", "libXrender.so.1", "libXext.so.6",
	"libGL.so.1", "libEGL.so.1",
	"libwayland-client.so.0", "libwayland-cursor.so.0", "libwayland-egl.so.1", "libxkbcommon.so.0",
}

// Recommends are what FeiGo uses when present: xdg-open for Open file/folder, a session bus
// for the tray and notifications, and the CJK font that makes Chinese bold text bold.
const Recommends = "xdg-utils, dbus-user-session | dbus-x11, fonts-noto-cjk"

// Config says what to package.
type Config struct {
	Binary     string // the built feigo (linux, the build machine's architecture)
	OutDir     string // where the .deb is written
	Maintainer string // "Name <address>"
	// Version overrides the binary's own (`feigo --version`) when set.
	Version string
}

var versionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)

// Build writes OutDir/feigo_VERSION_ARCH.deb and returns its path.
func Build(ctx context.Context, cfg Config) (string, error) {
	if cfg.Maintainer == "" || !strings.Contains(cfg.Maintainer, "<") {
		return "", errors.New("packaging: Maintainer must be \"Name <address>\"")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return "", err
	}
	version := cfg.Version
	if version == "" {
		if version, err = binaryVersion(ctx, bin); err != nil {
			return "", err
		}
	}
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("packaging: %q is not a Debian version", version)
	}
	arch, err := output(ctx, "", "dpkg", "--print-architecture")
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "feigo-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")

	files := map[string][]byte{ // path in the package → content (mode 0644)
		"usr/share/applications/" + AppID + ".desktop":  []byte(DesktopEntry("feigo")),
		"usr/share/metainfo/" + AppID + ".metainfo.xml": []byte(Metainfo(version, time.Unix(sourceDate(), 0).UTC().Format("2006-01-02"))),
		"usr/share/doc/" + Package + "/copyright":       []byte(copyright),
	}
	icons, err := Icons(assets.Icon, IconSizes)
	if err != nil {
		return "", err
	}
	for size, png := range icons {
		files[fmt.Sprintf("usr/share/icons/hicolor/%dx%d/apps/%s.png", size, size, AppID)] = png
	}
	help, err := output(ctx, "", bin, "help")
	if err != nil {
		return "", err
	}
	man, err := gz([]byte(ManPage(version, time.Unix(sourceDate(), 0).UTC().Format("2006-01-02"), help)))
	if err != nil {
		return "", err
	}
	files["usr/share/man/man1/feigo.1.gz"] = man
	cl, err := changelog(version, cfg.Maintainer)
	if err != nil {
		return "", err
	}
	files["usr/share/doc/"+Package+"/changelog.gz"] = cl
	for p, b := range files {
		if err := writeFile(filepath.Join(root, p), b, 0o644); err != nil {
			return "", err
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(root, "usr/bin/feigo"), data, 0o755); err != nil {
		return "", err
	}

	depends, err := Depends(ctx, work, filepath.Join(root, "usr/bin/feigo"))
	if err != nil {
		return "", err
	}
	size, err := installedSize(root)
	if err != nil {
		return "", err
	}
	control := fmt.Sprintf(`Package: %s
Version: %s
Architecture: %s
Maintainer: %s
Installed-Size: %d
Depends: %s
Recommends: %s
Section: net
Priority: optional
Description: LAN messenger speaking the IP Messenger protocol (FeiQ, iptux)
 FeiGo lets colleagues on the same network see each other, exchange messages
 and send files and folders with no server and no account. It speaks the IP
 Messenger (IPMsg) protocol on UDP and TCP port 2425, so it talks to IP
 Messenger, FeiQ and iptux, in their text encodings (UTF-8, GBK, CP932).
 Between FeiGo colleagues messages and files are end-to-end encrypted. It has
 a desktop window, a tray icon and a command line (feigo help).
`, Package, version, arch, cfg.Maintainer, size, depends, Recommends)
	if err := writeFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		return "", err
	}
	sums, err := md5sums(root)
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(root, "DEBIAN/md5sums"), sums, 0o644); err != nil {
		return "", err
	}
	if err := dirsReadable(root); err != nil { // whatever the umask made them
		return "", err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(cfg.OutDir, fmt.Sprintf("%s_%s_%s.deb", Package, version, arch))
	if _, err := output(ctx, "", "dpkg-deb", "--build", "--root-owner-group", "-Zxz", root, out); err != nil {
		return "", err
	}
	return out, nil
}

// Depends returns the Depends field for the binary at bin (inside a package tree): what
// dpkg-shlibdeps derives from its linked libraries, and the packages that hold RuntimeLibs on
// this machine (they must be installed: the build needs their -dev packages anyway).
func Depends(ctx context.Context, work, bin string) (string, error) {
	src := filepath.Join(work, "src")
	if err := writeFile(filepath.Join(src, "debian/control"), []byte("Source: feigo\n\nPackage: feigo\nArchitecture: any\n"), 0o644); err != nil {
		return "", err
	}
	out, err := output(ctx, src, "dpkg-shlibdeps", "-O", "-e", bin)
	if err != nil {
		return "", err
	}
	line, ok := strings.CutPrefix(strings.TrimSpace(out), "shlibs:Depends=")
	if !ok || line == "" {
		return "", fmt.Errorf("packaging: dpkg-shlibdeps said %q", out)
	}
	deps := map[string]string{} // package → full relation
	for _, d := range strings.Split(line, ",") {
		d = strings.TrimSpace(d)
		deps[strings.Fields(d)[0]] = d
	}
	for _, lib := range RuntimeLibs {
		pkg, err := libPackage(ctx, lib)
		if err != nil {
			return "", err
		}
		if _, ok := deps[pkg]; !ok {
			deps[pkg] = pkg
		}
	}
	list := make([]string, 0, len(deps))
	for _, d := range deps {
		list = append(list, d)
	}
	sort.Strings(list)
	return strings.Join(list, ", "), nil
}

// libPackage names the installed package that holds the library lib (a soname).
func libPackage(ctx context.Context, lib string) (string, error) {
	out, err := output(ctx, "", "dpkg-query", "-S", "*/"+lib)
	if err != nil {
		return "", fmt.Errorf("packaging: which package holds %s (it must be installed to build the package): %w", lib, err)
	}
	for _, l := range strings.Split(out, "\n") {
		pkgs, path, ok := strings.Cut(l, ": ")
		if !ok || filepath.Base(path) != lib || strings.Contains(pkgs, ",") {
			continue
		}
		pkg, _, _ := strings.Cut(pkgs, ":") // drop ":amd64"
		return pkg, nil
	}
	return "", fmt.Errorf("packaging: no single package holds %s: %q", lib, out)
}

func binaryVersion(ctx context.Context, bin string) (string, error) {
	out, err := output(ctx, "", bin, "--version")
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "FeiGo" {
		return "", fmt.Errorf("packaging: %s --version said %q, not \"FeiGo VERSION\"", bin, out)
	}
	return f[1], nil
}

// installedSize is the tree's size in KiB, as dpkg counts it (each file rounded up).
func installedSize(root string) (int64, error) {
	var kib int64
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			kib += (info.Size() + 1023) / 1024
		}
		return nil
	})
	return kib, err
}

func changelog(version, maintainer string) ([]byte, error) {
	text := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * Release %s; see the README for what it does.\n\n -- %s  %s\n",
		Package, version, version, maintainer, time.Unix(sourceDate(), 0).UTC().Format(time.RFC1123Z))
	return gz([]byte(text))
}

// gz compresses b as Debian wants documentation: best compression, reproducible.
func gz(text []byte) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = time.Unix(sourceDate(), 0) // reproducible
	zw.Write(text)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// sourceDate is SOURCE_DATE_EPOCH when set (reproducible builds), else now.
func sourceDate() int64 {
	var s int64
	if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &s); err == nil && s > 0 {
		return s
	}
	return time.Now().Unix()
}

func dirsReadable(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o755)
	})
}

// md5sums is DEBIAN/md5sums for the tree at root (what dpkg --verify checks).
func md5sums(root string) ([]byte, error) {
	var b bytes.Buffer
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(rel, "DEBIAN"+string(filepath.Separator)) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%x  %s\n", h.Sum(nil), filepath.ToSlash(rel))
		return nil
	})
	return b.Bytes(), err
}

func writeFile(p string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // whatever the umask
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
