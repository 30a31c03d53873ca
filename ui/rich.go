package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
	"feigo/imgstore"
	"feigo/lan"
	"feigo/xfer"
)

// This file is what makes a conversation more than text: images shown inline where they
// were placed (pasted with Ctrl+V, dropped on the conversation), sealed messages behind a
// click, "read" on my messages, "typing…" and nudges.

// richCore is what the conversation needs of the node for these; a core without it has none
// of them (the window still works: text and files).
type richCore interface {
	SendImages(ctx context.Context, sendID, text string, images []xfer.OutImage, to netip.AddrPort) (history.Record, error)
	OpenConversation(peer string) (int, error)
	OpenSealed(peer string, id int64) (history.Record, error)
	SendTyping(to netip.AddrPort, typing bool)
	SendNudge(to netip.AddrPort) error
	SendWith(ctx context.Context, sendID, text string, opts lan.SendOpts, to ...netip.AddrPort) ([]lan.Delivery, error)
}

// sealedQueuer is a core that keeps a sealed message sealed in the queue.
type sealedQueuer interface {
	QueueWith(ctx context.Context, sendID, text string, c history.Contact, opts lan.SendOpts) (history.Record, error)
}

// queueAs queues text for c, sealed if the user sealed it; a core that cannot keep it sealed
// refuses rather than send it open.
func (u *UI) queueAs(ctx context.Context, sendID, text string, c history.Contact, sealed bool) (history.Record, error) {
	if !sealed {
		return u.core.Queue(ctx, sendID, text, c)
	}
	q, ok := u.core.(sealedQueuer)
	if !ok {
		return history.Record{}, errors.New(u.t("this version cannot keep a sealed message for later"))
	}
	return q.QueueWith(ctx, sendID, text, c, lan.SendOpts{Sealed: true})
}

func (u *UI) rich() (richCore, bool) {
	r, ok := u.core.(richCore)
	return r, ok
}

// Timings of typing notices and nudges.
const (
	typingShown = 8 * time.Second // "typing…" without a new notice goes after this
	typingEvery = 3 * time.Second // a typing notice is repeated at most this often
	typingIdle  = 5 * time.Second // no key for this long: "stopped typing"
)

// segment is a piece of a message's body: text, or an image.
type segment struct {
	text  string
	image *history.Image
}

// segments cuts text at the places of its images (byte offsets, in order): the body as it
// is shown. Places out of range or inside a character are put at the nearest valid place.
func segments(text string, ims []history.Image) []segment {
	ims = slices.Clone(ims)
	slices.SortStableFunc(ims, func(a, b history.Image) int { return a.Pos - b.Pos })
	var out []segment
	at := 0
	for i := range ims {
		pos := min(max(ims[i].Pos, at), len(text))
		for pos < len(text) && pos > at && !isRuneStart(text[pos]) {
			pos++
		}
		if pos > at {
			out = append(out, segment{text: text[at:pos]})
		}
		out = append(out, segment{image: &ims[i]})
		at = pos
	}
	if at < len(text) || len(out) == 0 {
		out = append(out, segment{text: text[at:]})
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// thumbOf is the thumbnail beside a stored image.
func thumbOf(im history.Image) string {
	if im.Path == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(im.Path), im.SHA256+".thumb.png")
}

// thumbSize is how large a thumbnail is shown: at most 240 wide and 180 high, its shape kept.
func thumbSize(im history.Image) fyne.Size {
	w, h := float32(max(im.Width, 1)), float32(max(im.Height, 1))
	scale := min(240/w, 180/h, 1)
	return fyne.NewSize(max(w*scale, 16), max(h*scale, 16))
}

// thumb is an image in a message: its thumbnail, which opens the image when tapped.
type thumb struct {
	widget.BaseWidget
	im    history.Image
	img   *canvas.Image
	onTap func()
}

func newThumb(im history.Image, onTap func()) *thumb {
	t := &thumb{im: im, onTap: onTap}
	if p := thumbOf(im); p != "" {
		t.img = canvas.NewImageFromFile(p)
	} else {
		t.img = canvas.NewImageFromResource(theme.BrokenImageIcon())
	}
	t.img.FillMode = canvas.ImageFillContain
	t.img.SetMinSize(thumbSize(im))
	t.ExtendBaseWidget(t)
	return t
}

func (t *thumb) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewHBox(t.img))
}

func (t *thumb) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}

// body makes what a message shows under its heading: its text with its images in place; a
// sealed message from a colleague, until it is opened, a button that opens it.
func (c *conv) body(m *chatMsg) fyne.CanvasObject {
	if m.sealed && !m.out && m.readAt.IsZero() {
		var open *widget.Button
		open = widget.NewButtonWithIcon(c.u.t("Sealed message: click to open"), theme.MailComposeIcon(), func() {
			open.Disable()
			c.openSealed(m)
		})
		return container.NewHBox(open)
	}
	var parts []fyne.CanvasObject
	for _, s := range segments(m.text, m.images) {
		if s.image != nil {
			im := *s.image
			pad := theme.InnerPadding() // in line with the labels' text
			parts = append(parts, container.New(layout.NewCustomPaddedLayout(pad/2, pad/2, pad, 0),
				container.NewHBox(newThumb(im, func() { c.u.showImage(im) }))))
			continue
		}
		if strings.TrimSpace(s.text) == "" && len(m.images) > 0 {
			continue
		}
		l := widget.NewLabel(strings.Trim(s.text, "\n"))
		l.Wrapping = fyne.TextWrapWord
		l.Selectable = true
		parts = append(parts, l)
	}
	if lr := c.u.linkRow(m.text); lr != nil {
		parts = append(parts, lr)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return container.NewVBox(parts...)
}

// rebuild makes m's row again (its images came, it was opened) in place.
func (c *conv) rebuild(m *chatMsg) {
	c.list.rebuild(m.item)
	c.place()
}

// openSealed opens a sealed message: the node marks it read and tells its sender.
func (c *conv) openSealed(m *chatMsg) {
	rc, ok := c.u.rich()
	if !ok || m.id == 0 {
		m.readAt = time.Now()
		c.rebuild(m)
		return
	}
	key, id := c.hkey, m.id
	c.u.work(func(context.Context) func() {
		r, err := rc.OpenSealed(key, id)
		return func() {
			if err != nil {
				dialog.ShowError(err, c.u.Win)
			}
			if r.ID != 0 {
				m.text = r.Text
			}
			m.readAt = time.Now()
			c.rebuild(m)
		}
	})
}

// seen tells the node that the user has seen the conversation: its messages are read, and
// their senders who asked are told. Only when something arrived since it last did.
func (u *UI) seen(c *conv) {
	rc, ok := u.rich()
	if !ok || !c.seenDue || c.hkey == "" {
		return
	}
	c.seenDue = false
	key := c.hkey
	u.work(func(context.Context) func() {
		rc.OpenConversation(key)
		return nil
	})
}

// showImage opens an image full size in a window of its own, with Save as.
func (u *UI) showImage(im history.Image) {
	if im.Path == "" {
		dialog.ShowInformation(u.t("Image"), u.t("This image is no longer kept."), u.Win)
		return
	}
	w := u.app.NewWindow(fmt.Sprintf("%s  %d×%d", imageName(im), im.Width, im.Height))
	img := canvas.NewImageFromFile(im.Path)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScaleSmooth
	save := widget.NewButton(u.t("Save as…"), func() { u.saveImage(im) })
	w.SetContent(container.NewBorder(nil, container.NewHBox(save), nil, nil, img))
	w.Resize(fyne.NewSize(float32(min(max(im.Width, 200), 1200)), float32(min(max(im.Height, 150), 800))+40))
	w.Show()
}

// imageName is the name an image is saved under: the name it came with when it is a
// plain file name with an image's extension, else one made of its hash.
func imageName(im history.Image) string {
	ext := imgstore.Image{Format: im.Format}.Ext()
	name := filepath.Base(im.Name)
	if im.Name == "" || name != im.Name || strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ext) {
		return "image-" + im.SHA256[:min(12, len(im.SHA256))] + ext
	}
	return name
}

// saveImage copies an image into a folder the user chooses, under a name not taken there.
func (u *UI) saveImage(im history.Image) {
	u.chooseFolder(u.t("Save image in"), "", func(dir string) {
		u.work(func(context.Context) func() {
			_, err := copyImage(im, dir)
			return u.showErr(err)
		})
	})
}

// copyImage copies the stored image im into dir, never over a file there, and returns its path.
func copyImage(im history.Image, dir string) (string, error) {
	data, err := os.ReadFile(im.Path)
	if err != nil {
		return "", err
	}
	name := imageName(im)
	base, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
	for i := 0; i < 1000; i++ {
		p := filepath.Join(dir, name)
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", base, i, ext))
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return p, err
	}
	return "", fmt.Errorf("too many files named %s in %s", name, dir)
}

// applyRich takes the events of this file: images that arrived, read notices, typing and
// nudges.
func (u *UI) applyRich(ev lan.Event) {
	switch ev.Type {
	case event.MessageImages:
		if ev.Message == nil || ev.HistoryID == 0 {
			return
		}
		if u.showImages(ev) {
			return
		}
		// A message not shown (an image without text, a conversation not open): shown now.
		u.received(*ev.Message, ev.HistoryID)
		u.showImages(ev)
	case event.MessageRead:
		for _, c := range u.convs {
			if m := c.byID[ev.HistoryID]; m != nil && ev.HistoryID != 0 {
				m.readAt = ev.Time
				c.refresh(m)
				return
			}
		}
	case event.Typing:
		if ev.Peer == nil {
			return
		}
		if c, ok := u.convs[ev.Peer.ID]; ok {
			c.showTyping(ev.Typing)
		}
	case event.Nudge:
		if ev.Peer == nil {
			return
		}
		p := *ev.Peer
		c := u.openConv(who{id: p.ID, addr: p.Addr, nick: p.Nick, user: p.User, host: p.Host}, true)
		c.shake(p.Nick)
	}
}

// showImages gives the message of ev's record its images, if a conversation shows it.
func (u *UI) showImages(ev lan.Event) bool {
	for _, c := range u.convs {
		m := c.byID[ev.HistoryID]
		if m == nil {
			continue
		}
		m.images = m.images[:0]
		for _, im := range ev.Message.Images {
			m.images = append(m.images, history.Image{SHA256: im.SHA256, Format: im.Format, Width: im.Width,
				Height: im.Height, Size: im.Size, Pos: im.At, Name: im.Name, Path: im.Path})
		}
		c.rebuild(m)
		return true
	}
	return false
}

// showTyping shows or hides "… is typing" over the input; it hides itself when no notice
// renews it.
func (c *conv) showTyping(on bool) {
	if c.typing == nil {
		return // a room's conversation: no typing line
	}
	if !on {
		c.typingUntil = time.Time{}
		c.typing.Hide()
		return
	}
	c.typing.SetText(c.u.t("%s is typing…", c.nick))
	c.typing.Show()
	c.typingUntil = time.Now().Add(typingShown)
	time.AfterFunc(typingShown+100*time.Millisecond, func() {
		c.u.do(func() {
			if !c.typingUntil.IsZero() && time.Now().After(c.typingUntil) {
				c.typingUntil = time.Time{}
				c.typing.Hide()
			}
		})
	})
}

// shake shows a colleague's nudge: the window comes forward, the conversation's banner
// flashes.
func (c *conv) shake(nick string) {
	if c.nudged == nil {
		return // a room's conversation: no nudges
	}
	c.u.Win.RequestFocus()
	c.nudged.Text = c.u.t("%s nudged you!", nick)
	c.nudged.Show()
	c.nudges++
	if c.u.tabs != nil {
		c.u.tabs.Select(c.tab)
	}
	flash := canvas.NewColorRGBAAnimation(color.NRGBA{R: 0xe0, G: 0x40, B: 0x30, A: 0xff}, color.NRGBA{R: 0xff, G: 0xc0, B: 0x40, A: 0xff},
		300*time.Millisecond, func(col color.Color) {
			c.nudged.Color = col
			c.nudged.Refresh()
		})
	flash.RepeatCount = 5
	flash.AutoReverse = true
	flash.Start()
	c.u.animating(4 * time.Second) // Fyne's loop draws its frames (idle.go)
	n := c.nudges
	time.AfterFunc(4*time.Second, func() {
		c.u.do(func() {
			if c.nudges == n {
				flash.Stop()
				c.nudged.Hide()
			}
		})
	})
}

// nudge sends the colleague a nudge; the button rests for lan.NudgeEvery.
func (c *conv) nudge() {
	rc, ok := c.u.rich()
	if !ok {
		return
	}
	c.nudgeBtn.Disable()
	addr := c.addr
	c.u.work(func(context.Context) func() {
		err := rc.SendNudge(addr)
		return c.u.showErr(err)
	})
	time.AfterFunc(lan.NudgeEvery, func() { c.u.do(c.nudgeBtn.Enable) })
}

// typed follows the input: the colleague hears "typing" at most every typingEvery while the
// user types, and "stopped" once they rest for typingIdle or send.
func (c *conv) typed() {
	rc, ok := c.u.rich()
	if !ok || !c.online() {
		return
	}
	now := time.Now()
	c.lastKey = now
	if now.Sub(c.typingSent) >= typingEvery {
		c.typingSent = now
		addr := c.addr
		c.u.work(func(context.Context) func() { rc.SendTyping(addr, true); return nil })
		time.AfterFunc(typingIdle, func() { c.u.do(c.restTyping) })
	}
}

// restTyping says "stopped typing" when no key came for typingIdle.
func (c *conv) restTyping() {
	if c.typingSent.IsZero() || time.Since(c.lastKey) < typingIdle {
		if !c.typingSent.IsZero() {
			time.AfterFunc(typingIdle, func() { c.u.do(c.restTyping) })
		}
		return
	}
	c.stopTyping()
}

func (c *conv) stopTyping() {
	if c.typingSent.IsZero() {
		return
	}
	c.typingSent = time.Time{}
	if rc, ok := c.u.rich(); ok {
		addr := c.addr
		c.u.work(func(context.Context) func() { rc.SendTyping(addr, false); return nil })
	}
}

// attachment is an image waiting in the input to go with the next message: at the place of
// its marker in the text.
type attachment struct {
	path   string
	marker string
	temp   bool // a pasted image, written to a temporary file: removed once sent
}

// imageExts are the extensions of files a drop attaches as images rather than offers.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

// takesImages reports whether images can be attached to the message being written: the
// node sends them, and this is a colleague's conversation (a room's messages are text).
func (c *conv) takesImages() bool {
	_, ok := c.u.rich()
	return ok && c.room == nil
}

// attachImages attaches dropped image files to the message being written, at the cursor; it
// reports false (nothing attached) when a path is not an image or images cannot be sent.
func (c *conv) attachImages(paths []string) bool {
	if !c.takesImages() || len(paths) == 0 || len(c.attached)+len(paths) > xfer.MaxInline {
		return false
	}
	for _, p := range paths {
		if !slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
			return false
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() > imgstore.MaxBytes {
			return false
		}
	}
	for _, p := range paths {
		c.attach(p, false)
	}
	return true
}

// attach puts an image's marker at the input's cursor.
func (c *conv) attach(path string, temp bool) {
	c.imageSeq++
	a := attachment{path: path, temp: temp, marker: c.u.t("[image %d]", c.imageSeq)}
	c.attached = append(c.attached, a)
	c.input.TypedShortcut(&fyne.ShortcutPaste{Clipboard: staticClipboard(a.marker)})
	c.u.Win.Canvas().Focus(c.input)
}

// staticClipboard is a clipboard holding one text: how a marker is typed at the cursor.
type staticClipboard string

func (s staticClipboard) Content() string     { return string(s) }
func (s staticClipboard) SetContent(_ string) {}

// takeImages cuts the markers of the attached images out of text and returns the text and
// the images at their places; images whose marker the user deleted are dropped.
func (c *conv) takeImages(text string) (string, []xfer.OutImage, []attachment) {
	var out []xfer.OutImage
	var used []attachment
	for _, a := range c.attached {
		i := strings.Index(text, a.marker)
		if i < 0 {
			if a.temp {
				os.Remove(a.path)
			}
			continue
		}
		text = text[:i] + text[i+len(a.marker):]
		for j := range out { // the markers cut before this one moved what follows
			if out[j].At > i {
				out[j].At -= len(a.marker)
			}
		}
		out = append(out, xfer.OutImage{Path: a.path, At: i})
		used = append(used, a)
	}
	c.attached = nil
	return text, out, used
}

// sendImages sends text with its images, showing it at once as sending.
func (u *UI) sendImages(c *conv, text string, images []xfer.OutImage, used []attachment) {
	rc, _ := u.rich()
	m := &chatMsg{time: time.Now(), from: u.t("Me"), text: text, out: true, state: history.StateSending}
	c.add(m)
	addr, sendID := c.addr, u.expect(m)
	c.whenLoaded(func() {
		u.work(func(ctx context.Context) func() {
			r, err := rc.SendImages(ctx, sendID, text, images, addr)
			for _, a := range used {
				if a.temp {
					os.Remove(a.path)
				}
			}
			return func() {
				if m.sendID != sendID {
					return
				}
				m.images = r.Images
				m.state, m.err = history.StateDelivered, ""
				if err != nil {
					m.state, m.err = history.StateFailed, err.Error()
				}
				if r.ID != 0 {
					m.id = r.ID
					c.byID[r.ID] = m
				}
				c.rebuild(m)
			}
		})
	})
}

// pasted takes Ctrl+V in the input: an image on the clipboard is attached (read in the
// background with the desktop's clipboard tool, wl-paste or xclip); it reports whether it
// took the paste (otherwise the text is pasted as usual).
func (c *conv) pasted(cb fyne.Clipboard) bool {
	if !c.takesImages() || (cb != nil && cb.Content() != "") {
		return false // text: the entry pastes it (a room's messages are text only)
	}
	c.u.work(func(ctx context.Context) func() {
		data, err := clipboardImage(ctx)
		if err != nil || len(data) == 0 {
			if errors.Is(err, imgstore.ErrTooLarge) {
				return c.u.showErr(err)
			}
			return nil // nothing we can paste
		}
		name, err := tempImage(data)
		if err != nil {
			return c.u.showErr(err)
		}
		return func() { c.attach(name, true) }
	})
	return true
}

// attachPNG attaches image data (a screenshot) at the input's cursor.
func (c *conv) attachPNG(data []byte) {
	c.u.work(func(context.Context) func() {
		name, err := tempImage(data)
		if err != nil {
			return c.u.showErr(err)
		}
		return func() { c.attach(name, true) }
	})
}

// tempImage checks image data and writes it to a temporary file, which the message's send
// removes (an attachment's temp).
func tempImage(data []byte) (string, error) {
	if _, err := imgstore.Check(bytes.NewReader(data)); err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "feigo-image-*.png")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// clipboardTimeout bounds a clipboard tool's run.
const clipboardTimeout = 5 * time.Second

// clipboardImage reads a PNG (or JPEG, GIF) on the clipboard with the desktop's tool:
// wl-paste under Wayland, xclip under X11. Nothing (nil, nil) when there is no image or no
// tool; at most imgstore.MaxBytes (ErrTooLarge beyond).
func clipboardImage(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, clipboardTimeout)
	defer cancel()
	var list, get func(mime string) *exec.Cmd
	switch {
	case os.Getenv("WAYLAND_DISPLAY") != "" && haveTool("wl-paste"):
		list = func(string) *exec.Cmd { return exec.CommandContext(ctx, "wl-paste", "--list-types") }
		get = func(mime string) *exec.Cmd {
			return exec.CommandContext(ctx, "wl-paste", "--no-newline", "--type", mime)
		}
	case os.Getenv("DISPLAY") != "" && haveTool("xclip"):
		list = func(string) *exec.Cmd {
			return exec.CommandContext(ctx, "xclip", "-selection", "clipboard", "-t", "TARGETS", "-o")
		}
		get = func(mime string) *exec.Cmd {
			return exec.CommandContext(ctx, "xclip", "-selection", "clipboard", "-t", mime, "-o")
		}
	default:
		return nil, nil
	}
	types, err := runBounded(list(""), 64<<10)
	if err != nil {
		return nil, nil
	}
	for _, mime := range []string{"image/png", "image/jpeg", "image/gif"} {
		if slices.Contains(strings.Fields(string(types)), mime) {
			return runBounded(get(mime), imgstore.MaxBytes)
		}
	}
	return nil, nil
}

func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// runBounded runs cmd and returns at most limit bytes of its output (imgstore.ErrTooLarge
// when it writes more: it is stopped).
func runBounded(cmd *exec.Cmd, limit int64) ([]byte, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	data, rerr := io.ReadAll(io.LimitReader(out, limit+1))
	if int64(len(data)) > limit {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, imgstore.ErrTooLarge
	}
	if err := cmd.Wait(); err != nil {
		return nil, err
	}
	return data, rerr
}
