package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"feigo/profile"
)

// TestBubbles (issue 15): a colleague's message is a bubble on the left after their avatar
// (their initial, on their colour), mine a bubble on the right with no avatar.
func TestBubbles(t *testing.T) {
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(980, 640))
	u.HandleEvent(online("b", "李雷", "Dev", bobAddr))
	u.HandleEvent(message("b", "李雷", bobAddr, "周五的报表", 11))
	u.settle()
	c := u.convs["b"]
	c.input.SetText("收到")
	c.submit()
	u.settle()
	if len(c.msgs) != 2 {
		t.Fatalf("%d messages", len(c.msgs))
	}
	theirs, mine := c.msgs[0].row, c.msgs[1].row
	if x := theirs.Position().X + bubbleX(theirs); x > avatarSize+theme4 {
		t.Errorf("their bubble starts at %v: not on the left after the avatar", x)
	}
	if bubbleX(mine) < bubbleIndent {
		t.Errorf("my bubble starts at %v: not on the right", bubbleX(mine))
	}
	var letters []string
	walk(theirs, func(o fyne.CanvasObject) {
		if tx, ok := o.(*canvas.Text); ok {
			letters = append(letters, tx.Text)
		}
	})
	if len(letters) != 1 || letters[0] != "李" {
		t.Errorf("their avatar shows %q, want 李", letters)
	}
	walk(mine, func(o fyne.CanvasObject) {
		if _, ok := o.(*canvas.Circle); ok {
			t.Error("my message has an avatar")
		}
	})
	if initial("bob") != "B" || initial("  ") != "?" || initial("(王)") != "王" {
		t.Errorf("initials: %q %q %q", initial("bob"), initial("  "), initial("(王)"))
	}
	if avatarColour("id-1") != avatarColour("id-1") {
		t.Error("a colleague's colour changes")
	}
}

const theme4 = 8 // the row's padding, at most

// bubbleX is where the bubble's tint starts in row.
func bubbleX(row fyne.CanvasObject) float32 {
	x := float32(-1)
	walk(row, func(o fyne.CanvasObject) {
		if r, ok := o.(*canvas.Rectangle); ok && r.CornerRadius > 0 && x < 0 {
			x = absX(row, r)
		}
	})
	return x
}

// absX is o's x within root.
func absX(root, o fyne.CanvasObject) float32 {
	var found float32 = -1
	var rec func(n fyne.CanvasObject, off float32)
	rec = func(n fyne.CanvasObject, off float32) {
		if n == o {
			found = off + n.Position().X
			return
		}
		if c, ok := n.(*fyne.Container); ok {
			for _, ch := range c.Objects {
				rec(ch, off+n.Position().X)
			}
		}
	}
	if c, ok := root.(*fyne.Container); ok {
		for _, ch := range c.Objects {
			rec(ch, 0)
		}
	}
	return found
}

// walk calls f for o and everything in it.
func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	if c, ok := o.(*fyne.Container); ok {
		for _, ch := range c.Objects {
			walk(ch, f)
		}
	}
}
