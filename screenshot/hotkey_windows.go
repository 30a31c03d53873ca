//go:build windows

package screenshot

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ErrHotkeyTaken is returned when another program holds the key.
var ErrHotkeyTaken = errors.New("screenshot: Ctrl+Alt+A is taken by another program")

var (
	procRegisterHotKey    = user32.NewProc("RegisterHotKey")
	procUnregisterHotKey  = user32.NewProc("UnregisterHotKey")
	procGetMessage        = user32.NewProc("GetMessageW")
	procPeekMessage       = user32.NewProc("PeekMessageW")
	procPostThreadMessage = user32.NewProc("PostThreadMessageW")
)

const (
	modAlt      = 0x0001
	modControl  = 0x0002
	modNoRepeat = 0x4000
	wmQuit      = 0x0012
	wmHotkey    = 0x0312
	hotkeyID    = 1
	// errHotkeyAlreadyRegistered is ERROR_HOTKEY_ALREADY_REGISTERED.
	errHotkeyAlreadyRegistered = windows.Errno(1409)
)

// winMsg is MSG.
type winMsg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
	private uint32
}

// Hotkey registers Ctrl+Alt+A for the whole desktop (RegisterHotKey, as FeiQ does on
// Windows) and returns run, which calls f each time the key is pressed until ctx ends, and
// then lets the key go. The key belongs to a thread of its own, locked, with its message
// loop; presses before run runs are dropped. ErrHotkeyTaken when another program holds it.
func Hotkey(ctx context.Context, f func()) (run func(), err error) {
	registered := make(chan error, 1)
	started, done := make(chan struct{}), make(chan struct{})
	var tid uint32
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid = windows.GetCurrentThreadId()
		var m winMsg
		procPeekMessage.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0, 0) // the thread's queue, for WM_QUIT
		if ok, _, e := procRegisterHotKey.Call(0, hotkeyID, modAlt|modControl|modNoRepeat, 'A'); ok == 0 {
			if errors.Is(e, errHotkeyAlreadyRegistered) {
				registered <- ErrHotkeyTaken
			} else {
				registered <- fmt.Errorf("screenshot: RegisterHotKey: %v", e)
			}
			return
		}
		defer procUnregisterHotKey.Call(0, hotkeyID)
		registered <- nil
		for {
			r, _, _ := procGetMessage.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
			if int32(r) <= 0 { // WM_QUIT, or an error
				return
			}
			if m.message == wmHotkey && m.wParam == hotkeyID {
				select {
				case <-started:
					if ctx.Err() == nil {
						f()
					}
				default:
				}
			}
		}
	}()
	if err := <-registered; err != nil {
		<-done
		return nil, err
	}
	// ctx's end stops the loop, whether run runs or not.
	go func() {
		select {
		case <-ctx.Done():
			procPostThreadMessage.Call(uintptr(tid), wmQuit, 0, 0)
		case <-done:
		}
	}()
	return func() {
		close(started)
		<-done
	}, nil
}
