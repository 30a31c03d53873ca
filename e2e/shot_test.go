//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/internal/xvfb"
	"feigo/screenshot"
)

// The screenshot tool in the real window (issue 15): in a conversation, Ctrl+Alt+A captures the
// screen and shows it full screen; a region dragged with the mouse (xdotool) goes into the
// message being written, and Enter sends it to Bob, whose node receives an image with the
// pixels the X server showed there (read with xwd before the capture).
func TestGUIScreenshotTool(t *testing.T) {
	needXdotool(t)
	// No window manager: evilwm, the tests' one, holds Ctrl+Alt+A itself (its "fix" key).
	t.Setenv("DISPLAY", xvfb.Start(t))
	l := lab.New(t, 2)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	t.Setenv("LANG", "zh_CN.UTF-8")
	prof := filepath.Join(t.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	// The window stays on the screen while capturing: what is captured is the window itself.
	os.WriteFile(filepath.Join(prof, "settings.json"), []byte(`{"nick":"王芳","group":"财务部","screenshot_keep_window":true}`), 0o600)
	g := startGUI(t, l.Hosts[0], prof, 1)
	bob.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
		p, _ := ev["peer"].(map[string]any)
		return p["nick"] == "王芳" && p["secure"] == true
	})
	deadline0 := time.Now().Add(20 * time.Second)
	if _, e, c := bob.cli("send", "王芳", "能截个图给我看看吗？"); c != 0 {
		t.Fatalf("send: %s", e)
	}
	for !windowShown() {
		if time.Now().After(deadline0) {
			t.Fatal("the window is not shown")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(6 * time.Second) // the conversation in front, drawn, its cursor at rest
	raw, err := exec.Command("xwd", "-root", "-silent").Output()
	if err != nil {
		t.Fatalf("xwd: %v", err)
	}
	screen, err := decodeXWD(raw)
	if err != nil {
		t.Fatal(err)
	}
	xdo(t, "key", "ctrl+alt+a") // FeiGo's own grab of the key on the display
	deadline := time.Now().Add(20 * time.Second)
	for exec.Command("xdotool", "search", "--onlyvisible", "--name", "^截图$").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no screenshot window after Ctrl+Alt+A; log:\n%s", g.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // shown full screen
	// The conversation's tabs and first messages: text, the blue lock, lines.
	region := image.Rect(320, 0, 700, 160)
	xdo(t, "mousemove", "--sync", "320", "0")
	xdo(t, "mousedown", "1")
	for _, p := range [][2]string{{"400", "40"}, {"600", "120"}, {"700", "160"}} {
		xdo(t, "mousemove", "--sync", p[0], p[1])
		time.Sleep(100 * time.Millisecond)
	}
	xdo(t, "mouseup", "1")
	deadline = time.Now().Add(10 * time.Second)
	for exec.Command("xdotool", "search", "--onlyvisible", "--name", "^截图$").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the screenshot window stays after the region was dragged")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the region in the message box
	xdo(t, "search", "--onlyvisible", "--name", "^FeiGo", "windowfocus", "--sync")
	xdo(t, "key", "Return")
	ev := bob.WaitEvent("message_images", 20*time.Second, nil)
	ims, _ := ev["message"].(map[string]any)["images"].([]any)
	if len(ims) != 1 {
		t.Fatalf("Bob got %d images: %v", len(ims), ev)
	}
	b, err := os.ReadFile(ims[0].(map[string]any)["path"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// The region within a pixel of the one dragged (the window's scale rounds), and the same
	// pixels as the screen there.
	gb := got.Bounds()
	if d := gb.Dx() - region.Dx(); d < -2 || d > 2 || gb.Dy()-region.Dy() < -2 || gb.Dy()-region.Dy() > 2 {
		t.Fatalf("the image is %v, the region dragged %v", gb.Size(), region.Size())
	}
	best := 0.0
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			best = max(best, sameShare(screen, got, region.Min.Add(image.Pt(dx, dy))))
		}
	}
	// The region is not so plain that any place of the screen would do.
	far := sameShare(screen, got, region.Min.Add(image.Pt(37, 23)))
	if far > best-0.05 {
		t.Fatalf("the region matches the screen as well 37,23 pixels off (%.2f against %.2f): nothing in it to tell", far, best)
	}
	t.Logf("%.1f %% of the pixels are the screen's there, %.1f %% 37,23 pixels off", best*100, far*100)
	if best < 0.97 {
		shot := filepath.Join(artefactDir(t), "screenshot-tool.png")
		f, _ := os.Create(shot)
		png.Encode(f, got)
		f.Close()
		t.Fatalf("only %.1f %% of the image's pixels are the screen's there (%s)", best*100, shot)
	}
	if code := g.Stop(); code != 0 || strings.Contains(g.LogTail(), "panic") {
		t.Errorf("the GUI exited %d; log:\n%s", code, g.LogTail())
	}
}

// needXdotool skips (fails under CI=true) without xdotool.
func needXdotool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xdotool"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and xdotool is missing (make deps installs it): %v", err)
		}
		t.Skipf("needs xdotool (make deps installs it): %v", err)
	}
}

// sameShare is the share of img's pixels equal to screen's from at on.
func sameShare(screen, img image.Image, at image.Point) float64 {
	b := img.Bounds()
	same := 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r1, g1, b1, _ := screen.At(at.X+x, at.Y+y).RGBA()
			r2, g2, b2, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if r1>>8 == r2>>8 && g1>>8 == g2>>8 && b1>>8 == b2>>8 {
				same++
			}
		}
	}
	return float64(same) / float64(b.Dx()*b.Dy())
}

// xdo runs xdotool on the test's display.
func xdo(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v %s", args, err, out)
	}
}

// Ctrl+Alt+A anywhere on the desktop (screenshot.Hotkey, a key grabbed on the X display) calls
// its function, also with Num Lock on; a second grab of the key is told another program holds
// it; the key is let go when its context ends, and can then be grabbed again.
func TestScreenshotHotkey(t *testing.T) {
	needXdotool(t)
	t.Setenv("DISPLAY", xvfb.Start(t)) // no window manager: evilwm holds Ctrl+Alt+A itself
	ctx, cancel := context.WithCancel(context.Background())
	pressed := make(chan struct{}, 8)
	run, err := screenshot.Hotkey(ctx, func() { pressed <- struct{}{} })
	if err != nil {
		t.Fatalf("Hotkey: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		run()
	}()
	if _, err := screenshot.Hotkey(context.Background(), func() {}); !errors.Is(err, screenshot.ErrHotkeyTaken) {
		t.Fatalf("a second grab of the key: %v, want ErrHotkeyTaken", err)
	}
	for _, keys := range [][]string{{"ctrl+alt+a"}, {"Num_Lock", "ctrl+alt+a", "Num_Lock"}} {
		for _, k := range keys {
			xdo(t, "key", k)
		}
		select {
		case <-pressed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: the key was not seen", keys)
		}
	}
	xdo(t, "key", "ctrl+a") // not the key
	select {
	case <-pressed:
		t.Fatal("Ctrl+A was taken for the screenshot key")
	case <-time.After(500 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the key's loop does not end with its context")
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	run2, err := screenshot.Hotkey(ctx2, func() {})
	if err != nil {
		cancel2()
		t.Fatalf("the key was not let go: %v", err)
	}
	cancel2()
	run2() // ends at once: its context has ended
}
