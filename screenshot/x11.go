//go:build linux && cgo

package screenshot

/*
#cgo LDFLAGS: -lX11
#include <stdlib.h>
#include <string.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

// shot_size opens the display and returns its root window's size; NULL when no display.
static Display *shot_open(int *w, int *h) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) return NULL;
	XWindowAttributes a;
	if (!XGetWindowAttributes(d, DefaultRootWindow(d), &a)) { XCloseDisplay(d); return NULL; }
	*w = a.width; *h = a.height;
	return d;
}

static int shift_of(unsigned long m) { int s = 0; if (!m) return 0; while (!(m & 1)) { m >>= 1; s++; } return s; }
static int bits_of(unsigned long m) { int b = 0; while (m) { b += m & 1; m >>= 1; } return b; }

// shot_read reads the root window into out (w*h*4 bytes, RGBA), then closes the display.
// It returns 0, or 1 when the X server gave no image.
static int shot_read(Display *d, int w, int h, unsigned char *out) {
	XImage *img = XGetImage(d, DefaultRootWindow(d), 0, 0, w, h, AllPlanes, ZPixmap);
	if (img == NULL) { XCloseDisplay(d); return 1; }
	int rs = shift_of(img->red_mask), gs = shift_of(img->green_mask), bs = shift_of(img->blue_mask);
	int rb = bits_of(img->red_mask), gb = bits_of(img->green_mask), bb = bits_of(img->blue_mask);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			unsigned long p = XGetPixel(img, x, y);
			unsigned char *o = out + ((size_t)y * w + x) * 4;
			unsigned long r = (p & img->red_mask) >> rs, g = (p & img->green_mask) >> gs, b = (p & img->blue_mask) >> bs;
			o[0] = rb >= 8 ? r >> (rb - 8) : (rb ? r * 255 / ((1UL << rb) - 1) : 0);
			o[1] = gb >= 8 ? g >> (gb - 8) : (gb ? g * 255 / ((1UL << gb) - 1) : 0);
			o[2] = bb >= 8 ? b >> (bb - 8) : (bb ? b * 255 / ((1UL << bb) - 1) : 0);
			o[3] = 255;
		}
	}
	XDestroyImage(img);
	XCloseDisplay(d);
	return 0;
}

static void shot_close(Display *d) { XCloseDisplay(d); }
*/
import "C"

import (
	"errors"
	"image"
	"unsafe"
)

// captureX11 reads the X display's root window: every screen attached to it, as shown.
func captureX11() (*image.RGBA, error) {
	var w, h C.int
	d := C.shot_open(&w, &h)
	if d == nil {
		return nil, errors.New("screenshot: cannot open the X display")
	}
	if w <= 0 || h <= 0 || int(w)*int(h) > MaxPixels {
		C.shot_close(d)
		return nil, ErrTooLarge
	}
	img := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	if C.shot_read(d, w, h, (*C.uchar)(unsafe.Pointer(&img.Pix[0]))) != 0 {
		return nil, errors.New("screenshot: the X server gave no image of the screen")
	}
	return img, nil
}
