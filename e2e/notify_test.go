//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"feigo/internal/lab"
)

// This file is a notification daemon on the desktop session's bus (what dunst, mako or
// GNOME Shell serve: org.freedesktop.Notifications) and the window's notifications under it.

const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = "/org/freedesktop/Notifications"
	notifyIface = "org.freedesktop.Notifications"
)

// notifyCall is one call of Notify, as the daemon received it.
type notifyCall struct {
	replaces      uint32
	summary, body string
	actions       []string
	expire        int32
	id            uint32 // the ID the daemon gave it
}

// notifyDaemon owns org.freedesktop.Notifications and records what it is asked to show.
type notifyDaemon struct {
	conn   *dbus.Conn
	mu     sync.Mutex
	last   uint32
	calls  chan notifyCall
	closed chan uint32 // CloseNotification's IDs
}

func (d *notifyDaemon) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	d.mu.Lock()
	id := replaces
	if id == 0 {
		d.last++
		id = d.last
	}
	d.mu.Unlock()
	d.calls <- notifyCall{replaces: replaces, summary: summary, body: body, actions: actions, expire: expire, id: id}
	return id, nil
}

func (d *notifyDaemon) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body"}, nil
}
func (d *notifyDaemon) CloseNotification(id uint32) *dbus.Error {
	d.closed <- id
	return nil
}
func (d *notifyDaemon) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "e2e", "feigo", "1", "1.2", nil
}

// startNotifyDaemon puts a notification daemon on the session bus ($DBUS_SESSION_BUS_ADDRESS).
func startNotifyDaemon(t *testing.T) *notifyDaemon {
	t.Helper()
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d := &notifyDaemon{conn: conn, calls: make(chan notifyCall, 32), closed: make(chan uint32, 32)}
	if err := conn.Export(d, notifyPath, notifyIface); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(notifyName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", notifyName, reply, err)
	}
	return d
}

// next waits for the next notification shown.
func (d *notifyDaemon) next(t *testing.T, why string) notifyCall {
	t.Helper()
	select {
	case c := <-d.calls:
		t.Logf("notification: %+v", c)
		return c
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no notification", why)
		return notifyCall{}
	}
}

// click is a click on notification id: the daemon's ActionInvoked with the default action.
func (d *notifyDaemon) click(t *testing.T, id uint32) {
	t.Helper()
	if err := d.conn.Emit(notifyPath, notifyIface+".ActionInvoked", id, "default"); err != nil {
		t.Fatal(err)
	}
}

// waitTitle waits until the window's title is title.
func waitTitle(t *testing.T, title, why string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for exec.Command("xdotool", "search", "--name", "^"+regexp.QuoteMeta(title)+"$").Run() != nil {
		if time.Now().After(deadline) {
			out, _ := exec.Command("xdotool", "search", "--name", "^FeiGo", "getwindowname", "%@").Output()
			t.Fatalf("%s: the window's title is not %q: %q", why, title, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGUINotificationClickOpensItsConversation (issue 18): with the window hidden in the tray,
// messages from Bob and Carol are notified through the desktop's notification daemon with a
// default action (a click) and an expiry, Carol's second replacing her first instead of
// piling up; a click on Carol's brings the window back with her conversation in front (her
// messages read, Bob's still unread), and her notification is withdrawn.
func TestGUINotificationClickOpensItsConversation(t *testing.T) {
	l := lab.New(t, 3)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	carol := serve(t, l.Hosts[2], "Carol", "研发部")
	desktop(t, true)
	daemon := startNotifyDaemon(t)
	g := startWindow(t, l.Hosts[0], guiProfile(t, `{"nick":"王芳","group":"财务部","language":"en"}`), 2)
	bob.waitPeers(t, 2, 10*time.Second)
	carol.waitPeers(t, 2, 10*time.Second)

	clickClose(t)
	waitWindow(t, false, "✕ with a tray")
	send := func(from *node, text string) {
		t.Helper()
		if out, e, c := from.cli("send", "王芳", text); c != 0 {
			t.Fatalf("send: %s %s", out, e)
		}
	}
	send(bob, "还在吗？")
	b1 := daemon.next(t, "Bob's message")
	send(carol, "lunch?")
	c1 := daemon.next(t, "Carol's message")
	send(carol, "at 12?")
	c2 := daemon.next(t, "Carol's second message")
	for _, c := range []notifyCall{b1, c1, c2} {
		if len(c.actions) < 2 || c.actions[0] != "default" {
			t.Errorf("no default action (a click does nothing): %+v", c)
		}
		if c.expire <= 0 {
			t.Errorf("expire_timeout %d: it never goes", c.expire)
		}
	}
	if b1.summary != "New message from Bob" || b1.body != "还在吗？" || c1.summary != "New message from Carol" {
		t.Errorf("texts: %+v %+v", b1, c1)
	}
	if b1.replaces != 0 || c1.replaces != 0 || c1.id == b1.id {
		t.Errorf("Bob's and Carol's first notifications replace %d and %d (ids %d, %d)", b1.replaces, c1.replaces, b1.id, c1.id)
	}
	if c2.replaces != c1.id {
		t.Errorf("Carol's second notification replaces %d, want %d: they pile up", c2.replaces, c1.id)
	}
	waitTitle(t, "FeiGo (3)", "three messages unread")

	daemon.click(t, c2.id)
	waitWindow(t, true, "a click on Carol's notification")
	waitTitle(t, "FeiGo (1)", "Carol's conversation in front, Bob's message unread")
	// Carol's conversation read, her notification is withdrawn; Bob's stays.
	select {
	case id := <-daemon.closed:
		if id != c2.id {
			t.Errorf("closed notification %d, not Carol's %d", id, c2.id)
		}
	case <-time.After(10 * time.Second):
		t.Error("Carol's notification stays after her conversation was read")
	}
	shot := filepath.Join(artefactDir(t), "gui-notification-click.png")
	if _, err := screenshotX(os.Getenv("DISPLAY"), shot); err != nil {
		t.Logf("screenshot: %v", err)
	}
	if !g.Alive() {
		t.Fatalf("the window's app ended; its log:\n%s", g.LogTail())
	}
}
