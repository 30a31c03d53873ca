//go:build linux || freebsd || openbsd || netbsd

package gui

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"
)

// The StatusNotifierItem watcher: Fyne's tray icon registers with it, and a panel that shows
// such icons (a tray host) registers with it too.
const (
	sniWatcher     = "org.kde.StatusNotifierWatcher"
	sniWatcherPath = "/StatusNotifierWatcher"
)

// trayHost reports whether the desktop shows tray icons, so that a window hidden to the tray
// can be brought back: a StatusNotifierWatcher is on the session bus and, if it says, a host
// has registered with it. No session bus, or one that does not answer within two seconds,
// means no tray.
func trayHost() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := dbus.SessionBusPrivateNoAutoStartup(dbus.WithContext(ctx))
	if err != nil {
		return false
	}
	defer conn.Close()
	if conn.Auth(nil) != nil || conn.Hello() != nil {
		return false
	}
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, sniWatcher).Store(&owned); err != nil || !owned {
		return false
	}
	var host dbus.Variant
	err = conn.Object(sniWatcher, sniWatcherPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		sniWatcher, "IsStatusNotifierHostRegistered").Store(&host)
	if err != nil {
		return true // a watcher that does not say: it is there for a host
	}
	registered, ok := host.Value().(bool)
	return !ok || registered
}
