package ui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// gradient is a capture whose every pixel says where it is: red x, green y.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 0x40, A: 0xff})
		}
	}
	return img
}

// shoot starts a screenshot with capture standing for the screen, and returns where the
// region's PNG goes.
func shoot(t *testing.T, u *testUI, img *image.RGBA) chan []byte {
	t.Helper()
	u.capture = func(context.Context) (*image.RGBA, error) { return img, nil }
	got := make(chan []byte, 1)
	u.screenshot(func(b []byte) { got <- b })
	u.settle()
	if u.picker == nil {
		t.Fatal("no region picker after the capture")
	}
	return got
}

// TestScreenshotRegion (issue 15): the region dragged on the capture, shown at half its size,
// comes out as those pixels of the screen, as PNG, once.
func TestScreenshotRegion(t *testing.T) {
	u, _ := newTestUI(t, "en")
	img := gradient(240, 160)
	got := shoot(t, u, img)
	if !u.shooting {
		t.Fatal("the screenshot is not in progress")
	}
	p := u.picker
	p.Resize(fyne.NewSize(120, 80)) // the capture at half size: 2 pixels a unit
	p.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(10, 5)}, Button: desktop.MouseButtonPrimary})
	for _, at := range []fyne.Position{fyne.NewPos(30, 20), fyne.NewPos(60, 45)} {
		p.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: at}})
	}
	if !p.shown {
		t.Fatal("the region is not shown while dragged")
	}
	p.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(60, 45)}, Button: desktop.MouseButtonPrimary})
	p.DragEnd()
	u.settle()
	var b []byte
	select {
	case b = <-got:
	default:
		t.Fatal("no image came of the region")
	}
	if len(got) != 0 {
		t.Fatal("the region came twice")
	}
	out, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if bb := out.Bounds(); bb.Dx() != 100 || bb.Dy() != 80 {
		t.Fatalf("the region is %v, want 100×80 pixels (50×40 units at 2 pixels a unit)", bb)
	}
	for _, pt := range []image.Point{{0, 0}, {99, 79}, {37, 11}} {
		r, g, _, _ := out.At(pt.X, pt.Y).RGBA()
		if want := (image.Point{20 + pt.X, 10 + pt.Y}); int(r>>8) != want.X || int(g>>8) != want.Y {
			t.Errorf("pixel %v of the region is the screen's (%d,%d), want %v", pt, r>>8, g>>8, want)
		}
	}
	if u.shooting {
		t.Error("the screenshot is still in progress after the region was chosen")
	}
}

// TestScreenshotCancelled: Esc, a right click, or a mere click leave nothing; Enter takes the
// whole screen.
func TestScreenshotCancelled(t *testing.T) {
	u, _ := newTestUI(t, "en")
	img := gradient(64, 48)
	for _, c := range []struct {
		name string
		do   func(p *regionPicker)
		want image.Point // the size of the image that comes; none for 0,0
	}{
		{"Esc", func(*regionPicker) { u.picker.key(fyne.KeyEscape) }, image.Point{}},
		{"right click", func(p *regionPicker) {
			p.MouseDown(&desktop.MouseEvent{Button: desktop.MouseButtonSecondary})
		}, image.Point{}},
		{"click", func(p *regionPicker) {
			at := &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(5, 5)}, Button: desktop.MouseButtonPrimary}
			p.MouseDown(at)
			p.MouseUp(at)
			u.picker.key(fyne.KeyEscape)
		}, image.Point{}},
		{"Enter", func(*regionPicker) { u.picker.key(fyne.KeyReturn) }, image.Point{64, 48}},
	} {
		got := shoot(t, u, img)
		p := u.picker
		p.Resize(fyne.NewSize(64, 48))
		c.do(p)
		u.settle()
		var size image.Point
		select {
		case b := <-got:
			out, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			size = out.Bounds().Size()
		default:
		}
		if size != c.want {
			t.Errorf("%s: an image of %v came, want %v", c.name, size, c.want)
		}
		if u.shooting {
			t.Errorf("%s: the screenshot is still in progress", c.name)
		}
		u.picker = nil
	}
}

// TestScreenshotKeyNotIntoARoom: Ctrl+Alt+A with a room's conversation in front takes no
// screenshot (a room's messages are text; an image attached there could not be sent), and a
// colleague's conversation in front takes one.
func TestScreenshotKeyNotIntoARoom(t *testing.T) {
	u, _ := newRichUI(t)
	captured := 0
	u.capture = func(context.Context) (*image.RGBA, error) { captured++; return gradient(8, 8), nil }
	u.tree.OnSelected("p:b") // Bob's conversation in front
	u.settle()
	c := u.front()
	if c == nil {
		t.Fatal("no conversation in front")
	}
	c.room = &roomConv{} // the same conversation, as a room's
	u.ScreenshotKey()
	u.settle()
	if captured != 0 || u.shooting {
		t.Fatalf("a screenshot for a room: %d captures, in progress %v", captured, u.shooting)
	}
	c.room = nil
	u.ScreenshotKey()
	u.settle()
	if captured != 1 || u.picker == nil {
		t.Fatalf("no screenshot for a colleague's conversation: %d captures", captured)
	}
	u.picker.key(fyne.KeyEscape)
	u.settle()
}
