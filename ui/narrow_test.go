package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"feigo/event"
	"feigo/lan"
)

// shows reports whether o is on the window's screen now: in the panes' box, at any depth.
func shows(u *testUI, o fyne.CanvasObject) bool {
	return slices.Contains(test.LaidOutObjects(u.panes.box), o)
}

// TestNarrowWindowIsAColumn (issue 18): the window shrinks to a column of ~260 px holding the
// colleague list alone, like FeiQ's; opening a conversation shows it in the list's place with
// a way back; wide again, list and tabs sit side by side.
func TestNarrowWindowIsAColumn(t *testing.T) {
	u, _ := newTestUI(t, "zh")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "hi", Time: time.Now()}})
	if min := u.Win.Content().MinSize(); min.Width > 300 {
		t.Fatalf("the window cannot be narrower than %v", min.Width)
	}
	if _, ok := u.panes.box.Objects[0].(*container.Split); !ok || !shows(u, u.tree) || !shows(u, u.tabs) {
		t.Fatal("a wide window does not show the list and the tabs side by side")
	}
	u.Win.Resize(fyne.NewSize(270, 600))
	u.panes.box.Refresh()
	if !u.panes.narrow || !shows(u, u.tree) || shows(u, u.tabs) {
		t.Fatalf("a narrow window: narrow %v, list %v, tabs %v", u.panes.narrow, shows(u, u.tree), shows(u, u.tabs))
	}
	u.tree.OnSelected("p:b")
	u.settle()
	if shows(u, u.tree) || !shows(u, u.tabs) || !shows(u, u.panes.back) || u.tabs.Selected() != u.convs["b"].tab {
		t.Fatalf("a conversation opened in a narrow window: list %v, tabs %v, back %v", shows(u, u.tree), shows(u, u.tabs), shows(u, u.panes.back))
	}
	if w := u.panes.box.Objects[0].Size().Width; w > 270 {
		t.Errorf("the conversation is %v wide in a 270 px window", w)
	}
	test.Tap(u.panes.back)
	if !shows(u, u.tree) || shows(u, u.tabs) {
		t.Fatal("Colleagues does not go back to the list")
	}
	// A message for the conversation in front while the column shows the list is unread
	// (the row's badge) until the conversation is opened.
	u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "still there?", Time: time.Now()}})
	if u.Unread() != 1 || u.convs["b"].unread != 1 {
		t.Fatalf("a message behind the list: unread %d", u.Unread())
	}
	u.tree.OnSelected("p:b")
	u.settle()
	if u.Unread() != 0 {
		t.Fatalf("opened from the list: unread %d", u.Unread())
	}
	test.Tap(u.panes.back)
	u.Win.Resize(fyne.NewSize(980, 640))
	u.panes.box.Refresh()
	if u.panes.narrow || !shows(u, u.tree) || !shows(u, u.tabs) || shows(u, u.panes.back) {
		t.Fatal("wide again, the window does not show the list and the tabs")
	}
}

// TestRowTextLeavesTheBadgeAndLockVisible (issue 18, seen in the screenshots): in a list
// narrower than a colleague's line, the line is cut short and the unread badge and the lock
// at the right stay clear of it (they were drawn over the address).
func TestRowTextLeavesTheBadgeAndLockVisible(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "hi", Time: time.Now()}})
	u.convs["b"].unread = 2
	row := u.treeCreate(false)
	u.treeUpdate("p:b", false, row)
	row.Resize(fyne.NewSize(260, row.MinSize().Height))
	r := rowParts(row)
	text, badge, lock := r.text, r.badge, r.lock
	if badge.Text != "● 2" || !lock.Visible() {
		t.Fatalf("badge %q, lock shown %v", badge.Text, lock.Visible())
	}
	right := row.(*fyne.Container).Objects[2]
	if end := text.Position().X + text.Size().Width; end > right.Position().X {
		t.Errorf("the line ends at %v, over the badge at %v", end, right.Position().X)
	}
	if r := right.Position().X + right.Size().Width; r > 260 {
		t.Errorf("the badge and the lock end at %v, outside the 260 px row", r)
	}
}
