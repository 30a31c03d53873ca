package ui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
	"feigo/imgstore"
	"feigo/lan"
	"feigo/profile"
	"feigo/xfer"
)

// richFake is the fake node with what rich messages need: it records the calls.
type richFake struct {
	*fakeCore
	rmu        sync.Mutex
	images     [][]xfer.OutImage
	imgTexts   []string
	opened     []string // OpenConversation
	sealedIDs  []int64  // OpenSealed
	typing     []bool
	nudges     int
	sealedSent []string
	sealedQ    []string // QueueWith, sealed
	store      *imgstore.Store
}

func (f *richFake) QueueWith(ctx context.Context, sendID, text string, c history.Contact, opts lan.SendOpts) (history.Record, error) {
	if opts.Sealed {
		f.rmu.Lock()
		f.sealedQ = append(f.sealedQ, text)
		f.rmu.Unlock()
	}
	return f.fakeCore.Queue(ctx, sendID, text, c)
}

func (f *richFake) SendImages(_ context.Context, sendID, text string, images []xfer.OutImage, to netip.AddrPort) (history.Record, error) {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	f.images = append(f.images, images)
	f.imgTexts = append(f.imgTexts, text)
	r := history.Record{PeerID: "b", Peer: "b", Direction: event.Out, Text: text, State: history.StateDelivered}
	for _, in := range images {
		im, err := f.store.AddFile(in.Path)
		if err != nil {
			return history.Record{}, err
		}
		p, _ := f.store.Path(im.SHA256, im.Format)
		r.Images = append(r.Images, history.Image{SHA256: im.SHA256, Format: im.Format, Width: im.Width, Height: im.Height, Pos: in.At, Path: p})
	}
	id, err := f.hist.Add(r)
	r.ID = id
	return r, err
}

func (f *richFake) OpenConversation(peer string) (int, error) {
	f.rmu.Lock()
	f.opened = append(f.opened, peer)
	f.rmu.Unlock()
	rs, err := f.hist.MarkRead(peer, 0, time.Now())
	return len(rs), err
}

func (f *richFake) OpenSealed(peer string, id int64) (history.Record, error) {
	f.rmu.Lock()
	f.sealedIDs = append(f.sealedIDs, id)
	f.rmu.Unlock()
	rs, err := f.hist.MarkRead(peer, id, time.Now())
	if err != nil || len(rs) == 0 {
		return history.Record{}, err
	}
	return rs[0], nil
}

func (f *richFake) SendTyping(_ netip.AddrPort, typing bool) {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	f.typing = append(f.typing, typing)
}

func (f *richFake) SendWith(ctx context.Context, sendID, text string, opts lan.SendOpts, to ...netip.AddrPort) ([]lan.Delivery, error) {
	f.rmu.Lock()
	f.sealedSent = append(f.sealedSent, text)
	f.rmu.Unlock()
	return f.fakeCore.SendAs(ctx, sendID, text, to...)
}

func (f *richFake) SendNudge(netip.AddrPort) error {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	f.nudges++
	return nil
}

func newRichUI(t *testing.T) (*testUI, *richFake) {
	t.Helper()
	app := test.NewTempApp(t)
	store, err := imgstore.Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	core := &richFake{fakeCore: newFakeCore(t), store: store}
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(900, 600))
	bob := online("b", "Bob", "Dev", bobAddr)
	core.peers = append(core.peers, *bob.Peer)
	u.HandleEvent(bob)
	return u, core
}

func testPNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	png.Encode(&b, img)
	p := filepath.Join(t.TempDir(), "shot.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bodyParts returns what a message's row shows under its heading, in order: "T:text" for
// text, "I:sha" for an image, "B:label" for a button.
func bodyParts(m *chatMsg) []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *thumb:
			out = append(out, "I:"+x.im.SHA256[:8])
		case *widget.Label:
			if x != m.head {
				out = append(out, "T:"+x.Text)
			}
		case *widget.Button:
			out = append(out, "B:"+x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(m.row)
	return out
}

func TestSegments(t *testing.T) {
	ims := []history.Image{{SHA256: "b", Pos: 6}, {SHA256: "a", Pos: 0}, {SHA256: "c", Pos: 99}}
	var got []string
	for _, s := range segments("看这个 ok", ims) { // 看 is 3 bytes: 6 is after 这
		if s.image != nil {
			got = append(got, "I:"+s.image.SHA256)
		} else {
			got = append(got, "T:"+s.text)
		}
	}
	if strings.Join(got, "|") != "I:a|T:看这|I:b|T:个 ok|I:c" {
		t.Fatalf("%q", got)
	}
	// A place inside a character moves to its end.
	if s := segments("看x", []history.Image{{Pos: 1}}); s[0].text != "看" || s[1].image == nil {
		t.Fatalf("%+v", s)
	}
}

// An image received is shown inline, as a thumbnail at its place in the text; a click opens
// it full size with Save as, which saves a copy of the very bytes.
func TestImageShownInlineAtItsPlace(t *testing.T) {
	u, core := newRichUI(t)
	src := testPNG(t, 400, 300)
	im, err := core.store.AddFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := core.store.Path(im.SHA256, im.Format)
	text := "look at this: and tell me"
	at := strings.Index(text, " and")
	id, _ := core.hist.Add(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.In, Text: text, State: history.StateReceived, PacketNo: 9})
	u.HandleEvent(lan.Event{Type: event.Message, HistoryID: id, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: text, Time: time.Now(), PacketNo: 9}})
	u.HandleEvent(lan.Event{Type: event.MessageImages, HistoryID: id, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Time: time.Now(), PacketNo: 9,
		Images: []lan.MessageImage{{SHA256: im.SHA256, Format: im.Format, Width: 400, Height: 300, At: at, Path: path}}}})
	c := u.convs["b"]
	m := c.byID[id]
	want := []string{"T:look at this:", "I:" + im.SHA256[:8], "T: and tell me"}
	if got := bodyParts(m); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("row shows %q, want %q", got, want)
	}
	var th *thumb
	var find func(o fyne.CanvasObject)
	find = func(o fyne.CanvasObject) {
		if x, ok := o.(*thumb); ok {
			th = x
		}
		if x, ok := o.(*fyne.Container); ok {
			for _, c := range x.Objects {
				find(c)
			}
		}
	}
	find(m.row)
	if th.img.File != filepath.Join(filepath.Dir(path), im.SHA256+".thumb.png") || th.img.MinSize().Width < 239.9 || th.img.MinSize().Width > 240.1 {
		t.Fatalf("thumbnail %q, %v", th.img.File, th.img.MinSize())
	}
	before := len(u.app.Driver().AllWindows())
	th.Tapped(nil)
	wins := u.app.Driver().AllWindows()
	if len(wins) != before+1 || !strings.Contains(wins[len(wins)-1].Title(), "400×300") {
		t.Fatalf("no full-size window: %d windows", len(wins))
	}
	dir := t.TempDir()
	saved, err := copyImage(history.Image{SHA256: im.SHA256, Format: "png", Path: path, Name: "../evil.png"}, dir)
	if err != nil || filepath.Dir(saved) != dir {
		t.Fatalf("saved at %s: %v", saved, err)
	}
	if a, _ := os.ReadFile(saved); !bytes.Equal(a, mustRead(t, src)) {
		t.Fatal("Save as wrote other bytes")
	}
	if again, _ := copyImage(history.Image{SHA256: im.SHA256, Format: "png", Path: path}, dir); again == saved {
		t.Fatal("Save as overwrote a file")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An image dropped on the conversation is attached at the cursor; sent, it goes inline at
// that place, and shows so.
func TestDroppedImageGoesInline(t *testing.T) {
	u, core := newRichUI(t)
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	c.input.SetText("before ")
	c.input.CursorColumn = len("before ")
	src := testPNG(t, 50, 40)
	if !c.attachImages([]string{src}) {
		t.Fatal("the image was not attached")
	}
	if c.input.Text != "before [image 1]" {
		t.Fatalf("input %q", c.input.Text)
	}
	c.input.CursorColumn = len(c.input.Text)
	c.input.TypedRune('!')
	c.submit()
	u.settle()
	core.rmu.Lock()
	defer core.rmu.Unlock()
	if len(core.images) != 1 || core.imgTexts[0] != "before !" || core.images[0][0].At != len("before ") || core.images[0][0].Path != src {
		t.Fatalf("sent %q %+v", core.imgTexts, core.images)
	}
	m := c.msgs[len(c.msgs)-1]
	if got := strings.Join(bodyParts(m), "|"); !strings.HasPrefix(got, "T:before |I:") || !strings.Contains(got, "|T:!") {
		t.Fatalf("sent message shows %q", got)
	}
	if !c.attachImages([]string{filepath.Join(t.TempDir(), "notes.txt")}) == false {
		t.Fatal("a text file was attached as an image")
	}
}

// A sealed message stays hidden behind a click until opened; my message shows "read" once the
// colleague read it, not before; opening the conversation tells the node.
func TestSealedAndReadMarks(t *testing.T) {
	u, core := newRichUI(t)
	id, _ := core.hist.Add(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.In, Text: "the code is 4711", State: history.StateReceived, PacketNo: 3, Sealed: true})
	u.HandleEvent(lan.Event{Type: event.Message, HistoryID: id, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "the code is 4711", Time: time.Now(), PacketNo: 3, Sealed: true}})
	c := u.convs["b"]
	m := c.byID[id]
	got := strings.Join(bodyParts(m), "|")
	if strings.Contains(got, "4711") || got != "B:Sealed message: click to open" {
		t.Fatalf("a sealed message shows %q", got)
	}
	for _, o := range []fyne.CanvasObject{m.row} {
		var tap func(o fyne.CanvasObject)
		tap = func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok {
				test.Tap(b)
			}
			if x, ok := o.(*fyne.Container); ok {
				for _, c := range x.Objects {
					tap(c)
				}
			}
		}
		tap(o)
	}
	u.settle()
	if got := strings.Join(bodyParts(c.byID[id]), "|"); got != "T:the code is 4711" {
		t.Fatalf("opened, it shows %q", got)
	}
	core.rmu.Lock()
	if len(core.sealedIDs) != 1 || core.sealedIDs[0] != id {
		t.Fatalf("OpenSealed calls %v", core.sealedIDs)
	}
	core.rmu.Unlock()

	// My message: delivered, then read.
	core.mu.Lock()
	core.emit = u.inbox.Push
	core.mu.Unlock()
	c.input.SetText("lunch?")
	c.submit()
	u.settle()
	mine := c.msgs[len(c.msgs)-1]
	if strings.Contains(mine.head.Text, "read") {
		t.Fatalf("read before the colleague read it: %q", mine.head.Text)
	}
	u.HandleEvent(lan.Event{Type: event.MessageRead, Time: time.Now(), HistoryID: mine.id, Message: &lan.Message{PeerID: "b", Addr: bobAddr}})
	if !strings.Contains(mine.head.Text, "· read") {
		t.Fatalf("heading %q", mine.head.Text)
	}
	// Seal ticked: the next message goes sealed, the one after not.
	c.seal.SetChecked(true)
	c.input.SetText("the new code")
	c.submit()
	c.input.SetText("plain again")
	c.submit()
	u.settle()
	core.rmu.Lock()
	if len(core.sealedSent) != 1 || core.sealedSent[0] != "the new code" || c.seal.Checked {
		t.Fatalf("sealed sends %q, seal still ticked %v", core.sealedSent, c.seal.Checked)
	}
	core.rmu.Unlock()
	// The conversation was seen: the node was told.
	u.markRead(c)
	u.settle()
	core.rmu.Lock()
	defer core.rmu.Unlock()
	if len(core.opened) == 0 || core.opened[len(core.opened)-1] != "b" {
		t.Fatalf("OpenConversation calls %v", core.opened)
	}
}

// "typing…" shows while the colleague types and goes when their message comes; a nudge
// brings the conversation forward with its banner; the nudge button rests after a nudge.
func TestTypingAndNudge(t *testing.T) {
	u, core := newRichUI(t)
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	bob := u.peers["b"]
	u.HandleEvent(lan.Event{Type: event.Typing, Typing: true, Peer: &bob})
	if !c.typing.Visible() || c.typing.Text != "Bob is typing…" {
		t.Fatalf("typing line %v %q", c.typing.Visible(), c.typing.Text)
	}
	u.HandleEvent(message("b", "Bob", bobAddr, "hi", 4))
	if c.typing.Visible() {
		t.Fatal("still typing after the message came")
	}
	u.HandleEvent(lan.Event{Type: event.Nudge, Peer: &bob})
	if !c.nudged.Visible() || c.nudged.Text != "Bob nudged you!" || u.tabs.Selected() != c.tab {
		t.Fatalf("nudge banner %v %q", c.nudged.Visible(), c.nudged.Text)
	}
	test.Tap(c.nudgeBtn)
	u.settle()
	if !c.nudgeBtn.Disabled() {
		t.Fatal("the nudge button did not rest")
	}
	c.input.TypedRune('x')
	u.settle()
	core.rmu.Lock()
	defer core.rmu.Unlock()
	if core.nudges != 1 {
		t.Fatalf("%d nudges sent", core.nudges)
	}
	if len(core.typing) != 1 || !core.typing[0] {
		t.Fatalf("typing notices sent: %v", core.typing)
	}
}

// A sealed message kept for a colleague who is away (Send when back) is queued sealed; an
// open one is queued as before (issue 15's bug: the queue sent it unsealed).
func TestSealedMessageQueuedSealed(t *testing.T) {
	u, core := newRichUI(t)
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	c := u.openConv(whoPeer(u.peers["b"]), true)
	u.settle()
	c.seal.SetChecked(true)
	c.input.SetText("the code is 4711")
	c.submit()
	c.input.SetText("lunch?")
	c.submit()
	u.settle()
	for _, m := range c.msgs {
		u.queue(c, m)
	}
	u.settle()
	core.rmu.Lock()
	defer core.rmu.Unlock()
	core.mu.Lock()
	defer core.mu.Unlock()
	if strings.Join(core.sealedQ, "|") != "the code is 4711" || len(core.queued) != 2 {
		t.Fatalf("queued sealed %q, queued in all %q", core.sealedQ, core.queued)
	}
}
