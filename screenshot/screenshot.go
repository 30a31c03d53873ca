// Package screenshot captures the screen, for the window's screenshot tool (截图, as FeiQ's
// Ctrl+Alt+A): under X11 it reads the root window (XGetImage); where X11 capture is not
// allowed or there is no X server (Wayland), it asks the XDG desktop portal's Screenshot,
// which the desktop may confirm with the person. The region is chosen afterwards, in the
// window. It does not import Fyne.
package screenshot

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"runtime"

	"github.com/godbus/dbus/v5"

	"feigo/internal/portal"
)

// MaxPixels bounds a capture: 8K by 8K, 256 MiB as RGBA. A larger screen (or a portal's file
// claiming one) is refused rather than allocated.
const MaxPixels = 8192 * 8192

// MaxFile bounds the PNG file a portal hands back.
const MaxFile = 256 << 20

// ErrUnsupported is returned where no way to capture the screen exists (no X display, no
// portal, another system).
var ErrUnsupported = errors.New("screenshot: no way to capture this screen (no X display and no desktop portal)")

// ErrTooLarge is returned for a screen beyond MaxPixels.
var ErrTooLarge = errors.New("screenshot: the screen is too large")

// Capture captures the whole screen: on Windows through GDI (every monitor); elsewhere X11
// first where DISPLAY is set and the session is not Wayland, the desktop portal otherwise or
// when X11 fails. It blocks (the portal may ask the person): call it off any UI goroutine.
// The portal's cancel is portal.ErrCancelled.
func Capture(ctx context.Context) (*image.RGBA, error) {
	if runtime.GOOS == "windows" {
		return captureNative()
	}
	wayland := os.Getenv("WAYLAND_DISPLAY") != "" || os.Getenv("XDG_SESSION_TYPE") == "wayland"
	var xerr error
	if os.Getenv("DISPLAY") != "" && !wayland {
		img, err := captureX11()
		if err == nil {
			return img, nil
		}
		xerr = err
	}
	img, err := capturePortal(ctx)
	if errors.Is(err, portal.ErrNoPortal) || errors.Is(err, errNoBus) {
		if xerr != nil {
			return nil, xerr
		}
		if os.Getenv("DISPLAY") != "" {
			if img, err := captureX11(); err == nil {
				return img, nil
			}
		}
		return nil, ErrUnsupported
	}
	return img, err
}

var errNoBus = errors.New("screenshot: no session bus")

// capturePortal asks the desktop portal for a screenshot of the whole screen and reads the
// PNG it saved.
func capturePortal(ctx context.Context) (*image.RGBA, error) {
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoBus, err)
	}
	defer conn.Close()
	res, err := portal.Call(ctx, conn, "org.freedesktop.portal.Screenshot.Screenshot",
		map[string]dbus.Variant{"interactive": dbus.MakeVariant(false), "modal": dbus.MakeVariant(true)}, "")
	if err != nil {
		return nil, err
	}
	v, ok := res["uri"]
	s, _ := v.Value().(string)
	u, perr := url.Parse(s)
	if !ok || perr != nil || u.Scheme != "file" {
		return nil, fmt.Errorf("screenshot: the portal gave no file (%q)", s)
	}
	img, err := readPNG(u.Path)
	os.Remove(u.Path) // the portal's copy, in the person's Pictures: the window keeps its own
	return img, err
}

// readPNG reads a PNG of at most MaxFile bytes and MaxPixels pixels as RGBA.
func readPNG(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxFile {
		return nil, fmt.Errorf("screenshot: %s is not a screenshot file of at most %d MiB", path, MaxFile>>20)
	}
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, ErrTooLarge
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	src, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return toRGBA(src), nil
}

func toRGBA(src image.Image) *image.RGBA {
	if r, ok := src.(*image.RGBA); ok {
		return r
	}
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dst.Set(x, y, src.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// Crop returns the part r of img (clipped to it) as a new image starting at 0,0, or nil when
// nothing of r is in img.
func Crop(img *image.RGBA, r image.Rectangle) *image.RGBA {
	r = r.Canon().Intersect(img.Bounds())
	if r.Empty() {
		return nil
	}
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:y*out.Stride+r.Dx()*4], img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):])
	}
	return out
}
