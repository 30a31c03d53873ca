//go:build linux

package screenshot

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The Wayland path against the real desktop portal, not a stand-in: a headless sway (a
// wlroots compositor, its output painted one colour) on a session bus of the test's own, with
// xdg-desktop-portal 1.16 and its wlroots back end (xdg-desktop-portal-wlr, which captures
// with grim; it needs PipeWire running for its screen-cast half, and xdg-desktop-portal
// exports Screenshot only when an Access back end exists: xdg-desktop-portal-gtk's). Capture
// runs as it does in the window on a Wayland desktop: no DISPLAY, WAYLAND_DISPLAY set.

// waylandTools are the programs the test needs (Debian packages sway, xdg-desktop-portal,
// xdg-desktop-portal-wlr, xdg-desktop-portal-gtk, grim, pipewire, dbus-daemon; make deps
// installs them).
var waylandTools = []string{"sway", "grim", "pipewire", "dbus-daemon", "/usr/libexec/xdg-desktop-portal",
	"/usr/libexec/xdg-desktop-portal-wlr", "/usr/libexec/xdg-desktop-portal-gtk"}

func TestCaptureThroughRealPortalOnWayland(t *testing.T) {
	for _, p := range waylandTools {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (make deps installs it): %v", p, err)
			}
			t.Skipf("%s is missing (make deps installs it): %v", p, err)
		}
	}
	// Not t.TempDir(): its parent is closed to others, and sway may run as nobody.
	dir, err := os.MkdirTemp("", "feigo-wayland-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The output's size and colour are drawn at random, so that only the compositor's own
	// pixels can pass.
	w, h := 320+rand.IntN(40)*8, 240+rand.IntN(30)*8
	want := [3]uint8{uint8(32 + rand.IntN(192)), uint8(32 + rand.IntN(192)), uint8(32 + rand.IntN(192))}
	conf := filepath.Join(dir, "sway.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "output HEADLESS-1 resolution %dx%d bg #%02x%02x%02x solid_color\n", w, h, want[0], want[1], want[2]), 0o644); err != nil {
		t.Fatal(err)
	}

	// sway will not run as root (it could not give root up for good); as root it runs as
	// nobody, in a runtime directory of its own that root (the portal) can still reach.
	swayRun := filepath.Join(dir, "sway-run")
	rootRun := filepath.Join(dir, "run")
	for _, d := range []string{swayRun, rootRun} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Orphans of the programs below (sway's swaybg, the bus's back ends) come to this process
	// and are reaped by killGroup.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	var asSway []string
	if os.Geteuid() == 0 {
		if err := os.Chown(swayRun, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		asSway = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	}
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+rootRun, "HOME="+dir, "XDG_CURRENT_DESKTOP=sway",
		"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman", "DISPLAY=")
	start := func(name string, extra []string, argv ...string) *exec.Cmd {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(append([]string(nil), env...), extra...)
		log, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := ownGroup(cmd).Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { killGroup(cmd); log.Close() })
		return cmd
	}
	logs := func() string {
		var b strings.Builder
		for _, n := range []string{"sway", "pipewire", "xdpw", "xdp"} {
			raw, _ := os.ReadFile(filepath.Join(dir, n+".log"))
			s := string(raw)
			if len(s) > 1500 {
				s = s[len(s)-1500:]
			}
			fmt.Fprintf(&b, "--- %s\n%s\n", n, s)
		}
		return b.String()
	}

	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	bus.Env = env
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ownGroup(bus).Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(bus) })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "DBUS_SESSION_BUS_ADDRESS="+strings.TrimSpace(addr))

	start("pipewire", nil, "pipewire")
	start("sway", []string{"XDG_RUNTIME_DIR=" + swayRun}, append(asSway, "sway", "-c", conf)...)
	sock := filepath.Join(swayRun, "wayland-1")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sway made no Wayland socket in 30 s\n%s", logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	env = append(env, "WAYLAND_DISPLAY="+sock, "PIPEWIRE_RUNTIME_DIR="+rootRun)
	start("xdpw", nil, "/usr/libexec/xdg-desktop-portal-wlr")
	start("xdp", nil, "/usr/libexec/xdg-desktop-portal")

	// Capture reads these from the process environment, as in the window.
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "DISPLAY", "HOME":
			t.Setenv(k, v)
		}
	}
	// The portal takes a moment to claim its name and find its back ends: asked again until
	// it answers (the first Capture of a desktop session meets the portal already up).
	var lastErr error
	for time.Now().Before(deadline.Add(30 * time.Second)) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		img, err := Capture(ctx)
		cancel()
		if err != nil {
			lastErr = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("captured %v, the output is %dx%d", b, w, h)
		}
		off := 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := img.RGBAAt(x, y)
				if c.R != want[0] || c.G != want[1] || c.B != want[2] {
					off++
				}
			}
		}
		// sway draws nothing over an empty workspace: every pixel is the output's colour.
		if off != 0 {
			t.Fatalf("%d of %d pixels differ from the output's colour %v (pixel 0,0 is %v)", off, w*h, want, img.RGBAAt(0, 0))
		}
		return
	}
	t.Fatalf("no capture through the portal: %v\n%s", lastErr, logs())
}

// ownGroup puts cmd in a process group of its own, so that killGroup ends what it starts too
// (sway's swaybg, the back ends the bus starts on demand).
func ownGroup(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// killGroup asks the group to end first, so that the leader reaps its children, then kills
// what is left.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	// What the leader left behind came to the test (a subreaper): reaped here, not left as
	// zombies of a PID 1 that does not reap.
	for {
		var ws syscall.WaitStatus
		if pid, err := syscall.Wait4(-cmd.Process.Pid, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
			return
		}
	}
}
