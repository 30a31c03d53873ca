package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/history"
	"feigo/internal/safetext"
	"feigo/lan"
	"feigo/legacygroup"
	"feigo/peers"
	"feigo/room"
	"feigo/xfer"
)

// Group rooms (package room) in the window: the rooms are listed above the colleagues, each
// with its member count and unread badge, and a room's conversation is a conv (conv.go) with
// a room attached: its messages go to the room, its changes are shown as notices, and a
// panel lists its members with the actions on them.

// RoomCore is what the window needs of the node for group rooms (*node.Node has it). A Core
// without it shows no rooms.
type RoomCore interface {
	// RoomSelf is this node's member ID (its key's fingerprint); it must not block.
	RoomSelf() string
	RoomList() ([]room.Info, error)
	RoomCreate(ctx context.Context, name string, members []string) (room.Sent, error)
	RoomSend(ctx context.Context, q, text string) (room.Sent, error)
	RoomSendFiles(ctx context.Context, q, text string, paths []string) (room.Sent, xfer.Transfer, error)
	RoomAdd(ctx context.Context, q string, members []string) (room.Sent, error)
	RoomRemove(ctx context.Context, q, member string) (room.Sent, error)
	RoomLeave(ctx context.Context, q string) (room.Sent, error)
	RoomRename(ctx context.Context, q, name string) (room.Sent, error)
	RoomHistory(q string, limit int) (room.Info, []room.Line, error)
}

// The colleague list's rows of rooms: the branch, and each room's row (the room's
// conversation key too: the history keeps a room's messages under it).
const roomsBranch = "r:"

func roomKey(id string) string { return history.RoomPeer(id) }

// roomLines is how much of a room's history its conversation shows.
const roomLines = 500

// roomsUI is what the window knows of the rooms. Touched on Fyne's goroutine only.
type roomsUI struct {
	infos map[string]room.Info // by room ID
	// The legacy group chats (rooms_legacy.go): joined or kept, and FeiQ rooms seen on the
	// LAN but not joined.
	legacy map[legacygroup.RoomID]legacygroup.Room
	seen   map[legacygroup.RoomID]legacygroup.Room
	me     string // this node's fingerprint, once a room told it
	seq    int    // the newest RoomList asked for
	// rows caches roomRows for the filter rowsFor (the list asks for them often); rowsOK is
	// cleared by roomsChanged.
	rows    []string
	rowsFor string
	rowsOK  bool
	// legacyLoading is set while the legacy rooms are read, legacyAgain when they changed
	// meanwhile (a burst of events reads them twice, not once each).
	legacyLoading, legacyAgain bool
}

// roomsChanged notes that the rooms listed changed: the list is redrawn soon, once for a
// burst (peersMoved).
func (u *UI) roomsChanged() {
	u.roomState().rowsOK = false
	u.peersMoved()
}

// roomConv is what a room's conversation has beyond a conv.
type roomConv struct {
	info     room.Info
	seen     map[string]*chatMsg // shown events, by author/seq
	inflight []*chatMsg          // this window's messages being sent, their seq unknown yet
	members  *widget.List
	rows     []room.MemberInfo
	selected int
	add      *widget.Button
	rename   *widget.Button
	remove   *widget.Button
	leave    *widget.Button
	count    *widget.Label
	// acksDue is set while a reading of who received what is on its way (roomPeerSeen).
	acksDue bool
	// legacy is set on a legacy group chat's conversation (rooms_legacy.go), with the lines
	// of its member list.
	legacy     *legacygroup.Room
	legacyRows []string
}

func eventKey(author string, seq uint64) string { return fmt.Sprintf("%s/%d", author, seq) }

func (u *UI) roomCore() (RoomCore, bool) {
	rc, ok := u.core.(RoomCore)
	return rc, ok
}

func (u *UI) roomState() *roomsUI {
	if u.rooms == nil {
		u.rooms = &roomsUI{infos: map[string]room.Info{}, legacy: map[legacygroup.RoomID]legacygroup.Room{},
			seen: map[legacygroup.RoomID]legacygroup.Room{}}
		if rc, ok := u.roomCore(); ok {
			u.rooms.me = rc.RoomSelf()
		}
	}
	return u.rooms
}

// safeInfo makes what members chose (the name, nicknames) safe to show.
func safeInfo(in room.Info) room.Info {
	in.Name = safetext.Printable(in.Name)
	in.Members = slices.Clone(in.Members)
	for i := range in.Members {
		in.Members[i].Nick = safetext.Printable(in.Members[i].Nick)
	}
	return in
}

// loadRooms reads the rooms from the node in the background and shows them.
func (u *UI) loadRooms() {
	u.loadLegacyRooms()
	rc, ok := u.roomCore()
	if !ok {
		return
	}
	rs := u.roomState()
	rs.seq++
	seq := rs.seq
	u.work(func(context.Context) func() {
		infos, err := rc.RoomList()
		return func() {
			if err != nil || seq != rs.seq {
				return // no key (no rooms), or a newer list is on its way
			}
			rs.infos = make(map[string]room.Info, len(infos))
			for _, in := range infos {
				in = safeInfo(in)
				rs.infos[in.ID] = in
				if c := u.convs[roomKey(in.ID)]; c != nil && c.room != nil {
					c.setRoomInfo(in)
				}
			}
			u.setUnread() // retitles the tabs, redraws the list
			u.roomsChanged()
		}
	})
}

// roomRows returns the rows of the rooms the list shows (those whose name matches the
// colleagues' search), by name.
func (u *UI) roomRows() []string {
	if u.rooms == nil {
		return nil
	}
	if u.rooms.rowsOK && u.rooms.rowsFor == u.filter {
		return u.rooms.rows
	}
	var ins []room.Info
	for _, in := range u.rooms.infos {
		if u.filter == "" || strings.Contains(strings.ToLower(in.Name), u.filter) {
			ins = append(ins, in)
		}
	}
	sort.Slice(ins, func(i, j int) bool {
		if ins[i].Name != ins[j].Name {
			return ins[i].Name < ins[j].Name
		}
		return ins[i].ID < ins[j].ID
	})
	rows := make([]string, len(ins))
	for i, in := range ins {
		rows[i] = roomKey(in.ID)
	}
	u.rooms.rows, u.rooms.rowsFor, u.rooms.rowsOK = append(rows, u.legacyRows()...), u.filter, true
	return u.rooms.rows
}

// withRooms puts the rooms' branch above the colleagues' groups when there are rooms.
func (u *UI) withRooms(groups []string) []string {
	if len(u.roomRows()) == 0 {
		return groups
	}
	return append([]string{roomsBranch}, groups...)
}

// roomTreeUpdate draws the row id if it is a room's or the rooms' branch, and reports whether
// it was.
func (u *UI) roomTreeUpdate(id string, o fyne.CanvasObject) bool {
	if id != roomsBranch && !strings.HasPrefix(id, "room:") && !strings.HasPrefix(id, "group:") {
		return false
	}
	r := rowParts(o)
	r.check.OnChanged = nil
	r.check.Hide()
	r.badge.SetText("")
	r.setAvatar("", "", "", "")
	if id == roomsBranch {
		r.lock.SetResource(nil)
		r.lock.Hide()
		r.setText(u.t("Rooms (%d)", len(u.roomRows())), "", "")
		return true
	}
	if strings.HasPrefix(id, "group:") {
		u.legacyTreeUpdate(id, r)
		return true
	}
	in := u.rooms.infos[strings.TrimPrefix(id, "room:")]
	r.lock.SetResource(theme.NewThemedResource(lockIcon))
	r.lock.Show()
	rest := "  · " + u.t("%d members", len(in.Members))
	if !in.Member {
		rest += "  (" + u.t("left") + ")"
	}
	r.setText(in.Name, "", rest)
	if c, ok := u.convs[id]; ok && c.unread > 0 {
		r.badge.SetText(fmt.Sprintf("● %d", c.unread))
	}
	return true
}

// roomTreeSelected opens the room of a row tapped in the list, and reports whether it was a
// room's row (or the rooms' branch, which it opens or closes).
func (u *UI) roomTreeSelected(id string) bool {
	if id == roomsBranch {
		return false // a branch, as the groups
	}
	if strings.HasPrefix(id, "group:") {
		u.legacyTreeSelected(id)
		return true
	}
	rid, ok := strings.CutPrefix(id, "room:")
	if !ok {
		return false
	}
	if in, ok := u.rooms.infos[rid]; ok {
		c := u.openRoom(in, true)
		u.panes.showTalk()
		u.after(0, func() {
			u.do(func() {
				if u.tabs.Selected() == c.tab {
					u.Win.Canvas().Focus(c.input)
				}
			})
		})
	}
	return true
}

// openRoom returns the conversation of room in, creating its tab (with its history); focus
// selects it.
func (u *UI) openRoom(in room.Info, focus bool) *conv {
	key := roomKey(in.ID)
	c, ok := u.convs[key]
	if !ok {
		c = u.newRoomConv(in)
		u.convs[key] = c
	}
	return u.showConv(c, focus)
}

// remakeRoomConv makes c's room conversation again (the window rebuilt).
func (u *UI) remakeRoomConv(c *conv) *conv {
	if c.room.legacy != nil {
		return u.newLegacyConv(*c.room.legacy)
	}
	return u.newRoomConv(c.room.info)
}

// memberRow is what a member list's row shows: the avatar (nick's initial on who's colour,
// with the online dot when online), the nickname in bold and the roles in grey.
type memberRow struct {
	nick, who, roles string
	online           bool
}

// roomShell makes what a FeiGo room's conversation and a legacy room's share: the
// conversation (key, named nick, with rc attached) with its view, its status line, and the
// member list's count and rows (n of them, row(i) each), made as the colleague list's rows.
func (u *UI) roomShell(key, nick string, rc *roomConv, n func() int, row func(int) memberRow) *conv {
	c := &conv{u: u, key: key, nick: nick, hkey: key, byID: map[int64]*chatMsg{}, room: rc}
	c.makeView()
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord
	rc.count = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	rc.members = widget.NewList(func() int { return n() }, newRow, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i >= n() {
			return
		}
		m, r := row(i), rowParts(o)
		r.setAvatar(m.nick, m.who, peers.Online, "")
		if m.online {
			r.dot.Show()
		} else {
			r.dot.Hide()
		}
		if m.online {
			r.setText(m.nick, "", m.roles)
		} else {
			r.setText("", "", m.nick+m.roles) // greyed, as FeiQ greys members who are offline
		}
	})
	return c
}

func (u *UI) newRoomConv(in room.Info) *conv {
	key := roomKey(in.ID)
	rc := &roomConv{info: in, seen: map[string]*chatMsg{}, selected: -1}
	c := u.roomShell(key, in.Name, rc, func() int { return len(rc.rows) }, func(i int) memberRow { return u.memberRow(rc.info, rc.rows[i]) })
	c.more.OnTapped = nil
	c.more.Hide() // a room shows its newest roomLines at once
	send := widget.NewButton(u.t("Send"), c.submit)
	file := widget.NewButton(u.t("Send file…"), func() {
		u.choose(chooseOptions{title: u.t("Send files"), multiple: true}, func(paths []string) { u.roomSendFiles(c, paths) })
	})
	c.status.SetText(u.t("Encrypted: only the members can read this room."))
	c.status.Importance = widget.SuccessImportance
	rc.members.OnSelected = func(i widget.ListItemID) {
		rc.selected = i
		c.roomButtons()
	}
	rc.members.OnUnselected = func(widget.ListItemID) {
		rc.selected = -1
		c.roomButtons()
	}
	rc.add = widget.NewButton(u.t("Add members…"), c.addMembers)
	rc.rename = widget.NewButton(u.t("Rename…"), c.renameRoom)
	rc.remove = widget.NewButton(u.t("Remove"), c.removeMember)
	rc.leave = widget.NewButton(u.t("Leave room"), c.leaveRoom)
	panel := container.NewBorder(rc.count, container.NewVBox(rc.add, rc.rename, rc.remove, rc.leave), nil, nil, rc.members)
	bottom := container.NewBorder(nil, container.NewHBox(file, layout.NewSpacer()), nil, send, c.input)
	view := container.New(pinLayout{c}, c.scroll)
	split := container.NewHSplit(view, panel)
	split.Offset = 0.74
	c.tab = container.NewTabItemWithIcon(in.Name, theme.NewThemedResource(lockIcon), container.NewBorder(c.status, bottom, nil, nil, split))
	c.setRoomInfo(in)
	c.loadRoom()
	return c
}

// memberRow is a member's row: online or not, nickname, and creator or this user (or offline).
func (u *UI) memberRow(in room.Info, m room.MemberInfo) memberRow {
	r := memberRow{nick: m.Nick, who: m.ID, online: m.Online || m.Me}
	if m.ID == in.Creator {
		r.roles += "  (" + u.t("creator") + ")"
	}
	if m.Me {
		r.roles += "  (" + u.t("me") + ")"
	}
	if !r.online {
		r.roles += "  · " + u.t("offline")
	}
	return r
}

// memberLine is a member's row as one line of text: ● online, ○ offline.
func (u *UI) memberLine(in room.Info, m room.MemberInfo) string {
	r := u.memberRow(in, m)
	if r.online {
		return "● " + r.nick + r.roles
	}
	return "○ " + r.nick + r.roles
}

// setRoomInfo shows a room's name, members and what this user may do in it.
func (c *conv) setRoomInfo(in room.Info) {
	rc := c.room
	rc.info = in
	if c.nick != in.Name {
		c.nick = in.Name // setUnread retitles the tab
	}
	rc.rows = slices.Clone(in.Members)
	sort.SliceStable(rc.rows, func(i, j int) bool {
		a, b := rc.rows[i], rc.rows[j]
		if (a.ID == in.Creator) != (b.ID == in.Creator) {
			return a.ID == in.Creator
		}
		return a.Nick < b.Nick
	})
	rc.selected = -1
	rc.members.UnselectAll()
	rc.members.Refresh()
	rc.count.SetText(c.u.t("Members (%d)", len(in.Members)))
	if in.Member {
		c.input.Enable()
		c.status.Importance = widget.SuccessImportance
		c.status.SetText(c.u.t("Encrypted: only the members can read this room."))
	} else {
		c.input.Disable()
		c.status.Importance = widget.WarningImportance
		c.status.SetText(c.u.t("You are no longer a member of this room: it is kept as history."))
	}
	c.status.Refresh()
	c.roomButtons()
}

// roomButtons enables the actions this user may take: adding and leaving as a member,
// renaming and removing (a member chosen in the list, not themselves) as the creator.
func (c *conv) roomButtons() {
	rc := c.room
	me := c.u.rooms != nil && rc.info.Creator == c.u.rooms.me && c.u.rooms.me != ""
	set := func(b *widget.Button, on bool) {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	set(rc.add, rc.info.Member)
	set(rc.leave, rc.info.Member)
	set(rc.rename, rc.info.Member && me)
	set(rc.remove, rc.info.Member && me && rc.selected >= 0 && rc.selected < len(rc.rows) && !rc.rows[rc.selected].Me)
	if me {
		rc.rename.Show()
		rc.remove.Show()
	} else {
		rc.rename.Hide()
		rc.remove.Hide()
	}
}

// loadRoom shows the newest roomLines of the room's history, in the background.
func (c *conv) loadRoom() {
	u, rc := c.u, c.room
	core, ok := u.roomCore()
	if !ok {
		c.loaded()
		return
	}
	id, gen := rc.info.ID, c.gen
	u.work(func(context.Context) func() {
		in, lines, err := core.RoomHistory(id, roomLines)
		return func() {
			if gen != c.gen || u.convs[c.key] != c {
				c.loaded()
				return
			}
			if err != nil {
				c.loaded()
				dialog.ShowError(err, u.Win)
				return
			}
			c.setRoomInfo(safeInfo(in))
			c.showLines(lines)
			c.loaded()
		}
	})
}

// showLines shows a room's history above what arrived while it loaded.
func (c *conv) showLines(lines []room.Line) {
	ms := make([]*chatMsg, 0, len(lines))
	for _, l := range lines {
		k := eventKey(l.Author, l.Seq)
		if c.room.seen[k] != nil {
			continue
		}
		l.Nick, l.Text, l.Name = safetext.Printable(l.Nick), safetext.Lines(l.Text), safetext.Printable(l.Name)
		var m *chatMsg
		if l.Kind.Control() {
			m = &chatMsg{time: l.Time, text: c.u.changeText(c.room.info, l.Kind, l.Author, l.Nick, l.Name, l.Members), notice: true}
			c.room.seen[k] = m
		} else {
			m = c.u.roomMsg(l.Kind, l.Author, l.Nick, l.Text, l.Files, l.Time, l.Redacted)
			m.id = l.HistoryID
			if m.out {
				m.state = c.u.deliveryText(c.room.info, l.DeliveredTo, nil)
			}
			c.room.seen[k] = m
			if m.id != 0 {
				c.byID[m.id] = m
			}
		}
		ms = append(ms, m)
	}
	c.prepend(ms, false)
	c.scrollDown()
}

// nickOr names a member: "Me" for this user, else the nickname given.
func (u *UI) nickOr(id, nick string) string {
	if u.rooms != nil && id == u.rooms.me && id != "" {
		return u.t("Me")
	}
	if nick == "" && len(id) > 8 {
		return id[:8]
	}
	return nick
}

// roomMsg is a room message or offer as a conversation line.
func (u *UI) roomMsg(kind room.Kind, author, nick, text string, files []string, at time.Time, redacted bool) *chatMsg {
	m := &chatMsg{time: at, from: u.nickOr(author, nick), who: author, text: text}
	m.out = u.rooms != nil && author == u.rooms.me && author != ""
	if kind == room.KindFiles {
		m.text = strings.TrimSpace(text + "\n" + u.t("Files:") + " " + strings.Join(files, ", "))
	}
	if redacted {
		m.text = u.t("(not kept: older than the history's retention)")
	}
	return m
}

// memberNick names a member of in: "Me", their nickname as the colleague list has it, as
// the room has it, or the hint given (a removed member is no longer in the room).
func (u *UI) memberNick(in room.Info, id, hint string) string {
	if u.rooms != nil && id == u.rooms.me && id != "" {
		return u.t("Me")
	}
	if p, ok := u.peers[id]; ok && p.Nick != "" {
		return p.Nick
	}
	for _, mb := range in.Members {
		if mb.ID == id && mb.Nick != "" {
			return mb.Nick
		}
	}
	return u.nickOr(id, safetext.Printable(hint))
}

// changeText says what a change of a room in did, in the window's language; author is who
// made it.
func (u *UI) changeText(in room.Info, kind room.Kind, author, authorNick, name string, members []room.Member) string {
	who := u.memberNick(in, author, authorNick)
	var names []string
	for _, mb := range members {
		if kind == room.KindCreate && mb.ID == author {
			continue // the creator is a member, not one they added
		}
		names = append(names, u.memberNick(in, mb.ID, mb.Nick))
	}
	list := strings.Join(names, ", ")
	switch kind {
	case room.KindCreate:
		return u.t("%s created the room “%s” with %s", who, name, list)
	case room.KindAdd:
		return u.t("%s added %s", who, list)
	case room.KindRemove:
		return u.t("%s removed %s", who, list)
	case room.KindLeave:
		return u.t("%s left the room", who)
	case room.KindRename:
		return u.t("%s renamed the room “%s”", who, name)
	}
	return string(kind)
}

// noticeRow makes the row of a change: centred and in italics (a system line, as in FeiQ),
// between the messages.
func (c *conv) noticeRow(m *chatMsg) fyne.CanvasObject {
	m.head = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	m.head.Wrapping = fyne.TextWrapWord
	m.head.SetText(m.time.Format("15:04") + "  " + m.text)
	m.row = m.head
	return m.row
}

// addNotice shows a change at the bottom.
func (c *conv) addNotice(m *chatMsg) {
	m.notice = true
	c.msgs = append(c.msgs, m)
	c.list.add(&rowItem{m: m})
	c.scrollDown()
}

// deliveryText says which members hold a message of this user's: all of them, or who has it
// and who it waits for. ids name members by key; queued, when known, are those it waits for.
func (u *UI) deliveryText(in room.Info, delivered, queued []string) string {
	nick := map[string]string{}
	for _, mb := range in.Members {
		nick[mb.ID] = mb.Nick
	}
	has := map[string]bool{}
	var got, wait []string
	for _, id := range delivered {
		has[id] = true
		got = append(got, u.nickOr(id, nick[id]))
	}
	if queued != nil {
		for _, id := range queued {
			wait = append(wait, u.nickOr(id, nick[id]))
		}
	} else {
		for _, mb := range in.Members {
			if !mb.Me && !has[mb.ID] {
				wait = append(wait, mb.Nick)
			}
		}
	}
	sort.Strings(got)
	sort.Strings(wait)
	names := func(ns []string) string {
		if len(ns) > 4 {
			return strings.Join(ns[:4], ", ") + u.t(" and %d more", len(ns)-4)
		}
		return strings.Join(ns, ", ")
	}
	switch {
	case len(got)+len(wait) == 0:
		return u.t("delivered")
	case len(wait) == 0:
		return u.t("received by all %d", len(got))
	case len(got) == 0:
		return u.t("waiting for %s", names(wait))
	}
	return u.t("received by %s; waiting for %s", names(got), names(wait))
}

// roomSend writes text to c's room, showing it at once as sending, then who received it.
func (u *UI) roomSend(c *conv, text string) {
	if c.room.legacy != nil {
		u.legacySend(c, text)
		return
	}
	core, ok := u.roomCore()
	if !ok {
		return
	}
	m := &chatMsg{time: time.Now(), from: u.t("Me"), text: text, out: true, state: history.StateSending}
	c.add(m)
	c.room.inflight = append(c.room.inflight, m)
	id := c.room.info.ID
	c.whenLoaded(func() {
		u.work(func(ctx context.Context) func() {
			s, err := core.RoomSend(ctx, id, text)
			return func() {
				c.room.inflight = slices.DeleteFunc(c.room.inflight, func(x *chatMsg) bool { return x == m })
				if err != nil {
					m.state, m.err = history.StateFailed, err.Error()
					c.refresh(m)
					return
				}
				c.bindSent(m, s.Seq, s.HistoryID)
				var got, wait []string
				for _, d := range s.Deliveries {
					if d.Delivered {
						got = append(got, d.Member)
					} else {
						wait = append(wait, d.Member)
					}
				}
				m.state, m.err = u.deliveryText(c.room.info, got, wait), ""
				c.refresh(m)
			}
		})
	})
}

// bindSent notes that m is this user's event seq in the room (its history row id).
func (c *conv) bindSent(m *chatMsg, seq uint64, id int64) {
	if c.u.rooms != nil && c.u.rooms.me != "" {
		c.room.seen[eventKey(c.u.rooms.me, seq)] = m
	}
	if id != 0 {
		m.id = id
		c.byID[id] = m
	}
}

// roomAckDelay is how long after a member comes online the window reads again who received
// this user's messages: the node catches them up in that time (room.Manager.PeerSeen).
const roomAckDelay = 5 * time.Second

// roomPeerSeen follows a colleague who came online or changed: the rooms open in the window
// that they are a member of show, a little later, who received what again (a member who was
// away gets what they missed from any member, and this user's messages then say so).
func (u *UI) roomPeerSeen(p peers.Peer) {
	if u.rooms == nil || p.Fingerprint == "" {
		return
	}
	if _, ok := u.roomCore(); !ok {
		return
	}
	for _, c := range u.convs {
		if c.room == nil || c.room.legacy != nil || c.room.acksDue ||
			!slices.ContainsFunc(c.room.info.Members, func(m room.MemberInfo) bool { return m.ID == p.Fingerprint }) {
			continue
		}
		c.room.acksDue = true
		u.afterDo(roomAckDelay, c.reloadAcks)
	}
}

// reloadAcks reads from the room's history who holds each of this user's messages, and shows it.
func (c *conv) reloadAcks() {
	u, rc := c.u, c.room
	core, ok := u.roomCore()
	if !ok {
		return
	}
	id := rc.info.ID
	u.work(func(context.Context) func() {
		_, lines, err := core.RoomHistory(id, roomLines)
		return func() {
			rc.acksDue = false
			if err != nil || u.convs[c.key] != c {
				return
			}
			for _, l := range lines {
				if m := rc.seen[eventKey(l.Author, l.Seq)]; m != nil && m.out && !l.Kind.Control() && m.head != nil {
					m.state, m.err = u.deliveryText(rc.info, l.DeliveredTo, nil), ""
					c.refresh(m)
				}
			}
		}
	})
}

// roomSendFiles offers files to every member of c's room who is online; each accepts on their
// own. The offer is recorded in the room.
func (u *UI) roomSendFiles(c *conv, paths []string) {
	if c.room.legacy != nil {
		dialog.ShowInformation(u.t("Send files"), u.t("Files cannot be offered to a %s group chat; send them to a colleague.", kindName(c.room.legacy.Kind)), u.Win)
		return
	}
	core, ok := u.roomCore()
	if !ok || len(paths) == 0 {
		return
	}
	id := c.room.info.ID
	u.work(func(ctx context.Context) func() {
		_, _, err := core.RoomSendFiles(ctx, id, "", paths)
		return u.showErr(err)
	})
}

// roomDropped sends files dropped on a room's row to that room, and reports whether the row
// was a room's (or the rooms' branch, where a drop does nothing).
func (u *UI) roomDropped(id string, paths []string) bool {
	if id == roomsBranch || strings.HasPrefix(id, "group:") {
		return true // FeiQ's and iptux's group chats take no files
	}
	rid, ok := strings.CutPrefix(id, "room:")
	if !ok {
		return false
	}
	if in, ok := u.rooms.infos[rid]; ok && in.Member {
		u.roomSendFiles(u.openRoom(in, true), paths)
	}
	return true
}

// roomEvent shows a room event the node reported.
func (u *UI) roomEvent(ev lan.Event) {
	var r room.Report
	if len(ev.Room) == 0 || len(ev.Room) > 1<<20 || json.Unmarshal(ev.Room, &r) != nil {
		return
	}
	r.Name, r.Nick, r.Text = safetext.Printable(r.Name), safetext.Printable(r.Nick), safetext.Lines(r.Text)
	rs := u.roomState()
	in, known := rs.infos[r.Room]
	if !known {
		in = room.Info{ID: r.Room, Name: r.Name, Member: true}
	}
	k := eventKey(r.Author, r.Seq)
	switch ev.Type {
	case room.TypeMessage:
		c := u.openRoom(in, u.tabs.Selected() == u.xferTab)
		if c.room.seen[k] == nil {
			m := u.roomMsg(r.Kind, r.Author, r.Nick, r.Text, r.Files, r.Time, false)
			m.id = ev.HistoryID
			if m.id != 0 && c.byID[m.id] != nil {
				return // loaded from the history
			}
			c.room.seen[k] = m
			c.add(m)
			u.bumpUnread(c, u.t("New message in %s from %s", in.Name, m.from), m.text)
		}
	case room.TypeDelivered:
		if r.Kind.Control() {
			return // its change comes as room_changed
		}
		c := u.convs[roomKey(r.Room)]
		if c == nil || c.room == nil {
			return // the room's history shows it when it is opened
		}
		m := c.room.seen[k]
		if m == nil {
			for _, x := range c.room.inflight {
				if x.text == r.Text && (x.id == 0) {
					m = x // this window's message, whose call has not returned yet
					break
				}
			}
		}
		if m == nil { // written elsewhere (the CLI)
			m = u.roomMsg(r.Kind, r.Author, r.Nick, r.Text, r.Files, r.Time, false)
			c.add(m)
		}
		c.bindSent(m, r.Seq, ev.HistoryID)
		m.state, m.err = u.deliveryText(c.room.info, r.DeliveredTo, r.Queued), ""
		c.refresh(m)
	case room.TypeChanged:
		if c := u.convs[roomKey(r.Room)]; c != nil && c.room != nil && c.room.seen[k] == nil {
			m := &chatMsg{time: r.Time, text: u.changeText(c.room.info, r.Kind, r.Author, r.Nick, r.Text, r.Members)}
			c.room.seen[k] = m
			c.addNotice(m)
		} else if (r.Kind == room.KindCreate || r.Kind == room.KindAdd) && r.Author != rs.me && !known {
			// Added to a room by a colleague: it comes forward as a new conversation would.
			c := u.openRoom(in, u.tabs.Selected() == u.xferTab)
			u.bumpUnread(c, u.t("%s added you to the room %s", r.Nick, r.Name), "")
		}
		u.loadRooms()
	}
}

// roomName is the name of the room whose history key is peer, or "".
func (u *UI) roomName(peer string) string {
	if r, _, ok := u.legacyRoom(peer); ok {
		return u.legacyName(r)
	}
	id, ok := strings.CutPrefix(peer, "room:")
	if !ok || u.rooms == nil {
		return ""
	}
	if in, ok := u.rooms.infos[id]; ok {
		return in.Name
	}
	return id[:min(8, len(id))]
}

// openRoomRecord opens the room a history search found r in, at r.
func (u *UI) openRoomRecord(r history.Record) bool {
	if lr, joined, ok := u.legacyRoom(r.Peer); ok && joined {
		c := u.openLegacy(lr, true)
		u.panes.showTalk()
		c.reveal(r)
		return true
	}
	id, ok := strings.CutPrefix(r.Peer, "room:")
	if !ok {
		return false
	}
	in, known := u.roomState().infos[id]
	if !known {
		dialog.ShowInformation(u.t("History"), u.t("This room is no longer kept."), u.Win)
		return true
	}
	c := u.openRoom(in, true)
	u.panes.showTalk()
	c.whenLoaded(func() { c.reveal(r) })
	return true
}

// ---- creating a room and changing it ----

// colleaguePicker lets the user choose FeiGo colleagues with a key (online now): one by one,
// or a whole group (department) at once. Those ticked in the list are chosen already.
type colleaguePicker struct {
	box    fyne.CanvasObject
	checks *widget.CheckGroup
	byOpt  map[string]string // option → fingerprint
}

func (u *UI) newPicker(exclude map[string]bool) *colleaguePicker {
	var ps []peers.Peer
	for _, p := range u.peers {
		if p.Secure && p.Fingerprint != "" && p.Warning == "" && !exclude[p.Fingerprint] {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Group != ps[j].Group {
			return ps[i].Group < ps[j].Group
		}
		if ps[i].Nick != ps[j].Nick {
			return ps[i].Nick < ps[j].Nick
		}
		return ps[i].ID < ps[j].ID
	})
	pk := &colleaguePicker{byOpt: map[string]string{}}
	var opts, pre []string
	byGroup := map[string][]string{}
	var groups []string
	for _, p := range ps {
		opt := p.Nick + "  · " + groupName(p)
		if _, dup := pk.byOpt[opt]; dup {
			opt += "  · " + p.Host
		}
		if _, dup := pk.byOpt[opt]; dup {
			opt += "  · " + p.Addr.Addr().String()
		}
		pk.byOpt[opt] = p.Fingerprint
		opts = append(opts, opt)
		if u.checked[p.ID] {
			pre = append(pre, opt)
		}
		g := groupName(p)
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], opt)
	}
	pk.checks = widget.NewCheckGroup(opts, nil)
	pk.checks.SetSelected(pre)
	whole := widget.NewSelect(groups, func(g string) {
		sel := slices.Clone(pk.checks.Selected)
		for _, o := range byGroup[g] {
			if !slices.Contains(sel, o) {
				sel = append(sel, o)
			}
		}
		pk.checks.SetSelected(sel)
	})
	whole.PlaceHolder = u.t("Add a whole group…")
	scroll := container.NewVScroll(pk.checks)
	scroll.SetMinSize(fyne.NewSize(380, 220))
	if len(opts) == 0 {
		pk.box = widget.NewLabel(u.t("No colleague online can join: rooms are for FeiGo colleagues with a key."))
		return pk
	}
	pk.box = container.NewBorder(whole, nil, nil, nil, scroll)
	return pk
}

// chosen returns the fingerprints of the colleagues ticked.
func (pk *colleaguePicker) chosen() []string {
	if pk.checks == nil {
		return nil
	}
	var out []string
	for _, o := range pk.checks.Selected {
		if fp, ok := pk.byOpt[o]; ok {
			out = append(out, fp)
		}
	}
	return out
}

// newRoom asks for a room's name and members and creates it.
func (u *UI) newRoom() {
	core, ok := u.roomCore()
	if !ok {
		return
	}
	name := widget.NewEntry()
	name.SetPlaceHolder(u.t("Room name"))
	pk := u.newPicker(nil)
	content := container.NewBorder(container.NewVBox(name, widget.NewLabel(u.t("Members:"))), nil, nil, nil, pk.box)
	d := dialog.NewCustomConfirm(u.t("New room"), u.t("Create"), u.t("Cancel"), content, func(ok bool) {
		n, ms := strings.TrimSpace(name.Text), pk.chosen()
		if !ok {
			return
		}
		if n == "" || len(ms) == 0 {
			dialog.ShowInformation(u.t("New room"), u.t("A room needs a name and at least one colleague."), u.Win)
			return
		}
		u.work(func(ctx context.Context) func() {
			s, err := core.RoomCreate(ctx, n, ms)
			if err != nil {
				return u.showErr(err)
			}
			return func() {
				in := safeInfo(s.Room)
				u.roomState().infos[in.ID] = in
				u.openRoom(in, true)
				u.panes.showTalk()
				u.roomsChanged()
				u.loadRooms()
			}
		})
	}, u.Win)
	d.Resize(fyne.NewSize(460, 420))
	d.Show()
	u.Win.Canvas().Focus(name)
}

// roomDo runs one change of c's room in the background and then reads the rooms again.
func (c *conv) roomDo(f func(ctx context.Context, core RoomCore, id string) (room.Sent, error)) {
	u := c.u
	core, ok := u.roomCore()
	if !ok {
		return
	}
	id := c.room.info.ID
	u.work(func(ctx context.Context) func() {
		_, err := f(ctx, core, id)
		return func() {
			if err != nil {
				dialog.ShowError(err, u.Win)
			}
			u.loadRooms()
		}
	})
}

func (c *conv) addMembers() {
	u := c.u
	in := map[string]bool{}
	for _, mb := range c.room.info.Members {
		in[mb.ID] = true
	}
	pk := u.newPicker(in)
	d := dialog.NewCustomConfirm(u.t("Add to %s", c.room.info.Name), u.t("Add"), u.t("Cancel"), pk.box, func(ok bool) {
		if ms := pk.chosen(); ok && len(ms) > 0 {
			c.roomDo(func(ctx context.Context, core RoomCore, id string) (room.Sent, error) {
				return core.RoomAdd(ctx, id, ms)
			})
		}
	}, u.Win)
	d.Resize(fyne.NewSize(460, 380))
	d.Show()
}

func (c *conv) renameRoom() {
	u := c.u
	name := widget.NewEntry()
	name.SetText(c.room.info.Name)
	d := dialog.NewCustomConfirm(u.t("Rename the room"), u.t("Rename"), u.t("Cancel"), name, func(ok bool) {
		n := strings.TrimSpace(name.Text)
		if ok && n != "" && n != c.room.info.Name {
			c.roomDo(func(ctx context.Context, core RoomCore, id string) (room.Sent, error) {
				return core.RoomRename(ctx, id, n)
			})
		}
	}, u.Win)
	d.Resize(fyne.NewSize(400, d.MinSize().Height))
	d.Show()
	u.Win.Canvas().Focus(name)
}

func (c *conv) removeMember() {
	rc := c.room
	if rc.selected < 0 || rc.selected >= len(rc.rows) {
		return
	}
	mb := rc.rows[rc.selected]
	u := c.u
	dialog.ShowConfirm(u.t("Remove"), u.t("Remove %s from %s? They receive nothing written after.", mb.Nick, rc.info.Name), func(ok bool) {
		if ok {
			c.roomDo(func(ctx context.Context, core RoomCore, id string) (room.Sent, error) {
				return core.RoomRemove(ctx, id, mb.ID)
			})
		}
	}, u.Win)
}

func (c *conv) leaveRoom() {
	u := c.u
	dialog.ShowConfirm(u.t("Leave room"), u.t("Leave %s? You receive nothing written after; its history stays.", c.room.info.Name), func(ok bool) {
		if ok {
			c.roomDo(func(ctx context.Context, core RoomCore, id string) (room.Sent, error) { return core.RoomLeave(ctx, id) })
		}
	}, u.Win)
}
