package ui

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"github.com/godbus/dbus/v5"
)

// Desktop notifications on the freedesktop.org notification service (the D-Bus interface
// every Linux desktop's notification daemon serves): unlike Fyne's SendNotification, they
// have a default action (a click opens the conversation), they expire, and one
// conversation's notifications replace each other instead of piling up.
const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = "/org/freedesktop/Notifications"
	notifyIface = "org.freedesktop.Notifications"
)

// notifyExpiry is how long a notification stays on screen. The specification's -1 (the
// server's default) varies from "10 s" (dunst, xfce4-notifyd) to "until dismissed" (mako's
// default, and the 0 Fyne sends, which made them pile up); FeiQ's pop-ups go after a few
// seconds. 10 s is long enough to read a line and click it; the message stays unread in the
// window and the tray after it expires, and desktops that keep a history (GNOME) still list it.
const notifyExpiry = 10 * time.Second

// notifyCallTimeout bounds one call to the notification service.
const notifyCallTimeout = 5 * time.Second

// note is one notification: a new message or offer in the conversation key; or, with
// dismiss, the withdrawal of that conversation's notification (it has been read).
type note struct {
	key, title, body string
	dismiss          bool
}

// notifier shows notifications for conversations. notify and dismiss are called on Fyne's
// goroutine and never block; close ends what the notifier runs and is safe to call more
// than once.
type notifier interface {
	notify(n note)
	// dismiss withdraws the notification of the conversation key, read in the window.
	dismiss(key string)
	close()
}

// fyneNotifier is Fyne's SendNotification: no action, no replacing. It is the notifier
// where there is no D-Bus (Windows, macOS) and the fallback where the service cannot be
// reached.
type fyneNotifier struct{ app fyne.App }

func (f fyneNotifier) notify(n note) { f.app.SendNotification(fyne.NewNotification(n.title, n.body)) }
func (fyneNotifier) dismiss(string)  {}
func (fyneNotifier) close()          {}

// newNotifier returns the desktop's notifier: the freedesktop.org service on the session bus
// where desktops have one, Fyne's elsewhere. open is called on Fyne's goroutine with the
// conversation of a clicked notification.
func newNotifier(app fyne.App, post func(func()), open func(key string)) notifier {
	fallback := fyneNotifier{app}
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return fallback
	}
	return &busNotifier{
		connect:  dbus.ConnectSessionBus,
		post:     post,
		open:     open,
		fallback: fallback.notify,
	}
}

// busNotifier talks to the notification service. Its goroutine, started by the first
// notification, owns the connection: it sends the notifications and reads the service's
// signals (a click: ActionInvoked; a notification gone: NotificationClosed).
type busNotifier struct {
	connect  func(...dbus.ConnOption) (*dbus.Conn, error)
	post     func(func()) // to Fyne's goroutine
	open     func(key string)
	fallback func(note) // called on Fyne's goroutine, through post

	start  sync.Once
	notes  chan note
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // orders close after start
	closed bool
}

// notesQueued bounds the notifications waiting for the service: beyond it they are dropped
// (a flood of messages is in the window anyway).
const notesQueued = 16

func (b *busNotifier) notify(n note) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.start.Do(func() {
		b.notes = make(chan note, notesQueued)
		b.ctx, b.cancel = context.WithCancel(context.Background())
		b.done = make(chan struct{})
		go b.run()
	})
	select {
	case b.notes <- n:
	default:
	}
}

func (b *busNotifier) dismiss(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.notes == nil {
		return // nothing was notified
	}
	select {
	case b.notes <- note{key: key, dismiss: true}:
	default:
	}
}

// close stops the goroutine, which closes the connection, and waits for it.
func (b *busNotifier) close() {
	b.mu.Lock()
	b.closed = true
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// shown is what the goroutine knows of the notifications on screen.
type shown struct {
	byKey map[string]uint32 // the notification of each conversation, to replace
	byID  map[uint32]string // the conversation of each notification, for a click
}

func (b *busNotifier) run() {
	defer close(b.done)
	conn, err := b.connect(dbus.WithContext(b.ctx))
	if err != nil {
		b.fallBack(err)
		return
	}
	defer conn.Close()
	match := []dbus.MatchOption{dbus.WithMatchInterface(notifyIface), dbus.WithMatchObjectPath(notifyPath)}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	if err := conn.AddMatchSignalContext(b.ctx, match...); err != nil {
		b.fallBack(err)
		return
	}
	s := shown{byKey: map[string]uint32{}, byID: map[uint32]string{}}
	for {
		select {
		case <-b.ctx.Done():
			return
		case n := <-b.notes:
			if n.dismiss {
				if id, ok := s.byKey[n.key]; ok {
					b.withdraw(conn, id)
					delete(s.byKey, n.key)
					delete(s.byID, id)
				}
				continue
			}
			id, err := b.send(conn, n, s.byKey[n.key])
			if err != nil {
				b.post(func() { b.fallback(n) })
				continue
			}
			if old, ok := s.byKey[n.key]; ok && old != id {
				delete(s.byID, old)
			}
			s.byKey[n.key], s.byID[id] = id, n.key
		case sig, ok := <-sigs:
			if !ok {
				return // the connection is gone
			}
			b.signal(s, sig)
		}
	}
}

// fallBack hands every notification to the fallback once the service cannot be reached,
// until close.
func (b *busNotifier) fallBack(error) {
	for {
		select {
		case <-b.ctx.Done():
			return
		case n := <-b.notes:
			if !n.dismiss {
				b.post(func() { b.fallback(n) })
			}
		}
	}
}

// send shows n, replacing the notification replace (0: none), and returns its ID.
func (b *busNotifier) send(conn *dbus.Conn, n note, replace uint32) (uint32, error) {
	ctx, cancel := context.WithTimeout(b.ctx, notifyCallTimeout)
	defer cancel()
	hints := map[string]dbus.Variant{
		"category":      dbus.MakeVariant("im.received"),
		"desktop-entry": dbus.MakeVariant("io.github.feigo"),
	}
	// "default" is the click on the notification itself; its label shows where a server
	// draws actions as buttons.
	actions := []string{"default", n.title}
	var id uint32
	err := conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyIface+".Notify", 0,
		"FeiGo", replace, "", n.title, n.body, actions, hints, int32(notifyExpiry/time.Millisecond)).Store(&id)
	if err == nil && id == 0 {
		err = errors.New("the notification service returned no ID")
	}
	return id, err
}

// withdraw closes notification id (CloseNotification); an error (gone already) changes
// nothing.
func (b *busNotifier) withdraw(conn *dbus.Conn, id uint32) {
	ctx, cancel := context.WithTimeout(b.ctx, notifyCallTimeout)
	defer cancel()
	conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyIface+".CloseNotification", 0, id)
}

// signal follows the service: a click (ActionInvoked) opens the notification's
// conversation; a notification gone (NotificationClosed: expired, dismissed) is not
// replaced any more.
func (b *busNotifier) signal(s shown, sig *dbus.Signal) {
	if len(sig.Body) < 2 {
		return
	}
	id, _ := sig.Body[0].(uint32)
	key, ok := s.byID[id]
	if !ok {
		return // another app's, or one gone
	}
	switch sig.Name {
	case notifyIface + ".ActionInvoked":
		if action, _ := sig.Body[1].(string); action == "default" {
			b.post(func() { b.open(key) })
		}
	case notifyIface + ".NotificationClosed":
		delete(s.byID, id)
		if s.byKey[key] == id {
			delete(s.byKey, key)
		}
	}
}
