package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"feigo/event"
	"feigo/history"
	"feigo/imgstore"
	"feigo/profile"
)

// allRows returns every row of c's list, oldest first, in a box: those out of view too, made
// for the test (the list itself holds only the rows near the view).
func allRows(c *conv) *fyne.Container {
	box := container.NewVBox()
	c.list.positions()
	for _, it := range c.list.items {
		box.Add(c.list.ensure(it))
	}
	return box
}

// longConversation is n records with Bob, one in every n/images with an image of the image
// store (with its real thumbnail): Bob writes three messages, a few seconds apart, then I
// answer twice; every tenth message comes after a pause of an hour, so days change too.
func longConversation(tb testing.TB, n, images int) []history.Record {
	tb.Helper()
	var store *imgstore.Store
	if images > 0 {
		var err error
		if store, err = imgstore.Open(filepath.Join(tb.TempDir(), "images")); err != nil {
			tb.Fatal(err)
		}
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	rs := make([]history.Record, n)
	for i := range rs {
		at = at.Add(20 * time.Second)
		if i%10 == 0 {
			at = at.Add(time.Hour)
		}
		r := history.Record{ID: int64(i + 1), Peer: "b", PeerID: "b", Nick: "Bob", Time: at, Direction: event.In,
			State: history.StateReceived, Text: fmt.Sprintf("m%05d %s", i, strings.Repeat("words that wrap ", i%9))}
		if i%5 >= 3 {
			r.Direction, r.State = event.Out, history.StateDelivered
		}
		if images > 0 && i%(n/images) == n/images/2 {
			im, err := store.Add(bytes.NewReader(picture(tb, i)))
			if err != nil {
				tb.Fatal(err)
			}
			r.Images = []history.Image{{SHA256: im.SHA256, Format: im.Format, Width: im.Width, Height: im.Height, Size: im.Size,
				Pos: len(r.Text), Path: filepath.Join(store.Dir(), im.SHA256+im.Ext())}}
		}
		rs[i] = r
	}
	return rs
}

// picture is a 640×400 PNG, a different one for each seed.
func picture(tb testing.TB, seed int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 640, 400))
	for y := range 400 {
		for x := range 640 {
			img.Set(x, y, color.NRGBA{uint8(x + seed), uint8(y * seed), uint8(seed), 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// openLong opens Bob's conversation in a window 900×600 and shows rs in it.
func openLong(tb testing.TB, app fyne.App, rs []history.Record) (*testUI, *conv) {
	u := newTestWindow(tb, app, newFakeCore(tb), Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(900, 600))
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.HandleEvent(message("b", "Bob", bobAddr, "newest", 11))
	u.settle()
	c := u.convs["b"]
	u.tabs.Select(c.tab)
	c.showPage(rs)
	u.settle()
	return u, c
}

// checkView fails unless the rows in c's view are laid out right: consecutive rows, each at
// its place and as high as it needs, one after the other, covering the whole view.
func checkView(t *testing.T, c *conv) {
	t.Helper()
	l := c.list
	off, view := c.scroll.Offset.Y, c.scroll.Size().Height
	if len(l.shown) == 0 || len(l.shown) != len(c.box.Objects) {
		t.Fatalf("%d rows shown, %d in the box", len(l.shown), len(c.box.Objects))
	}
	first, last := l.shown[0], l.shown[len(l.shown)-1]
	if first.y > off+1 || (last.y+last.h < off+view-1 && last.i != len(l.items)-1) {
		t.Fatalf("the rows shown (%v to %v) leave part of the view (%v to %v) empty", first.y, last.y+last.h, off, off+view)
	}
	for k, it := range l.shown {
		if c.box.Objects[k] != it.obj || it.obj.Position().Y != it.y || it.obj.Size().Height != it.h {
			t.Fatalf("row %d is at %v (%v high), the list has it at %v (%v high)", it.i, it.obj.Position().Y, it.obj.Size().Height, it.y, it.h)
		}
		if need := it.obj.MinSize().Height; need > it.h+0.5 {
			t.Fatalf("row %d needs %v, has %v: cut off", it.i, need, it.h)
		}
		if k > 0 {
			prev := l.shown[k-1]
			if it.y < prev.y+prev.h {
				t.Fatalf("row %d (at %v) overlaps row %d (%v to %v)", it.i, it.y, prev.i, prev.y, prev.y+prev.h)
			}
			for _, gap := range l.items[prev.i+1 : it.i] {
				if gap.h > 0 {
					t.Fatalf("row %d is missing between %d and %d", gap.i, prev.i, it.i)
				}
			}
		}
	}
}

// textOrder returns the numbers of the messages mNNNNN in view, top to bottom.
func textOrder(c *conv) []int {
	var out []int
	for _, it := range c.list.shown {
		if it.m != nil && strings.HasPrefix(it.m.text, "m") {
			if n, err := strconv.Atoi(strings.Fields(it.m.text)[0][1:]); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestLongConversationScrolls (issue 15): a conversation of 1,000 messages, 50 with images,
// opens at its newest; scrolled up a step at a time to the oldest and down again, the view
// always shows the right rows, whole and in order, the rows the user reads move exactly by
// the step, and the window holds only the rows near the view, however far it went.
func TestLongConversationScrolls(t *testing.T) {
	rs := longConversation(t, 1000, 50)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap := ms.HeapAlloc // the package's other tests' too
	u, c := openLong(t, test.NewTempApp(t), rs)
	last := c.msgs[len(c.msgs)-1]
	if last.text != "newest" || !atBottom(c) || !inView(c, last.row) {
		t.Fatalf("opened at %v of %v, the newest %q", c.scroll.Offset, c.box.Size(), last.text)
	}
	checkView(t, c)
	const step = 250
	steps := 0
	seen := map[string]bool{} // the images shown inline on the way
	for c.scroll.Offset.Y > 0 {
		if steps++; steps > 5000 {
			t.Fatalf("still at %v after %d steps", c.scroll.Offset, steps)
		}
		var ref *rowItem // the first row wholly in view: where it is on screen
		for _, it := range c.list.shown {
			if it.y >= c.scroll.Offset.Y {
				ref = it
				break
			}
		}
		before := ref.y - c.scroll.Offset.Y
		c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, step)})
		checkView(t, c)
		if c.scroll.Offset.Y > 0 && ref.obj != nil {
			if after := ref.y - c.scroll.Offset.Y; after < before+step-1 || after > before+step+1 {
				t.Fatalf("step %d: a row read at %v moved to %v, not by %v", steps, before, after, step)
			}
		}
		order := textOrder(c)
		for k := 1; k < len(order); k++ {
			if order[k] != order[k-1]+1 {
				t.Fatalf("step %d: messages in view %v", steps, order)
			}
		}
		for _, o := range c.box.Objects {
			walk(o, func(o fyne.CanvasObject) {
				if th, ok := o.(*thumb); ok && th.img.File == thumbOf(th.im) && th.img.File != "" {
					seen[th.im.SHA256] = true
				}
			})
		}
		if c.list.built > maxBuilt || len(c.box.Objects) > 100 {
			t.Fatalf("step %d: %d rows made, %d placed", steps, c.list.built, len(c.box.Objects))
		}
	}
	if !inView(c, c.msgs[0].row) || !strings.HasPrefix(c.msgs[0].text, "m00000") || c.pin != pinNone {
		t.Fatalf("at the top: the oldest %q at %v, the view at %v", c.msgs[0].text, c.msgs[0].item.y, c.scroll.Offset)
	}
	if thumbs := len(seen); thumbs != 50 {
		t.Fatalf("%d images seen on the way up, not 50", thumbs)
	}

	// A message from Bob while I read the oldest: it waits below, the view stays.
	ref := c.list.shown[len(c.list.shown)/2]
	before := ref.y - c.scroll.Offset.Y
	u.HandleEvent(message("b", "Bob", bobAddr, "while you read", 12))
	u.settle()
	if after := ref.y - c.scroll.Offset.Y; atBottom(c) || after != before {
		t.Fatalf("a new message moved the view: the row read at %v is at %v", before, after)
	}
	// Down to the newest in one sweep, and a message of mine follows.
	c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -1e7)})
	checkView(t, c)
	if c.pin != pinBottom || !inView(c, c.msgs[len(c.msgs)-1].row) {
		t.Fatalf("scrolled down to %v of %v", c.scroll.Offset, c.box.Size())
	}
	c.input.SetText("mine")
	c.submit()
	u.settle()
	if m := c.msgs[len(c.msgs)-1]; m.text != "mine" || !inView(c, m.row) {
		t.Fatalf("my message %q not in view", m.text)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grew := int64(ms.HeapAlloc) - int64(heap); grew > 200<<20 {
		t.Errorf("the conversation holds %d MB", grew>>20)
	}
}

// openSeeded opens Bob's conversation with a history of n messages (their texts from text),
// as a click on Bob does: the newest page shown.
func openSeeded(t *testing.T, n int, text func(i int) string) (*testUI, *conv) {
	u, core := newTestUI(t, "en")
	seed(t, core, n, text)
	bob := online("b", "Bob", "Dev", bobAddr)
	core.peers = append(core.peers, *bob.Peer)
	u.HandleEvent(bob)
	u.tree.OnSelected("p:b")
	u.settle()
	return u, u.convs["b"]
}

// TestPagingBackKeepsThePlace: Earlier messages puts the page above what the user reads,
// which stays where it is on screen; the messages shown are all there, in order.
func TestPagingBackKeepsThePlace(t *testing.T) {
	u, c := openSeeded(t, 260, func(i int) string { return fmt.Sprintf("m%05d %s", i, strings.Repeat("long words wrap ", i%5)) })
	for pages := 1; c.more.Visible(); pages++ {
		if pages > 10 {
			t.Fatal("more pages than the history holds")
		}
		c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, 200)})
		ref := c.list.shown[len(c.list.shown)-1]
		before := ref.y - c.scroll.Offset.Y
		test.Tap(c.more)
		u.settle()
		checkView(t, c)
		if after := ref.y - c.scroll.Offset.Y; after != before {
			t.Fatalf("page %d: the row read at %v moved to %v", pages, before, after)
		}
	}
	if len(c.msgs) != 260 {
		t.Fatalf("%d messages after paging back", len(c.msgs))
	}
	for i, m := range c.msgs {
		if !strings.HasPrefix(m.text, fmt.Sprintf("m%05d", i)) {
			t.Fatalf("message %d is %q", i, m.text)
		}
	}
}

// TestGroupedMessages (issue 15): consecutive messages of one sender within five minutes
// show the name, avatar and time once; a pause, another sender or a new day starts a group
// again; a page of history that ends with the same sender joins its group.
func TestGroupedMessages(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.Local)
	rec := func(id int, min int, out bool, text string) history.Record {
		r := history.Record{ID: int64(id), Peer: "b", PeerID: "b", Nick: "Bob", Time: at.Add(time.Duration(min) * time.Minute),
			Direction: event.In, State: history.StateReceived, Text: text}
		if out {
			r.Direction, r.State = event.Out, history.StateDelivered
		}
		return r
	}
	rs := []history.Record{rec(10, 0, false, "a1"), rec(11, 1, false, "a2"), rec(12, 3, false, "a3"), rec(13, 30, false, "b1"),
		rec(14, 31, true, "c1"), rec(15, 32, true, "c2"), rec(16, 33, false, "d1"), rec(17, 24*60, false, "e1"), rec(18, 24*60+1, false, "")}
	// Bob's file a minute after e1: a file record keeps its heading (its state alone would be a
	// stray word).
	rs[len(rs)-1].Kind, rs[len(rs)-1].State = history.KindFile, "done"
	rs[len(rs)-1].Files = []history.File{{Name: "报表.xlsx", Size: 2048}}
	u, c := openLong(t, test.NewTempApp(t), rs)
	avatars := func(m *chatMsg) int {
		n := 0
		walk(m.row, func(o fyne.CanvasObject) {
			if _, ok := o.(*canvas.Circle); ok {
				n++
			}
		})
		return n
	}
	byText := map[string]*chatMsg{}
	for _, m := range c.msgs {
		byText[m.text] = m
	}
	for _, tc := range []struct {
		text    string
		grouped bool
		head    string
	}{
		{"a1", false, "Bob  2026-03-02 10:00:00"}, {"a2", true, ""}, {"a3", true, ""}, {"b1", false, "Bob  2026-03-02 10:30:00"},
		{"c1", false, "Me  2026-03-02 10:31:00  · delivered"}, {"c2", true, "delivered"}, {"d1", false, "Bob  2026-03-02 10:33:00"},
		{"e1", false, "Bob  2026-03-03 10:00:00"}, {"Files: 报表.xlsx (2.0 KiB)", false, "Bob  2026-03-03 10:01:00  · done"},
	} {
		m := byText[tc.text]
		if m.grouped != tc.grouped || m.head.Text != tc.head || m.head.Visible() != (tc.head != "") {
			t.Errorf("%s: grouped %v, heading %q (shown %v), want %v, %q", tc.text, m.grouped, m.head.Text, m.head.Visible(), tc.grouped, tc.head)
		}
		if want := map[bool]int{true: 0, false: 1}[tc.grouped || m.out]; avatars(m) != want {
			t.Errorf("%s: %d avatars, want %d", tc.text, avatars(m), want)
		}
	}
	// An earlier page ending with Bob a minute before a1: a1 joins it.
	c.showPage([]history.Record{rec(5, -2, true, "z1"), rec(6, -1, false, "z2")})
	u.settle()
	if a1 := byText["a1"]; !a1.grouped || a1.head.Visible() || avatars(a1) != 0 {
		t.Errorf("a1 after the earlier page: grouped %v, heading %q", a1.grouped, a1.head.Text)
	}
	checkView(t, c)
}

// BenchmarkConversationScroll (issue 15): the frame time of a scroll step (the scroll and
// the window drawn by the test driver) in a conversation of 10,000 messages, 500 of them
// with an image (real thumbnails of the image store), against one of text only, and against
// a short one (200 messages: what virtualising makes a long one cost); and the memory the
// conversation with images holds. Each step scrolls 120 px up; 300 steps from the newest,
// then back to it.
func BenchmarkConversationScroll(b *testing.B) {
	const n, steps, step = 10000, 300, 120
	app := test.NewApp()
	short, texts, images := longConversation(b, 200, 0), longConversation(b, n, 0), longConversation(b, n, 500)
	_, sc := openLong(b, app, short)
	_, tc := openLong(b, app, texts)
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		debug.FreeOSMemory()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	_, ic := openLong(b, app, images)
	frame := func(c *conv) time.Duration {
		win := c.u.Win
		t0 := time.Now()
		for range steps {
			c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, step)})
			win.Canvas().Capture()
		}
		d := time.Since(t0)
		c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -1e7)})
		return d / steps
	}
	var shortStep, textStep, imageStep time.Duration
	for b.Loop() {
		shortStep += frame(sc)
		textStep += frame(tc)
		imageStep += frame(ic)
	}
	after := heap()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(shortStep), "ms/step-short")
	b.ReportMetric(ms(textStep), "ms/step-text")
	b.ReportMetric(ms(imageStep), "ms/step-images")
	b.ReportMetric(float64(imageStep)/float64(textStep), "images/text")
	b.ReportMetric(float64(textStep)/float64(shortStep), "text/short")
	b.ReportMetric(float64(after-min(before, after))/(1<<20), "heap-MB-images")
	if rss := rssMB(); rss > 0 {
		b.ReportMetric(rss, "rss-MB-all")
	}
	b.ReportMetric(float64(ic.list.built), "rows-made")
}

// rssMB is the process's resident memory in MB, where /proc tells it (0 elsewhere).
func rssMB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// TestScrollingUpLoadsEarlierPages: scrolled near the top, the conversation loads the
// history's page before by itself, until the whole history is shown.
func TestScrollingUpLoadsEarlierPages(t *testing.T) {
	u, c := openSeeded(t, 180, func(i int) string { return fmt.Sprintf("m%05d", i) })
	for tries := 0; c.more.Visible(); tries++ {
		if tries > 10 {
			t.Fatalf("%d messages after scrolling to the top %d times", len(c.msgs), tries)
		}
		c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, 1e7)})
		u.settle()
		checkView(t, c)
	}
	if len(c.msgs) != 180 || !strings.HasPrefix(c.msgs[0].text, "m00000") {
		t.Fatalf("%d messages, the oldest %q", len(c.msgs), c.msgs[0].text)
	}
}
