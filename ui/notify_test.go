package ui

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"feigo/event"
	"feigo/lan"
)

// notifyCall is one call of Notify, as the server received it.
type notifyCall struct {
	appName          string
	replaces         uint32
	summary, body    string
	actions          []string
	hints            map[string]dbus.Variant
	expire           int32
	id               uint32 // the ID the server gave it
	desktopEntry     string
	category         string
	actionsByKeyword map[string]string
}

// fakeNotifyServer is a notification daemon: it owns org.freedesktop.Notifications on the
// bus and records what it is asked to show.
type fakeNotifyServer struct {
	conn   *dbus.Conn
	mu     sync.Mutex
	next   uint32
	calls  chan notifyCall
	closed chan uint32 // CloseNotification's IDs
}

func (s *fakeNotifyServer) Notify(appName string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	s.mu.Unlock()
	c := notifyCall{appName: appName, replaces: replaces, summary: summary, body: body, actions: actions, hints: hints, expire: expire, id: id,
		actionsByKeyword: map[string]string{}}
	for i := 0; i+1 < len(actions); i += 2 {
		c.actionsByKeyword[actions[i]] = actions[i+1]
	}
	if v, ok := hints["desktop-entry"]; ok {
		c.desktopEntry, _ = v.Value().(string)
	}
	if v, ok := hints["category"]; ok {
		c.category, _ = v.Value().(string)
	}
	s.calls <- c
	return id, nil
}

func (s *fakeNotifyServer) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body"}, nil
}

func (s *fakeNotifyServer) CloseNotification(id uint32) *dbus.Error {
	s.closed <- id
	return nil
}

func (s *fakeNotifyServer) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "fake", "feigo", "1", "1.2", nil
}

func (s *fakeNotifyServer) emit(member string, args ...any) {
	if err := s.conn.Emit(notifyPath, notifyIface+"."+member, args...); err != nil {
		panic(err)
	}
}

// next returns the next notification the server was asked to show.
func (s *fakeNotifyServer) nextCall(t *testing.T) notifyCall {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no notification reached the server")
		return notifyCall{}
	}
}

func startNotifyServer(t *testing.T, addr string) *fakeNotifyServer {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &fakeNotifyServer{conn: conn, calls: make(chan notifyCall, 16), closed: make(chan uint32, 16)}
	if err := conn.Export(s, notifyPath, notifyIface); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(notifyName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", notifyName, reply, err)
	}
	return s
}

// busNotifierOn is the window's notifier on the bus at addr, whose posts run at once.
func busNotifierOn(addr string, open func(string), fallback func(note)) *busNotifier {
	return &busNotifier{
		connect:  func(o ...dbus.ConnOption) (*dbus.Conn, error) { return dbus.Connect(addr, o...) },
		post:     func(f func()) { f() },
		open:     open,
		fallback: fallback,
	}
}

// TestNotificationsHaveAClickAndExpire (issue 18): the notification service is asked for a
// notification with a default action (the click), an expiry (not 0: never) and, for the next
// one of the same conversation, the ID of the one it replaces; another conversation's is a
// notification of its own. The service's ActionInvoked for one opens its conversation;
// after its NotificationClosed the next one is new. close ends the goroutine and the
// connection.
func TestNotificationsHaveAClickAndExpire(t *testing.T) {
	addr := privateBus(t)
	srv := startNotifyServer(t, addr)
	opened := make(chan string, 4)
	var fellBack []note
	b := busNotifierOn(addr, func(key string) { opened <- key }, func(n note) { fellBack = append(fellBack, n) })
	t.Cleanup(b.close)

	b.notify(note{key: "bob", title: "New message from Bob", body: "lunch?"})
	first := srv.nextCall(t)
	if first.replaces != 0 || first.summary != "New message from Bob" || first.body != "lunch?" || first.appName != "FeiGo" {
		t.Errorf("first notification: %+v", first)
	}
	if _, ok := first.actionsByKeyword["default"]; !ok {
		t.Errorf("no default action (a click does nothing): %q", first.actions)
	}
	if first.expire != 10000 {
		t.Errorf("expire_timeout %d ms, want 10000", first.expire)
	}
	if first.desktopEntry != "io.github.feigo" || first.category != "im.received" {
		t.Errorf("hints %v", first.hints)
	}
	b.notify(note{key: "bob", title: "New message from Bob", body: "at 12?"})
	if again := srv.nextCall(t); again.replaces != first.id {
		t.Errorf("Bob's second notification replaces %d, want %d (they pile up)", again.replaces, first.id)
	}
	b.notify(note{key: "carol", title: "New message from Carol", body: "hi"})
	carol := srv.nextCall(t)
	if carol.replaces != 0 || carol.id == first.id {
		t.Errorf("Carol's notification replaces %d (id %d, Bob's %d)", carol.replaces, carol.id, first.id)
	}

	srv.emit("ActionInvoked", uint32(4242), "default") // another app's
	srv.emit("ActionInvoked", carol.id, "default")
	select {
	case key := <-opened:
		if key != "carol" {
			t.Fatalf("a click on Carol's notification opened %q", key)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a click on the notification opened nothing")
	}

	// Carol's conversation is read in the window: her notification is withdrawn.
	b.dismiss("carol")
	select {
	case id := <-srv.closed:
		if id != carol.id {
			t.Fatalf("reading Carol's conversation closed notification %d, not hers (%d)", id, carol.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading Carol's conversation left her notification on screen")
	}
	b.dismiss("carol") // nothing left to close
	b.dismiss("dave")  // never notified

	// Bob's expires: his next one is a new notification.
	srv.emit("NotificationClosed", first.id, uint32(1))
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.notify(note{key: "bob", title: "New message from Bob", body: "?"})
		c := srv.nextCall(t)
		if c.replaces == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed notification is still replaced: %+v", c)
		}
	}
	select {
	case key := <-opened:
		t.Fatalf("opened %q without a click", key)
	default:
	}
	select {
	case id := <-srv.closed:
		t.Errorf("closed notification %d with nothing read", id)
	default:
	}
	if len(fellBack) != 0 {
		t.Errorf("fell back to Fyne's notifications with a service there: %v", fellBack)
	}

	b.close()
	select {
	case <-b.done:
	default:
		t.Fatal("close returned before the notifier's goroutine ended")
	}
	b.notify(note{key: "bob", title: "after close"})
	select {
	case c := <-srv.calls:
		t.Fatalf("notified after close: %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestNotificationsWithoutAService: on a session bus with no notification service (or no bus
// at all), notifications go through Fyne's SendNotification.
func TestNotificationsWithoutAService(t *testing.T) {
	addr := privateBus(t)
	for name, a := range map[string]string{"no service": addr, "no bus": "unix:path=" + filepath.Join(t.TempDir(), "none")} {
		fell := make(chan note, 1)
		b := busNotifierOn(a, func(string) { t.Error("opened") }, func(n note) { fell <- n })
		b.notify(note{key: "bob", title: "New message from Bob", body: "lunch?"})
		select {
		case n := <-fell:
			if n.title != "New message from Bob" {
				t.Errorf("%s: fell back with %+v", name, n)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: the notification was lost", name)
		}
		b.close()
	}
}

// TestNotificationClickOpensItsConversation: the click on a notification (what the notifier
// hands to the window) brings the hidden window back with that conversation in front and read.
func TestNotificationClickOpensItsConversation(t *testing.T) {
	u, _ := newTestUI(t, "en")
	var notes []note
	u.notes = notesFunc(func(n note) { notes = append(notes, n) })
	u.HandleEvent(online("b", "Bob", "", bobAddr))
	u.HandleEvent(online("c", "Carol", "", carolAddr))
	msg := func(id, nick string, text string) {
		a := bobAddr
		if id == "c" {
			a = carolAddr
		}
		u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: id, Nick: nick, Addr: a, Text: text, Time: time.Now()}})
	}
	msg("b", "Bob", "hi")
	u.Hide()
	msg("c", "Carol", "lunch?")
	msg("b", "Bob", "still there?")
	if len(notes) != 2 || notes[0].key != "c" || notes[1].key != "b" {
		t.Fatalf("notes %+v", notes)
	}
	if u.Unread() != 2 {
		t.Fatalf("unread %d", u.Unread())
	}
	u.openNoted(notes[0].key) // Carol's
	if u.hidden || u.tabs.Selected() != u.convs["c"].tab {
		t.Fatalf("after the click: hidden %v, in front %q", u.hidden, u.tabs.Selected().Text)
	}
	if u.convs["c"].unread != 0 || u.Unread() != 1 || u.Win.Title() != "FeiGo (1)" {
		t.Fatalf("after the click: Carol unread %d, total %d, title %q", u.convs["c"].unread, u.Unread(), u.Win.Title())
	}
	if u.Win.Canvas().Focused() != u.convs["c"].input {
		t.Errorf("the cursor is not in Carol's message box")
	}
}

type notesFunc func(note)

func (f notesFunc) notify(n note) { f(n) }
func (notesFunc) dismiss(string)  {}
func (notesFunc) close()          {}
