package ui

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/legacygroup"
	"feigo/peers"
	"feigo/profile"
	"feigo/room"
	"feigo/trust"
	"feigo/xfer"
)

// The window's rooms are tested against real room managers (package room) on an in-memory
// LAN: the window's own, whose events reach the window as the node's would, and the
// colleagues', which the test drives.

type roomLAN struct {
	mu   sync.Mutex
	ms   map[string]*room.Manager
	down map[string]bool // members away: not reachable, not online
}

func (l *roomLAN) set(p *roomPeer, up bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down == nil {
		l.down = map[string]bool{}
	}
	l.down[p.fp()] = !up
}

type roomLink struct {
	l  *roomLAN
	me string
}

func (t roomLink) Request(ctx context.Context, id string, body []byte) ([]byte, error) {
	t.l.mu.Lock()
	m, ok := t.l.ms[id]
	ok = ok && !t.l.down[id] && !t.l.down[t.me]
	t.l.mu.Unlock()
	if !ok {
		return nil, errors.New("offline")
	}
	return m.Handle(t.me, body), nil
}

func (t roomLink) Online() map[string]string {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	out := map[string]string{}
	for id := range t.l.ms {
		if id != t.me && !t.l.down[id] {
			out[id] = ""
		}
	}
	return out
}

type roomPeer struct {
	id   *trust.Identity
	nick string
	m    *room.Manager
}

func (p *roomPeer) fp() string { return p.id.Fingerprint().String() }

// join puts a member on the LAN; emit, when set, receives its events.
func (l *roomLAN) join(t *testing.T, nick string, store *history.Store, emit func(event.Type, room.Report)) *roomPeer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := trust.NewIdentity(priv)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		if store, err = history.Open(filepath.Join(t.TempDir(), "h.db")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
	}
	if emit == nil {
		emit = func(event.Type, room.Report) {}
	}
	p := &roomPeer{id: id, nick: nick}
	p.m, err = room.New(room.Config{Identity: id, Store: store, Transport: roomLink{l, p.fp()}, Emit: emit,
		Nick: func() string { return nick }})
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.ms[p.fp()] = p.m
	l.mu.Unlock()
	return p
}

// roomsCore is the fake core with the rooms of a real manager, as node.Node has them.
type roomsCore struct {
	*fakeCore
	me    *roomPeer
	nicks map[string]string // fingerprint → nick, of the colleagues the test made
}

func (c *roomsCore) RoomSelf() string               { return c.me.fp() }
func (c *roomsCore) RoomList() ([]room.Info, error) { return c.me.m.Rooms(), nil }
func (c *roomsCore) members(ids []string) []room.Member {
	var out []room.Member
	for _, id := range ids {
		out = append(out, room.Member{ID: id, Nick: c.nicks[id]})
	}
	return out
}
func (c *roomsCore) RoomCreate(ctx context.Context, name string, ms []string) (room.Sent, error) {
	return c.me.m.Create(ctx, name, c.members(ms))
}
func (c *roomsCore) RoomSend(ctx context.Context, q, text string) (room.Sent, error) {
	return c.me.m.Send(ctx, q, text)
}
func (c *roomsCore) RoomSendFiles(ctx context.Context, q, text string, paths []string) (room.Sent, xfer.Transfer, error) {
	s, err := c.me.m.Files(ctx, q, text, paths)
	return s, xfer.Transfer{}, err
}
func (c *roomsCore) RoomAdd(ctx context.Context, q string, ms []string) (room.Sent, error) {
	return c.me.m.Add(ctx, q, c.members(ms))
}
func (c *roomsCore) RoomRemove(ctx context.Context, q, member string) (room.Sent, error) {
	return c.me.m.Remove(ctx, q, member)
}
func (c *roomsCore) RoomLeave(ctx context.Context, q string) (room.Sent, error) {
	return c.me.m.Leave(ctx, q)
}
func (c *roomsCore) RoomRename(ctx context.Context, q, name string) (room.Sent, error) {
	return c.me.m.Rename(ctx, q, name)
}
func (c *roomsCore) RoomHistory(q string, limit int) (room.Info, []room.Line, error) {
	in, err := c.me.m.Find(q)
	if err != nil {
		return in, nil, err
	}
	lines, err := c.me.m.History(q, limit)
	return in, lines, err
}

// roomWindow is a window whose node is in rooms with Bob, Carol (both of 研发部) and Dave
// (QA), all online.
type roomWindow struct {
	*testUI
	core             *roomsCore
	bob, carol, dave *roomPeer
	lanOf            *roomLAN
	mu               sync.Mutex
	inbox            *Inbox // set once the window exists: the manager's events go there
	early            []lan.Event
}

func newRoomWindow(t *testing.T, lang string) *roomWindow {
	t.Helper()
	w := &roomWindow{lanOf: &roomLAN{ms: map[string]*room.Manager{}}}
	fc := newFakeCore(t)
	fc.self = ipmsg.Entry{Nick: "王芳", Group: "财务部"}
	emit := func(typ event.Type, r room.Report) {
		b, _ := json.Marshal(r)
		ev := lan.Event{Type: typ, Time: time.Now(), Room: b, HistoryID: r.HistoryID}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.inbox == nil {
			w.early = append(w.early, ev)
			return
		}
		w.inbox.Push(ev)
	}
	me := w.lanOf.join(t, "王芳", fc.hist, emit)
	w.bob = w.lanOf.join(t, "Bob", nil, nil)
	w.carol = w.lanOf.join(t, "Carol", nil, nil)
	w.dave = w.lanOf.join(t, "Dave", nil, nil)
	w.core = &roomsCore{fakeCore: fc, me: me, nicks: map[string]string{w.bob.fp(): "Bob", w.carol.fp(): "Carol", w.dave.fp(): "Dave"}}
	app := test.NewTempApp(t)
	w.testUI = newTestWindow(t, app, w.core, Options{Settings: profile.Settings{Language: lang}})
	w.Win.Resize(fyne.NewSize(1000, 640))
	w.mu.Lock()
	w.inbox = w.testUI.inbox
	for _, ev := range w.early {
		w.inbox.Push(ev)
	}
	w.mu.Unlock()
	for _, p := range []struct {
		who   *roomPeer
		group string
		at    netip.AddrPort
	}{{w.bob, "研发部", netip.MustParseAddrPort("10.0.0.2:2425")}, {w.carol, "研发部", netip.MustParseAddrPort("10.0.0.3:2425")},
		{w.dave, "QA", netip.MustParseAddrPort("10.0.0.4:2425")}} {
		w.HandleEvent(lan.Event{Type: event.PeerOnline, Peer: &peers.Peer{ID: p.who.fp(), Nick: p.who.nick, Group: p.group,
			Addr: p.at, Host: "pc-" + p.who.nick, Client: "feigo", Status: peers.Online, Secure: true, Fingerprint: p.who.fp()}})
	}
	w.settle()
	return w
}

// overlay returns the dialog on top of the window.
func (w *roomWindow) overlay(t *testing.T) fyne.CanvasObject {
	t.Helper()
	top := w.Win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog shown")
	}
	return top
}

// find returns the first widget of type T under o.
func find[T fyne.CanvasObject](o fyne.CanvasObject) (T, bool) {
	if x, ok := o.(T); ok {
		return x, true
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		if x, ok := find[T](k); ok {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func (w *roomWindow) tap(t *testing.T, under fyne.CanvasObject, label string) {
	t.Helper()
	b := findButton(under, label)
	if b == nil {
		t.Fatalf("no button %q in %v", label, deepTexts(under))
	}
	if b.Disabled() {
		t.Fatalf("button %q is disabled", label)
	}
	test.Tap(b)
	w.settle()
}

// createRoom creates a room named name with the whole of 研发部, through the dialog.
func (w *roomWindow) createRoom(t *testing.T, name string) *conv {
	t.Helper()
	w.tap(t, w.Win.Content(), w.t("New room…"))
	top := w.overlay(t)
	entry, ok := w.Win.Canvas().Focused().(*widget.Entry)
	if !ok {
		t.Fatalf("the room's name does not have the focus: %T", w.Win.Canvas().Focused())
	}
	test.Type(entry, name)
	group, ok := find[*widget.Select](top)
	if !ok {
		t.Fatalf("no group choice in %v", deepTexts(top))
	}
	group.SetSelected("研发部") // the whole department
	checks, _ := find[*widget.CheckGroup](top)
	if len(checks.Selected) != 2 {
		t.Fatalf("the department ticked %v", checks.Selected)
	}
	w.tap(t, top, w.t("Create"))
	for _, c := range w.convs {
		if c.room != nil && c.room.info.Name == name {
			return c
		}
	}
	t.Fatalf("no room %q opened; convs %v", name, w.convs)
	return nil
}

func boxText(c *conv) string { return strings.Join(deepTexts(allRows(c)), "|") }

// A room created in the window: listed above the colleagues with its member count, a message
// of a member in it with its unread badge (cleared by coming back to it), the member list,
// who received this user's message, a rename, a removal, a member added by someone else, and
// leaving; every change shown in the room. The history search finds the room's messages.
func TestRoomInTheWindow(t *testing.T) {
	w := newRoomWindow(t, "en")
	c := w.createRoom(t, "Project X")
	if w.tabs.Selected() != c.tab {
		t.Fatal("the new room is not in front")
	}
	roots := w.treeChildren("")
	if len(roots) < 3 || roots[0] != roomsBranch {
		t.Fatalf("the rooms are not above the colleagues: %v", roots)
	}
	row := w.treeCreate(false)
	w.treeUpdate(roomKey(c.room.info.ID), false, row)
	if got := rowParts(row).rowString(); !strings.Contains(got, "Project X  · 3 members") {
		t.Fatalf("room row %q", got)
	}
	branch := w.treeCreate(true)
	w.treeUpdate(roomsBranch, true, branch)
	if got := rowParts(branch).rowString(); !strings.Contains(got, "Rooms (1)") {
		t.Fatalf("rooms branch %q", got)
	}
	// The member list: the creator (this user) first.
	members := strings.Join(c.room.rows2text(w.UI), "|")
	if !strings.HasPrefix(members, "● 王芳  (creator)  (me)") || !strings.Contains(members, "Bob") || !strings.Contains(members, "Carol") {
		t.Fatalf("members %q", members)
	}
	if !strings.Contains(boxText(c), "Me created the room “Project X” with") {
		t.Fatalf("the creation is not shown: %q", boxText(c))
	}

	// Bob writes while another conversation is in front: the badge counts it.
	w.openConv(whoPeer(w.peers[w.dave.fp()]), true)
	w.settle()
	if _, err := w.bob.m.Send(context.Background(), c.room.info.ID, "hello from Bob"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if c.unread != 1 || w.Unread() != 1 || c.tab.Text != "Project X (1)" {
		t.Fatalf("unread %d total %d tab %q", c.unread, w.Unread(), c.tab.Text)
	}
	w.treeUpdate(roomKey(c.room.info.ID), false, row)
	if got := texts(row); got[len(got)-1] != "● 1" {
		t.Fatalf("room row badge %q", got)
	}
	if !strings.Contains(boxText(c), "hello from Bob") {
		t.Fatalf("Bob's message not shown: %q", boxText(c))
	}
	// Coming back to the room clears it.
	w.tabs.Select(c.tab)
	w.settle()
	if c.unread != 0 || w.Unread() != 0 || c.tab.Text != "Project X" {
		t.Fatalf("after reading: unread %d total %d tab %q", c.unread, w.Unread(), c.tab.Text)
	}
	w.treeUpdate(roomKey(c.room.info.ID), false, row)
	if got := texts(row); got[len(got)-1] != "" {
		t.Fatalf("room row badge after reading %q", got)
	}

	// This user writes: both members acknowledge it, and the line says so.
	test.Type(c.input, "hello all")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	w.settle()
	if got := boxText(c); !strings.Contains(got, "received by all 2") || strings.Count(got, "hello all") != 1 {
		t.Fatalf("own message: %q", got)
	}
	lines, err := w.bob.m.History(c.room.info.ID, 0)
	if err != nil || !slices.ContainsFunc(lines, func(l room.Line) bool { return l.Text == "hello all" }) {
		t.Fatalf("Bob does not have it: %v %v", lines, err)
	}

	// Rename (the creator may).
	w.tap(t, c.tab.Content, w.t("Rename…"))
	entry, _ := w.Win.Canvas().Focused().(*widget.Entry)
	entry.SetText("Project Y")
	w.tap(t, w.overlay(t), w.t("Rename"))
	w.until("the new name", func() bool { return c.room.info.Name == "Project Y" && c.tab.Text == "Project Y" })
	if !strings.Contains(boxText(c), "Me renamed the room “Project Y”") {
		t.Fatalf("the rename is not shown: %q", boxText(c))
	}
	if in, err := w.bob.m.Find(c.room.info.ID); err != nil || in.Name != "Project Y" {
		t.Fatalf("Bob's room %+v %v", in, err)
	}

	// Remove Carol: chosen in the member list.
	carol := slices.IndexFunc(c.room.rows, func(m room.MemberInfo) bool { return m.ID == w.carol.fp() })
	if findButton(c.tab.Content, w.t("Remove")).Disabled() == false {
		t.Fatal("Remove is enabled with nobody chosen")
	}
	c.room.members.Select(carol)
	w.tap(t, c.tab.Content, w.t("Remove"))
	w.tap(t, w.overlay(t), "Yes")
	w.until("Carol removed", func() bool { return len(c.room.info.Members) == 2 })
	if !strings.Contains(boxText(c), "Me removed Carol") {
		t.Fatalf("the removal is not shown: %q", boxText(c))
	}

	// Bob adds Dave: the window shows it.
	if _, err := w.bob.m.Add(context.Background(), c.room.info.ID, []room.Member{{ID: w.dave.fp(), Nick: "Dave"}}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.until("Dave added", func() bool { return len(c.room.info.Members) == 3 })
	if !strings.Contains(boxText(c), "Bob added Dave") {
		t.Fatalf("Bob's addition is not shown: %q", boxText(c))
	}

	// The history search finds the room's messages and opens the room at them.
	w.tabs.Select(w.xferTab)
	w.showHistory()
	w.searchHistory("Bob")
	w.settle()
	i := slices.IndexFunc(w.histResults, func(r history.Record) bool { return r.Text == "hello from Bob" })
	if i < 0 {
		t.Fatalf("the search did not find the room's message: %+v", w.histResults)
	}
	head := strings.Join(deepTexts(w.histList), "|")
	if !strings.Contains(head, "room Project Y") {
		t.Fatalf("the result does not name the room: %q", head)
	}
	w.openRecord(w.histResults[i])
	w.settle()
	if w.tabs.Selected() != c.tab {
		t.Fatal("the result did not open the room")
	}

	// Leave: the room stays as history, and nothing can be written in it.
	w.tap(t, c.tab.Content, w.t("Leave room"))
	w.tap(t, w.overlay(t), "Yes")
	w.until("left", func() bool { return !c.room.info.Member })
	if !c.input.Disabled() || !strings.Contains(c.status.Text, "no longer a member") {
		t.Fatalf("after leaving: input disabled %v, status %q", c.input.Disabled(), c.status.Text)
	}
	if !strings.Contains(boxText(c), "Me left the room") {
		t.Fatalf("leaving is not shown: %q", boxText(c))
	}
	if in, _ := w.bob.m.Find(c.room.info.ID); slices.ContainsFunc(in.Members, func(m room.MemberInfo) bool { return m.ID == w.core.me.fp() }) {
		t.Fatalf("Bob still lists this user: %+v", in.Members)
	}
}

// rows2text is the member list's lines.
func (rc *roomConv) rows2text(u *UI) []string {
	var out []string
	for _, m := range rc.rows {
		out = append(out, u.memberLine(rc.info, m))
	}
	return out
}

// A colleague who adds this user to a room brings it into the window, counted unread; its
// texts are Chinese in a Chinese window.
func TestRoomAddedByAColleagueInChinese(t *testing.T) {
	w := newRoomWindow(t, "zh")
	w.openConv(whoPeer(w.peers[w.dave.fp()]), true) // in front
	w.settle()
	s, err := w.bob.m.Create(context.Background(), "午饭群", []room.Member{{ID: w.core.me.fp(), Nick: "王芳"}, {ID: w.dave.fp(), Nick: "Dave"}})
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.until("the room listed", func() bool { return len(w.roomRows()) == 1 })
	c := w.convs[roomKey(s.Room.ID)]
	if c == nil || c.room == nil {
		t.Fatal("the room has no conversation")
	}
	if w.Unread() != 1 {
		t.Errorf("unread %d, want 1 (the invitation)", w.Unread())
	}
	if got := boxText(c); !strings.Contains(got, "Bob 创建了群“午饭群”") {
		t.Errorf("the creation: %q", got)
	}
	branch := w.treeCreate(true)
	w.treeUpdate(roomsBranch, true, branch)
	if got := rowParts(branch).rowString(); !strings.Contains(got, "群（1）") {
		t.Errorf("rooms branch %q", got)
	}
	if findButton(c.tab.Content, "改名…").Visible() || findButton(c.tab.Content, "退出群") == nil {
		t.Error("a member who did not create the room may rename it, or cannot leave")
	}
	// A hostile name and text are shown safe: no bidi controls reach the labels.
	if _, err := w.bob.m.Send(context.Background(), s.Room.ID, "photo\u202egnp.exe"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if strings.Contains(boxText(c), "\u202e") {
		t.Errorf("a bidi control reached the window: %q", boxText(c))
	}
}

// A member away when this user writes is shown waiting; once they are back and caught up (by
// the node: room.Manager's catch-up), the message says everyone received it.
func TestRoomShowsWhoCaughtUpLater(t *testing.T) {
	w := newRoomWindow(t, "en")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.core.me.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s, err := w.core.me.m.Create(context.Background(), "Lunch", []room.Member{{ID: w.bob.fp(), Nick: "Bob"}, {ID: w.dave.fp(), Nick: "Dave"}})
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.until("the room listed", func() bool { return len(w.roomRows()) == 1 })
	c := w.openRoom(w.rooms.infos[s.Room.ID], true)
	w.settle()
	w.lanOf.set(w.dave, false)
	test.Type(c.input, "noodles?")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	w.settle()
	if got := boxText(c); !strings.Contains(got, "received by Bob; waiting for Dave") {
		t.Fatalf("with Dave away: %q", got)
	}
	// Dave is back: the node catches him up, and the window, told he is online, shows it.
	w.lanOf.set(w.dave, true)
	w.core.me.m.PeerSeen(w.dave.fp())
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines, _ := w.dave.m.History(s.Room.ID, 0)
		if slices.ContainsFunc(lines, func(l room.Line) bool { return l.Text == "noodles?" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Dave was not caught up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	dave := w.peers[w.dave.fp()]
	w.HandleEvent(lan.Event{Type: event.PeerUpdated, Peer: &dave})
	w.until("Dave shown as having it", func() bool { return strings.Contains(boxText(c), "received by all 2") })
}

// Switching the language rebuilds the window: an open room stays a room, in front, with its
// messages and its member list, in the new language.
func TestRoomSurvivesALanguageSwitch(t *testing.T) {
	w := newRoomWindow(t, "en")
	c := w.createRoom(t, "Project X")
	if _, err := w.bob.m.Send(context.Background(), c.room.info.ID, "hello from Bob"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	st := w.opt.Settings
	st.Language = "zh"
	w.applySettings(st)
	w.settle()
	nc := w.convs[c.key]
	if nc == nil || nc == c || nc.room == nil || w.tabs.Selected() != nc.tab {
		t.Fatalf("after the switch: %+v", nc)
	}
	if got := boxText(nc); !strings.Contains(got, "hello from Bob") || !strings.Contains(got, "我 创建了群“Project X”") {
		t.Fatalf("the room after the switch shows %q", got)
	}
	if len(nc.room.rows) != 3 || findButton(nc.tab.Content, "退出群") == nil {
		t.Fatalf("members %d, buttons %v", len(nc.room.rows), deepTexts(nc.tab.Content))
	}
}

// The attacker's side: what the LAN says about rooms is bounded in the window as in the node.
// A flood of FeiQ room announcements lists at most legacygroup.MaxSeen rooms; a room event
// that does not decode, or is oversized, changes nothing; a name with controls is shown safe.
func TestRoomEventsFromTheLANAreBounded(t *testing.T) {
	u, _ := newTestUI(t, "en")
	for i := range legacygroup.MaxSeen + 50 {
		ev := legacygroup.Event{Type: legacygroup.RoomSeen, Time: time.Now(), Unencrypted: true,
			Room: legacygroup.Room{ID: legacygroup.FeiQRoomID(uint64(i + 1)), Kind: legacygroup.FeiQ, Name: fmt.Sprintf("r\u202e%d", i)}}
		b, _ := json.Marshal(ev)
		u.inbox.Push(lan.Event{Type: event.Type(ev.Type), Room: b})
	}
	u.settle()
	if n := len(u.rooms.seen); n != legacygroup.MaxSeen {
		t.Fatalf("%d FeiQ rooms listed, want %d", n, legacygroup.MaxSeen)
	}
	for _, r := range u.rooms.seen {
		if strings.ContainsRune(r.Name, '\u202e') {
			t.Fatalf("a bidi control reached the list: %q", r.Name)
		}
	}
	before := len(u.convs)
	u.HandleEvent(lan.Event{Type: room.TypeMessage, Room: json.RawMessage(`{"room":`)})
	u.HandleEvent(lan.Event{Type: event.Type(legacygroup.RoomMessage), Room: json.RawMessage(`[1,2]`)})
	big := `{"room":"` + strings.Repeat("a", 2<<20) + `"}`
	u.HandleEvent(lan.Event{Type: room.TypeMessage, Room: json.RawMessage(big)})
	if len(u.convs) != before {
		t.Fatalf("a broken room event opened a conversation")
	}
}

// Issue 18's badge case for rooms: a message for the room in front while the window is hidden
// counts unread (and notifies); showing the window again clears it.
func TestRoomBadgeClearedWhenShownAgain(t *testing.T) {
	w := newRoomWindow(t, "en")
	c := w.createRoom(t, "Project X")
	w.Hide()
	if _, err := w.bob.m.Send(context.Background(), c.room.info.ID, "while you were away"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if c.unread != 1 || w.Unread() != 1 || w.Win.Title() != "FeiGo (1)" {
		t.Fatalf("hidden: unread %d total %d title %q", c.unread, w.Unread(), w.Win.Title())
	}
	w.Show()
	w.settle()
	if c.unread != 0 || w.Unread() != 0 || c.tab.Text != "Project X" || w.Win.Title() != "FeiGo" {
		t.Fatalf("shown again: unread %d total %d tab %q title %q", c.unread, w.Unread(), c.tab.Text, w.Win.Title())
	}
}

// The member list's rows are the colleague list's: the avatar with its online dot, the
// nickname in bold and the roles in grey; a member who is offline has no dot and is greyed
// (as FeiQ greys them), with "offline" said.
func TestRoomMemberRows(t *testing.T) {
	w := newRoomWindow(t, "en")
	c := w.createRoom(t, "Project Y")
	in := c.room.info
	for i := range in.Members {
		in.Members[i].Online = in.Members[i].Nick != "Carol"
	}
	c.setRoomInfo(in)
	rows := map[string]rowView{}
	for i, m := range c.room.rows {
		o := c.room.members.CreateItem()
		c.room.members.UpdateItem(i, o)
		rows[m.Nick] = rowParts(o)
	}
	if len(rows) != 3 {
		t.Fatalf("member rows %v", c.room.rows)
	}
	for nick, r := range rows {
		bold := r.text.Segments[0].(*widget.TextSegment)
		switch nick {
		case "Carol":
			if r.dot.Visible() || bold.Text != "" || r.rowString() != "Carol  · offline" {
				t.Errorf("Carol, offline: dot %v, bold %q, %q", r.dot.Visible(), bold.Text, r.rowString())
			}
		case "Bob":
			if !r.dot.Visible() || bold.Text != "Bob" || r.rowString() != "Bob" || !r.avatar.Visible() {
				t.Errorf("Bob, online: dot %v, bold %q, %q", r.dot.Visible(), bold.Text, r.rowString())
			}
		default: // this user, the creator
			if !r.dot.Visible() || bold.Text != nick || r.rowString() != nick+"  (creator)  (me)" {
				t.Errorf("%s (me): dot %v, bold %q, %q", nick, r.dot.Visible(), bold.Text, r.rowString())
			}
		}
	}
}
