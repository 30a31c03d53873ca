// Package portal makes requests of the XDG desktop portal over D-Bus
// (org.freedesktop.portal.Desktop): the desktop's own file chooser, its screenshot. A portal
// method returns a Request object's path at once; the answer comes later as that object's
// Response signal, with a code (0 done, 1 cancelled by the person, 2 other) and results.
package portal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// The portal's bus name and object, and the interface of its requests.
const (
	BusName = "org.freedesktop.portal.Desktop"
	Path    = "/org/freedesktop/portal/desktop"
	Request = "org.freedesktop.portal.Request"
)

// ErrNoPortal is returned when the session has no portal answering the method: the caller
// falls back to its own way.
var ErrNoPortal = errors.New("no desktop portal")

// ErrCancelled is returned when the person cancelled the portal's dialog.
var ErrCancelled = errors.New("cancelled")

// tokens numbers the requests of this process: a request's handle_token.
var tokens atomic.Uint64

// Call calls method (interface-qualified, e.g. "org.freedesktop.portal.Screenshot.Screenshot")
// on the portal with args, then opts, to which it adds the handle_token; it waits for the
// answer or ctx, and returns the results. It blocks: call it off any UI goroutine.
func Call(ctx context.Context, conn *dbus.Conn, method string, opts map[string]dbus.Variant, args ...any) (map[string]dbus.Variant, error) {
	names := conn.Names()
	if len(names) == 0 {
		return nil, ErrNoPortal
	}
	token := fmt.Sprintf("feigo%d", tokens.Add(1))
	sender := strings.ReplaceAll(strings.TrimPrefix(names[0], ":"), ".", "_")
	want := dbus.ObjectPath(Path + "/request/" + sender + "/" + token)
	match := []dbus.MatchOption{dbus.WithMatchInterface(Request), dbus.WithMatchMember("Response")}
	if err := conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	defer conn.RemoveMatchSignal(match...)
	sig := make(chan *dbus.Signal, 4)
	conn.Signal(sig)
	defer conn.RemoveSignal(sig)
	all := map[string]dbus.Variant{"handle_token": dbus.MakeVariant(token)}
	for k, v := range opts {
		all[k] = v
	}
	var handle dbus.ObjectPath
	err := conn.Object(BusName, Path).CallWithContext(ctx, method, 0, append(args, all)...).Store(&handle)
	if err != nil {
		var de dbus.Error
		if errors.As(err, &de) && (strings.HasSuffix(de.Name, ".ServiceUnknown") || strings.HasSuffix(de.Name, ".UnknownMethod") ||
			strings.HasSuffix(de.Name, ".UnknownObject") || strings.HasSuffix(de.Name, ".UnknownInterface")) {
			return nil, fmt.Errorf("%w: %v", ErrNoPortal, err)
		}
		return nil, fmt.Errorf("portal: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case s := <-sig:
			if s == nil || (s.Path != handle && s.Path != want) || len(s.Body) < 2 {
				continue
			}
			code, _ := s.Body[0].(uint32)
			if code == 1 {
				return nil, ErrCancelled
			}
			if code != 0 {
				return nil, fmt.Errorf("portal: %s ended with code %d", method, code)
			}
			res, _ := s.Body[1].(map[string]dbus.Variant)
			return res, nil
		}
	}
}
