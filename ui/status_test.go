package ui

import (
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/profile"
)

// awayCore is a fake node that records the status changes it is asked for.
type awayCore struct {
	*fakeCore
	mu    sync.Mutex
	calls []string
}

func (c *awayCore) SetAway(away bool, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if away {
		c.calls = append(c.calls, "away: "+text)
	} else {
		c.calls = append(c.calls, "online "+text)
	}
}

func (c *awayCore) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// TestSetAwayIsTheStatusSelector: the tray's Online and Away (SetAway) do what the window's
// status selector does: the selector shows the status, the away message saved in the settings
// goes out (not the default one), and OnStatus (the tray's mark) is told, also of a choice made
// in the selector. A language switch keeps the status shown.
func TestSetAwayIsTheStatusSelector(t *testing.T) {
	core := &awayCore{fakeCore: newFakeCore(t)}
	core.self = ipmsg.Entry{Nick: "王芳", Group: "财务部"}
	var told []bool
	u := newTestWindow(t, test.NewTempApp(t), core, Options{
		Settings: profile.Settings{Language: "en", AwayText: "在开会，稍后回复"},
		OnStatus: func(away bool) { told = append(told, away) },
	})
	u.SetAway(true)
	u.settle()
	if got := core.got(); !slices.Equal(got, []string{"away: 在开会，稍后回复"}) {
		t.Fatalf("the core was asked %q", got)
	}
	if u.status.Selected != "Away" || !u.Away() || !slices.Equal(told, []bool{true}) {
		t.Fatalf("selector %q, Away() %v, told %v", u.status.Selected, u.Away(), told)
	}
	u.SetAway(true) // already away: nothing new
	u.SetAway(false)
	u.settle()
	if got := core.got(); !slices.Equal(got, []string{"away: 在开会，稍后回复", "online "}) {
		t.Fatalf("the core was asked %q", got)
	}
	if u.status.Selected != "Online" || u.Away() || !slices.Equal(told, []bool{true, false}) {
		t.Fatalf("selector %q, Away() %v, told %v", u.status.Selected, u.Away(), told)
	}

	// Chosen in the window: the tray is told.
	u.status.SetSelected("Away")
	u.settle()
	if !u.Away() || !slices.Equal(told, []bool{true, false, true}) || len(core.got()) != 3 {
		t.Fatalf("Away() %v, told %v, core %q", u.Away(), told, core.got())
	}
	// A language switch rebuilds the selector: it still says away, and nothing is announced.
	st := u.Settings()
	st.Language = "zh"
	u.applySettings(st)
	u.settle()
	if u.status.Selected != "离开" || !u.Away() || len(core.got()) != 3 || len(told) != 3 {
		t.Fatalf("after the switch: selector %q, Away() %v, core %q, told %v", u.status.Selected, u.Away(), core.got(), told)
	}
	u.SetAway(false)
	u.settle()
	if u.status.Selected != "在线" || core.got()[3] != "online " {
		t.Fatalf("selector %q, core %q", u.status.Selected, core.got())
	}
}

// TestCloseQuitsInSettings: the Settings dialog's checkbox reaches the settings saved and the
// ones the app reads when the window is closed.
func TestCloseQuitsInSettings(t *testing.T) {
	var saved []profile.Settings
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{
		Settings: profile.Settings{Language: "en", AwayText: "lunch"},
		Save:     func(s profile.Settings) error { saved = append(saved, s); return nil },
	})
	u.showSettings()
	top := u.Win.Canvas().Overlays().Top()
	box := findCheck(top, "Closing the window quits FeiGo (instead of keeping it in the tray)")
	if box == nil || box.Checked {
		t.Fatalf("checkbox %v in %v", box, deepTexts(top))
	}
	test.Tap(box)
	test.Tap(findButton(top, "Save"))
	u.settle()
	if !u.Settings().CloseQuits || len(saved) != 1 || !saved[0].CloseQuits || saved[0].AwayText != "lunch" {
		t.Fatalf("settings %+v, saved %+v", u.Settings(), saved)
	}
}

// findCheck returns the checkbox labelled text under o.
func findCheck(o fyne.CanvasObject, text string) *widget.Check {
	if c, ok := o.(*widget.Check); ok && c.Text == text {
		return c
	}
	var under []fyne.CanvasObject
	if w, ok := o.(fyne.Widget); ok {
		under = test.WidgetRenderer(w).Objects()
	} else if c, ok := o.(*fyne.Container); ok {
		under = c.Objects
	}
	for _, c := range under {
		if found := findCheck(c, text); found != nil {
			return found
		}
	}
	return nil
}

// TestHiddenWindowIsNotInFront (issue 18, bug 1): a window hidden to the tray is not in front,
// though Fyne does not say so and may still report it focused: a message for the conversation on
// screen before counts as unread (title, tray) and is notified. Shown again, it is in front.
func TestHiddenWindowIsNotInFront(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "", bobAddr))
	msg := func(text string) {
		u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: text, Time: time.Now()}})
	}
	msg("hi") // opens the conversation, in front
	if u.Unread() != 0 {
		t.Fatalf("unread %d with the conversation in front", u.Unread())
	}
	u.Hide()
	// A focus event Fyne reports after the window went (the window manager's key grab ending).
	if lc, ok := u.app.Lifecycle().(interface{ OnEnteredForeground() func() }); ok {
		lc.OnEnteredForeground()()
	} else {
		t.Fatalf("cannot play a focus event on %T", u.app.Lifecycle())
	}
	test.AssertNotificationSent(t, fyne.NewNotification("New message from Bob", "still there?"), func() { msg("still there?") })
	if u.Unread() != 1 || u.Win.Title() != "FeiGo (1)" {
		t.Fatalf("hidden: unread %d, title %q", u.Unread(), u.Win.Title())
	}
	u.Show()
	test.AssertNotificationSent(t, nil, func() { msg("back") })
}

// `feigo away` and `feigo back` through the control socket change the node's status: the
// window's selector and the tray follow (self_updated), and the window announces nothing again.
func TestStatusFromElsewhereShown(t *testing.T) {
	core := &awayCore{fakeCore: newFakeCore(t)}
	core.self = ipmsg.Entry{Nick: "王芳"}
	var told []bool
	u := newTestWindow(t, test.NewTempApp(t), core, Options{
		Settings: profile.Settings{Language: "en"},
		OnStatus: func(away bool) { told = append(told, away) },
	})
	core.fakeCore.mu.Lock()
	core.self.Away, core.self.AwayText = true, "lunch"
	core.fakeCore.mu.Unlock()
	fyne.DoAndWait(func() {
		u.apply(lan.Event{Type: event.SelfUpdated, Self: &lan.SelfState{Away: true, AwayText: "lunch"}})
	})
	u.settle()
	if u.status.Selected != "Away" || !u.Away() || !slices.Equal(told, []bool{true}) {
		t.Fatalf("after feigo away: selector %q, Away() %v, tray told %v", u.status.Selected, u.Away(), told)
	}
	if got := core.got(); len(got) != 0 {
		t.Fatalf("the window announced the status again: %q", got)
	}
	core.fakeCore.mu.Lock()
	core.self.Away = false
	core.fakeCore.mu.Unlock()
	fyne.DoAndWait(func() { u.apply(lan.Event{Type: event.SelfUpdated, Self: &lan.SelfState{}}) })
	u.settle()
	if u.status.Selected != "Online" || u.Away() || len(core.got()) != 0 {
		t.Fatalf("after feigo back: selector %q, calls %q", u.status.Selected, core.got())
	}
}
