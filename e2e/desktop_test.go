//go:build linux

package e2e

import (
	"feigo/internal/testbus"
	"feigo/internal/xvfb"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// This file is a desktop session for the window's tests: an X display (xvfb) with a window
// manager, a private D-Bus session bus and, when asked, a tray host. The window's closing (✕)
// is what the window manager does when the user clicks it: WM_DELETE_WINDOW to the window.

// desktop starts a desktop session and points DISPLAY and DBUS_SESSION_BUS_ADDRESS at it. With
// withTray a StatusNotifierItem watcher and host (a panel's tray) is on the bus; without, the
// bus has none, as on a desktop whose panel shows no tray icons.
func desktop(t *testing.T, withTray bool) *trayHost {
	t.Helper()
	for _, prog := range []string{"evilwm", "xdotool", "xprop", "dbus-daemon"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and %s is missing (make deps installs it): %v", prog, err)
			}
			t.Skipf("the window's desktop tests need %s (make deps installs it): %v", prog, err)
		}
	}
	disp := xvfb.Start(t)
	t.Setenv("DISPLAY", disp)
	windowManager(t)
	addr := sessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	if !withTray {
		return nil
	}
	return startTrayHost(t, addr)
}

// started runs cmd in a process group of its own and stops it when the test ends.
func started(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
}

// windowManager starts evilwm on $DISPLAY and waits until it manages the screen. It honours
// WM_DELETE_WINDOW: its Ctrl+Alt+Escape closes the current window as a click on ✕ does.
func windowManager(t *testing.T) {
	t.Helper()
	// The X server takes clients once xprop can read the root window.
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("xprop", "-root", "-len", "0", "WM_NAME").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the X server takes no client")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var errb lockedBuf
	cmd := exec.Command("evilwm", "-fn", "fixed") // Xvfb has no other core font
	cmd.Stderr = &errb
	started(t, cmd)
	deadline = time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("xprop", "-root", "_NET_SUPPORTING_WM_CHECK").Output()
		if strings.Contains(string(out), "window id") {
			return
		}
		if time.Now().After(deadline) {
			o, e := exec.Command("xprop", "-root", "-len", "0", "WM_NAME").CombinedOutput()
			t.Fatalf("the window manager did not start on %q: %s (xprop now: %s %v)", os.Getenv("DISPLAY"), errb.String(), o, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sessionBus starts a D-Bus session bus of the test's own, on a socket in the file system (the
// window runs in a lab host, another network namespace, where abstract sockets of this one are
// out of reach), with no services to start on demand. It returns the bus's address.
func sessionBus(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "feigo-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "session.conf")
	os.WriteFile(conf, testbus.Config("unix:path="+sock), 0o600)
	var errb lockedBuf
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile")
	cmd.Stderr = &errb
	started(t, cmd)
	addr := "unix:path=" + sock
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, err := dbus.Connect(addr); err == nil {
			conn.Close()
			return addr
		} else if time.Now().After(deadline) {
			t.Fatalf("the session bus did not start: %v %s", err, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// ---- the window, seen from the X server ----

// windowShown reports whether a window titled FeiGo (or "FeiGo (3)" with unread messages) is
// on the screen.
func windowShown() bool {
	out, err := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^FeiGo").Output()
	return err == nil && strings.TrimSpace(string(out)) != ""
}

// waitWindow waits until the window is on the screen (shown) or not.
func waitWindow(t *testing.T, shown bool, why string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for windowShown() != shown {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the window is not %s", why, map[bool]string{true: "shown", false: "hidden"}[shown])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clickClose closes the window as its ✕ does: the window manager sends it WM_DELETE_WINDOW
// (evilwm's Ctrl+Alt+Escape on the window made current).
func clickClose(t *testing.T) {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^FeiGo").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		t.Fatalf("no window to close: %v", err)
	}
	for _, args := range [][]string{{"windowactivate", "--sync", ids[0]}, {"key", "--clearmodifiers", "ctrl+alt+Escape"}} {
		if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %s: %v %s", args[0], err, out)
		}
	}
}

// ---- a tray host: a StatusNotifierWatcher with a panel's part, on the session bus ----

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = "/StatusNotifierWatcher"
	sniInterface = "org.kde.StatusNotifierItem"
	menuIface    = "com.canonical.dbusmenu"
)

// trayHost is what a panel with a tray does on the session bus: it owns the
// StatusNotifierWatcher, keeps the items that register, and shows an item's icon whose left
// click (Activate) and menu (com.canonical.dbusmenu) it drives.
type trayHost struct {
	t     *testing.T
	conn  *dbus.Conn
	mu    sync.Mutex
	items []sniItem
	added chan struct{}
}

// sniItem is a registered StatusNotifierItem: its bus name and object path.
type sniItem struct {
	service string
	path    dbus.ObjectPath
}

// watcher is the object exported at /StatusNotifierWatcher.
type watcher struct{ h *trayHost }

// RegisterStatusNotifierItem is called by an app's tray icon with its object path (or a bus
// name, for items at the default path).
func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	it := sniItem{service: string(sender), path: "/StatusNotifierItem"}
	if strings.HasPrefix(service, "/") {
		it.path = dbus.ObjectPath(service)
	} else if service != "" {
		it.service = service
	}
	h := w.h
	h.mu.Lock()
	h.items = append(h.items, it)
	h.mu.Unlock()
	h.conn.Emit(watcherPath, watcherName+".StatusNotifierItemRegistered", it.service+string(it.path))
	select {
	case h.added <- struct{}{}:
	default:
	}
	return nil
}

// RegisterStatusNotifierHost is called by other panels; this one is the host already.
func (w watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// watcherProps is the watcher's org.freedesktop.DBus.Properties.
type watcherProps struct{ h *trayHost }

func (p watcherProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != watcherName {
		return nil, dbus.MakeFailedError(fmt.Errorf("no interface %s", iface))
	}
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	items := []string{}
	for _, i := range p.h.items {
		items = append(items, i.service+string(i.path))
	}
	return map[string]dbus.Variant{
		"RegisteredStatusNotifierItems":  dbus.MakeVariant(items),
		"IsStatusNotifierHostRegistered": dbus.MakeVariant(true),
		"ProtocolVersion":                dbus.MakeVariant(int32(0)),
	}, nil
}

func (p watcherProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	all, err := p.GetAll(iface)
	if err != nil {
		return dbus.Variant{}, err
	}
	v, ok := all[name]
	if !ok {
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s", name))
	}
	return v, nil
}

// startTrayHost puts a tray host on the bus at addr.
func startTrayHost(t *testing.T, addr string) *trayHost {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := &trayHost{t: t, conn: conn, added: make(chan struct{}, 1)}
	if err := conn.Export(watcher{h}, watcherPath, watcherName); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(watcherProps{h}, watcherPath, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", watcherName, reply, err)
	}
	return h
}

// item waits for an app's tray icon to register and returns it.
func (h *trayHost) item(timeout time.Duration) sniItem {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		n := len(h.items)
		var it sniItem
		if n > 0 {
			it = h.items[n-1]
		}
		h.mu.Unlock()
		if n > 0 {
			return it
		}
		select {
		case <-h.added:
		case <-deadline:
			h.t.Fatalf("no tray icon registered within %v", timeout)
		}
	}
}

// leftClick is a left click on the icon: the panel calls the item's Activate.
func (h *trayHost) leftClick(it sniItem) error {
	return h.conn.Object(it.service, it.path).Call(sniInterface+".Activate", 0, int32(0), int32(0)).Err
}

// menuEntry is one entry of an item's menu, as com.canonical.dbusmenu lays it out.
type menuEntry struct {
	id      int32
	label   string
	checked bool
}

// menu reads the item's menu (its top level).
func (h *trayHost) menu(it sniItem) ([]menuEntry, error) {
	var path dbus.Variant
	if err := h.conn.Object(it.service, it.path).Call("org.freedesktop.DBus.Properties.Get", 0, sniInterface, "Menu").Store(&path); err != nil {
		return nil, fmt.Errorf("the item's Menu: %w", err)
	}
	menuPath, _ := path.Value().(dbus.ObjectPath)
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	err := h.conn.Object(it.service, menuPath).Call(menuIface+".GetLayout", 0, int32(0), int32(1), []string{}).Store(&rev, &root)
	if err != nil {
		return nil, fmt.Errorf("GetLayout: %w", err)
	}
	var out []menuEntry
	for _, c := range root.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) != 3 {
			return nil, fmt.Errorf("a menu entry is %T %v", c.Value(), c.Value())
		}
		id, _ := fields[0].(int32)
		props, _ := fields[1].(map[string]dbus.Variant)
		e := menuEntry{id: id}
		if v, ok := props["label"]; ok {
			e.label, _ = v.Value().(string)
		}
		if v, ok := props["toggle-state"]; ok {
			state, _ := v.Value().(int32)
			e.checked = state == 1
		}
		out = append(out, e)
	}
	return out, nil
}

// entry waits until the item's menu has an entry labelled label and returns it.
func (h *trayHost) entry(it sniItem, label string) menuEntry {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := h.menu(it)
		for _, e := range entries {
			if e.label == label {
				return e
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the tray menu has no %q: %+v %v", label, entries, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click chooses the entry labelled label in the item's menu, as a panel does.
func (h *trayHost) click(it sniItem, label string) {
	h.t.Helper()
	e := h.entry(it, label)
	var path dbus.Variant
	h.conn.Object(it.service, it.path).Call("org.freedesktop.DBus.Properties.Get", 0, sniInterface, "Menu").Store(&path)
	menuPath, _ := path.Value().(dbus.ObjectPath)
	err := h.conn.Object(it.service, menuPath).Call(menuIface+".Event", 0, e.id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
	if err != nil {
		h.t.Fatalf("clicking %q in the tray menu: %v", label, err)
	}
}
