package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"feigo/profile"
)

// These tests drive the message box as Fyne delivers an input method's work on X11 (GLFW
// 3.4 and ibus-libpinyin over XIM, measured with a probe window under Xvfb):
//
//	composing:  KeyDown A, TypedKey A, KeyUp A  (no rune: the input method keeps it) …
//	            KeyDown Return, TypedKey Return (the commit), then one poll later
//	            TypedRune 'a', 'b', 'c', KeyUp Return
//	direct:     KeyDown H, TypedKey H, then one poll later TypedRune 'h', KeyUp H
//	no input method: KeyDown H, TypedKey H, TypedRune 'h' at once

// press is a key press the way Fyne delivers it: down, typed, up; runes are its text, if
// any comes (through an input method they come one poll later, before the key is up or after).
func press(e *chatEntry, k fyne.KeyName, runes string) {
	e.KeyDown(&fyne.KeyEvent{Name: k})
	e.TypedKey(&fyne.KeyEvent{Name: k})
	for _, r := range runes {
		e.TypedRune(r)
	}
	e.KeyUp(&fyne.KeyEvent{Name: k})
}

// compose presses the keys of letters, which the input method keeps.
func compose(e *chatEntry, letters string) {
	for _, l := range strings.ToUpper(letters) {
		press(e, fyne.KeyName(string(l)), "")
	}
}

func imeConv(t *testing.T, enterMode string) (*testUI, *fakeCore, *conv) {
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "zh", EnterMode: enterMode}})
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	return u, core, u.convs["b"]
}

// Bug 2: the Enter that commits a pinyin composition only commits.
func TestEnterThatCommitsACompositionDoesNotSend(t *testing.T) {
	u, core, c := imeConv(t, "")
	e := c.input
	compose(e, "nihao")
	press(e, fyne.KeySpace, "你好") // the space bar picks the first candidate
	compose(e, "abc")
	e.KeyDown(&fyne.KeyEvent{Name: fyne.KeyReturn})
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	if len(core.sent) != 0 || e.Text != "你好" {
		t.Fatalf("the Enter that commits sent %q; the box holds %q", core.sent, e.Text)
	}
	for _, r := range "abc" { // the commit
		e.TypedRune(r)
	}
	e.KeyUp(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if e.Text != "你好abc" {
		t.Fatalf("after the commit the box holds %q", e.Text)
	}
	// The next Enter sends.
	press(e, fyne.KeyReturn, "")
	u.settle()
	if len(core.sent) != 1 || core.sent[0] != "你好abc" || e.Text != "" {
		t.Fatalf("sent %q; the box holds %q", core.sent, e.Text)
	}

	// Typing through the input method without composing (its English mode), and with no
	// input method at all: Enter sends.
	press(e, "H", "")
	e.TypedRune('h') // handed back one poll later
	press(e, "I", "i")
	press(e, fyne.KeyReturn, "")
	u.settle()
	if len(core.sent) != 2 || core.sent[1] != "hi" {
		t.Fatalf("direct typing: sent %q", core.sent)
	}
	// Control+a key types no text, and is no composition.
	e.KeyDown(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	press(e, "K", "")
	e.KeyUp(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	press(e, "O", "o")
	press(e, fyne.KeyReturn, "")
	u.settle()
	if len(core.sent) != 3 || core.sent[2] != "o" {
		t.Fatalf("after Control+K: sent %q", core.sent)
	}
	// A composition cancelled (Escape) costs one Enter at most: the next one sends.
	press(e, "O", "o")
	compose(e, "ma")
	press(e, fyne.KeyEscape, "")
	press(e, fyne.KeyReturn, "")
	press(e, fyne.KeyReturn, "")
	u.settle()
	if len(core.sent) != 4 || core.sent[3] != "o" {
		t.Fatalf("after a cancelled composition: sent %q", core.sent)
	}
	// The focus leaving ends a composition too.
	press(e, "O", "o")
	compose(e, "ma")
	e.FocusLost()
	e.FocusGained()
	press(e, fyne.KeyReturn, "")
	u.settle()
	if len(core.sent) != 5 {
		t.Fatalf("after the focus came back: sent %q", core.sent)
	}
}

// Bug 2, in Ctrl+Enter mode: the Enter that commits breaks no line.
func TestEnterThatCommitsBreaksNoLine(t *testing.T) {
	u, core, c := imeConv(t, "ctrl-enter")
	e := c.input
	compose(e, "abc")
	press(e, fyne.KeyReturn, "abc")
	if e.Text != "abc" {
		t.Fatalf("the box holds %q", e.Text)
	}
	press(e, fyne.KeyReturn, "")
	press(e, "D", "d")
	if e.Text != "abc\nd" {
		t.Fatalf("the box holds %q", e.Text)
	}
	e.TypedShortcut(&desktopCtrlEnter)
	u.settle()
	if len(core.sent) != 1 || core.sent[0] != "abc\nd" {
		t.Fatalf("sent %q", core.sent)
	}
}
