package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"
)

// TestAnimating (issue 18, idle CPU): the window says it animates while a text box has the
// focus and its cursor blinks, and not once the message box's cursor rests, nothing has the
// focus, or the window is hidden: gui's idler lets Fyne's loop sleep only then.
func TestAnimating(t *testing.T) {
	u, _, c := imeConv(t, "")
	cv := u.Win.Canvas()
	cv.Focus(c.input)     // opening the conversation focused it already, and its cursor rested
	c.input.rest.active() // a key: it blinks (its rest waits in the test's loop)
	if !u.Animating() {
		t.Fatal("the message box blinks, but the window says nothing animates")
	}
	c.input.rest.rest()
	if c.input.rest.rests == nil {
		t.Fatal("the cursor did not rest")
	}
	if u.Animating() {
		t.Fatal("the cursor rests, but the window says it animates")
	}
	c.input.rest.active() // a key: it blinks again
	if !u.Animating() {
		t.Fatal("the cursor blinks again, but the window says nothing animates")
	}
	cv.Unfocus()
	if u.Animating() {
		t.Fatal("nothing has the focus, but the window says it animates")
	}
	other := widget.NewEntry() // a box without a resting cursor (the search, a dialog's)
	c.box.Add(other)
	cv.Focus(other)
	if !u.Animating() {
		t.Fatal("another text box blinks, but the window says nothing animates")
	}
	cv.Unfocus()
	u.animating(time.Minute) // a nudge's banner flashes
	if !u.Animating() {
		t.Fatal("an animation runs, but the window says nothing animates")
	}
	u.Hide()
	if u.Animating() {
		t.Fatal("the window is hidden, but it says it animates")
	}
}
