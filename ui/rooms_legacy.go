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
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/history"
	"feigo/internal/safetext"
	"feigo/lan"
	"feigo/legacygroup"
)

// Legacy group chats in the window: FeiQ's rooms and iptux's group windows, which the node
// takes (package lan's LegacyGroups through the node). They are listed with the rooms, marked
// with an open lock and "not encrypted", and their conversation says that anyone on the
// network can read it. Messages go back the legacy way, unacknowledged as there.

// LegacyRoomCore is what the window needs of the node for legacy group chats (*node.Node has
// it).
type LegacyRoomCore interface {
	LegacyRooms() []legacygroup.Room
	LegacyRoomJoin(id legacygroup.RoomID, name string) error
	LegacyRoomLeave(id legacygroup.RoomID) error
	LegacyRoomSend(ctx context.Context, id legacygroup.RoomID, text string) (history.Record, error)
}

// legacyRow is the colleague list's row (and conversation key) of a legacy room.
func legacyRow(id legacygroup.RoomID) string { return history.GroupPeer(string(id)) }

func (u *UI) legacyCore() (LegacyRoomCore, bool) {
	lc, ok := u.core.(LegacyRoomCore)
	return lc, ok
}

func safeLegacyRoom(r legacygroup.Room) legacygroup.Room {
	r.Name = safetext.Printable(r.Name)
	r.Members = slices.Clone(r.Members)
	for i := range r.Members {
		m := &r.Members[i]
		m.Nick, m.User, m.Host = safetext.Printable(m.Nick), safetext.Printable(m.User), safetext.Printable(m.Host)
	}
	return r
}

// legacyName is a legacy room's name as listed: its own, or what it is.
func (u *UI) legacyName(r legacygroup.Room) string {
	if r.Name != "" {
		return r.Name
	}
	if r.Kind == legacygroup.FeiQ {
		return u.t("FeiQ room %s", strings.TrimPrefix(string(r.ID), "feiq:"))
	}
	return string(r.ID)
}

// kindName is the program whose group chat a legacy room is.
func kindName(k legacygroup.Kind) string {
	if k == legacygroup.FeiQ {
		return "FeiQ"
	}
	return "iptux"
}

// loadLegacyRooms reads the legacy rooms joined from the node in the background.
func (u *UI) loadLegacyRooms() {
	lc, ok := u.legacyCore()
	if !ok {
		return
	}
	rs := u.roomState()
	if rs.legacyLoading {
		rs.legacyAgain = true
		return
	}
	rs.legacyLoading = true
	u.work(func(context.Context) func() {
		rooms := lc.LegacyRooms()
		return func() {
			rs.legacyLoading = false
			if rs.legacyAgain {
				rs.legacyAgain = false
				defer u.loadLegacyRooms()
			}
			// The node's list is the truth: the iptux windows it pushed out (opened by
			// messages, the quietest go first) leave the list too.
			in := map[legacygroup.RoomID]bool{}
			for _, r := range rooms {
				in[r.ID] = true
			}
			for id, r := range rs.legacy {
				if !in[id] && r.Kind == legacygroup.Iptux {
					delete(rs.legacy, id)
				}
			}
			for _, r := range rooms {
				r = safeLegacyRoom(r)
				rs.legacy[r.ID] = r
				delete(rs.seen, r.ID)
				if c := u.convs[legacyRow(r.ID)]; c != nil && c.room != nil && c.room.legacy != nil {
					c.setLegacyRoom(r)
				}
			}
			u.roomsChanged()
		}
	})
}

// legacyRows are the rows of the legacy rooms joined, then those seen on the LAN, by name.
func (u *UI) legacyRows() []string {
	if u.rooms == nil {
		return nil
	}
	var rows []string
	add := func(m map[legacygroup.RoomID]legacygroup.Room) {
		var rs []legacygroup.Room
		for _, r := range m {
			if u.filter == "" || strings.Contains(strings.ToLower(u.legacyName(r)), u.filter) {
				rs = append(rs, r)
			}
		}
		sort.Slice(rs, func(i, j int) bool {
			return u.legacyName(rs[i])+string(rs[i].ID) < u.legacyName(rs[j])+string(rs[j].ID)
		})
		for _, r := range rs {
			rows = append(rows, legacyRow(r.ID))
		}
	}
	add(u.rooms.legacy)
	add(u.rooms.seen)
	return rows
}

// legacyRoom returns the legacy room of a row, and whether it is joined.
func (u *UI) legacyRoom(row string) (legacygroup.Room, bool, bool) {
	id, ok := strings.CutPrefix(row, "group:")
	if !ok || u.rooms == nil {
		return legacygroup.Room{}, false, false
	}
	if r, ok := u.rooms.legacy[legacygroup.RoomID(id)]; ok {
		return r, true, true
	}
	r, ok := u.rooms.seen[legacygroup.RoomID(id)]
	return r, false, ok
}

// unencryptedIcon marks what anyone on the network can read.
func unencryptedIcon() fyne.Resource { return theme.NewWarningThemedResource(openLockIcon) }

// legacyTreeUpdate draws a legacy room's row.
func (u *UI) legacyTreeUpdate(id string, row rowView) {
	r, joined, _ := u.legacyRoom(id)
	row.lock.SetResource(unencryptedIcon())
	row.lock.Show()
	rest := fmt.Sprintf("  · %s · %s", kindName(r.Kind), u.t("not encrypted"))
	if !joined {
		rest += "  (" + u.t("not joined") + ")"
	}
	row.setText(u.legacyName(r), "", rest)
	if c, ok := u.convs[id]; ok && c.unread > 0 {
		row.badge.SetText(fmt.Sprintf("● %d", c.unread))
	}
}

// legacyTreeSelected opens a legacy room joined; one only seen is joined first, once the
// user agreed to a room anyone can read.
func (u *UI) legacyTreeSelected(id string) {
	r, joined, ok := u.legacyRoom(id)
	if !ok {
		return
	}
	if joined {
		u.openLegacy(r, true)
		u.panes.showTalk()
		return
	}
	lc, ok := u.legacyCore()
	if !ok {
		return
	}
	name := u.legacyName(r)
	dialog.ShowConfirm(u.t("Join %s", name), u.t("%s is a %s room: it is not encrypted, and anyone on the network can read it, as in %s. Join it?", name, kindName(r.Kind), kindName(r.Kind)), func(yes bool) {
		if !yes {
			return
		}
		u.work(func(context.Context) func() {
			if err := lc.LegacyRoomJoin(r.ID, r.Name); err != nil {
				return u.showErr(err)
			}
			return func() {
				r.Joined = true
				u.rooms.legacy[r.ID] = r
				delete(u.rooms.seen, r.ID)
				u.openLegacy(r, true)
				u.panes.showTalk()
				u.roomsChanged()
				u.loadLegacyRooms()
			}
		})
	}, u.Win)
}

// openLegacy returns the conversation of a legacy room, creating its tab; focus selects it.
func (u *UI) openLegacy(r legacygroup.Room, focus bool) *conv {
	key := legacyRow(r.ID)
	c, ok := u.convs[key]
	if !ok {
		c = u.newLegacyConv(r)
		u.convs[key] = c
	}
	return u.showConv(c, focus)
}

func (u *UI) newLegacyConv(r legacygroup.Room) *conv {
	key := legacyRow(r.ID)
	rc := &roomConv{legacy: &r, seen: map[string]*chatMsg{}, selected: -1}
	c := u.roomShell(key, u.legacyName(r), rc, func() int { return len(rc.legacyRows) }, func(i int) memberRow {
		return memberRow{nick: rc.legacyRows[i], who: rc.legacyRows[i], online: true} // the members heard from
	})
	send := widget.NewButton(u.t("Send"), c.submit)
	c.status.Importance = widget.WarningImportance
	rc.leave = widget.NewButton(u.t("Leave room"), c.leaveLegacy)
	panel := container.NewBorder(rc.count, rc.leave, nil, nil, rc.members)
	bottom := container.NewBorder(nil, nil, nil, send, c.input)
	view := container.New(pinLayout{c}, c.scroll)
	split := container.NewHSplit(view, panel)
	split.Offset = 0.74
	c.tab = container.NewTabItemWithIcon(c.nick, unencryptedIcon(), container.NewBorder(c.status, bottom, nil, nil, split))
	c.setLegacyRoom(r)
	c.loadEarlier()
	return c
}

// setLegacyRoom shows a legacy room's name, members and that it is not encrypted.
func (c *conv) setLegacyRoom(r legacygroup.Room) {
	rc := c.room
	rc.legacy = &r
	c.nick = c.u.legacyName(r)
	k := kindName(r.Kind)
	c.status.SetText(c.u.t("Not encrypted: this is a %s group chat; anyone on the network can read it, as in %s.", k, k))
	rc.legacyRows = rc.legacyRows[:0]
	for _, m := range r.Members {
		who := m.Nick
		if who == "" {
			who = m.User
		}
		if m.Host != "" {
			who += " (" + m.Host + ")"
		}
		rc.legacyRows = append(rc.legacyRows, who+"  "+m.Addr.Addr().String())
	}
	sort.Strings(rc.legacyRows)
	rc.count.SetText(c.u.t("Members heard from (%d)", len(rc.legacyRows)))
	rc.members.Refresh()
}

// legacySend writes text into c's legacy room the legacy way.
func (u *UI) legacySend(c *conv, text string) {
	lc, ok := u.legacyCore()
	if !ok {
		return
	}
	m := &chatMsg{time: time.Now(), from: u.t("Me"), text: text, out: true, state: history.StateSending}
	c.add(m)
	id := c.room.legacy.ID
	c.whenLoaded(func() {
		u.work(func(ctx context.Context) func() {
			r, err := lc.LegacyRoomSend(ctx, id, text)
			return func() {
				if r.ID != 0 {
					m.id = r.ID
					c.byID[r.ID] = m
				}
				if err != nil {
					m.state, m.err = history.StateFailed, err.Error()
				} else {
					m.state = u.t("sent (not acknowledged)")
				}
				c.refresh(m)
			}
		})
	})
}

func (c *conv) leaveLegacy() {
	u := c.u
	lc, ok := u.legacyCore()
	if !ok {
		return
	}
	r := *c.room.legacy
	dialog.ShowConfirm(u.t("Leave room"), u.t("Leave %s? Its messages no longer reach you; its history stays.", c.nick), func(yes bool) {
		if !yes {
			return
		}
		u.work(func(context.Context) func() {
			if err := lc.LegacyRoomLeave(r.ID); err != nil {
				return u.showErr(err)
			}
			return func() {
				delete(u.rooms.legacy, r.ID)
				if idx := slices.Index(u.tabs.Items, c.tab); idx >= 0 {
					u.tabs.Remove(c.tab)
				}
				delete(u.convs, c.key)
				u.setUnread()
				u.roomsChanged()
			}
		})
	}, u.Win)
}

// legacyEvent shows a legacy group event the node reported.
func (u *UI) legacyEvent(ev lan.Event) {
	var e legacygroup.Event
	if len(ev.Room) == 0 || len(ev.Room) > 1<<20 || json.Unmarshal(ev.Room, &e) != nil {
		return
	}
	e.Room = safeLegacyRoom(e.Room)
	e.Text = safetext.Lines(e.Text)
	e.From.Nick, e.From.User, e.From.Host = safetext.Printable(e.From.Nick), safetext.Printable(e.From.User), safetext.Printable(e.From.Host)
	rs := u.roomState()
	switch e.Type {
	case legacygroup.RoomSeen:
		if _, joined := rs.legacy[e.Room.ID]; !joined {
			if len(rs.seen) >= legacygroup.MaxSeen {
				return
			}
			rs.seen[e.Room.ID] = e.Room
			u.roomsChanged()
		}
	case legacygroup.MemberJoined:
		u.loadLegacyRooms()
	case legacygroup.RoomMessage:
		r, known := rs.legacy[e.Room.ID]
		if !known {
			if len(rs.legacy) >= 2*legacygroup.MaxRooms {
				// The user's rooms and as many windows opened by messages: the node
				// pushed one out for this one; its list says which.
				u.loadLegacyRooms()
				return
			}
			r = e.Room
			rs.legacy[r.ID] = r
			delete(rs.seen, r.ID)
			u.roomsChanged()
		}
		c := u.openLegacy(r, u.tabs.Selected() == u.xferTab)
		if ev.HistoryID != 0 && c.byID[ev.HistoryID] != nil {
			return // the conversation loaded it from the history
		}
		from := e.From.Nick
		if from == "" {
			from = e.From.User
		}
		if from == "" {
			from = e.From.Addr.Addr().String()
		}
		m := &chatMsg{id: ev.HistoryID, time: e.Time, from: from, text: e.Text}
		if m.time.IsZero() {
			m.time = time.Now()
		}
		c.add(m)
		u.bumpUnread(c, u.t("New message in %s from %s", c.nick, from), e.Text)
		u.loadLegacyRooms() // its members
	}
}
