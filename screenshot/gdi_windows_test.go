//go:build windows

package screenshot

import (
	"context"
	"math/rand/v2"
	"testing"
	"unsafe"
)

var (
	procCreateSolidBrush = gdi32.NewProc("CreateSolidBrush")
	procFillRect         = user32.NewProc("FillRect")
)

// The screen is read through GDI: a rectangle of a colour drawn at random on the screen's
// device context is in the capture, where it was drawn, in the right colour (GDI's BGR
// order turned into RGBA), and the capture is the virtual screen's size. Under Wine (make
// test-windows) it runs on an Xvfb of its own, whose root window Wine's screen is.
func TestCaptureGDI(t *testing.T) {
	w, h := metric(smCXVirtualScreen), metric(smCYVirtualScreen)
	want := [3]uint8{uint8(32 + rand.IntN(192)), uint8(32 + rand.IntN(192)), uint8(32 + rand.IntN(192))}
	rect := struct{ Left, Top, Right, Bottom int32 }{int32(10 + rand.IntN(w/2)), int32(10 + rand.IntN(h/2)), 0, 0}
	rect.Right, rect.Bottom = rect.Left+40, rect.Top+30
	screen, _, _ := procGetDC.Call(0)
	if screen == 0 {
		t.Fatal("GetDC(NULL) gave no screen")
	}
	brush, _, _ := procCreateSolidBrush.Call(uintptr(want[0]) | uintptr(want[1])<<8 | uintptr(want[2])<<16) // COLORREF is 0x00BBGGRR
	if ok, _, err := procFillRect.Call(screen, uintptr(unsafe.Pointer(&rect)), brush); ok == 0 {
		t.Fatalf("FillRect: %v", err)
	}
	procDeleteObject.Call(brush)
	procGdiFlush.Call()
	procReleaseDC.Call(0, screen)

	img, err := Capture(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("captured %v, the virtual screen is %dx%d", b, w, h)
	}
	x0, y0 := int(rect.Left)-metric(smXVirtualScreen), int(rect.Top)-metric(smYVirtualScreen)
	off := 0
	for y := y0; y < y0+30; y++ {
		for x := x0; x < x0+40; x++ {
			c := img.RGBAAt(x, y)
			if c.R != want[0] || c.G != want[1] || c.B != want[2] || c.A != 0xff {
				off++
			}
		}
	}
	if off != 0 {
		t.Fatalf("%d of 1200 pixels of the rectangle differ from %v (its corner is %v)", off, want, img.RGBAAt(x0, y0))
	}
	// Around it, the screen is not that colour everywhere (the capture is not one fill).
	if c := img.RGBAAt(x0-5, y0-5); c.R == want[0] && c.G == want[1] && c.B == want[2] {
		t.Fatalf("the screen around the rectangle is its colour too: %v", c)
	}
}
