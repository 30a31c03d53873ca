//go:build linux && cgo

package screenshot

/*
#cgo LDFLAGS: -lX11
#include <poll.h>
#include <stdlib.h>
#include <X11/Xlib.h>
#include <X11/keysym.h>

static int grab_failed;
static int grab_error(Display *d, XErrorEvent *e) { grab_failed = 1; return 0; }

// hk_open opens a connection and grabs Ctrl+Alt+<keysym> on the root window, with and
// without Num Lock and Caps Lock. It returns NULL with *why set: 1 no display, 2 taken.
static Display *hk_open(unsigned long keysym, int *why) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) { *why = 1; return NULL; }
	KeyCode code = XKeysymToKeycode(d, (KeySym)keysym);
	unsigned int mods[] = {0, Mod2Mask, LockMask, Mod2Mask | LockMask};
	grab_failed = 0;
	XErrorHandler old = XSetErrorHandler(grab_error);
	for (int i = 0; i < 4; i++)
		XGrabKey(d, code, ControlMask | Mod1Mask | mods[i], DefaultRootWindow(d), True, GrabModeAsync, GrabModeAsync);
	XSync(d, False);
	XSetErrorHandler(old);
	if (grab_failed || code == 0) { XCloseDisplay(d); *why = 2; return NULL; }
	XSelectInput(d, DefaultRootWindow(d), KeyPressMask);
	return d;
}

// hk_wait waits for the key or for stopfd to become readable: 1 the key, 0 stop, -1 the
// connection broke.
static int hk_wait(Display *d, int stopfd, unsigned long keysym) {
	KeyCode code = XKeysymToKeycode(d, (KeySym)keysym);
	for (;;) {
		while (XPending(d) > 0) {
			XEvent ev;
			XNextEvent(d, &ev);
			// The grab delivers the key's press, and while it is held, any other key's.
			if (ev.type == KeyPress && ev.xkey.keycode == code &&
			    (ev.xkey.state & (ControlMask | Mod1Mask)) == (ControlMask | Mod1Mask)) return 1;
		}
		struct pollfd p[2] = {{ConnectionNumber(d), POLLIN, 0}, {stopfd, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) continue;
		if (p[1].revents) return 0;
		if (p[0].revents & (POLLHUP | POLLERR)) return -1;
	}
}

static void hk_close(Display *d) { XCloseDisplay(d); }
*/
import "C"

import (
	"context"
	"errors"
	"os"
)

// ErrHotkeyTaken is returned when another program holds the key.
var ErrHotkeyTaken = errors.New("screenshot: Ctrl+Alt+A is taken by another program")

// Hotkey grabs Ctrl+Alt+A on the whole X display (FeiQ's screenshot key) and returns run,
// which calls f each time the key is pressed, anywhere, until ctx ends, and then lets the key
// go. Call Hotkey before the window's toolkit uses Xlib (the grab sets Xlib's process-wide
// error handler for a moment, to learn whether another program holds the key:
// ErrHotkeyTaken); run run on a goroutine of its own. Without an X display (Wayland) it
// returns ErrUnsupported.
func Hotkey(ctx context.Context, f func()) (run func(), err error) {
	if os.Getenv("DISPLAY") == "" || os.Getenv("WAYLAND_DISPLAY") != "" {
		return nil, ErrUnsupported
	}
	var why C.int
	d := C.hk_open(C.ulong(C.XK_a), &why)
	if d == nil {
		if why == 2 {
			return nil, ErrHotkeyTaken
		}
		return nil, ErrUnsupported
	}
	r, w, err := os.Pipe()
	if err != nil {
		C.hk_close(d)
		return nil, err
	}
	return func() {
		stopped := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
			case <-stopped:
			}
			w.Close()
		}()
		defer func() {
			close(stopped)
			C.hk_close(d)
			r.Close()
		}()
		for C.hk_wait(d, C.int(r.Fd()), C.XK_a) == 1 {
			if ctx.Err() != nil {
				return
			}
			f()
		}
	}, nil
}
