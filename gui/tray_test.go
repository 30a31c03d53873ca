package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"feigo/assets"
	"feigo/ipmsg"
	"feigo/peers"
	"feigo/profile"
	"feigo/ui"
	"feigo/xfer"
)

// fakeDesk is Fyne's desktop app as the tray sees it: it keeps what was set.
type fakeDesk struct {
	menu   *fyne.Menu
	icon   fyne.Resource
	window fyne.Window
}

func (d *fakeDesk) SetSystemTrayMenu(m *fyne.Menu)       { d.menu = m }
func (d *fakeDesk) SetSystemTrayIcon(r fyne.Resource)    { d.icon = r }
func (d *fakeDesk) SetSystemTrayWindow(w fyne.Window)    { d.window = w }
func (d *fakeDesk) item(label string) *fyne.MenuItem     { return findItem(d.menu, label) }
func (d *fakeDesk) checked(label string) bool            { return d.item(label).Checked }
func findItem(m *fyne.Menu, label string) *fyne.MenuItem { return m.Items[itemIndex(m, label)] }

func itemIndex(m *fyne.Menu, label string) int {
	for i, it := range m.Items {
		if it.Label == label {
			return i
		}
	}
	return -1
}

// statusCore is a node for the window that reports the status changes asked of it; the
// window calls nothing else here.
type statusCore struct {
	ui.Core
	asked chan string
}

func (c *statusCore) Self() ipmsg.Entry          { return ipmsg.Entry{Nick: "王芳", Group: "财务部"} }
func (c *statusCore) Peers() []peers.Peer        { return nil }
func (c *statusCore) Transfers() []xfer.Transfer { return nil }
func (c *statusCore) SetAway(away bool, text string) {
	if away {
		c.asked <- "away: " + text
	} else {
		c.asked <- "online " + text
	}
}

// next returns the next status change asked of the core (the window asks in the background).
func (c *statusCore) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-c.asked:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("the node was asked no status change")
		return ""
	}
}

// TestTrayStatusIsTheWindowStatus (issue 18, bug 3): the tray's Away sends the away message
// saved in the settings (not the default one) and moves the window's status selector; the tray
// marks the status chosen, in the tray or in the window; the menu ends with Quit, and a left
// click on the icon is given the window to show.
func TestTrayStatusIsTheWindowStatus(t *testing.T) {
	a := test.NewTempApp(t)
	core := &statusCore{asked: make(chan string, 10)}
	var tr *tray
	u := ui.New(a, core, ui.Options{
		Settings: profile.Settings{Language: "zh", AwayText: "在开会，稍后回复"},
		OnUnread: func(n int) { tr.setUnread(n) },
		OnStatus: func(bool) { tr.refresh() },
	})
	t.Cleanup(u.Close)
	desk := &fakeDesk{}
	quits := 0
	var tapped func()
	tr = newTray(desk, u, fyne.NewStaticResource("feigo.png", assets.Icon), func() { quits++ }, func(f func()) { tapped = f }, fyne.Do)
	if desk.window != u.Win || tapped == nil {
		t.Fatal("a left click on the tray icon does not show the window")
	}
	tapped()
	if !desk.checked("在线") || desk.checked("离开") {
		t.Fatalf("a new tray marks %v", labels(desk.menu))
	}

	desk.item("离开").Action()
	if got := core.next(t); got != "away: 在开会，稍后回复" {
		t.Fatalf("the tray's Away asked the node %q", got)
	}
	if !u.Away() || !desk.checked("离开") || desk.checked("在线") {
		t.Fatalf("after the tray's Away: window away %v, tray %v", u.Away(), labels(desk.menu))
	}
	// The window's selector (what SetAway moves) says so too: the status chosen there goes
	// back to the tray.
	u.SetAway(false)
	if got := core.next(t); got != "online " {
		t.Fatalf("the node was asked %q", got)
	}
	if !desk.checked("在线") || desk.checked("离开") {
		t.Fatalf("after Online in the window, the tray marks %v", labels(desk.menu))
	}

	// Unread messages: a badge and a count, the status mark kept.
	desk.item("离开").Action()
	core.next(t)
	tr.setUnread(3)
	if desk.menu.Label != "FeiGo (3)" || desk.icon.Name() != "feigo-unread.png" || !desk.checked("离开") {
		t.Fatalf("with 3 unread: menu %q, icon %s, %v", desk.menu.Label, desk.icon.Name(), labels(desk.menu))
	}
	last := desk.menu.Items[len(desk.menu.Items)-1]
	if last.Label != "退出" || !last.IsQuit {
		t.Fatalf("the menu ends with %q (quit %v): %v", last.Label, last.IsQuit, labels(desk.menu))
	}
	last.Action()
	if quits != 1 {
		t.Fatal("the tray's Quit did not quit")
	}
}

func labels(m *fyne.Menu) string {
	var out []string
	for _, it := range m.Items {
		l := it.Label
		if it.Checked {
			l = "✓" + l
		}
		out = append(out, l)
	}
	return strings.Join(out, " | ")
}

// TestClosingTheWindow: ✕ hides the window where a tray can bring it back, and quits where
// none can or where the settings say so (without asking the desktop).
func TestClosingTheWindow(t *testing.T) {
	for _, c := range []struct {
		name               string
		closeQuits, tray   bool
		wantHide, wantQuit bool
		asks               bool
	}{
		{"tray", false, true, true, false, true},
		{"no tray", false, false, false, true, true},
		{"close quits", true, true, false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan string, 2)
			asked := false
			hasTray := func() bool { asked = true; return c.tray }
			closeWindow(c.closeQuits, hasTray, func() { done <- "hide" }, func() { done <- "quit" }, fyne.Do)
			var got string
			select {
			case got = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("closing did nothing")
			}
			if (got == "hide") != c.wantHide || (got == "quit") != c.wantQuit || asked != c.asks {
				t.Fatalf("closing did %s (asked the desktop: %v)", got, asked)
			}
		})
	}
}

// TestTrayFollowsTheLanguage (issue 18, bug 9): switching the language in Settings switches
// the tray's menu too.
func TestTrayFollowsTheLanguage(t *testing.T) {
	a := test.NewTempApp(t)
	core := &statusCore{asked: make(chan string, 10)}
	var tr *tray
	u := ui.New(a, core, windowOptions(profile.Settings{Language: "en"}, nil, func() *tray { return tr }))
	t.Cleanup(u.Close)
	desk := &fakeDesk{}
	tr = newTray(desk, u, fyne.NewStaticResource("feigo.png", assets.Icon), func() {}, func(func()) {}, fyne.Do)
	if itemIndex(desk.menu, "Show") < 0 {
		t.Fatalf("an English tray menu: %v", labels(desk.menu))
	}
	st := u.Settings()
	st.Language = "zh"
	u.ApplySettings(st)
	if itemIndex(desk.menu, "显示") < 0 || itemIndex(desk.menu, "Show") >= 0 || desk.menu.Items[len(desk.menu.Items)-1].Label != "退出" {
		t.Fatalf("after switching to Chinese, the tray menu is %v", labels(desk.menu))
	}
}
