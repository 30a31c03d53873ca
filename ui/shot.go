package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"feigo/internal/portal"
	"feigo/screenshot"
)

// The screenshot tool (截图), as FeiQ's: Ctrl+Alt+A in a conversation, or its button, hides
// the window, captures the screen (package screenshot: X11, or the desktop portal), shows the
// capture full screen, dimmed, and lets the person drag a region; Enter takes the whole
// screen, Esc or a right click cancels. The region goes into the message being written.

// shotHideWait is how long the window is given to vanish from the screen before the capture.
const shotHideWait = 300 * time.Millisecond

// shotShortcut is the screenshot's key in a conversation: Ctrl+Alt+A, FeiQ's.
var shotShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyA, Modifier: fyne.KeyModifierControl | fyne.KeyModifierAlt}

// isShotShortcut reports whether s is the screenshot's key.
func isShotShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	return ok && cs.KeyName == shotShortcut.KeyName && cs.Modifier == shotShortcut.Modifier
}

// screenshot takes a screenshot and hands the region chosen, as PNG, to then (on Fyne's
// goroutine); nothing when the person cancels. One at a time.
func (u *UI) screenshot(then func(pngData []byte)) {
	if u.shooting {
		return
	}
	u.shooting = true
	hide := !u.opt.Settings.ScreenshotKeepWindow
	if hide {
		u.Win.Hide()
	}
	done := func() {
		u.shooting = false
		if hide && !u.hidden {
			u.Win.Show()
		}
	}
	capture := u.capture
	if capture == nil {
		capture = screenshot.Capture
	}
	u.work(func(ctx context.Context) func() {
		if hide {
			select {
			case <-ctx.Done():
			case <-time.After(shotHideWait):
			}
		}
		img, err := capture(ctx)
		return func() {
			if err != nil {
				done()
				if !errors.Is(err, portal.ErrCancelled) {
					u.showErr(err)()
				}
				return
			}
			u.pickRegion(img, func(r image.Rectangle) {
				done()
				if r.Empty() {
					return
				}
				u.work(func(context.Context) func() {
					var out bytes.Buffer
					if err := png.Encode(&out, screenshot.Crop(img, r)); err != nil {
						return u.showErr(err)
					}
					return func() { then(out.Bytes()) }
				})
			})
		}
	})
}

// pickRegion shows img full screen in a window of its own for the person to drag a region
// on, and hands the region (in img's pixels; empty when cancelled) to done, once.
func (u *UI) pickRegion(img *image.RGBA, done func(image.Rectangle)) {
	w := u.app.NewWindow(u.t("Screenshot"))
	w.SetPadded(false)
	once := false
	finish := func(r image.Rectangle) {
		if once {
			return
		}
		once = true
		w.Close()
		done(r)
	}
	p := newRegionPicker(img, u.t("Drag to choose a region · Enter: the whole screen · Esc: cancel"), finish)
	p.key = func(k fyne.KeyName) {
		switch k {
		case fyne.KeyEscape:
			finish(image.Rectangle{})
		case fyne.KeyReturn, fyne.KeyEnter:
			finish(img.Bounds())
		}
	}
	w.SetContent(p)
	w.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) { p.key(k.Name) })
	w.SetCloseIntercept(func() { finish(image.Rectangle{}) })
	w.SetFullScreen(true)
	w.Resize(fyne.NewSize(float32(img.Bounds().Dx()), float32(img.Bounds().Dy())))
	w.Show()
	w.RequestFocus()
	u.picker = p
}

// regionPicker shows a capture, dimmed but for the region being dragged, and reports the
// region when the drag ends.
type regionPicker struct {
	widget.BaseWidget
	img    *image.RGBA
	hint   string
	done   func(image.Rectangle)
	key    func(fyne.KeyName) // a key typed in its window
	from   fyne.Position      // where the button went down
	to     fyne.Position
	active bool // a drag is on
	shown  bool // a region is shown
}

func newRegionPicker(img *image.RGBA, hint string, done func(image.Rectangle)) *regionPicker {
	p := &regionPicker{img: img, hint: hint, done: done}
	p.ExtendBaseWidget(p)
	return p
}

// pixels turns a region in the widget's coordinates into img's pixels: the capture is
// stretched over the widget.
func (p *regionPicker) pixels(a, b fyne.Position) image.Rectangle {
	s := p.Size()
	if s.Width <= 0 || s.Height <= 0 {
		return image.Rectangle{}
	}
	bw, bh := float32(p.img.Bounds().Dx()), float32(p.img.Bounds().Dy())
	px := func(x float32) int { return int(x*bw/s.Width + 0.5) }
	py := func(y float32) int { return int(y*bh/s.Height + 0.5) }
	return image.Rect(px(a.X), py(a.Y), px(b.X), py(b.Y)).Canon().Intersect(p.img.Bounds())
}

func (p *regionPicker) MouseDown(e *desktop.MouseEvent) {
	if e.Button == desktop.MouseButtonSecondary {
		p.done(image.Rectangle{})
		return
	}
	p.from, p.to, p.active, p.shown = e.Position, e.Position, true, false
	p.Refresh()
}

func (p *regionPicker) MouseUp(e *desktop.MouseEvent) {
	if !p.active || e.Button != desktop.MouseButtonPrimary {
		return
	}
	p.end(e.Position)
}

func (p *regionPicker) Dragged(e *fyne.DragEvent) {
	if !p.active { // a drag Fyne saw start before any button event reached the widget
		p.from, p.active = e.Position.Subtract(e.Dragged), true
	}
	p.to, p.shown = e.Position, true
	p.Refresh()
}

func (p *regionPicker) DragEnd() {
	if p.active {
		p.end(p.to)
	}
}

// end finishes a drag at pos: a region of a few pixels or more is taken; a click is not.
func (p *regionPicker) end(pos fyne.Position) {
	p.to, p.active = pos, false
	r := p.pixels(p.from, p.to)
	if r.Dx() < 3 || r.Dy() < 3 {
		p.shown = false
		p.Refresh()
		return
	}
	p.done(r)
}

func (p *regionPicker) CreateRenderer() fyne.WidgetRenderer {
	im := canvas.NewImageFromImage(p.img)
	im.FillMode = canvas.ImageFillStretch
	im.ScaleMode = canvas.ImageScaleFastest
	dim := color.NRGBA{A: 0x80}
	r := &pickerRenderer{p: p, im: im, hint: canvas.NewText(p.hint, color.White)}
	for i := range r.dims {
		r.dims[i] = canvas.NewRectangle(dim)
	}
	r.frame = canvas.NewRectangle(color.Transparent)
	r.frame.StrokeColor = color.NRGBA{R: 0x1e, G: 0x90, B: 0xff, A: 0xff}
	r.frame.StrokeWidth = 2
	r.hint.TextSize = 16
	r.hintBG = canvas.NewRectangle(color.NRGBA{A: 0xc0})
	return r
}

type pickerRenderer struct {
	p      *regionPicker
	im     *canvas.Image
	dims   [4]*canvas.Rectangle // around the region: above, below, left, right
	frame  *canvas.Rectangle
	hint   *canvas.Text
	hintBG *canvas.Rectangle
}

func (r *pickerRenderer) Layout(s fyne.Size) {
	r.im.Resize(s)
	r.im.Move(fyne.Position{})
	x0, y0, x1, y1 := float32(0), float32(0), float32(0), float32(0)
	if r.p.shown {
		x0, x1 = min(r.p.from.X, r.p.to.X), max(r.p.from.X, r.p.to.X)
		y0, y1 = min(r.p.from.Y, r.p.to.Y), max(r.p.from.Y, r.p.to.Y)
	}
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(max(w, 0), max(h, 0)))
	}
	place(r.dims[0], 0, 0, s.Width, y0)
	place(r.dims[1], 0, y1, s.Width, s.Height-y1)
	place(r.dims[2], 0, y0, x0, y1-y0)
	place(r.dims[3], x1, y0, s.Width-x1, y1-y0)
	r.frame.Hidden = !r.p.shown
	place(r.frame, x0, y0, x1-x0, y1-y0)
	hs := r.hint.MinSize()
	place(r.hintBG, (s.Width-hs.Width)/2-12, 16, hs.Width+24, hs.Height+12)
	place(r.hint, (s.Width-hs.Width)/2, 22, hs.Width, hs.Height)
}

func (r *pickerRenderer) MinSize() fyne.Size { return fyne.NewSize(100, 100) }

// Refresh redraws the region; the capture itself does not change.
func (r *pickerRenderer) Refresh() {
	r.Layout(r.p.Size())
	for _, o := range r.Objects()[1:] {
		o.Refresh()
	}
}

func (r *pickerRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.im, r.dims[0], r.dims[1], r.dims[2], r.dims[3], r.frame, r.hintBG, r.hint}
}

func (r *pickerRenderer) Destroy() {}

// ScreenshotKey is Ctrl+Alt+A pressed anywhere on the desktop: a screenshot into the
// conversation in front, as FeiQ does; with none open (or a room in front, whose messages are
// text), the window says to open one. Call it on Fyne's goroutine.
func (u *UI) ScreenshotKey() {
	if _, ok := u.rich(); !ok {
		return // this node sends no images
	}
	c := u.front()
	if c == nil || c.room != nil {
		u.Show()
		dialog.ShowInformation(u.t("Screenshot"), u.t("Open a colleague's conversation, then press Ctrl+Alt+A to send a screenshot in it."), u.Win)
		return
	}
	c.shot()
}

// shot takes a screenshot into the message being written.
func (c *conv) shot() { c.u.screenshot(c.attachPNG) }
