package ui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
	"feigo/xfer"
)

// The tests of issue 18: the conversation bugs a working day found.

func message(id, nick string, addr netip.AddrPort, text string, packet uint32) lan.Event {
	return lan.Event{Type: event.Message, Message: &lan.Message{PeerID: id, Nick: nick, Addr: addr, Text: text, Time: time.Now(), PacketNo: packet}}
}

func offerFrom(id int, packet uint32, files ...string) xfer.Transfer {
	t := xfer.Transfer{ID: id, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr, PacketNo: packet}
	for i, f := range files {
		t.Files = append(t.Files, xfer.TransferFile{FileInfo: ipmsg.FileInfo{ID: uint32(i), Name: f, Size: 1000, Attr: ipmsg.FileRegular}})
		t.Total += 1000
	}
	return t
}

// lifecycle drives the test app's foreground callbacks as the desktop driver does when the
// window loses and regains the focus (minimised, restored from the tray).
func lifecycle(u *testUI, foreground bool) {
	l := u.app.Lifecycle().(interface {
		OnEnteredForeground() func()
		OnExitedForeground() func()
	})
	if foreground {
		l.OnEnteredForeground()()
	} else {
		l.OnExitedForeground()()
	}
}

// Bug 5: a message for the conversation in front, while the window is minimised, is unread
// until the window comes back, and only until then.
func TestUnreadInFrontIsReadWhenTheWindowComesBack(t *testing.T) {
	app := test.NewTempApp(t)
	var tray []int
	u := newTestWindow(t, app, newFakeCore(t), Options{Settings: profile.Settings{Language: "en"},
		OnUnread: func(n int) { tray = append(tray, n) }})
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	lifecycle(u, false)
	u.HandleEvent(message("b", "Bob", bobAddr, "are you there?", 1))
	if c.unread != 1 || u.Win.Title() != "FeiGo (1)" || c.tab.Text != "Bob (1)" {
		t.Fatalf("while away: unread %d, title %q, tab %q", c.unread, u.Win.Title(), c.tab.Text)
	}
	lifecycle(u, true) // tray → Show
	row := u.treeCreate(false)
	u.treeUpdate("p:b", false, row)
	if c.unread != 0 || u.Unread() != 0 || u.Win.Title() != "FeiGo" || c.tab.Text != "Bob" || texts(row)[len(texts(row))-1] != "" {
		t.Fatalf("back in front: unread %d, title %q, tab %q, row %q", c.unread, u.Win.Title(), c.tab.Text, texts(row))
	}
	if len(tray) == 0 || tray[len(tray)-1] != 0 {
		t.Fatalf("the tray was told %v", tray)
	}
}

// Bug 5: an offer with a note is one unread item, whichever of the two the node reports first.
func TestOfferWithANoteCountsOnce(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	u.tree.OnSelected("p:c") // Carol's conversation in front
	u.settle()
	offer := offerFrom(1, 100, "plan.xlsx")
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	u.HandleEvent(message("b", "Bob", bobAddr, "the plan, as promised", 100))
	bob := u.convs["b"]
	if bob.unread != 1 || u.Unread() != 1 {
		t.Fatalf("an offer with its note: %d unread (%d in all)", bob.unread, u.Unread())
	}
	// The note first, then its offer.
	u.HandleEvent(message("b", "Bob", bobAddr, "and the minutes", 101))
	second := offerFrom(2, 101, "minutes.docx")
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &second})
	if bob.unread != 2 {
		t.Fatalf("a second offer with its note: %d unread", bob.unread)
	}
	// The node reports an offer again when it changes: not a new one.
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &second})
	if bob.unread != 2 || strings.Count(strings.Join(deepTexts(allRows(bob)), "\n"), "minutes.docx") != 1 {
		t.Fatalf("the offer reported twice: %d unread, %q", bob.unread, deepTexts(allRows(bob)))
	}
	// A message with no offer still counts.
	u.HandleEvent(message("b", "Bob", bobAddr, "lunch?", 102))
	if bob.unread != 3 {
		t.Fatalf("a plain message: %d unread", bob.unread)
	}
}

func sentOffer(id int, packet uint32, to ...peers.Peer) xfer.Transfer {
	t := xfer.Transfer{ID: id, Direction: event.Out, State: xfer.StateOffered, PacketNo: packet,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "设计稿", Size: 4096, Attr: ipmsg.FileDir}}}}
	for _, p := range to {
		t.Recipients = append(t.Recipients, xfer.Recipient{PeerID: p.ID, Nick: p.Nick, Addr: p.Addr, State: xfer.StateOffered})
		t.Total += 4096
	}
	return t
}

// Bug 7: files and folders this side sends show in the conversation of each colleague they
// go to, follow the transfer, and are not shown a second time by the history.
func TestSentFilesShowInTheConversation(t *testing.T) {
	u, core := newTestUI(t, "en")
	bob, carol := online("b", "Bob", "Dev", bobAddr), online("c", "Carol", "QA", carolAddr)
	u.HandleEvent(bob)
	u.HandleEvent(carol)
	u.tree.OnSelected("p:b")
	u.settle()
	u.dropped(fyne.NewPos(600, 300), []fyne.URI{fileURI("/home/me/设计稿")})
	u.settle()
	if len(core.files) != 1 {
		t.Fatalf("files sent %v", core.files)
	}
	// The node reports the offer it made.
	out := sentOffer(4, 300, *bob.Peer, *carol.Peer)
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &out})
	for _, id := range []string{"b", "c"} {
		c := u.convs[id]
		if c == nil {
			t.Fatalf("no conversation with %s", id)
		}
		got := strings.Join(deepTexts(allRows(c)), "|")
		if !strings.Contains(got, "You offered 1 file(s), 4.0 KiB") || !strings.Contains(got, "设计稿/ (4.0 KiB)") || !strings.Contains(got, "[Cancel]") ||
			strings.Contains(got, "[Accept]") {
			t.Fatalf("%s's conversation shows %q", id, got)
		}
	}
	// Bob fetches it, Carol declines.
	out.Recipients[0].State, out.Recipients[0].Done, out.Recipients[1].State, out.Recipients[1].Error = xfer.StateDone, 4096, xfer.StateDeclined, "declined"
	out.State, out.Error = xfer.StateFailed, "Carol (10.0.0.3) declined"
	u.HandleEvent(lan.Event{Type: event.TransferFailed, Transfer: &out})
	bobSees, carolSees := strings.Join(deepTexts(allRows(u.convs["b"])), "|"), strings.Join(deepTexts(allRows(u.convs["c"])), "|")
	if !strings.Contains(bobSees, "4.0 KiB / 4.0 KiB · done") || strings.Contains(bobSees, "[Cancel]") {
		t.Fatalf("Bob's conversation shows %q", bobSees)
	}
	if !strings.Contains(carolSees, "· declined") || strings.Contains(carolSees, "declined · declined") {
		t.Fatalf("Carol's conversation shows %q", carolSees)
	}
	// The node records it in the history; the window, rebuilt (a language switch), shows it
	// once, as a card.
	core.hist.PutTransfer(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.Out, PacketNo: 300, State: xfer.StateDone,
		Files: []history.File{{Name: "设计稿", Size: 4096, Dir: true}}})
	st := u.opt.Settings
	st.Language = "zh"
	u.applySettings(st)
	u.settle()
	if got := strings.Join(deepTexts(allRows(u.convs["b"])), "|"); strings.Count(got, "设计稿/") != 1 {
		t.Fatalf("after the rebuild Bob's conversation shows %q", got)
	}
}

// Bug 6: after a restart, an offer that waits for an answer can be accepted, in its
// conversation and in Transfers.
func TestPendingOfferAfterRestart(t *testing.T) {
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	core.xfers = []xfer.Transfer{offerFrom(5, 500, "年报.pdf")}
	done := offerFrom(6, 600, "old.txt")
	done.State = xfer.StateDone
	core.xfers = append(core.xfers, done)
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(900, 600))
	u.settle()
	c := u.convs["b"]
	if c == nil {
		t.Fatal("no conversation for the pending offer")
	}
	got := strings.Join(deepTexts(allRows(c)), "|")
	if !strings.Contains(got, "年报.pdf") || !strings.Contains(got, "[Accept]") || !strings.Contains(got, "[Decline]") || strings.Contains(got, "old.txt") {
		t.Fatalf("the conversation shows %q", got)
	}
	// Transfers: the pending one has Accept and Decline; the finished one neither.
	rows := map[int]fyne.CanvasObject{}
	for i, id := range u.xferIDs {
		rows[id] = u.xferCreate()
		u.xferUpdate(i, rows[id])
	}
	pending := strings.Join(deepTexts(rows[5]), "|")
	if !strings.Contains(pending, "[Accept]") || !strings.Contains(pending, "[Decline]") {
		t.Fatalf("the pending offer in Transfers: %q", pending)
	}
	if got := strings.Join(deepTexts(rows[6]), "|"); strings.Contains(got, "[Accept]") || strings.Contains(got, "[Decline]") {
		t.Fatalf("the finished one in Transfers: %q", got)
	}
	test.Tap(findButton(rows[5], "Accept"))
	u.settle()
	if len(core.accepted) != 1 || core.accepted[0] != 5 {
		t.Fatalf("accepted %v", core.accepted)
	}
	test.Tap(findButton(rows[5], "Decline"))
	u.settle()
	if len(core.declined) != 1 || core.declined[0] != 5 {
		t.Fatalf("declined %v", core.declined)
	}
}

// atBottom reports whether the newest message of c is in view.
func atBottom(c *conv) bool {
	return c.scroll.Size().Height > 0 && c.scroll.Offset.Y > 0 &&
		c.scroll.Offset.Y >= c.box.Size().Height-c.scroll.Size().Height-1
}

// inView reports whether row is wholly in c's view.
func inView(c *conv, row fyne.CanvasObject) bool {
	top := row.Position().Y - c.scroll.Offset.Y
	return top >= 0 && top+row.Size().Height <= c.scroll.Size().Height+1
}

// Bug 8: a conversation opens at its newest message, also one a message to many opened
// behind the one in front.
func TestConversationOpensAtTheNewestMessage(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 120, func(i int) string { return fmt.Sprintf("m%03d %s", i, strings.Repeat("long words wrap ", i%7)) })
	var carolSaid []history.Record
	for i := range 80 {
		carolSaid = append(carolSaid, history.Record{Peer: "c", PeerID: "c", Nick: "Carol", Direction: event.In, Text: fmt.Sprintf("c%02d", i),
			State: history.StateReceived})
	}
	core.hist.AddAll(carolSaid)
	bob, carol := online("b", "Bob", "Dev", bobAddr), online("c", "Carol", "Dev", carolAddr)
	core.peers = []peers.Peer{*bob.Peer, *carol.Peer}
	u.HandleEvent(bob)
	u.HandleEvent(carol)
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	if !atBottom(c) || !inView(c, c.msgs[len(c.msgs)-1].row) {
		t.Fatalf("reopened at %v of %v (view %v)", c.scroll.Offset, c.box.Size(), c.scroll.Size())
	}

	// Message to many, to Bob and Carol, from the Transfers tab.
	u.tabs.Select(u.xferTab)
	u.checked["b"], u.checked["c"] = true, true
	u.messageToMany()
	top := u.Win.Canvas().Overlays().Top()
	entry := findEntry(top)
	if entry == nil {
		t.Fatalf("no text box in %q", deepTexts(top))
	}
	test.Type(entry, "meeting at three")
	test.Tap(findButton(top, "Send"))
	u.settle()
	for _, id := range []string{"b", "c"} {
		c := u.convs[id]
		u.tabs.Select(c.tab)
		last := c.msgs[len(c.msgs)-1]
		if last.text != "meeting at three" || !inView(c, last.row) {
			t.Fatalf("%s's conversation: last %q at %v, view at %v of %v", id, last.text, last.row.Position(), c.scroll.Offset, c.scroll.Size())
		}
	}
	// Scrolled up by the user, it stays there when the window is resized.
	c = u.convs["b"]
	u.tabs.Select(c.tab)
	c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, 400)})
	at := c.scroll.Offset
	u.Win.Resize(fyne.NewSize(880, 620))
	if c.scroll.Offset.Y > at.Y+1 && atBottom(c) {
		t.Fatalf("scrolled up to %v, the resize took it to %v", at, c.scroll.Offset)
	}
}

// findEntry returns the first entry under o.
func findEntry(o fyne.CanvasObject) *widget.Entry {
	if e, ok := o.(*widget.Entry); ok {
		return e
	}
	if e, ok := o.(*chatEntry); ok { // a message box (Message to many's)
		return &e.Entry
	}
	if c, ok := o.(*fyne.Container); ok {
		for _, c := range c.Objects {
			if e := findEntry(c); e != nil {
				return e
			}
		}
		return nil
	}
	if w, ok := o.(fyne.Widget); ok {
		for _, c := range test.WidgetRenderer(w).Objects() {
			if e := findEntry(c); e != nil {
				return e
			}
		}
	}
	return nil
}

// Bug 8: a history search result opens its conversation at the message found, however far
// back it is.
func TestHistoryResultScrollsToTheMessage(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 160, func(i int) string { return fmt.Sprintf("m%03d", i) })
	u.showHistory()
	u.histEntry.SetText("m007")
	u.searchHistory("m007")
	u.settle()
	if len(u.histResults) != 1 {
		t.Fatalf("found %d", len(u.histResults))
	}
	u.histList.OnSelected(0)
	u.settle()
	c := u.convs["b"]
	m := c.byID[u.histResults[0].ID]
	if m == nil || u.tabs.Selected() != c.tab {
		t.Fatalf("the record found is not shown (%d messages)", len(c.msgs))
	}
	if !inView(c, m.row) {
		t.Fatalf("m007 at %v, the view at %v of %v", m.row.Position(), c.scroll.Offset, c.scroll.Size())
	}
	// A new message takes the view to it.
	u.HandleEvent(message("b", "Bob", bobAddr, "new", 0))
	if !inView(c, c.msgs[len(c.msgs)-1].row) {
		t.Fatal("a new message is out of view")
	}
}

// Bug 4: a new nickname and a new language saved together: the header shows the new name.
func TestNameAndLanguageSavedTogether(t *testing.T) {
	u, core := newTestUI(t, "en")
	release, _ := holdCalls(t, core, func(string) bool { return true }) // the node takes its time
	st := u.opt.Settings
	st.Nick, st.Group, st.Language = "小王", "研发部", "zh"
	u.applySettings(st)
	if u.self.Text != "小王 · 研发部" {
		t.Fatalf("the header shows %q", u.self.Text)
	}
	release()
	u.settle()
	if u.self.Text != "小王 · 研发部" || core.Self().Nick != "小王" {
		t.Fatalf("the header shows %q, the node %q", u.self.Text, core.Self().Nick)
	}
}
