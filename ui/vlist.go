package ui

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// The message list (issue 15) is virtualised: a conversation keeps its rows (Earlier
// messages, day separators, messages, room notices, transfer cards) as items with a height,
// and only the rows in view, and half a view either side, are in the scroll's content. A
// conversation of 10,000 messages is then as light to draw and to scroll as one of twenty: the
// canvas holds a screenful of rows, not 10,000 bubbles.
//
// A row is measured at the view's width when it comes near the view; until then its height is
// an estimate (or what it measured at another width), so the scroll bar's length settles as the
// user scrolls, while what they look at stays where it is: the view keeps in place the row it
// is pinned to (the newest, one found, or the first the user sees). Message rows are made
// again when they come back into view: beyond maxBuilt, those farthest from the view are
// dropped, so memory is bounded whatever the length of the conversation.

const (
	// maxBuilt is how many message rows are kept made at most; more are dropped, the farthest
	// from the view first.
	maxBuilt = 300
	// groupGap is how long after a message the same sender's next one still joins it, shown
	// without their name, avatar and time again (as FeiQ and WeChat do).
	groupGap = 5 * time.Minute
)

// rowItem is one row of a conversation's list: exactly one of m, card, fixed or day is set.
type rowItem struct {
	m     *chatMsg          // a message, a recorded transfer, a room's notice
	card  *offerCard        // a transfer's card
	fixed fyne.CanvasObject // Earlier messages
	day   time.Time         // a day's separator: a time on that day
	obj   fyne.CanvasObject // the row, once made
	h, w  float32           // its height, and the width it was measured at (0: estimated)
	y     float32           // its top in the list
	i     int               // its index in the list (-1: removed)
}

// msgList is a conversation's list of rows in its scroll.
type msgList struct {
	c      *conv
	items  []*rowItem
	box    *fyne.Container // the rows placed (near the view), in a box as high as the list
	scroll *container.Scroll
	shown  []*rowItem // the rows in box
	width  float32    // the view's width the rows are measured at
	total  float32
	built  int  // message rows made
	stale  bool // positions to recompute
	busy   bool // laying out
}

func newMsgList(c *conv) *msgList {
	l := &msgList{c: c}
	l.box = container.New(listLayout{l})
	l.scroll = container.NewVScroll(l.box)
	return l
}

// listLayout gives the box the list's height. It lays out nothing itself (msgList.layout
// places the rows), except when a row shown changes its height (a retry button shown, a
// transfer's progress), which the canvas reports by laying the box out again.
type listLayout struct{ l *msgList }

func (ll listLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	l := ll.l
	l.positions()
	return fyne.NewSize(0, l.total)
}

func (ll listLayout) Layout([]fyne.CanvasObject, fyne.Size) {
	l := ll.l
	if l.width <= 0 || l.busy {
		return
	}
	changed := false
	for _, it := range l.shown {
		if it.i >= 0 && it.obj != nil && l.measure(it) {
			changed = true
		}
	}
	if changed {
		l.positions()
		for _, it := range l.shown {
			if it.obj != nil {
				it.obj.Move(fyne.NewPos(0, it.y))
			}
		}
	}
}

// positions recomputes the rows' indexes, tops and the list's height, if anything changed.
func (l *msgList) positions() {
	if !l.stale {
		return
	}
	pad := theme.Padding()
	y := float32(0)
	for i, it := range l.items {
		it.i, it.y = i, y
		if it.h > 0 {
			y += it.h + pad
		}
	}
	l.total = max(y-pad, 0)
	l.stale = false
}

// insert puts its at index at, and makes their rows while fewer than maxBuilt are made
// (those made last, the newest, first); the others are made when they come near the view.
func (l *msgList) insert(at int, its ...*rowItem) {
	l.items = slices.Insert(l.items, at, its...)
	l.stale = true
	l.positions()
	for _, it := range its {
		if it.m != nil {
			it.m.item = it
			if it.obj == nil { // a message carried over from another conversation: widgets of its own
				it.m.row, it.m.head, it.m.retry, it.m.queue = nil, nil, nil, nil
			}
		}
		it.h = l.estimate(it)
	}
	l.stale = true
	for _, it := range slices.Backward(its) {
		if l.built < maxBuilt || it.m == nil {
			l.ensure(it)
		}
	}
	l.regroup(at + len(its))
}

// add puts its at the end.
func (l *msgList) add(its ...*rowItem) { l.insert(len(l.items), its...) }

// remove takes it out of the list.
func (l *msgList) remove(it *rowItem) {
	l.positions()
	if it.i < 0 || it.i >= len(l.items) || l.items[it.i] != it {
		return
	}
	at := it.i
	l.items = slices.Delete(l.items, at, at+1)
	it.i = -1
	l.drop(it)
	l.stale = true
	l.positions()
	l.regroup(at)
}

// reset leaves only its in the list.
func (l *msgList) reset(its ...*rowItem) {
	for _, it := range l.items {
		it.i = -1
		l.drop(it)
	}
	l.items, l.shown, l.built = nil, nil, 0
	l.box.Objects = nil
	l.insert(0, its...)
}

// ensure makes it's row if it has none, and returns it.
func (l *msgList) ensure(it *rowItem) fyne.CanvasObject {
	if it.obj == nil {
		it.obj = l.c.build(it)
		it.w = 0
		if it.m != nil {
			l.built++
		}
	}
	return it.obj
}

// drop forgets a message's row (made again when needed).
func (l *msgList) drop(it *rowItem) {
	if it.m == nil || it.obj == nil {
		return
	}
	it.obj = nil
	it.m.row, it.m.head, it.m.retry, it.m.queue = nil, nil, nil, nil
	l.built--
}

// rebuild makes it's row again (its message changed its look), if it has one.
func (l *msgList) rebuild(it *rowItem) {
	if it == nil || it.i < 0 || it.obj == nil {
		return
	}
	l.drop(it)
	l.ensure(it)
}

// regroup makes the row at i again if whether it joins the one before changed (a row was
// put or taken before it).
func (l *msgList) regroup(i int) {
	if i <= 0 || i >= len(l.items) {
		return
	}
	it := l.items[i]
	if it.m == nil || it.obj == nil || it.m.notice {
		return
	}
	if l.c.groupedWith(l.items[i-1], it.m) != it.m.grouped {
		l.rebuild(it)
	}
}

// estimate is the height of it's row before it is measured: its lines of text and its
// images; other rows are measured as they are made.
func (l *msgList) estimate(it *rowItem) float32 {
	line := theme.TextSize() + 2*theme.InnerPadding()
	if it.m == nil {
		return line
	}
	chars := max(int(l.width/theme.TextSize()*1.6), 40)
	lines := 1
	for s := range strings.SplitSeq(it.m.text, "\n") {
		lines += 1 + len(s)/chars
	}
	h := float32(lines) * (theme.TextSize() + theme.Padding())
	for _, im := range it.m.images {
		h += thumbSize(im).Height + theme.Padding()
	}
	return h + 2*theme.Padding()
}

// measure lays out it's row at the view's width and notes its height; it reports whether
// the height changed.
func (l *msgList) measure(it *rowItem) bool {
	o := l.ensure(it)
	var h float32
	if o.Visible() {
		for range 3 { // wrapped texts settle after one layout at the final width
			want := fyne.NewSize(l.width, o.MinSize().Height)
			if o.Size() == want {
				break
			}
			o.Resize(want)
		}
		h = o.Size().Height
	}
	it.w = l.width
	if h == it.h {
		return false
	}
	it.h = h
	l.stale = true
	return true
}

// span returns the indexes [lo, hi) of the rows between top and bottom.
func (l *msgList) span(top, bottom float32) (lo, hi int) {
	lo = sort.Search(len(l.items), func(i int) bool { it := l.items[i]; return it.y+it.h >= top })
	hi = sort.Search(len(l.items), func(i int) bool { return l.items[i].y > bottom })
	return lo, max(hi, lo)
}

// layout measures the rows near the view, places them, and scrolls the view to offset y,
// which target gives from the rows' positions. It does nothing before the view has a size.
func (l *msgList) layout(target func(view float32) float32) {
	size := l.scroll.Size()
	if size.Width <= 0 || size.Height <= 0 || l.busy {
		return
	}
	l.busy = true
	defer func() { l.busy = false }()
	l.width = size.Width
	var y float32
	var lo, hi int
	for range 8 { // measuring rows moves those below them: measure again where the view is now
		l.positions()
		y = target(size.Height)
		lo, hi = l.span(y-size.Height/2, y+size.Height*3/2)
		changed := false
		for _, it := range l.items[lo:hi] {
			if it.w != l.width || it.obj == nil {
				changed = l.measure(it) || changed
			}
		}
		if !changed {
			break
		}
	}
	l.shown = l.shown[:0]
	objs := make([]fyne.CanvasObject, 0, hi-lo)
	for _, it := range l.items[lo:hi] {
		if o := l.ensure(it); it.h > 0 {
			o.Move(fyne.NewPos(0, it.y))
			l.shown = append(l.shown, it)
			objs = append(objs, o)
		}
	}
	l.trim(lo, hi)
	l.box.Objects = objs
	l.box.Resize(fyne.NewSize(size.Width, max(l.total, size.Height)))
	l.scroll.ScrollToOffset(fyne.NewPos(0, y))
	canvas.Refresh(l.box)
}

// placed reports whether it's row is in the box.
func (l *msgList) placed(it *rowItem) bool {
	return it != nil && it.obj != nil && slices.Contains(l.shown, it)
}

// trim drops message rows, the farthest from [lo, hi) first, while more than maxBuilt are
// made.
func (l *msgList) trim(lo, hi int) {
	if l.built <= maxBuilt {
		return
	}
	a, b := 0, len(l.items)-1
	for l.built > maxBuilt*3/4 && (a < lo || b >= hi) {
		if a < lo && (b < hi || lo-a >= b-hi) {
			l.drop(l.items[a])
			a++
		} else {
			l.drop(l.items[b])
			b--
		}
	}
}

// at returns the row to keep in place when the view's top is at y: the first, after Earlier
// messages, whose bottom is below y and that is steady, and how far above y its top is.
func (l *msgList) at(y float32) (*rowItem, float32) {
	l.positions()
	first, _ := l.span(y, y)
	first = max(first, 1)
	if first >= len(l.items) {
		return nil, 0
	}
	i := first
	for i < len(l.items) && l.items[i].y < y+l.scroll.Size().Height && !l.items[i].steady(l.width) {
		i++
	}
	if i >= len(l.items) || l.items[i].y >= y+l.scroll.Size().Height {
		i = first
	}
	return l.items[i], y - l.items[i].y
}

// steady reports whether the row stays as it is when rows come above it: measured at width
// (rows just scrolled into view change their height as they are measured), and not a day's
// separator (an earlier page of the same day takes it away).
func (it *rowItem) steady(width float32) bool {
	return it.w == width && it.h > 0 && (it.m != nil || it.card != nil)
}

// groupedWith reports whether m joins the row before it, prev: both messages of the same
// sender (not notices), the later within groupGap of the earlier, on the same day.
func (c *conv) groupedWith(prev *rowItem, m *chatMsg) bool {
	// A file record keeps its heading: alone, its state ("done") would read as a stray word.
	if prev == nil || prev.m == nil || prev.m.notice || m.notice || m.file || m.time.IsZero() {
		return false
	}
	p := prev.m
	gap := m.time.Sub(p.time)
	return p.out == m.out && sender(p) == sender(m) && gap >= 0 && gap < groupGap && dayOf(p.time) == dayOf(m.time)
}

// sender names who wrote m, for grouping.
func sender(m *chatMsg) string {
	if m.out {
		return ""
	}
	return cmp.Or(m.who, m.from)
}

// build makes it's row.
func (c *conv) build(it *rowItem) fyne.CanvasObject {
	switch {
	case it.fixed != nil:
		return it.fixed
	case it.card != nil:
		return it.card.box
	case it.m == nil:
		return c.u.daySeparator(it.day)
	case it.m.notice:
		return c.noticeRow(it.m)
	}
	var prev *rowItem
	if it.i > 0 && it.i < len(c.list.items) && c.list.items[it.i] == it {
		prev = c.list.items[it.i-1]
	}
	it.m.grouped = c.groupedWith(prev, it.m)
	return c.row(it.m)
}

// itemOf returns the row showing the history record r, a message or a transfer's card.
func (c *conv) itemOf(m *chatMsg, card *offerCard) *rowItem {
	if m != nil {
		return m.item
	}
	if card == nil {
		return nil
	}
	for _, it := range slices.Backward(c.list.items) {
		if it.card == card {
			return it
		}
	}
	return nil
}
