//go:build linux

package e2e

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/internal/xvfb"
)

// artefactDir is where the smoke test leaves its screenshot for people to look at:
// $FEIGO_ARTEFACTS, else a folder under the system's temporary directory.
func artefactDir(t *testing.T) string {
	dir := os.Getenv("FEIGO_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "feigo-artefacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGUISmoke(t *testing.T) {
	l := lab.New(t, 3)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	serve(t, l.Hosts[2], "李雷", "研发部")
	disp := xvfb.Start(t)
	shot := filepath.Join(artefactDir(t), "gui-smoke.png")
	os.Remove(shot)
	t.Setenv("DISPLAY", disp)
	t.Setenv("LANG", "zh_CN.UTF-8")
	prof := filepath.Join(t.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	os.WriteFile(filepath.Join(prof, "settings.json"), []byte(`{"nick":"王芳","group":"财务部"}`), 0o600)
	// The window's node answers the CLI like `feigo serve` does, and sees Bob.
	guiNode := startGUI(t, l.Hosts[0], prof, 2)
	gui := guiNode.Proc
	bob.waitPeers(t, 2, 10*time.Second)
	// Bob → the window: acknowledged by the GUI's node (the window shows it; see the screenshot).
	if out, e, c := bob.cli("send", "王芳", "你好，周五的报表发你了 😀👍🎉 — Bob"); c != 0 {
		t.Fatalf("send to the GUI: %s %s", out, e)
	}
	// The window's node → Bob, through the CLI against the GUI's socket.
	if _, e, c := guiNode.cli("send", "Bob", "收到，谢谢！"); c != 0 {
		t.Fatalf("send from the GUI's node: %s", e)
	}
	bob.WaitEvent("message", 10*time.Second, func(ev map[string]any) bool {
		return ev["message"].(map[string]any)["text"] == "收到，谢谢！"
	})
	// Bob offers a file: the window's node lists the offer; it stays on screen for the
	// screenshot, then the CLI accepts it through the window's socket.
	src := filepath.Join(t.TempDir(), "季度报告.xlsx")
	randomFile(t, src, 300<<10, 3)
	if _, e, c := bob.cli("send-file", "--no-wait", "--text", "报表", "王芳", src); c != 0 {
		t.Fatalf("send-file to the GUI: %s", e)
	}
	var offerID int
	deadline := time.Now().Add(10 * time.Second)
	for offerID == 0 {
		for _, tr := range guiNode.transfers(t) {
			if tr.Direction == "in" {
				offerID = tr.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the GUI's node shows no offer")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A screenshot of the real window, for people to look at: wait for the message to be
	// drawn, then take the X screen.
	time.Sleep(2 * time.Second)
	img, err := screenshotX(disp, shot)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 600 || img.Bounds().Dy() < 400 || blank(img) {
		t.Fatalf("screenshot %s is %v and blank=%v", shot, img.Bounds(), blank(img))
	}
	t.Logf("screenshot of the window: %s", shot)
	dl := t.TempDir()
	if out, e, c := guiNode.cli("accept", fmt.Sprint(offerID), "--to", dl, "--wait"); c != 0 {
		t.Fatalf("accept through the GUI's socket: %s %s", out, e)
	}
	if fileSum(t, src) != fileSum(t, filepath.Join(dl, "季度报告.xlsx")) {
		t.Fatal("the file the window's node received differs")
	}
	// Quitting the window says goodbye: Bob drops it at once.
	if code := gui.Stop(); code != 0 {
		t.Errorf("the GUI exited %d; log:\n%s", code, gui.LogTail())
	}
	bob.WaitEvent("peer_offline", 5*time.Second, nil)
	t.Logf("the window's log:\n%s", gui.LogTail())
	if strings.Contains(gui.LogTail(), "panic") {
		t.Errorf("log:\n%s", gui.LogTail())
	}

	// Started again, the window's history holds both messages and the transfer, and a new
	// message from Bob opens the conversation with them above it (see gui-history.png).
	guiNode = startGUI(t, l.Hosts[0], prof, 2)
	var got []string
	for _, r := range guiNode.historyOf(t, "Bob") {
		got = append(got, string(r.Direction)+" "+r.Kind+" "+r.State+" "+r.Text)
	}
	want := []string{"in text received 你好，周五的报表发你了 😀👍🎉 — Bob", "out text delivered 收到，谢谢！", "in text received 报表", "in file done 季度报告.xlsx"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the window's history after a restart:\n got %q\nwant %q", got, want)
	}
	// Bob lists the window again once it has proved its key at its address.
	bob.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
		p, _ := ev["peer"].(map[string]any)
		return p["nick"] == "王芳" && p["secure"] == true
	})
	if _, e, c := bob.cli("send", "王芳", "历史记录还在吗？"); c != 0 {
		t.Fatalf("send to the restarted GUI: %s", e)
	}
	time.Sleep(2 * time.Second)
	shot = filepath.Join(artefactDir(t), "gui-history.png")
	if img, err := screenshotX(disp, shot); err != nil || blank(img) {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot of the conversation with its history: %s", shot)
	if code := guiNode.Stop(); code != 0 || strings.Contains(guiNode.LogTail(), "panic") {
		t.Errorf("the GUI exited %d; log:\n%s", code, guiNode.LogTail())
	}
}

// startGUI starts the window with profile prof on h and waits until its node answers on the
// control socket and lists want peers.
func startGUI(t testing.TB, h *lab.Host, prof string, want int) *node {
	t.Helper()
	gui := h.Start(t.TempDir(), bin, "gui", "--profile", prof)
	n := &node{Proc: gui, profile: prof}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := n.call(control.Request{Cmd: "peers"})
		if err == nil && len(resp.Peers) == want {
			return n
		}
		if time.Now().After(deadline) || !gui.Alive() {
			t.Fatalf("the GUI's node does not list %d peers (%v, %+v); its log:\n%s", want, err, resp.Peers, gui.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// blank reports whether an image is a single colour (nothing was drawn).
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

func TestGUIWithoutDisplaySaysSo(t *testing.T) {
	l := lab.New(t, 1) // in a lab host, in case it started a node after all
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, errOut, code := l.Hosts[0].Run(bin, "gui", "--profile", filepath.Join(t.TempDir(), "p"))
	if code != 1 || !strings.Contains(errOut, "no graphical display") || !strings.Contains(errOut, "feigo serve") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// guiProfile makes a profile directory for the window with the given settings.json.
func guiProfile(t *testing.T, settings string) string {
	t.Helper()
	prof := filepath.Join(t.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	if err := os.WriteFile(filepath.Join(prof, "settings.json"), []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	return prof
}

// startWindow starts the window on h as startGUI does, stops it when the test ends if it is
// still running (before the X server goes), and waits until it is on the screen.
func startWindow(t *testing.T, h *lab.Host, prof string, peers int) *node {
	t.Helper()
	g := startGUI(t, h, prof, peers)
	t.Cleanup(func() {
		if g.Alive() {
			g.Kill()
		}
	})
	waitWindow(t, true, "started")
	return g
}

// waitExit waits until the window's program has ended by itself and returns its exit code.
func waitExit(t *testing.T, g *node, timeout time.Duration, why string) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for g.Alive() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the app still runs after %v; its log:\n%s", why, timeout, g.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g.Cmd.ProcessState.ExitCode()
}

// goneFrom waits for the window's node (王芳) to leave peer's list, well before the 45 s in
// which a silent colleague is dropped: it said goodbye (BR_EXIT).
func goneFrom(t *testing.T, peer *node, since time.Time) {
	t.Helper()
	peer.WaitEvent("peer_offline", 10*time.Second, func(ev map[string]any) bool {
		p, _ := ev["peer"].(map[string]any)
		return p["nick"] == "王芳"
	})
	t.Logf("the colleague saw the window's node leave %v after ✕", time.Since(since).Round(time.Millisecond))
}

// TestGUIWindowCloseWithoutTrayQuits (issue 18, bug 1): on a desktop without a tray host (a
// session bus with no StatusNotifierWatcher), closing the window (✕, through the window
// manager) ends the app, and colleagues see it leave at once (BR_EXIT).
func TestGUIWindowCloseWithoutTrayQuits(t *testing.T) {
	l := lab.New(t, 2)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	desktop(t, false)
	g := startWindow(t, l.Hosts[0], guiProfile(t, `{"nick":"王芳","group":"财务部"}`), 1)
	bob.waitPeers(t, 1, 10*time.Second)
	closed := time.Now()
	clickClose(t)
	if code := waitExit(t, g, 10*time.Second, "✕ without a tray"); code != 0 || strings.Contains(g.LogTail(), "panic") {
		t.Errorf("the app exited %d; its log:\n%s", code, g.LogTail())
	}
	goneFrom(t, bob, closed)
}

// TestGUIWindowCloseWithTrayHides (issue 18, bugs 1 and 3): with a tray host on the session bus,
// ✕ hides the window and the app stays online; a left click on the tray icon and the menu's
// Show bring the window back; the tray's Away sends the away message saved in the settings and
// the menu marks it; the menu's Quit ends the app, which says goodbye to the LAN.
func TestGUIWindowCloseWithTrayHides(t *testing.T) {
	l := lab.New(t, 2)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	tray := desktop(t, true)
	g := startWindow(t, l.Hosts[0], guiProfile(t, `{"nick":"王芳","group":"财务部","language":"en","away_text":"在开会，稍后回复"}`), 1)
	icon := tray.item(30 * time.Second)
	bob.waitPeers(t, 1, 10*time.Second)

	clickClose(t)
	waitWindow(t, false, "✕ with a tray")
	// Still running, and online: Bob's message is delivered.
	if out, e, c := bob.cli("send", "王芳", "还在吗？"); c != 0 || !g.Alive() {
		t.Fatalf("after ✕ with a tray: alive %v, Bob's message: %s %s", g.Alive(), out, e)
	}
	// The hidden window counts it unread (its title; the tray's icon gets the red dot).
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("xdotool", "search", "--name", `^FeiGo \(1\)$`).Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the hidden window does not count Bob's message unread; log:\n%s", g.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tray.leftClick(icon); err != nil {
		t.Fatalf("a left click on the tray icon: %v", err)
	}
	waitWindow(t, true, "a left click on the tray icon")

	// The tray's Away: the saved away message goes out, the menu marks Away.
	if e := tray.entry(icon, "Online"); !e.checked {
		t.Errorf("the tray menu does not mark Online: %+v", e)
	}
	tray.click(icon, "Away")
	bob.WaitEvent("peer_updated", 10*time.Second, func(ev map[string]any) bool {
		p, _ := ev["peer"].(map[string]any)
		return p["nick"] == "王芳" && p["status"] == "away" && p["away_text"] == "在开会，稍后回复"
	})
	deadline = time.Now().Add(10 * time.Second)
	for !tray.entry(icon, "Away").checked || tray.entry(icon, "Online").checked {
		if time.Now().After(deadline) {
			entries, err := tray.menu(icon)
			t.Fatalf("the tray menu does not mark Away: %+v %v", entries, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	entries, _ := tray.menu(icon)
	t.Logf("the tray menu: %+v", entries)

	clickClose(t)
	waitWindow(t, false, "✕ again")
	tray.click(icon, "Show")
	waitWindow(t, true, "the tray's Show")

	clickClose(t)
	waitWindow(t, false, "✕ before Quit")
	quit := time.Now()
	tray.click(icon, "Quit")
	if code := waitExit(t, g, 10*time.Second, "the tray's Quit"); code != 0 || strings.Contains(g.LogTail(), "panic") {
		t.Errorf("the app exited %d; its log:\n%s", code, g.LogTail())
	}
	goneFrom(t, bob, quit)
}
