//go:build linux

package e2e

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
)

// screenshotX captures display disp's root window with xwd and writes the part that is not
// the empty black root (the window) to path as a PNG.
func screenshotX(disp, path string) (image.Image, error) {
	cmd := exec.Command("xwd", "-root", "-silent", "-display", disp)
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd: %w", err)
	}
	img, err := decodeXWD(raw)
	if err != nil {
		return nil, err
	}
	img = cropBlack(img)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return img, png.Encode(f, img)
}

// cropBlack cuts an image to the smallest rectangle holding every pixel that is not black.
func cropBlack(img image.Image) image.Image {
	b := img.Bounds()
	r := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if cr, cg, cb, _ := img.At(x, y).RGBA(); cr|cg|cb != 0 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if r.Empty() {
		return img
	}
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

// decodeXWD reads the 24/32-bit ZPixmap dumps xwd writes of a TrueColor screen.
func decodeXWD(b []byte) (image.Image, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("xwd: %d bytes", len(b))
	}
	h := make([]uint32, 25)
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	headerSize, format, width, height := h[0], h[2], int(h[4]), int(h[5])
	byteOrder, bpp, bpl, ncolors := h[7], h[11], int(h[12]), h[19]
	if format != 2 || (bpp != 32 && bpp != 24) || width <= 0 || height <= 0 {
		return nil, fmt.Errorf("xwd: format %d, %d bits per pixel", format, bpp)
	}
	off := int(headerSize) + int(ncolors)*12
	if off+bpl*height > len(b) {
		return nil, fmt.Errorf("xwd: %d bytes for %dx%d", len(b), width, height)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	step := int(bpp / 8)
	for y := range height {
		row := b[off+y*bpl:]
		for x := range width {
			p := row[step*x : step*x+step]
			if byteOrder == 0 { // LSBFirst: B, G, R[, pad]
				img.Set(x, y, color.RGBA{p[2], p[1], p[0], 0xff})
			} else { // MSBFirst: [pad,] R, G, B
				p = p[step-3:]
				img.Set(x, y, color.RGBA{p[0], p[1], p[2], 0xff})
			}
		}
	}
	return img, nil
}
