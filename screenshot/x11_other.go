//go:build !linux || !cgo

package screenshot

import "image"

// captureX11 has no X11 here.
func captureX11() (*image.RGBA, error) { return nil, ErrUnsupported }
