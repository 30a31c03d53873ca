//go:build !windows

package screenshot

import "image"

// captureNative is Windows' GDI capture; elsewhere the screen is X11's or the portal's.
func captureNative() (*image.RGBA, error) { return nil, ErrUnsupported }
