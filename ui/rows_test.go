package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/internal/testimg"
	"feigo/peers"
	"feigo/profile"
)

// A colleague's row (issue 15): an avatar with the colleague's initial and a green dot, the
// nick in bold, the department and host in grey after it; away turns the dot amber; no tick
// box until Message to many is chosen.
func TestColleagueRowIsCompact(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "bob", "研发部", bobAddr))
	row := u.treeCreate(false)
	u.treeUpdate("p:b", false, row)
	r := rowParts(row)
	if r.check.Visible() {
		t.Error("a tick box shows before Message to many was chosen")
	}
	if !r.avatar.Visible() || r.letter.Text != "B" || r.disc.FillColor != avatarColour("b") || r.dot.FillColor != dotOnline {
		t.Errorf("avatar shown %v, letter %q, colour %v, dot %v", r.avatar.Visible(), r.letter.Text, r.disc.FillColor, r.dot.FillColor)
	}
	segs := r.text.Segments
	if len(segs) != 2 {
		t.Fatalf("row segments %d, want the nick and the rest", len(segs))
	}
	nick, rest := segs[0].(*widget.TextSegment), segs[1].(*widget.TextSegment)
	if nick.Text != "bob" || !nick.Style.TextStyle.Bold {
		t.Errorf("nick %q bold %v", nick.Text, nick.Style.TextStyle.Bold)
	}
	if nick.Style.ColorName != "" || rest.Style.ColorName == "" || rest.Style.TextStyle.Bold {
		t.Errorf("the nick's colour %q, the rest's %q: the rest should be secondary", nick.Style.ColorName, rest.Style.ColorName)
	}
	for _, want := range []string{"研发部", "pc-b", "10.0.0.2", "encrypted"} {
		if !strings.Contains(rest.Text, want) {
			t.Errorf("the row's secondary text %q lacks %q", rest.Text, want)
		}
	}
	away := online("b", "bob", "研发部", bobAddr)
	away.Type, away.Peer.Status = event.PeerUpdated, peers.Away
	u.HandleEvent(away)
	u.treeUpdate("p:b", false, row)
	if r.dot.FillColor != dotAway {
		t.Errorf("away: dot %v", r.dot.FillColor)
	}
	// A group's row has no avatar.
	g := u.treeCreate(true)
	u.treeUpdate("g:研发部", true, g)
	if rowParts(g).avatar.Visible() || rowParts(g).check.Visible() {
		t.Error("a group's row shows an avatar or a tick box")
	}
}

// Message to many: the button shows the tick boxes, a tap on a colleague ticks them (it does
// not open the conversation), the button again writes to those ticked, and once sent the list
// is a list again. Cancel forgets the ticks.
func TestMessageToManyPicksThenWrites(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.HandleEvent(online("p2", "韩梅梅", "研发部", netip.MustParseAddrPort("10.0.0.3:2425")))
	u.HandleEvent(online("p3", "Carol", "QA", carolAddr))
	u.settle()
	many := findButton(u.Win.Content(), "Message to many")
	if many == nil {
		t.Fatal("no Message to many button")
	}
	test.Tap(many)
	row := u.treeCreate(false)
	u.treeUpdate("p:p1", false, row)
	if !rowParts(row).check.Visible() || !u.pickBar.Visible() {
		t.Fatal("choosing Message to many shows no tick boxes")
	}
	u.tree.OnSelected("p:p1") // a tap on the row ticks
	u.treeUpdate("p:p2", false, row)
	test.Tap(rowParts(row).check) // and so does its box
	u.settle()
	if len(u.convs) != 0 {
		t.Fatalf("a tap while picking opened %d conversations", len(u.convs))
	}
	if !u.checked["p1"] || !u.checked["p2"] || u.checked["p3"] || u.pickNote.Text != "2 ticked" {
		t.Fatalf("ticked %v, note %q", u.checked, u.pickNote.Text)
	}
	test.Tap(many)
	if _, sent := typeInFocusAndSend(t, u, core, "开会了"); len(sent) != 2 {
		t.Fatalf("sent %q, want two", sent)
	}
	u.treeUpdate("p:p1", false, row)
	if u.picking || u.pickBar.Visible() || rowParts(row).check.Visible() || len(u.checked) != 0 {
		t.Fatalf("after sending: picking %v, ticks %v", u.picking, u.checked)
	}
	// Cancel: picking again, one tick, cancelled.
	test.Tap(many)
	u.tree.OnSelected("p:p3")
	test.Tap(findButton(u.pickBar, "Cancel"))
	if u.picking || len(u.checked) != 0 || u.pickBar.Visible() {
		t.Fatalf("after Cancel: picking %v, ticks %v", u.picking, u.checked)
	}
	// Not picking, a tap opens the conversation.
	u.tree.OnSelected("p:p3")
	u.settle()
	if u.convs["p3"] == nil {
		t.Fatal("a tap on a colleague no longer opens the conversation")
	}
}

// A colleague who set a picture (iptux's icon, stored by the node) shows it in the list and
// beside their messages, instead of the initial; drawn, it is the picture's pixels.
func TestColleaguePictureIsTheAvatar(t *testing.T) {
	u, _ := newTestUI(t, "en")
	icon := filepath.Join(t.TempDir(), "icon.png")
	pic := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for i := range pic.Pix {
		pic.Pix[i] = []byte{0xff, 0x00, 0xff, 0xff}[i%4] // magenta: no avatar colour is
	}
	var b bytes.Buffer
	png.Encode(&b, pic)
	os.WriteFile(icon, b.Bytes(), 0o600)
	ev := online("c", "Carol", "Dev", carolAddr)
	ev.Peer.Client, ev.Peer.Icon = "iptux", icon
	u.HandleEvent(ev)
	row := u.treeCreate(false)
	u.treeUpdate("p:c", false, row)
	r := rowParts(row)
	if !r.pic.Visible() || r.pic.Image == nil || r.pic.Image != avatarImage(icon) || r.letter.Visible() {
		t.Fatalf("row picture shown %v (%v), letter shown %v", r.pic.Visible(), r.pic.Image != nil, r.letter.Visible())
	}
	w := test.NewWindow(row)
	defer w.Close()
	w.Resize(fyne.NewSize(400, row.MinSize().Height))
	if !hasColour(w.Canvas().Capture(), color.NRGBA{0xff, 0x00, 0xff, 0xff}) {
		t.Error("the row does not draw the picture")
	}
	// Without it again, the initial.
	ev.Peer.Icon, ev.Type = "", event.PeerUpdated
	u.HandleEvent(ev)
	u.treeUpdate("p:c", false, row)
	if r.pic.Visible() || !r.letter.Visible() || r.letter.Text != "C" {
		t.Fatal("the initial does not come back")
	}
	// A bubble of a colleague with a picture.
	ev.Peer.Icon = icon
	u.HandleEvent(ev)
	u.HandleEvent(message("c", "Carol", carolAddr, "hello", 1))
	c := u.convs["c"]
	if c == nil || !hasImage(c.box, icon) {
		t.Fatal("Carol's message does not show her picture")
	}
}

func hasColour(img image.Image, want color.NRGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == want {
				return true
			}
		}
	}
	return false
}

func hasImage(o fyne.CanvasObject, file string) bool {
	switch w := o.(type) {
	case *canvas.Image: // a colleague's picture is shared by the avatars showing it
		return w.File == file || (w.Image != nil && w.Image == avatarImage(file))
	case *fyne.Container:
		for _, c := range w.Objects {
			if hasImage(c, file) {
				return true
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(w).Objects() {
			if hasImage(c, file) {
				return true
			}
		}
	}
	return false
}

// pictureFake is the fake node with a picture of my own.
type pictureFake struct {
	*fakeCore
	pmu  sync.Mutex
	pic  string
	sets []string
}

func (f *pictureFake) Picture() string { f.pmu.Lock(); defer f.pmu.Unlock(); return f.pic }
func (f *pictureFake) SetPicture(path string) error {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	f.sets = append(f.sets, path)
	f.pic = path
	return nil
}

// Settings: My picture asks the desktop's chooser for an image and sets it at once, shows it,
// and Remove removes it.
func TestMyPictureInSettings(t *testing.T) {
	app := test.NewTempApp(t)
	core := &pictureFake{fakeCore: newFakeCore(t)}
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(900, 700))
	icon := filepath.Join(t.TempDir(), "me.png")
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 8, 8)))
	os.WriteFile(icon, b.Bytes(), 0o600)
	u.chooser = &fakeChooser{paths: []string{icon}}
	u.showSettings()
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	choose, remove := findButton(top, "Choose…"), findButton(top, "Remove")
	if choose == nil || remove == nil || !remove.Disabled() {
		t.Fatalf("Settings has no My picture row, or Remove is on with no picture: %v", deepTexts(top))
	}
	test.Tap(choose)
	u.settle()
	if !hasImage(top, icon) || remove.Disabled() {
		t.Fatal("the chosen picture is not shown")
	}
	test.Tap(remove)
	u.settle()
	core.pmu.Lock()
	defer core.pmu.Unlock()
	if strings.Join(core.sets, "|") != icon+"|" || hasImage(top, icon) {
		t.Fatalf("SetPicture calls %q", core.sets)
	}
}

// The attacker's side of a colleague's picture: the largest the node keeps (512×512) beside
// hundreds of messages. Each avatar decoded its own copy of the whole picture (a megabyte,
// on Fyne's goroutine, again at each refresh); now the picture is decoded once, made avatar
// sized and shared. A file that is not a picture (a FIFO, garbage) shows the initial.
func TestColleaguePictureAvatarsBounded(t *testing.T) {
	test.NewTempApp(t)
	icon := filepath.Join(t.TempDir(), "icon.png")
	pic := image.NewNRGBA(image.Rect(0, 0, 512, 512))
	for i := range pic.Pix {
		pic.Pix[i] = []byte{0xff, 0x00, 0xff, 0xff}[i%4]
	}
	var b bytes.Buffer
	png.Encode(&b, pic)
	os.WriteFile(icon, b.Bytes(), 0o600)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	box := container.NewVBox()
	const n = 200
	for range n {
		box.Add(avatarOf("Carol", "c", icon))
	}
	w := test.NewWindow(container.NewVScroll(box))
	defer w.Close()
	w.Resize(fyne.NewSize(200, 300))
	for _, o := range box.Objects { // laid out as the list lays out its rows
		o.Resize(fyne.NewSize(avatarSize, avatarSize))
		o.Refresh()
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grew := int64(ms.HeapAlloc) - int64(before); grew > 40<<20 {
		t.Errorf("%d avatars of one 512×512 picture hold %d MB", n, grew>>20)
	}
	if !hasColour(w.Canvas().Capture(), color.NRGBA{0xff, 0x00, 0xff, 0xff}) {
		t.Error("the avatars do not draw the picture")
	}
	runtime.KeepAlive(box)
	for name, body := range map[string][]byte{"garbage.png": []byte("not a picture"), "bomb.png": testimg.PNGHeader(100000, 100000)} {
		bad := filepath.Join(t.TempDir(), name)
		os.WriteFile(bad, body, 0o600)
		if _, ok := avatarOf("Carol", "c", bad).(*fyne.Container).Objects[0].(*canvas.Image); ok {
			t.Errorf("%s is shown as a picture", name)
		}
	}
}
