// Package gui starts the desktop app: a FeiGo node with its control socket (so the CLI talks
// to it as to `feigo serve`), the window from package ui, and the system tray. It is the only
// package that imports Fyne's app driver.
package gui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"
	"github.com/go-gl/glfw/v3.4/glfw"

	"feigo/assets"
	"feigo/autostart"
	"feigo/node"
	"feigo/peers"
	"feigo/profile"
	"feigo/screenshot"
	"feigo/ui"
)

// nodeCore adapts a running node to what the window drives.
type nodeCore struct{ *node.Node }

func (c nodeCore) Peers() []peers.Peer { return c.Node.Peers() }

// The window shows the node's group rooms.
var (
	_ ui.RoomCore       = nodeCore{}
	_ ui.LegacyRoomCore = nodeCore{}
)

// Main runs the desktop app with the profile in profDir ("" for the default) and returns the
// exit code. Logs go to logw.
func Main(profDir string, logw io.Writer) int {
	log := slog.New(slog.NewTextHandler(logw, nil))
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		fmt.Fprintln(logw, "feigo: no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set); run `feigo serve` for a node without a window")
		return 1
	}
	// Fyne and the tray report through the standard log: what only means "no session bus
	// here" is said once in words, the rest passes.
	quiet := newLogFilter(logw)
	stdlog.SetOutput(quiet)
	defer quiet.Flush()
	// Without a Wayland display GLFW would still try Wayland first, and libwayland prints
	// "XDG_RUNTIME_DIR is invalid or not set" where that is unset: name the session X11.
	if os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("DISPLAY") != "" {
		os.Setenv("XDG_SESSION_TYPE", "x11")
	}
	makeCacheDir()
	a := app.NewWithID("io.github.feigo")
	icon := fyne.NewStaticResource("feigo.png", assets.Icon)
	a.SetIcon(icon)
	fail := func(err error) int {
		fmt.Fprintf(logw, "feigo: %v\n", err)
		w := a.NewWindow("FeiGo")
		w.Resize(fyne.NewSize(520, 200))
		dialog.ShowError(err, w)
		w.SetOnClosed(a.Quit)
		w.ShowAndRun()
		return 1
	}
	p, err := profile.Open(profDir)
	if err != nil {
		return fail(err)
	}
	st, err := p.Load()
	if err != nil {
		return fail(err)
	}
	cfg, err := node.LANConfig(p, st)
	if err != nil {
		return fail(err)
	}
	cfg.Log = log
	// Events may come before the window exists: they wait in a queue.
	events := newInbox()
	cfg.OnEvent = events.Push
	n, err := node.Start(p, cfg)
	if err != nil {
		p.Discard() // a new profile that never ran leaves no directory behind
		return fail(err)
	}
	n.SetRetention(st.HistoryDays)
	n.SetReadReceipts(!st.NoReadReceipts)
	n.ApplyPolicy(st)

	// The autostart entry follows the setting: written at each start (so it names this
	// binary) and whenever the setting changes.
	setAutostart := autostarter(p.Dir)
	if err := setAutostart(st.Autostart); err != nil {
		log.Warn("autostart", "err", err)
	}
	save := saveFollowing(p.Save, st.Autostart, setAutostart)

	// FeiQ's screenshot key, Ctrl+Alt+A, on the whole desktop where X11 lets it be grabbed,
	// unless the settings say not: before Fyne opens the display (screenshot.Hotkey), which it
	// does when its loop starts. The window takes the key once it exists.
	hotCtx, hotStop := context.WithCancel(context.Background())
	defer hotStop()
	var onHotkey func() // set before hotRun runs
	hotkey := func(context.Context, func()) (func(), error) { return nil, screenshot.ErrUnsupported }
	if !st.NoScreenshotKey {
		hotkey = screenshot.Hotkey
	}
	hotRun, hotErr := hotkey(hotCtx, func() { onHotkey() })
	if errors.Is(hotErr, screenshot.ErrHotkeyTaken) {
		fmt.Fprintln(logw, "feigo: another program holds Ctrl+Alt+A; take screenshots with the button in a conversation")
	}
	// Fyne's loop sleeps while the window is at rest (idle.go); every way out goes through stop.
	idle := &idler{wait: glfw.WaitEventsTimeout, wake: glfw.PostEmptyEvent, post: fyne.Do, now: time.Now, tid: threadID}
	quit := idle.quitting(a.Quit)
	var tr *tray
	opt := windowOptions(st, save, func() *tray { return tr })
	opt.Post = idle.Post
	u := ui.New(a, nodeCore{n}, opt)
	idle.busy = u.Animating
	u.Win.SetIcon(icon)
	var hotDone sync.WaitGroup
	if hotRun != nil {
		onHotkey = func() { idle.Post(u.ScreenshotKey) }
		hotDone.Go(hotRun)
	}
	// Closing the window hides it to the tray where the desktop has one (hasTray), else quits.
	var hasTray func() bool
	if desk, ok := a.(desktop.App); ok {
		tr = newTray(desk, u, icon, quit, systray.SetOnTapped, idle.Post)
		hasTray = trayHost
	}
	u.Win.SetCloseIntercept(func() { closeWindow(u.Settings().CloseQuits, hasTray, u.Hide, quit, idle.Post) })
	u.Follow(events)

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		idle.Post(quit)
	}()
	var idling sync.WaitGroup
	if os.Getenv("FEIGO_IDLE") != "poll" { // poll: Fyne's own loop alone (the benchmark's baseline)
		a.Lifecycle().SetOnStarted(func() {
			idle.main = threadID()
			idling.Go(func() { idle.run(ctx) })
		})
	}
	done := make(chan error, 1)
	go func() {
		err := n.Run(ctx)
		done <- err
		if err != nil {
			log.Error("node stopped", "err", err)
			u.ShowError(err)
		}
	}()
	if st.StartMinimised && hasTray != nil && hasTray() { // only where the tray can show it again
		u.Hide()
		a.Run()
	} else {
		u.Win.ShowAndRun()
	}
	// The window was closed without a tray, or Quit was chosen: the window's background
	// calls end, then the node says goodbye to the LAN (BR_EXIT) and stops.
	idle.stop()
	u.Close()
	err = shutdown(cancel, done, events, 5*time.Second)
	idling.Wait() // the idler ends with ctx, which shutdown cancelled
	hotStop()
	hotDone.Wait()
	if err != nil {
		fmt.Fprintf(logw, "feigo: %v\n", err)
		return 1
	}
	return 0
}

// makeCacheDir makes the user's cache folder for Fyne ($XDG_CACHE_HOME/fyne, ~/.cache/fyne),
// owner-only as the XDG spec asks: Fyne 2.8 makes only the last two levels, so on a new
// account without ~/.cache every start logged two errors and ran without its cache.
func makeCacheDir() {
	if d, err := os.UserCacheDir(); err == nil {
		os.MkdirAll(filepath.Join(d, "fyne"), 0o700)
	}
}

// autostarter returns what writes (on) or removes (off) the XDG autostart entry that starts
// this binary with the profile in dir; where there is no autostart folder it does nothing.
func autostarter(dir string) func(on bool) error {
	return func(on bool) error {
		if !autostart.Supported {
			return nil
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		_, err = autostart.Set(on, exe, abs)
		return err
	}
}

// saveFollowing returns a Save for the window's settings: save, then setAutostart when the
// autostart setting changes (on is its value at start). Call it from one goroutine (Fyne's).
func saveFollowing(save func(profile.Settings) error, on bool, setAutostart func(bool) error) func(profile.Settings) error {
	return func(s profile.Settings) error {
		if err := save(s); err != nil {
			return err
		}
		if s.Autostart == on {
			return nil
		}
		if err := setAutostart(s.Autostart); err != nil {
			return err
		}
		on = s.Autostart
		return nil
	}
}

// windowOptions are the window's options: the settings st, saved with save, and the tray
// (tr returns it, nil without one) following the unread count, the status and the language.
func windowOptions(st profile.Settings, save func(profile.Settings) error, tr func() *tray) ui.Options {
	refresh := func() {
		if t := tr(); t != nil {
			t.refresh()
		}
	}
	return ui.Options{
		Settings: st,
		Save:     save,
		OnUnread: func(n int) {
			if t := tr(); t != nil {
				t.setUnread(n)
			}
		},
		OnStatus:   func(bool) { refresh() },
		OnSettings: func(profile.Settings) { refresh() }, // the menu in the language chosen
	}
}

// newInbox is the queue of node events on their way to the window.
func newInbox() *ui.Inbox { return ui.NewInbox(0) }

// shutdown stops the node (cancel), waits up to wait for its Run to return (done) and then
// closes the window's inbox: the node emits while it says goodbye and settles the sends in
// flight, and Push drops what comes after Close. It returns Run's error.
func shutdown(cancel context.CancelFunc, done <-chan error, in interface{ Close() }, wait time.Duration) error {
	cancel()
	defer in.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		return nil
	}
}

// withBadge returns the icon with a red dot: the tray's unread indicator.
func withBadge(icon []byte) fyne.Resource {
	src, err := png.Decode(bytes.NewReader(icon))
	if err != nil {
		return fyne.NewStaticResource("feigo.png", icon)
	}
	b := src.Bounds()
	img := image.NewRGBA(b)
	draw.Draw(img, b, src, b.Min, draw.Src)
	r := b.Dx() / 5
	cx, cy := b.Max.X-r-2, b.Min.Y+r+2
	red := color.RGBA{0xe5, 0x39, 0x35, 0xff}
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
				img.Set(x, y, red)
			}
		}
	}
	var out bytes.Buffer
	png.Encode(&out, img)
	return fyne.NewStaticResource("feigo-unread.png", out.Bytes())
}
