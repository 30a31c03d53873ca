//go:build (!linux || !cgo) && !windows

package screenshot

import (
	"context"
	"errors"
)

// ErrHotkeyTaken is returned when another program holds the key.
var ErrHotkeyTaken = errors.New("screenshot: Ctrl+Alt+A is taken by another program")

// Hotkey has no global key here.
func Hotkey(ctx context.Context, f func()) (run func(), err error) { return nil, ErrUnsupported }
