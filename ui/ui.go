// Package ui is FeiGo's desktop window, in Fyne. It drives a Core (the LAN node) and shows
// what the node reports through an Inbox. Calls to the core that may block go through UI.work
// and every change that comes from another goroutine through UI.do, the one place that calls
// fyne.Do. It does not import fyne's app package, so its tests run headless with fyne's test
// driver.
package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/legacygroup"
	"feigo/peers"
	"feigo/profile"
	"feigo/room"
	"feigo/xfer"
)

// Core is what the window drives: *lan.Node, through a thin adapter, or a fake in tests.
type Core interface {
	Self() ipmsg.Entry
	Peers() []peers.Peer
	// SendAs sends as lan.Node.Send does; the message's events carry sendID.
	SendAs(ctx context.Context, sendID, text string, to ...netip.AddrPort) ([]lan.Delivery, error)
	SendFiles(ctx context.Context, text string, paths []string, to ...netip.AddrPort) (xfer.Transfer, error)
	Transfers() []xfer.Transfer
	Accept(id int, dir string, only []string) (xfer.Transfer, error)
	Decline(id int) error
	Cancel(id int) error
	SetAway(away bool, text string)
	SetName(nick, group string)
	Refresh()

	// Verify shows the safety code shared with a colleague and, with confirm, marks their
	// key verified (package node).
	Verify(query string, confirm bool, fingerprint string) (control.Verification, error)

	// The history (package history through the node).
	HistoryPage(peer string, before int64, limit int) ([]history.Record, error)
	SearchHistory(words string, limit int) ([]history.Record, error)
	ClearHistory(peer string) (int64, error)
	Queue(ctx context.Context, sendID, text string, c history.Contact) (history.Record, error)
	SetRetention(days int)

	// The trust policy (package node): AllowUnencrypted lets messages and files go to the
	// colleagues at these addresses though they cannot encrypt; ApplyPolicy takes the
	// profile's policy.
	AllowUnencrypted(to ...netip.AddrPort) []string
	ApplyPolicy(st profile.Settings)
}

// Options configure the window.
type Options struct {
	Settings profile.Settings
	// Save persists changed settings (the profile the CLI shares); nil keeps them in memory.
	Save func(profile.Settings) error
	// OnUnread is told the total of unread messages whenever it changes (tray, title).
	OnUnread func(total int)
	// OnStatus is told the status chosen (in the window or through SetAway) whenever it
	// changes: the tray marks it.
	OnStatus func(away bool)
	// OnSettings is told the settings saved from the Settings dialog, once they are in force
	// (the tray's menu follows the language).
	OnSettings func(profile.Settings)
	// Post hands a function to Fyne's goroutine; nil is fyne.Do. The desktop app's Post also
	// wakes Fyne's loop where it sleeps while nothing happens (gui's idler).
	Post func(func())
}

// UI is the main window and its state. Its fields are touched only on Fyne's goroutine, but
// for those that say otherwise.
type UI struct {
	app  fyne.App
	Win  fyne.Window
	core Core
	opt  Options
	lang Lang

	peers    map[string]peers.Peer // by peer ID
	noPeers  *widget.Label         // what to check while no colleague is listed
	filter   string
	tree     *widget.Tree
	checked  map[string]bool // peers ticked for a message to many
	picking  bool            // the list shows tick boxes: Message to many was chosen
	pickBar  *fyne.Container // what to do while picking: the count, Write…, Cancel
	pickNote *widget.Label
	convs    map[string]*conv
	tabs     *container.DocTabs
	xfers    map[int]xfer.Transfer
	xferIDs  []int
	xferList *widget.List
	xferTab  *container.TabItem
	offers   map[int]*offerCard   // incoming offers' cards, by transfer ID
	sends    map[int][]*offerCard // outgoing offers' cards, one per recipient's conversation
	status   *widget.Select
	self     *widget.Label
	focused  bool
	unread   int
	// animUntil is when the animations running end (idle.go).
	animUntil time.Time
	// shooting is set while a screenshot is taken (shot.go); capture captures the screen
	// (nil: package screenshot; tests: their own), picker is the region being chosen.
	shooting bool
	capture  func(context.Context) (*image.RGBA, error)
	picker   *regionPicker
	// hidden is set while the window is hidden to the tray (Hide): not in front, whatever
	// focus events Fyne still reports.
	hidden bool
	// away is the status chosen in the selector. statusMu orders the status changes handed
	// to the core, each on a goroutine of its own: statusSent is the newest one made (by
	// statusSeq, counted on Fyne's goroutine), and an older one that runs after it is dropped.
	away       bool
	statusMu   sync.Mutex
	statusSent int
	statusSeq  int
	// opener opens a file or folder with the desktop's program for it: app.OpenURL (tests:
	// a fake). It is called off Fyne's goroutine.
	opener func(*url.URL) error
	// chooser is the desktop's file chooser (the portal; tests: a fake).
	chooser fileChooser
	// panes lays out the colleague list and the tabs: side by side, or one at a time in a
	// narrow window.
	panes *panes
	// theme is the app's theme (light, dark or the desktop's, with a bold face for Chinese).
	theme *Theme
	// notes shows the desktop notifications (the notification service on the session bus,
	// Fyne's elsewhere; tests: a fake).
	notes notifier
	// post hands a function to Fyne's goroutine: fyne.Do (tests: their own loop).
	post func(func())
	// ctx lives as long as the window: the background calls (work) run with it. It and
	// jobs, the calls under way, are safe for concurrent use.
	ctx  context.Context
	stop context.CancelFunc
	jobs activity
	// life guards closed, set by Close: nothing is shown after it.
	life   sync.Mutex
	closed bool
	// The peer tree's index (groups, and each group's rows in order), rebuilt lazily, and
	// a pending coalesced refresh: a burst of 1,000 announcements costs one redraw.
	groups         []string
	members        map[string][]string
	indexDirty     bool
	refreshPending bool
	after          func(time.Duration, func())
	// pending are the messages this window is sending or queueing, by the send ID it gave
	// them, so that the node's events for them update them instead of showing them twice;
	// messages sent with the CLI are shown from their events.
	pending map[string]pendingMsg
	// The history tab.
	histTab     *container.TabItem
	histEntry   *widget.Entry
	histResults []history.Record
	histWords   []string // the words of the search whose results are shown, highlighted in them
	histList    *widget.List
	histInfo    *widget.Label
	histSeq     int // the search whose results the tab waits for
	// rows maps the tree's row widgets to the node they show now (for drops on a row).
	rows map[fyne.CanvasObject]string
	// spelled are the colleagues' nicks read in pinyin, by peer ID, for the search.
	spelled map[string]spelledNick
	// keyAlerted are the keys whose change was shown in a dialog (alertKeyChange).
	keyAlerted map[string]bool
	// rooms are the group rooms (rooms.go).
	rooms *roomsUI
}

// New builds the main window of app for core. Call HandleEvent with every node event.
func New(app fyne.App, core Core, opt Options) *UI {
	u := &UI{
		app: app, core: core, opt: opt, lang: ParseLang(opt.Settings.Language),
		peers: map[string]peers.Peer{}, checked: map[string]bool{}, convs: map[string]*conv{},
		xfers: map[int]xfer.Transfer{}, offers: map[int]*offerCard{}, sends: map[int][]*offerCard{}, focused: true,
		post: fyne.Do, pending: map[string]pendingMsg{}, indexDirty: true,
		after:  func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		opener: desktopOpener(app), chooser: &sessionPortal{},
		rows: map[fyne.CanvasObject]string{}, spelled: map[string]spelledNick{},
	}
	if opt.Post != nil {
		u.post = opt.Post
	}
	u.ctx, u.stop = context.WithCancel(context.Background())
	u.notes = newNotifier(app, u.do, u.openNoted)
	u.theme = NewTheme(opt.Settings.Theme)
	app.Settings().SetTheme(u.theme)
	u.work(func(ctx context.Context) func() {
		if u.theme.askDesktop(ctx) {
			return func() { u.app.Settings().SetTheme(u.theme) }
		}
		return nil
	})
	u.away = core.Self().Away
	u.Win = app.NewWindow("FeiGo")
	u.Win.SetOnClosed(u.stop)
	u.Win.SetContent(u.build())
	u.Win.Resize(fyne.NewSize(980, 640))
	u.Win.SetOnDropped(u.dropped)
	app.Lifecycle().SetOnEnteredForeground(func() {
		u.focused = !u.hidden // a late focus event of a hidden window changes nothing
		if c := u.front(); c != nil && u.focused {
			u.markRead(c) // what came for it while the window was away is in front now
		}
	})
	app.Lifecycle().SetOnExitedForeground(func() { u.focused = false })
	for _, p := range core.Peers() {
		u.peers[p.ID] = safePeer(p)
	}
	for _, t := range core.Transfers() {
		u.xfers[t.ID] = safeTransfer(t)
	}
	u.refreshPeers()
	u.refreshTransfers()
	return u
}

func (u *UI) t(msg string, args ...any) string { return T(u.lang, msg, args...) }

func (u *UI) build() fyne.CanvasObject {
	self := u.core.Self()
	u.self = widget.NewLabelWithStyle(selfText(self), fyne.TextAlign(0), fyne.TextStyle{Bold: true})
	u.status = widget.NewSelect([]string{u.t("Online"), u.t("Away")}, func(s string) { u.setAway(s == u.t("Away")) })
	u.status.SetSelectedIndex(statusIndex(u.away)) // rebuilt after a language switch: kept
	search := widget.NewEntry()
	search.SetPlaceHolder(u.t("Search colleagues"))
	search.OnChanged = func(s string) {
		u.filter = strings.ToLower(strings.TrimSpace(s))
		u.indexDirty = true
		u.refreshPeers()
	}
	search.OnSubmitted = func(string) { u.openFirstMatch() }

	u.tree = widget.NewTree(u.treeChildren, u.treeBranch, u.treeCreate, u.treeUpdate)
	u.tree.OnSelected = func(id widget.TreeNodeID) {
		if u.roomTreeSelected(id) {
			u.tree.Unselect(id)
			return
		}
		if pid, ok := strings.CutPrefix(id, "p:"); ok {
			if _, ok := u.peers[pid]; ok && u.picking { // a tap ticks while picking
				u.checked[pid] = !u.checked[pid]
				u.pickCount()
				u.tree.Refresh()
			} else if p, ok := u.peers[pid]; ok {
				c := u.openConv(whoPeer(p), true)
				u.panes.showTalk()
				// The tree takes the focus after telling its selection (treeNode.Tapped):
				// the cursor goes to the message box once the tap is over.
				u.after(0, func() {
					u.do(func() {
						if u.tabs.Selected() == c.tab {
							u.Win.Canvas().Focus(c.input)
						}
					})
				})
			}
		} else {
			if u.tree.IsBranchOpen(id) {
				u.tree.CloseBranch(id)
			} else {
				u.tree.OpenBranch(id)
			}
		}
		u.tree.Unselect(id)
	}
	refresh := widget.NewButton(u.t("Refresh"), func() {
		u.work(func(context.Context) func() { u.core.Refresh(); return nil })
	})
	many := widget.NewButton(u.t("Message to many"), u.manyTapped)
	u.pickNote = widget.NewLabel("")
	u.pickNote.Wrapping = fyne.TextWrapWord
	u.pickBar = container.NewBorder(nil, nil, nil, container.NewHBox(
		widget.NewButtonWithIcon(u.t("Write…"), theme.MailSendIcon(), u.messageToMany),
		widget.NewButton(u.t("Cancel"), u.stopPicking)), u.pickNote)
	u.pickBar.Hidden = !u.picking
	u.pickCount()
	settings := widget.NewButton(u.t("Settings"), u.showSettings)
	hist := widget.NewButton(u.t("History"), u.showHistory)
	top := container.NewVBox(container.NewBorder(nil, nil, nil, u.status, u.self), search)
	doc := widget.NewButton(u.t("Network doctor"), u.showDoctor)
	buttons := container.NewGridWithColumns(2, refresh, many, doc, hist, settings)
	if _, ok := u.roomCore(); ok {
		buttons = container.NewGridWithColumns(2, refresh, many, widget.NewButton(u.t("New room…"), u.newRoom), doc, hist, settings)
	}
	u.noPeers = widget.NewLabel(u.t("No colleagues yet.") + "\n\n" + u.t(noPeersHelp))
	u.noPeers.Wrapping = fyne.TextWrapWord
	left := container.NewBorder(top, container.NewVBox(u.pickBar, buttons), nil, nil, container.NewStack(u.tree, container.NewVScroll(u.noPeers)))

	u.xferList = widget.NewList(func() int { return len(u.xferIDs) }, u.xferCreate, u.xferUpdate)
	u.xferTab = container.NewTabItem(u.t("Transfers"), u.xferList)
	u.tabs = container.NewDocTabs(u.xferTab)
	u.tabs.CloseIntercept = func(ti *container.TabItem) {
		if ti == u.xferTab {
			return // the transfers tab stays
		}
		if ti == u.histTab {
			u.histTab = nil
			u.histSeq++ // a search under way has no tab to show in
		}
		u.tabs.Remove(ti)
	}
	u.tabs.OnSelected = func(ti *container.TabItem) {
		for _, c := range u.convs {
			if c.tab == ti {
				u.markRead(c)
				u.Win.Canvas().Focus(c.input)
			}
		}
	}
	u.panes = newPanes(u, left, u.tabs)
	return u.panes.box
}

// noPeersHelp is what the colleague list says while it is empty.
const noPeersHelp = "FeiGo finds colleagues who run FeiGo, FeiQ, IP Messenger or iptux on this network. If someone is missing: check that you are on the same network, that no firewall blocks UDP and TCP port 2425 (on either side), and, for another subnet, add its broadcast address or their address in Settings. Network doctor (below) says what FeiGo sees of the network, and why a colleague's address does not answer."

func statusIndex(away bool) int {
	if away {
		return 1
	}
	return 0
}

// setAway is the status selector's choice: the core announces it, away with the away message
// of the settings, and OnStatus is told.
func (u *UI) setAway(away bool) {
	if away == u.away {
		return
	}
	u.away = away
	text := ""
	if away {
		if text = u.opt.Settings.AwayText; text == "" {
			text = u.t("I am away from my desk.")
		}
	}
	u.statusSeq++
	seq := u.statusSeq
	u.work(func(context.Context) func() {
		u.statusMu.Lock()
		defer u.statusMu.Unlock()
		if seq > u.statusSent {
			u.statusSent = seq
			u.core.SetAway(away, text)
		}
		return nil
	})
	if u.opt.OnStatus != nil {
		u.opt.OnStatus(away)
	}
}

// SetAway chooses the status as the window's selector does (the tray's Online and Away): the
// selector shows it and the away message of the settings goes out with it.
func (u *UI) SetAway(away bool) { u.status.SetSelectedIndex(statusIndex(away)) }

// Away reports whether the status chosen is Away.
func (u *UI) Away() bool { return u.away }

// Hide hides the window (to the tray). It is no longer in front, so what arrives counts as
// unread and is notified: Fyne does not report a hidden window as having left the foreground.
func (u *UI) Hide() {
	u.hidden, u.focused = true, false
	u.Win.Hide()
}

// Show shows the window again, in front.
func (u *UI) Show() {
	u.hidden, u.focused = false, true
	u.Win.Show()
	u.Win.RequestFocus()
	if c := u.front(); c != nil {
		u.markRead(c) // what came for it while the window was hidden is in front now
	}
}

// Settings returns the settings in force, as last saved from the Settings dialog.
func (u *UI) Settings() profile.Settings { return u.opt.Settings }

func selfText(e ipmsg.Entry) string {
	if e.Group == "" {
		return e.Nick
	}
	return e.Nick + " · " + e.Group
}

// Follow shows the events of in, batch by batch, until in is closed. The node's peers and
// transfers are read again after in had to drop events. First it shows the transfers the
// node had open already (after a restart, offers waiting for an answer) in their
// conversations. Call it once, on Fyne's goroutine (before its loop runs, or in it).
func (u *UI) Follow(in *Inbox) {
	u.restoreTransfers()
	u.loadRooms()
	in.start(func(batch []lan.Event, resync bool, shown func()) {
		var ps []peers.Peer
		var ts []xfer.Transfer
		if resync { // off Fyne's goroutine: the core takes its locks
			ps, ts = u.core.Peers(), u.core.Transfers()
		}
		u.post(func() {
			defer shown() // also when the window has closed
			u.live(func() {
				for _, ev := range batch {
					u.apply(ev)
				}
				if resync {
					u.resync(ps, ts)
				}
			})
		})
	})
}

// resync replaces what the window knows of the peers and transfers with the core's, after
// events about them were dropped.
func (u *UI) resync(ps []peers.Peer, ts []xfer.Transfer) {
	u.peers = make(map[string]peers.Peer, len(ps))
	for _, p := range ps {
		u.peers[p.ID] = safePeer(p)
	}
	retitle := false
	for _, c := range u.convs {
		if p, ok := u.peers[c.peerID]; ok {
			c.addr = p.Addr
			if c.nick != p.Nick {
				c.nick, retitle = p.Nick, true
			}
		}
		c.updateStatus()
	}
	if retitle {
		u.setUnread()
	}
	u.peersMoved()
	u.xfers = make(map[int]xfer.Transfer, len(ts))
	for _, t := range ts {
		t = safeTransfer(t)
		u.xfers[t.ID] = t
		cards := u.cardsOf(t.ID)
		for _, card := range cards {
			card.update(t)
		}
		switch {
		case len(cards) > 0 || t.Final():
		case t.Direction == event.In && t.State == xfer.StateOffered:
			u.offered(t) // its offer was among the dropped events
		case t.Direction == event.Out:
			u.sent(t)
		}
	}
	u.refreshTransfers()
}

func (u *UI) apply(ev lan.Event) {
	ev = safeEvent(ev)
	switch ev.Type {
	case event.PeerOnline, event.PeerUpdated:
		p := *ev.Peer
		old, known := u.peers[p.ID]
		u.peers[p.ID] = p
		u.alertKeyChange(p)
		u.roomPeerSeen(p)
		if c, ok := u.convs[p.ID]; ok && c.nick != p.Nick {
			c.addr, c.nick = p.Addr, p.Nick
			c.updateStatus()
			u.setUnread() // retitles the tab
		} else if ok {
			c.addr = p.Addr
			c.updateStatus()
		}
		if known && old.Nick == p.Nick && old.Group == p.Group {
			// Same place in the tree: redraw that row and its group's count only.
			u.tree.RefreshItem("p:" + p.ID)
			u.tree.RefreshItem("g:" + groupName(p))
			return
		}
		u.peersMoved()
	case event.PeerOffline:
		delete(u.peers, ev.Peer.ID)
		delete(u.spelled, ev.Peer.ID)
		if c, ok := u.convs[ev.Peer.ID]; ok {
			c.updateStatus()
		}
		u.peersMoved()
	case event.Message:
		u.received(*ev.Message, ev.HistoryID)
	case event.MessageDelivered, event.MessageFailed, event.MessageQueued:
		state := map[event.Type]string{event.MessageDelivered: history.StateDelivered, event.MessageFailed: history.StateFailed,
			event.MessageQueued: history.StateQueued}[ev.Type]
		u.sentElsewhere(*ev.Message, ev.SendID, ev.HistoryID, state, ev.Error)
	case event.TransferOffered, event.TransferStarted, event.TransferProgress, event.TransferDone, event.TransferFailed:
		u.showTransfer(ev.Type, *ev.Transfer)
	case event.SelfUpdated:
		u.selfUpdated()
	case event.MessageImages, event.MessageRead, event.Typing, event.Nudge:
		u.applyRich(ev) // rich.go
	case room.TypeMessage, room.TypeChanged, room.TypeDelivered:
		u.roomEvent(ev)
	case event.Type(legacygroup.RoomMessage), event.Type(legacygroup.RoomSeen), event.Type(legacygroup.MemberJoined):
		u.legacyEvent(ev)
	}
}

// selfUpdated follows a change of this node's status made elsewhere (`feigo away` and `feigo
// back` through the control socket): the selector and the tray show it, and nothing is
// announced again. A change the window made and has not handed to the core yet wins.
func (u *UI) selfUpdated() {
	u.statusMu.Lock()
	pending := u.statusSent != u.statusSeq
	u.statusMu.Unlock()
	away := u.core.Self().Away
	if pending || away == u.away {
		return
	}
	u.away = away // setAway, called by the selector below, then sees no change to send
	u.status.SetSelectedIndex(statusIndex(away))
	if u.opt.OnStatus != nil {
		u.opt.OnStatus(away)
	}
}

// convKey names a conversation: the peer's ID, or its address for a stranger.
func convKey(id string, addr netip.AddrPort) string {
	if id != "" {
		return id
	}
	return addr.String()
}

// pendingMsg is a message this window sent, waiting for the node's event about it.
type pendingMsg struct {
	m  *chatMsg
	at time.Time
}

// who names the peer of a conversation.
type who struct {
	id         string
	addr       netip.AddrPort
	nick       string
	user, host string
	hkey       string // its history key; "" works it out from id, user and host
}

func whoPeer(p peers.Peer) who {
	return who{id: p.ID, addr: p.Addr, nick: p.Nick, user: p.User, host: p.Host}
}

// openConv returns the conversation with a peer, creating its tab (with the newest page of
// its history); focus selects it.
func (u *UI) openConv(w who, focus bool) *conv {
	key := convKey(w.id, w.addr)
	c, ok := u.convs[key]
	if !ok {
		if p, known := u.peers[w.id]; known && w.user == "" {
			w.user, w.host = p.User, p.Host
		}
		if w.nick == "" {
			w.nick = w.addr.Addr().String()
		}
		if w.hkey == "" && (w.id != "" || w.user != "") {
			w.hkey = history.PeerKey(w.id, w.user, w.host)
		}
		c = u.newConv(key, w.id, w.addr, w.nick, w.hkey, w.user, w.host)
		u.convs[key] = c
	}
	return u.showConv(c, focus)
}

func (u *UI) received(m lan.Message, id int64) {
	nick := m.Nick
	if nick == "" {
		nick = m.User
	}
	// With no conversation in front, the new one comes forward.
	c := u.openConv(who{id: m.PeerID, addr: m.Addr, nick: nick, user: m.User, host: m.Host}, u.tabs.Selected() == u.xferTab)
	if id == 0 || c.byID[id] == nil { // a new conversation already shows it from the history
		c.add(&chatMsg{id: id, time: m.Time, from: nick, text: m.Text, packet: m.PacketNo, sealed: m.Sealed, readCheck: m.ReadCheck})
	} else {
		c.byID[id].packet = m.PacketNo
	}
	if u.offerOf(m.Addr, m.PacketNo) {
		return // the note of an offer, which counted already
	}
	u.bumpUnread(c, u.t("New message from %s", nick), m.Text)
}

// offerOf reports whether the incoming offer made with packet number no from addr is known:
// a message of the same packet is its note.
func (u *UI) offerOf(addr netip.AddrPort, no uint32) bool {
	if no == 0 {
		return false
	}
	for _, t := range u.xfers {
		if t.Direction == event.In && t.PacketNo == no && t.Addr == addr {
			return true
		}
	}
	return false
}

// front returns the conversation whose tab is in front, if one is.
func (u *UI) front() *conv {
	sel := u.tabs.Selected()
	for _, c := range u.convs {
		if c.tab == sel {
			return c
		}
	}
	return nil
}

// sentElsewhere follows a message the node reports as delivered, failed or queued: one of
// this window's (by the send ID it gave it), one already shown (by its history ID: a queued
// message delivered later), or one sent by another client of the node (the CLI), shown once.
func (u *UI) sentElsewhere(m lan.Message, sendID string, id int64, state, why string) {
	if p, ok := u.pending[sendID]; ok && sendID != "" {
		delete(u.pending, sendID)
		cm := p.m
		if cm.sendID != sendID {
			return // about an attempt retried since
		}
		for _, c := range u.convs {
			if slices.Contains(c.msgs, cm) {
				if id != 0 { // the record of this attempt (a retry, or a failed message queued, makes a new one)
					cm.id = id
					c.byID[id] = cm
				}
				if state != history.StateQueued || cm.state == history.StateSending {
					cm.state, cm.err = state, why
				}
				c.refresh(cm)
			}
		}
		return
	}
	if id != 0 {
		for _, c := range u.convs {
			if cm := c.byID[id]; cm != nil {
				if state != history.StateQueued || cm.state == history.StateSending || cm.state == history.StateQueued {
					cm.state, cm.err = state, why // a late "queued" does not undo "delivered"
				}
				c.refresh(cm)
				return
			}
		}
	}
	c := u.openConv(who{id: m.PeerID, addr: m.Addr, nick: m.Nick, user: m.User, host: m.Host}, false)
	if id != 0 && c.byID[id] != nil {
		return // the new conversation loaded it from the history
	}
	c.add(&chatMsg{id: id, time: m.Time, from: u.t("Me"), text: m.Text, out: true, state: state, err: why})
}

// bumpUnread counts a new item in c unless the user is looking at it, and notifies when the
// window is not in front.
func (u *UI) bumpUnread(c *conv, title, body string) {
	if u.tabs.Selected() != c.tab || !u.focused || !u.panes.tabsShown() {
		c.unread++
		u.setUnread()
	}
	if !u.focused {
		u.notes.notify(note{key: c.key, title: title, body: clipText(body, 120)})
	}
}

// openNoted is a click on the notification of the conversation key: the window comes to the
// front with that conversation open.
// The conversation comes to the front first: the one in front before was not looked at.
func (u *UI) openNoted(key string) {
	if c := u.convs[key]; c != nil && c.room != nil {
		u.openRoom(c.room.info, true)
		u.panes.showTalk()
	} else if c != nil {
		u.openConv(who{id: c.peerID, addr: c.addr, nick: c.nick, hkey: c.hkey, user: c.user, host: c.host}, true)
		u.panes.showTalk()
	}
	u.Show()
}

func (u *UI) markRead(c *conv) {
	u.seen(c) // rich.go: the node tells the senders who asked
	if c.unread > 0 {
		c.unread = 0
		u.setUnread()
		u.notes.dismiss(c.key) // read: its notification, if still shown, goes
	}
}

// setUnread recomputes the badges: tab titles, peer rows and the total.
func (u *UI) setUnread() {
	total := 0
	for _, c := range u.convs {
		total += c.unread
		title := c.nick
		if c.unread > 0 {
			title = fmt.Sprintf("%s (%d)", c.nick, c.unread)
		}
		if c.tab.Text != title {
			c.tab.Text = title
		}
	}
	u.tabs.Refresh()
	u.tree.Refresh()
	if total != u.unread {
		u.unread = total
		title := "FeiGo"
		if total > 0 {
			title = fmt.Sprintf("FeiGo (%d)", total)
		}
		u.Win.SetTitle(title)
		if u.opt.OnUnread != nil {
			u.opt.OnUnread(total)
		}
	}
}

// afterDo runs f on Fyne's goroutine after d, unless the window has closed.
func (u *UI) afterDo(d time.Duration, f func()) { u.after(d, func() { u.do(f) }) }

// Unread returns the number of unread messages and offers.
func (u *UI) Unread() int { return u.unread }

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// ---- the peer tree: groups, then peers ----

func (u *UI) visible(p peers.Peer) bool {
	if u.filter == "" {
		return true
	}
	for _, s := range []string{p.Nick, p.Group, p.User, p.Host, p.Addr.Addr().String()} {
		if strings.Contains(strings.ToLower(s), u.filter) {
			return true
		}
	}
	sp, ok := u.spelled[p.ID]
	if !ok || sp.nick != p.Nick {
		sp = spelledNick{p.Nick, spell(p.Nick)} // once per colleague and name
		u.spelled[p.ID] = sp
	}
	return sp.s.matches(u.filter)
}

// spelledNick is a colleague's nick and its pinyin readings.
type spelledNick struct {
	nick string
	s    spelled
}

func groupName(p peers.Peer) string {
	if p.Group == "" {
		return "—"
	}
	return p.Group
}

func (u *UI) treeChildren(id widget.TreeNodeID) []widget.TreeNodeID {
	u.reindex()
	if id == "" {
		return u.withRooms(u.groups)
	}
	if id == roomsBranch {
		return u.roomRows()
	}
	return u.members[id]
}

// reindex rebuilds the groups and their sorted rows after peers came, went or moved.
func (u *UI) reindex() {
	if !u.indexDirty {
		return
	}
	u.indexDirty = false
	byGroup := map[string][]peers.Peer{}
	for _, p := range u.peers {
		if u.visible(p) {
			g := "g:" + groupName(p)
			byGroup[g] = append(byGroup[g], p)
		}
	}
	u.groups = u.groups[:0]
	u.members = make(map[string][]string, len(byGroup))
	for g, ps := range byGroup {
		u.groups = append(u.groups, g)
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Nick != ps[j].Nick {
				return ps[i].Nick < ps[j].Nick
			}
			return ps[i].ID < ps[j].ID
		})
		rows := make([]string, len(ps))
		for i, p := range ps {
			rows[i] = "p:" + p.ID
		}
		u.members[g] = rows
	}
	sort.Strings(u.groups)
}

// openFirstMatch opens the conversation with the first colleague the list shows (Enter in
// the search).
func (u *UI) openFirstMatch() {
	u.reindex()
	for _, g := range u.groups {
		for _, id := range u.members[g] {
			if p, ok := u.peers[strings.TrimPrefix(id, "p:")]; ok {
				u.openConv(whoPeer(p), true)
				u.panes.showTalk()
				return
			}
		}
	}
}

// peersMoved notes that the tree's shape changed and redraws it soon, once for a burst.
func (u *UI) peersMoved() {
	u.indexDirty = true
	if u.refreshPending {
		return
	}
	u.refreshPending = true
	u.after(100*time.Millisecond, func() {
		u.do(func() {
			u.refreshPending = false
			u.refreshPeers()
		})
	})
}

func (u *UI) treeBranch(id widget.TreeNodeID) bool {
	return id == "" || id == roomsBranch || strings.HasPrefix(id, "g:")
}

// treeCreate makes a row of the colleague list (rows.go).
func (u *UI) treeCreate(branch bool) fyne.CanvasObject {
	return newRow()
}

func (u *UI) treeUpdate(id widget.TreeNodeID, branch bool, o fyne.CanvasObject) {
	u.rows[o] = id
	r := rowParts(o)
	r.check.Hidden = !u.picking // rooms hide it again
	if u.roomTreeUpdate(id, o) {
		return
	}
	r.check.Refresh()
	if branch {
		r.lock.SetResource(nil)
		r.lock.Hide()
		r.setAvatar("", "", "", "")
		g := strings.TrimPrefix(id, "g:")
		ids := u.treeChildren(id)
		online, all := 0, 0
		for _, pid := range ids {
			all++
			if u.peers[strings.TrimPrefix(pid, "p:")].Status == peers.Online {
				online++
			}
		}
		r.setText(fmt.Sprintf("%s (%d/%d)", g, online, all), "", "")
		allChecked := all > 0
		for _, pid := range ids {
			allChecked = allChecked && u.checked[strings.TrimPrefix(pid, "p:")]
		}
		r.check.OnChanged = nil
		r.check.SetChecked(allChecked)
		r.check.OnChanged = func(on bool) {
			for _, pid := range u.treeChildren(id) {
				u.checked[strings.TrimPrefix(pid, "p:")] = on
			}
			u.pickCount()
			u.tree.Refresh()
		}
		r.badge.SetText("")
		return
	}
	pid := strings.TrimPrefix(id, "p:")
	p := u.peers[pid]
	r.lock.SetResource(keyIcon(p))
	r.lock.Show()
	r.setAvatar(p.Nick, p.ID, p.Status, p.Icon)
	r.setText(peerLine(u.lang, p))
	r.check.OnChanged = nil
	r.check.SetChecked(u.checked[pid])
	r.check.OnChanged = func(on bool) { u.checked[pid] = on; u.pickCount(); u.tree.Refresh() }
	r.badge.SetText("")
	if c, ok := u.convs[pid]; ok && c.unread > 0 {
		r.badge.SetText(fmt.Sprintf("● %d", c.unread))
	}
}

// peerLine is a peer row's text: the nick (bold); a warning when the colleague is not who
// they may seem (red); then in grey the away state, department, host, address, client kind
// and how far the link can be trusted.
func peerLine(lang Lang, p peers.Peer) (nick, warn, rest string) {
	if p.Warning != "" {
		warn = "  " + T(lang, "WARNING: not who they may seem")
	}
	rest = "  "
	if p.Status == peers.Away {
		rest += T(lang, "Away")
		if p.AwayText != "" {
			rest += ": " + clipText(p.AwayText, 30)
		}
		rest += " · "
	}
	rest += fmt.Sprintf("%s · %s · %s · %s", groupName(p), p.Host, p.Addr.Addr(), p.Client)
	if p.Warning == "" {
		rest += " · " + keyLabel(lang, p)
	}
	return p.Nick, warn, rest
}

// keyLabel says how far a colleague's identity and link can be trusted.
func keyLabel(lang Lang, p peers.Peer) string {
	switch {
	case p.Warning != "":
		return T(lang, "WARNING: not who they may seem")
	case p.Verified:
		return T(lang, "verified")
	case p.Secure:
		return T(lang, "encrypted")
	}
	return T(lang, "not encrypted")
}

func (u *UI) refreshPeers() {
	if len(u.peers) == 0 { // a newcomer alone on the LAN is told what to check
		u.noPeers.Show()
	} else {
		u.noPeers.Hide()
	}
	u.tree.Refresh()
	for _, g := range u.treeChildren("") {
		u.tree.OpenBranch(g)
	}
}

// manyTapped is the Message to many button: the list shows its tick boxes, a tap on a
// colleague ticks them, a group's box ticks the group; tapped again, it writes.
func (u *UI) manyTapped() {
	if u.picking {
		u.messageToMany()
		return
	}
	u.picking = true
	u.pickBar.Show()
	u.pickCount()
	u.tree.Refresh()
}

// stopPicking hides the tick boxes and forgets the ticks.
func (u *UI) stopPicking() {
	u.picking = false
	clear(u.checked)
	u.pickBar.Hide()
	u.tree.Refresh()
}

// pickCount says how many colleagues are ticked.
func (u *UI) pickCount() {
	if u.pickNote == nil {
		return
	}
	n := 0
	for id, on := range u.checked {
		if _, ok := u.peers[id]; ok && on {
			n++
		}
	}
	if n == 0 {
		u.pickNote.SetText(u.t("Tick colleagues or a whole group."))
		return
	}
	u.pickNote.SetText(u.t("%d ticked", n))
}

// messageToMany writes one message to every ticked peer.
func (u *UI) messageToMany() {
	var to []peers.Peer
	for id, on := range u.checked {
		if p, ok := u.peers[id]; ok && on {
			to = append(to, p)
		}
	}
	if len(to) == 0 {
		dialog.ShowInformation(u.t("Message to many"), u.t("Choose colleagues first (tick them or a group)."), u.Win)
		return
	}
	// The box is a conversation's: it wraps, and Enter (or Ctrl+Enter) sends as there, also
	// past an input method's composition.
	var d *dialog.ConfirmDialog
	var entry *chatEntry
	send := func() bool {
		text := strings.TrimRight(entry.Text, "\n")
		if strings.TrimSpace(text) == "" {
			return false
		}
		entry.SetText("") // sent once, whatever closes the dialog next
		for _, p := range to {
			u.sendText(u.openConv(whoPeer(p), false), text) // shown in each conversation
		}
		if u.picking {
			u.stopPicking() // sent: the list is a list again
		}
		return true
	}
	entry = newChatEntry(u.opt.Settings.EnterMode == "ctrl-enter", func() {
		if send() {
			d.Hide()
		}
	})
	entry.rest.after = u.afterDo
	entry.SetMinRowsVisible(5)
	d = dialog.NewCustomConfirm(u.t("Message to %d colleagues", len(to)), u.t("Send"), u.t("Cancel"), entry, func(ok bool) {
		if ok {
			send()
		}
	}, u.Win)
	d.Resize(fyne.NewSize(520, d.MinSize().Height))
	d.Show()
	u.Win.Canvas().Focus(entry) // the cursor in the box, ready to type
}

// ---- transfers ----

func describeFiles(t xfer.Transfer) string {
	var names []string
	for _, f := range t.Files {
		names = append(names, fileText(f))
	}
	return strings.Join(names, ", ")
}

// fileText is "name (size)", a folder's name ending in a slash.
func fileText(f xfer.TransferFile) string {
	n := f.Name
	if f.IsDir() {
		n += "/"
	}
	return fmt.Sprintf("%s (%s)", n, xfer.FormatSize(f.Size))
}

// progressText is "12.0 MiB / 100 MiB · 5.1 MiB/s, 17s left" or the state and its reason.
func progressText(lang Lang, t xfer.Transfer) string {
	s := fmt.Sprintf("%s / %s · %s", xfer.FormatSize(t.Done), xfer.FormatSize(t.Total), T(lang, t.State))
	if t.State == xfer.StateActive && t.Rate > 0 {
		s += " · " + T(lang, "%s/s, %s left", xfer.FormatSize(int64(t.Rate)), (time.Duration(t.ETA)*time.Second).Round(time.Second))
	}
	if why := errorText(lang, t.State, t.Error); why != "" {
		s += " · " + why
	}
	return s
}

// errorText is why a transfer or message ended as it did, in lang, or "" when its state
// says it all already (a declined offer's error is "declined").
func errorText(lang Lang, state, err string) string {
	if err == "" || state == xfer.StateDone || state == history.StateDelivered || err == state {
		return ""
	}
	return T(lang, err)
}

func (u *UI) refreshTransfers() {
	u.xferIDs = u.xferIDs[:0]
	for id, t := range u.xfers {
		if !t.Inline { // a message's images are shown in the message
			u.xferIDs = append(u.xferIDs, id)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(u.xferIDs)))
	u.xferList.Refresh()
}

func (u *UI) xferCreate() fyne.CanvasObject {
	title := widget.NewLabel("")
	title.Truncation = fyne.TextTruncateEllipsis
	info := widget.NewLabel("")
	info.Wrapping = fyne.TextWrapWord
	accept := widget.NewButton(u.t("Accept"), nil)
	cancel := widget.NewButton(u.t("Cancel"), nil)
	open := widget.NewButton(u.t("Open folder"), nil)
	// The direction is an icon: the text font has no arrows, and Fyne's symbol font, which
	// has them, has no space (an arrow followed by one shows "↓�").
	icon := widget.NewIcon(theme.MoveDownIcon())
	return container.NewVBox(container.NewBorder(nil, nil, icon, container.NewHBox(accept, cancel, open), title), widget.NewProgressBar(), info)
}

func (u *UI) xferUpdate(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(u.xferIDs) {
		return
	}
	t := u.xfers[u.xferIDs[i]]
	box := o.(*fyne.Container)
	head := box.Objects[0].(*fyne.Container)
	title := head.Objects[0].(*widget.Label)
	icon := head.Objects[1].(*widget.Icon)
	buttons := head.Objects[2].(*fyne.Container)
	accept, cancel, open := buttons.Objects[0].(*widget.Button), buttons.Objects[1].(*widget.Button), buttons.Objects[2].(*widget.Button)
	bar, info := box.Objects[1].(*widget.ProgressBar), box.Objects[2].(*widget.Label)
	who := t.Nick
	if t.Direction == event.Out {
		icon.SetResource(theme.MoveUpIcon())
		var names []string
		for _, r := range t.Recipients {
			names = append(names, r.Nick)
		}
		who = strings.Join(names, ", ")
	} else {
		icon.SetResource(theme.MoveDownIcon())
	}
	title.SetText(fmt.Sprintf("%s — %s", who, describeFiles(t)))
	if t.Total > 0 {
		bar.SetValue(float64(t.Done) / float64(t.Total))
	} else if t.State == xfer.StateDone {
		bar.SetValue(1)
	}
	info.SetText(progressText(u.lang, t))
	id := t.ID
	// An offer waiting for an answer is answered here too (after a restart, or from a
	// conversation that was closed).
	if t.Direction == event.In && (t.State == xfer.StateOffered || t.State == xfer.StateFailed) {
		accept.Show()
		accept.OnTapped = func() {
			u.work(func(context.Context) func() {
				_, err := u.core.Accept(id, "", nil)
				return u.showErr(err)
			})
		}
	} else {
		accept.Hide()
	}
	if t.Final() {
		cancel.Hide()
	} else {
		cancel.Show()
		if t.Direction == event.In && t.State == xfer.StateOffered {
			cancel.SetText(u.t("Decline"))
		} else {
			cancel.SetText(u.t("Cancel"))
		}
		cancel.OnTapped = func() { u.stopTransfer(id) }
	}
	if t.Direction == event.In && t.State == xfer.StateDone && t.Dest != "" {
		open.Show()
		dest := t.Dest
		open.OnTapped = func() { u.openFolder(dest) }
	} else {
		open.Hide()
	}
}

func (u *UI) openFolder(dir string) { u.openPath(dir) }

// openPath hands path to the desktop's opener in the background, and shows a dialog when
// nothing could open it (rather than nothing at all).
func (u *UI) openPath(path string) {
	open := u.opener
	u.work(func(context.Context) func() {
		if err := open(&url.URL{Scheme: "file", Path: path}); err != nil {
			return u.showErr(errors.New(u.t("Nothing could open %s: %v", path, err)))
		}
		return nil
	})
}

// rowAt returns the tree node whose row is under pos (window coordinates).
func (u *UI) rowAt(pos fyne.Position) (string, bool) {
	d := u.app.Driver()
	for o, id := range u.rows {
		if !o.Visible() || u.tree.Hidden {
			continue
		}
		p, sz := d.AbsolutePositionForObject(o), o.Size()
		if pos.X >= p.X && pos.Y >= p.Y && pos.X < p.X+sz.Width && pos.Y < p.Y+sz.Height {
			return id, true
		}
	}
	return "", false
}

// sendFilesTo offers paths to several colleagues in one offer.
func (u *UI) sendFilesTo(to []peers.Peer, paths []string) {
	var addrs []netip.AddrPort
	for _, p := range to {
		addrs = append(addrs, p.Addr)
	}
	u.work(func(ctx context.Context) func() {
		_, err := u.core.SendFiles(ctx, "", paths, addrs...)
		if e, ask := unencryptedAsk(err); ask {
			return func() { u.askUnencrypted(e, func() { u.sendFilesTo(to, paths) }) }
		}
		return u.showErr(err)
	})
}

// sendFiles offers paths to the peer of conversation c.
func (u *UI) sendFiles(c *conv, paths []string) {
	if c.room != nil {
		u.roomSendFiles(c, paths)
		return
	}
	addr := c.addr
	u.work(func(ctx context.Context) func() {
		_, err := u.core.SendFiles(ctx, "", paths, addr)
		if e, ask := unencryptedAsk(err); ask {
			return func() { u.askUnencrypted(e, func() { u.sendFiles(c, paths) }) }
		}
		return u.showErr(err)
	})
}

// dropped sends files dropped on the window: to the colleague (or the whole group) whose row
// they were dropped on, else to the conversation in front.
func (u *UI) dropped(pos fyne.Position, uris []fyne.URI) {
	var paths []string
	for _, x := range uris {
		if x.Scheme() == "file" {
			paths = append(paths, filepath.Clean(x.Path()))
		}
	}
	if len(paths) == 0 {
		return
	}
	if id, ok := u.rowAt(pos); ok {
		if u.roomDropped(id, paths) {
			return
		}
		var to []peers.Peer
		if pid, isPeer := strings.CutPrefix(id, "p:"); isPeer {
			to = append(to, u.peers[pid])
		} else {
			for _, r := range u.treeChildren(id) {
				to = append(to, u.peers[strings.TrimPrefix(r, "p:")])
			}
		}
		if len(to) > 0 {
			u.sendFilesTo(to, paths)
			return
		}
	}
	for _, c := range u.convs {
		if c.tab == u.tabs.Selected() && len(paths) > 0 {
			if c.attachImages(paths) { // rich.go: images go inline
				return
			}
			u.sendFiles(c, paths)
			return
		}
	}
}
