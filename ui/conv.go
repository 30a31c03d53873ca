package ui

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/google/uuid"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/xfer"
)

// pageSize is how many records a conversation loads from the history at a time.
const pageSize = 50

// conv is one conversation tab.
type conv struct {
	u      *UI
	key    string
	peerID string
	addr   netip.AddrPort
	nick   string
	// hkey is the peer's key in the history; user and host name it for the queue.
	hkey, user, host string
	tab              *container.TabItem
	// list holds "Earlier messages", then the messages, oldest first (vlist.go); box and
	// scroll are its.
	list   *msgList
	box    *fyne.Container
	scroll *container.Scroll
	cards  []*offerCard // the transfers shown, in the list too
	input  *chatEntry
	status *widget.Label // "offline: messages wait"
	more   *widget.Button
	unread int
	msgs   []*chatMsg
	byID   map[int64]*chatMsg // shown records, by history ID
	oldest int64              // the oldest history record loaded (0: none yet)
	// The history's queries run in the background: loading while a page is on its way,
	// clearing while the history is being cleared; gen counts the clearings, so that a page
	// asked for before one is dropped.
	loading, clearing bool
	gen               int
	// ready is set once the first page is shown; until then the messages sent wait in
	// held, so that the page does not also hold their records.
	ready bool
	held  []func()
	// What the view keeps in sight whenever it is laid out (the tab shown for the first
	// time, the window resized, rows measured): the newest message, a message found in the
	// history, or where the user scrolled to (the row anchor, anchorDY below its top).
	// placing is set while the window moves the view itself.
	pin      pinMode
	pinned   *rowItem
	anchor   *rowItem
	anchorDY float32
	placing  bool
	// seek is the history record to show once the page holding it is loaded (0: none).
	seek history.Record
	// Rich messages (rich.go): "… is typing" and until when; the nudge banner, how many
	// nudges came, and the nudge button; when this side last said it types and last typed;
	// the images attached to the message being written; whether messages came that the
	// node has not been told were seen.
	typing              *widget.Label
	typingUntil         time.Time
	nudged              *canvas.Text
	nudges              int
	nudgeBtn            *widget.Button
	seal                *widget.Check // the next message goes sealed
	typingSent, lastKey time.Time
	attached            []attachment
	imageSeq            int
	seenDue             bool
	// days are the day separators shown, by day (days.go).
	days map[string]*rowItem
	// room is set on a group room's conversation (rooms.go).
	room *roomConv
}

type pinMode int

const (
	pinBottom pinMode = iota // the newest message
	pinRow                   // pinned
	pinNone                  // where the user scrolled to
)

// chatMsg is one message or recorded transfer in a conversation.
type chatMsg struct {
	id     int64  // its history record, once known
	sendID string // this window's latest attempt to send it, as the node's events name it
	time   time.Time
	from   string
	who    string // the sender's FeiGo ID where the conversation has several (a room): its avatar
	text   string
	out    bool
	file   bool   // a recorded file transfer
	packet uint32 // a message received now: its packet number (an offer's note has its offer's)
	// images shown inline in the text; sealed: shown behind a click until read; readAt: out,
	// when the colleague read it; in, when it was opened.
	images    []history.Image
	sealed    bool
	readCheck bool
	readAt    time.Time
	notice    bool     // a room's change, shown centred (rooms.go)
	item      *rowItem // its row in the list
	grouped   bool     // shown joined to the message before (vlist.go): no name, avatar or time
	row       fyne.CanvasObject
	state     string // out: sending, delivered, failed, queued; files: the transfer's state
	err       string
	head      *widget.Label
	retry     *widget.Button
	queue     *widget.Button
}

// makeView makes what every conversation has, a colleague's or a room's: its messages under
// "Earlier messages" in a scroll, and its message box.
func (c *conv) makeView() {
	c.more = widget.NewButton(c.u.t("Earlier messages"), c.loadEarlier)
	c.list = newMsgList(c)
	c.box, c.scroll = c.list.box, c.list.scroll
	c.list.add(&rowItem{fixed: c.more})
	c.scroll.OnScrolled = c.scrolled
	c.input = newChatEntry(c.u.opt.Settings.EnterMode == "ctrl-enter", func() { c.submit() })
	c.input.rest.after = c.u.afterDo
}

// showConv puts c's tab in the window if it is not there; focus brings it in front, marked
// read, with the cursor in its message box, ready to type.
func (u *UI) showConv(c *conv, focus bool) *conv {
	if !slices.Contains(u.tabs.Items, c.tab) {
		u.tabs.Append(c.tab)
	}
	if focus {
		u.tabs.Select(c.tab)
		u.markRead(c)
		u.Win.Canvas().Focus(c.input)
	}
	return c
}

func (u *UI) newConv(key, id string, addr netip.AddrPort, nick, hkey, user, host string) *conv {
	c := &conv{u: u, key: key, peerID: id, addr: addr, nick: nick, hkey: hkey, user: user, host: host,
		byID: map[int64]*chatMsg{}}
	c.makeView()
	c.input.onPaste = c.pasted
	c.input.OnChanged = func(string) { c.typed() }
	c.seenDue = true // the history may hold messages not yet seen
	c.typing = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	c.typing.Hide()
	c.nudged = canvas.NewText("", theme.Color(theme.ColorNameError))
	c.nudged.TextStyle.Bold = true
	c.nudged.TextSize = theme.TextSize() * 1.3
	c.nudged.Hide()
	send := widget.NewButton(u.t("Send"), c.submit)
	file := widget.NewButton(u.t("Send file…"), func() {
		u.choose(chooseOptions{title: u.t("Send files"), multiple: true}, func(paths []string) { u.sendFiles(c, paths) })
	})
	folder := widget.NewButton(u.t("Send folder…"), func() {
		u.choose(chooseOptions{title: u.t("Send folder"), directory: true}, func(paths []string) { u.sendFiles(c, paths) })
	})
	clear := widget.NewButton(u.t("Clear history"), c.confirmClear)
	verify := widget.NewButton(u.t("Verify…"), c.verify)
	c.status = widget.NewLabel("")
	c.status.Importance = widget.WarningImportance
	tools := container.NewHBox(file, folder, layout.NewSpacer(), verify, clear)
	if _, ok := u.rich(); ok {
		c.nudgeBtn = widget.NewButton(u.t("Nudge"), c.nudge)
		c.seal = widget.NewCheck(u.t("Seal"), nil)
		shot := widget.NewButtonWithIcon(u.t("Screenshot"), theme.ContentCutIcon(), c.shot) // also Ctrl+Alt+A
		c.input.onShot = c.shot
		tools.Objects = append([]fyne.CanvasObject{shot, c.nudgeBtn, c.seal}, tools.Objects...)
	}
	bottom := container.NewBorder(c.typing, container.NewHScroll(tools), nil, send, c.input)
	view := container.New(pinLayout{c}, c.scroll)
	c.tab = container.NewTabItem(nick, container.NewBorder(container.NewVBox(c.status, container.NewCenter(c.nudged)), bottom, nil, nil, view))
	c.updateStatus()
	c.loadEarlier()
	return c
}

// online reports whether the conversation's peer is in the table now.
func (c *conv) online() bool {
	if c.peerID == "" {
		return true // a stranger known only by address: try it
	}
	_, ok := c.u.peers[c.peerID]
	return ok
}

// updateStatus shows, over the messages, that the peer is offline and what sending does
// then, or that the link is not encrypted, or a warning about the peer's key.
func (c *conv) updateStatus() {
	if c.room != nil {
		return // a room's status is its own (setRoomInfo)
	}
	c.showLock()
	if c.online() {
		p, ok := c.u.peers[c.peerID]
		switch {
		case ok && p.Warning != "":
			c.status.Importance = widget.DangerImportance
			c.status.SetText(c.u.t("Warning: %s %s.", c.nick, p.Warning))
		case ok && !p.Secure:
			c.status.Importance = widget.WarningImportance
			c.status.SetText(c.u.t("Not encrypted: %s's program (%s) cannot encrypt; anyone on the network can read this conversation.", c.nick, p.Client))
		default:
			c.status.SetText("")
			c.status.Hide()
			return
		}
		c.status.Show()
		return
	}
	c.status.Importance = widget.WarningImportance
	c.status.SetText(c.u.t("%s is offline: messages wait and go when they are back.", c.nick))
	c.status.Show()
}

// showLock puts the colleague's lock (keyIcon) on the conversation's tab; a stranger or a
// colleague offline gets none.
func (c *conv) showLock() {
	var icon fyne.Resource
	if p, ok := c.u.peers[c.peerID]; ok && c.peerID != "" {
		icon = keyIcon(p)
	}
	if c.tab.Icon == icon || (c.tab.Icon != nil && icon != nil && c.tab.Icon.Name() == icon.Name()) {
		return
	}
	c.tab.Icon = icon
	if c.u.tabs != nil {
		c.u.tabs.Refresh()
	}
}

// verify shows the safety code shared with the colleague; "They match" marks their key
// verified. The call to the node runs in the background.
func (c *conv) verify() {
	id := c.peerID
	if id == "" {
		return
	}
	c.u.work(func(context.Context) func() {
		v, err := c.u.core.Verify(id, false, "")
		if err != nil {
			return c.u.showErr(err)
		}
		return func() {
			text := c.u.t("Read this code aloud with %s, in person or on the phone. It matches on both screens only if no one stands between you.", c.nick) +
				"\n\n" + v.SafetyCode
			if v.KeyChangedFrom != "" {
				text = c.u.t("%s's key is not the one known before.", c.nick) + "\n\n" + text
			}
			dialog.ShowConfirm(c.u.t("Verify %s", c.nick), text, func(ok bool) {
				if !ok {
					return
				}
				c.u.work(func(context.Context) func() {
					_, err := c.u.core.Verify(id, true, v.Fingerprint) // the key whose code was shown
					return c.u.showErr(err)
				})
			}, c.u.Win)
		}
	})
}

// loadEarlier asks the history, in the background, for the page before the oldest record
// shown, and shows it. The first call, as the conversation opens, shows the newest page. A
// click while a page is on its way does nothing.
func (c *conv) loadEarlier() {
	if c.hkey == "" {
		c.more.Hide()
		c.loaded()
		return
	}
	if c.loading {
		return
	}
	c.loading = true
	u, key, before, gen := c.u, c.hkey, c.oldest, c.gen
	u.work(func(context.Context) func() {
		rs, err := u.core.HistoryPage(key, before, pageSize)
		return func() {
			if gen != c.gen {
				return // the history was cleared meanwhile; the page that follows shows it
			}
			c.loading = false
			if u.convs[c.key] != c || err != nil { // the window was rebuilt (and shows its own page)
				if err != nil && u.convs[c.key] == c {
					dialog.ShowError(err, u.Win)
				}
				c.loaded()
				return
			}
			c.showPage(rs)
			c.loaded()
			if c.seek.ID != 0 {
				c.reveal(c.seek)
			}
		}
	})
}

// loaded notes that the first page has come, and sends the messages that waited for it.
func (c *conv) loaded() {
	c.ready = true
	held := c.held
	c.held = nil
	for _, f := range held {
		f()
	}
}

// whenLoaded runs f once the first page of history is shown.
func (c *conv) whenLoaded(f func()) {
	if c.ready {
		f()
		return
	}
	c.held = append(c.held, f)
}

// showPage shows rs, a page of history older than what is shown.
func (c *conv) showPage(rs []history.Record) {
	rs = safeRecords(rs)
	if len(rs) < pageSize {
		c.more.Hide()
	} else {
		c.more.Show()
	}
	if len(rs) == 0 {
		if c.oldest == 0 {
			c.scrollDown()
		}
		return
	}
	first := c.oldest == 0
	c.oldest = rs[0].ID
	ms := make([]*chatMsg, 0, len(rs))
	for _, r := range rs {
		if c.byID[r.ID] != nil || c.cardOf(r) != nil { // shown already, or as a card
			continue
		}
		m := c.u.fromRecord(r)
		c.byID[r.ID] = m
		ms = append(ms, m)
	}
	c.prepend(ms, true)
	if first {
		c.scrollDown()
	} else {
		c.place() // where the user reads, the earlier messages above
	}
}

// prepend shows ms above the messages shown, under "Earlier messages", with the days'
// separators if days is set.
func (c *conv) prepend(ms []*chatMsg, days bool) {
	its := c.items(ms)
	if days {
		its = c.withDays(ms, its, nil)
	}
	c.msgs = append(ms, c.msgs...)
	c.list.insert(1, its...)
}

// items makes the list's rows of ms.
func (c *conv) items(ms []*chatMsg) []*rowItem {
	its := make([]*rowItem, len(ms))
	for i, m := range ms {
		its[i] = &rowItem{m: m}
	}
	return its
}

// fromRecord turns a history record into a line of a conversation.
func (u *UI) fromRecord(r history.Record) *chatMsg {
	m := &chatMsg{id: r.ID, time: r.Time, from: r.Nick, text: r.Text, out: r.Direction == event.Out, state: r.State, err: r.Error,
		images: r.Images, sealed: r.Sealed, readCheck: r.ReadCheck, readAt: r.ReadAt}
	if m.from == "" {
		m.from = r.User
	}
	if m.out {
		m.from = u.t("Me")
	}
	if r.Kind == history.KindFile {
		m.file = true
		var lines []string
		for _, f := range r.Files {
			name := f.Name
			if f.Dir {
				name += "/"
			}
			lines = append(lines, fmt.Sprintf("%s (%s)", name, xfer.FormatSize(f.Size)))
		}
		m.text = u.t("Files:") + " " + strings.Join(lines, ", ")
		if r.Folder != "" && r.State == xfer.StateDone {
			m.text += "\n" + u.t("Saved in %s", r.Folder)
		}
	}
	return m
}

func (c *conv) confirmClear() {
	u := c.u
	dialog.ShowConfirm(u.t("Clear history"), u.t("Delete the whole history with %s? Messages still waiting to be sent stay.", c.nick), func(ok bool) {
		if ok {
			c.clearHistory()
		}
	}, u.Win)
}

// clearHistory deletes the peer's history, in the background, and then shows what is left:
// messages still queued, and open offers. A second click while it runs does nothing.
func (c *conv) clearHistory() {
	if c.clearing {
		return
	}
	c.clearing = true
	u, key := c.u, c.hkey
	u.work(func(context.Context) func() {
		_, err := u.core.ClearHistory(key)
		return func() {
			c.clearing = false
			if u.convs[c.key] != c {
				return // the window was rebuilt: the new conversation reads the history anew
			}
			if err != nil {
				dialog.ShowError(err, u.Win)
				return
			}
			c.cleared()
		}
	})
}

// cleared empties the conversation after its history was cleared, and loads what is left.
func (c *conv) cleared() {
	c.gen++ // a page on its way is of the old history
	c.loading = false
	c.msgs, c.byID, c.oldest, c.days = nil, map[int64]*chatMsg{}, 0, nil
	c.dropCards() // those of transfers that ended were history too
	its := []*rowItem{{fixed: c.more}}
	for _, card := range c.cards {
		its = append(its, &rowItem{card: card})
	}
	c.list.reset(its...)
	c.pinned, c.anchor = nil, nil
	c.place()
	c.loadEarlier()
}

func (c *conv) submit() {
	text := strings.TrimRight(c.input.Text, "\n")
	if len(c.attached) > 0 {
		text, images, used := c.takeImages(text)
		if len(images) > 0 {
			c.input.SetText("")
			c.stopTyping()
			c.u.sendImages(c, text, images, used)
			return
		}
	}
	if strings.TrimSpace(text) == "" {
		return
	}
	c.input.SetText("")
	c.stopTyping()
	if c.room != nil {
		c.u.roomSend(c, text)
		return
	}
	c.u.sendText(c, text)
}

// add shows a new message at the bottom, and scrolls to it unless the user reads earlier
// messages and it is not theirs.
func (c *conv) add(m *chatMsg) {
	var last *chatMsg
	if len(c.msgs) > 0 {
		last = c.msgs[len(c.msgs)-1]
	}
	c.msgs = append(c.msgs, m)
	if m.id != 0 {
		c.byID[m.id] = m
	}
	if !m.out {
		c.seenDue = true
		c.showTyping(false) // the message they were typing
	}
	c.list.add(c.withDays([]*chatMsg{m}, c.items([]*chatMsg{m}), last)...)
	if m.out || c.pin != pinNone {
		c.scrollDown()
		return
	}
	c.place()
}

// row makes the widgets of one message.
func (c *conv) row(m *chatMsg) fyne.CanvasObject {
	m.head = widget.NewLabelWithStyle("", fyne.TextAlign(0), fyne.TextStyle{Bold: !m.grouped})
	if m.grouped { // only its state: delivered, read, sealed
		m.head.SizeName = theme.SizeNameCaptionText
	}
	content := container.NewVBox(m.head, c.body(m))
	if m.out && !m.file {
		m.retry = widget.NewButton(c.u.t("Retry"), func() { c.u.resend(c, m) })
		m.queue = widget.NewButton(c.u.t("Send when back"), func() { c.u.queue(c, m) })
		content.Add(container.NewHBox(m.retry, m.queue))
	}
	var avatar fyne.CanvasObject
	switch {
	case m.grouped && !m.out: // under the avatar of the first of the group
		free := canvas.NewRectangle(color.Transparent)
		free.SetMinSize(fyne.NewSize(avatarSize, 1))
		avatar = free
	case !m.out:
		who := cmp.Or(m.who, c.peerID, m.from) // the same colour wherever the colleague appears
		avatar = avatarOf(m.from, who, c.u.peers[c.peerID].Icon)
	}
	row := bubble(content, m.out, avatar)
	m.row = row
	c.refresh(m)
	return row
}

// hasNote reports whether c shows a message received with packet number no: the note of the
// offer made with it.
func (c *conv) hasNote(no uint32) bool {
	if no == 0 {
		return false
	}
	for _, m := range c.msgs {
		if !m.out && m.packet == no {
			return true
		}
	}
	return false
}

// refresh shows m's state in its row, if it has one (the list makes the rows near the view).
// The heading names the sender and the time, unless the message joins the one before (the
// same sender's, a little earlier), and what became of it.
func (c *conv) refresh(m *chatMsg) {
	if m.head == nil {
		return
	}
	var parts []string
	if !m.grouped {
		when := m.time.Format("2006-01-02 15:04:05")
		if m.time.YearDay() == time.Now().YearDay() && m.time.Year() == time.Now().Year() {
			when = m.time.Format("15:04:05")
		}
		parts = append(parts, m.from+"  "+when)
	}
	if m.out || m.file {
		state := c.u.t(m.state)
		if why := errorText(c.u.lang, m.state, m.err); why != "" {
			state += " (" + why + ")"
		}
		parts = append(parts, state)
	}
	if m.out && !m.file && !m.readAt.IsZero() {
		parts = append(parts, c.u.t("read"))
	}
	if m.sealed {
		parts = append(parts, c.u.t("sealed"))
	}
	head := strings.Join(parts, "  · ")
	if head == "" {
		m.head.Hide()
	} else if !m.head.Visible() {
		m.head.Show()
	}
	if m.retry != nil {
		if m.state == history.StateFailed {
			m.retry.Show()
			m.queue.Show()
		} else {
			m.retry.Hide()
			m.queue.Hide()
		}
	}
	m.head.SetText(head)
	if c.list.placed(m.item) {
		c.place() // its height may have changed
	}
}

// scrollDown shows the newest message, now and whenever the conversation is laid out again,
// until the user scrolls away from it.
func (c *conv) scrollDown() {
	c.pin, c.pinned = pinBottom, nil
	c.place()
}

// reveal shows the message or transfer of the history record r, loading earlier pages until
// the one holding it is shown.
func (c *conv) reveal(r history.Record) {
	c.seek = history.Record{}
	if it := c.itemOf(c.byID[r.ID], c.cardOf(r)); it != nil {
		c.pin, c.pinned = pinRow, it
		c.place()
		return
	}
	if c.hkey == "" || (c.ready && !c.more.Visible()) {
		return // not in this conversation's history (any more)
	}
	c.seek = r
	if c.ready && !c.loading {
		c.loadEarlier()
	}
}

// scrolled follows the user's scrolling: back at the bottom, the view follows the newest
// message again; anywhere else, it stays where they put it. Within a view of the top, the
// history's page before is loaded.
func (c *conv) scrolled(at fyne.Position) {
	if c.placing || !c.scroll.Visible() || c.scroll.Size().Height <= 0 {
		return
	}
	if at.Y >= c.box.Size().Height-c.scroll.Size().Height-1 {
		c.pin, c.pinned = pinBottom, nil
	} else {
		c.pin, c.pinned = pinNone, nil
		c.anchor, c.anchorDY = c.list.at(at.Y)
	}
	c.place() // the rows that came into view
	if at.Y < c.scroll.Size().Height && c.ready && !c.loading && c.more.Visible() && c.more.OnTapped != nil {
		c.loadEarlier() // near the top: the page before comes above, as if Earlier messages was clicked
	}
}

// place lays out the rows near the view and moves it to what it is pinned to. It does
// nothing before the view has a size: its first layout places it.
func (c *conv) place() {
	c.placing = true
	defer func() { c.placing = false }()
	c.list.layout(c.target)
	if c.pin == pinNone {
		c.anchor, c.anchorDY = c.list.at(c.scroll.Offset.Y)
	}
}

// target is where the view of height view goes: the top of the rows it shows.
func (c *conv) target(view float32) float32 {
	l := c.list
	bottom := max(l.total-view, 0)
	y := c.scroll.Offset.Y
	switch {
	case c.pin == pinBottom:
		y = bottom
	case c.pin == pinRow && c.pinned != nil && c.pinned.i >= 0:
		y = c.pinned.y
	case c.pin == pinNone && c.anchor != nil && c.anchor.i >= 0:
		y = c.anchor.y + c.anchorDY
	}
	return min(max(y, 0), bottom)
}

// pinLayout lays out a conversation's scroll container over the whole area and then keeps
// in sight what the conversation is pinned to.
type pinLayout struct{ c *conv }

func (l pinLayout) MinSize(objects []fyne.CanvasObject) fyne.Size { return objects[0].MinSize() }

func (l pinLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	l.c.placing = true
	objects[0].Move(fyne.Position{})
	objects[0].Resize(size)
	l.c.placing = false
	l.c.place()
}

// contact names the conversation's peer for the queue.
func (c *conv) contact() history.Contact {
	return history.Contact{Peer: c.hkey, PeerID: c.peerID, User: c.user, Host: c.host, Addr: c.addr.String(), Nick: c.nick}
}

// sendText sends text in conversation c, showing it at once as sending, then delivered or
// failed (with a retry). To a colleague who is offline it is queued instead.
func (u *UI) sendText(c *conv, text string) {
	m := &chatMsg{time: time.Now(), from: u.t("Me"), text: text, out: true, state: history.StateSending}
	if c.seal != nil && c.seal.Checked {
		m.sealed = true
		c.seal.SetChecked(false) // one message at a time, as IP Messenger's seal
	}
	c.add(m)
	if !c.online() && c.hkey != "" {
		u.queue(c, m)
		return
	}
	u.deliver(c, m)
}

func (u *UI) resend(c *conv, m *chatMsg) {
	m.state, m.err = history.StateSending, ""
	c.refresh(m)
	u.deliver(c, m)
}

// expect gives m a new send ID, for this attempt to send it, and notes that the node will
// report it (its event may come before or after the call returns); entries whose event never
// came go after a minute.
func (u *UI) expect(m *chatMsg) string {
	now := time.Now()
	for k, p := range u.pending {
		if now.Sub(p.at) > time.Minute {
			delete(u.pending, k)
		}
	}
	m.sendID = uuid.NewString()
	u.pending[m.sendID] = pendingMsg{m, now}
	return m.sendID
}

func (u *UI) deliver(c *conv, m *chatMsg) {
	addr, text, sendID, sealed := c.addr, m.text, u.expect(m), m.sealed
	rc, rich := u.rich()
	c.whenLoaded(func() {
		u.work(func(ctx context.Context) func() {
			var ds []lan.Delivery
			var err error
			if sealed && rich {
				ds, err = rc.SendWith(ctx, sendID, text, lan.SendOpts{Sealed: true}, addr)
			} else {
				ds, err = u.core.SendAs(ctx, sendID, text, addr)
			}
			if e, ask := unencryptedAsk(err); ask {
				return func() {
					if m.sendID != sendID {
						return
					}
					m.state, m.err = history.StateFailed, err.Error()
					c.refresh(m)
					u.askUnencrypted(e, func() { u.resend(c, m) })
				}
			}
			state, why := history.StateDelivered, ""
			if err != nil {
				state, why = history.StateFailed, err.Error()
			} else if len(ds) == 0 || ds[0].Err != nil {
				state = history.StateFailed
				if len(ds) > 0 {
					why = ds[0].Err.Error()
				}
			}
			return func() {
				if m.sendID != sendID {
					return // retried since
				}
				m.state, m.err = state, why
				c.refresh(m)
			}
		})
	})
}

// queue keeps m for c's peer until it is back (it goes at once if the peer answers now).
func (u *UI) queue(c *conv, m *chatMsg) {
	m.state, m.err = history.StateQueued, ""
	c.refresh(m)
	ct, text, sendID, sealed := c.contact(), m.text, u.expect(m), m.sealed
	c.whenLoaded(func() {
		u.work(func(ctx context.Context) func() {
			r, err := u.queueAs(ctx, sendID, text, ct, sealed)
			return func() {
				if m.sendID != sendID {
					return
				}
				if err != nil {
					m.state, m.err = history.StateFailed, err.Error()
					c.refresh(m)
					return
				}
				if r.ID != 0 { // a failed message queued has a new record
					m.id = r.ID
					c.byID[r.ID] = m
				}
				if m.state == history.StateQueued { // not already delivered by an event
					m.state = r.State
				}
				c.refresh(m)
			}
		})
	})
}

// chatEntry is the message input: Enter sends and Shift+Enter breaks the line, or, in FeiQ's
// way, Enter breaks the line and Ctrl+Enter sends. An Enter that an input method takes to
// commit what it composes (pinyin letters, say) does neither.
//
// Fyne has no notion of an input method's composition (no preedit API in fyne 2.8.1), and
// the Enter that commits one reaches the entry as an ordinary TypedKey: GLFW 3.4 on X11
// reports every key press, also one the input method filtered (x11_window.c, processEvent:
// _glfwInputKey is called whatever XFilterEvent returned; only the text lookup is skipped),
// and the committed text comes after it, as runes, one event poll later. What the entry can
// see is the keys the input method keeps: a key that types text yields its rune at once
// without an input method, or one poll later through one (the input method hands it back),
// while a key kept for a composition yields nothing until the composition is committed. So
// a text key whose text has not come means a composition is under way, and the Enter that
// follows is the input method's. Measured with ibus-libpinyin over XIM: composing "abc",
// TypedKey A, B, C come with no runes, then TypedKey Return, then the runes a, b, c 16 ms
// later; typing "hi" directly, each TypedKey is followed by its rune 16 ms later.
//
// The inference errs, rarely, on the safe side: an Enter pressed within one poll of a text
// key (before that key's rune came), or the first Enter after a composition cancelled with
// Escape, is taken as the input method's and does nothing, and is pressed again. It would
// err the other way only with an input method that commits part of a composition and keeps
// the rest (the runes of the part end the composition as the entry sees it).
type chatEntry struct {
	widget.Entry
	ctrlEnter bool
	shift     bool
	held      int  // Control, Alt and Super keys down: with them, letters type no text
	composing bool // a text key's text has not come: an input method holds it
	onSend    func()
	onShot    func()        // Ctrl+Alt+A: a screenshot (shot.go)
	rest      restingCursor // the cursor stops blinking while nobody types (cursor.go)
	// onPaste, when set, may take a paste (an image on the clipboard, rich.go): it reports
	// whether it did.
	onPaste func(fyne.Clipboard) bool
}

func newChatEntry(ctrlEnter bool, onSend func()) *chatEntry {
	e := &chatEntry{ctrlEnter: ctrlEnter, onSend: onSend}
	e.rest.entry = &e.Entry
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	e.SetMinRowsVisible(3)
	return e
}

// modifier tells the modifier keys apart: shift, the others that stop a key from typing
// text, or none.
func modifier(k fyne.KeyName) (shift, other bool) {
	switch k {
	case desktop.KeyShiftLeft, desktop.KeyShiftRight:
		return true, false
	case desktop.KeyControlLeft, desktop.KeyControlRight, desktop.KeyAltLeft, desktop.KeyAltRight,
		desktop.KeySuperLeft, desktop.KeySuperRight:
		return false, true
	}
	return false, false
}

func (e *chatEntry) KeyDown(k *fyne.KeyEvent) {
	switch shift, other := modifier(k.Name); {
	case shift:
		e.shift = true
	case other:
		e.held++
	}
	e.Entry.KeyDown(k)
}

func (e *chatEntry) KeyUp(k *fyne.KeyEvent) {
	switch shift, other := modifier(k.Name); {
	case shift:
		e.shift = false
	case other:
		e.held = max(e.held-1, 0)
	}
	e.Entry.KeyUp(k)
}

// typesText reports whether the key k types text when no modifier but Shift is down: a
// letter, a digit, a punctuation key, the space bar.
func typesText(k fyne.KeyName) bool {
	return k == fyne.KeySpace || utf8.RuneCountInString(string(k)) == 1
}

func (e *chatEntry) TypedRune(r rune) {
	e.rest.active()
	e.composing = false // what was composed, or the key's own text, has come
	e.Entry.TypedRune(r)
}

func (e *chatEntry) TypedKey(k *fyne.KeyEvent) {
	e.rest.active()
	switch {
	case k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter:
		if e.composing {
			e.composing = false // the input method's Enter: it commits, the runes follow
			return
		}
		if !e.ctrlEnter && !e.shift {
			e.onSend()
			return
		}
	case e.held == 0 && typesText(k.Name):
		e.composing = true // until its text comes
	}
	e.Entry.TypedKey(k)
}

// FocusLost forgets the keys held and the composition: the keys may come up elsewhere, and
// an input method ends its composition as the focus leaves.
func (e *chatEntry) FocusGained() {
	e.Entry.FocusGained()
	e.rest.active()
}

func (e *chatEntry) MouseDown(m *desktop.MouseEvent) {
	e.Entry.MouseDown(m)
	e.rest.active()
}

func (e *chatEntry) FocusLost() {
	e.shift, e.held, e.composing = false, 0, false
	e.Entry.FocusLost()
}

func (e *chatEntry) TypedShortcut(s fyne.Shortcut) {
	e.rest.active()
	if isShotShortcut(s) && e.onShot != nil {
		e.onShot()
		return
	}
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShortcutDefault && e.ctrlEnter {
		e.onSend()
		return
	}
	if p, ok := s.(*fyne.ShortcutPaste); ok && e.onPaste != nil {
		if _, marker := p.Clipboard.(staticClipboard); !marker && e.onPaste(p.Clipboard) {
			return
		}
	}
	e.Entry.TypedShortcut(s)
}
