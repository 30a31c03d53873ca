package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// TestCursorRests (issue 18, idle CPU): the message box's cursor blinks (Fyne's animation
// runs) while it is focused, stops cursorRest after the last key, steady, and blinks again
// at the next key. It also fails if Fyne's entry no longer has the fields cursor.go reads.
func TestCursorRests(t *testing.T) {
	test.NewTempApp(t)
	var planned []func()
	var waits []time.Duration
	e := newChatEntry(false, func() {})
	e.rest.after = func(d time.Duration, f func()) { waits, planned = append(waits, d), append(planned, f) }
	w := test.NewTempWindow(t, e)
	w.Canvas().Focus(e)
	anim, cur := cursorParts(&e.Entry)
	if anim == nil || cur == nil {
		t.Fatal("no cursor animation found in the focused entry: Fyne's entry changed (cursor.go)")
	}
	if len(planned) != 1 || waits[0] != cursorRest {
		t.Fatalf("focusing planned %d rests (%v)", len(planned), waits)
	}
	test.Type(e, "ni") // keys before the rest: the first plan is stale
	planned[0]()
	if e.rest.rests != nil {
		t.Fatal("the cursor rested though keys came after the rest was planned")
	}
	planned[len(planned)-1]()
	if e.rest.rests != anim || cur.FillColor == nil {
		t.Fatalf("the cursor does not rest: %v", e.rest.rests)
	}
	if _, _, _, a := cur.FillColor.RGBA(); a != 0xffff {
		t.Errorf("the resting cursor is not opaque: %v", cur.FillColor)
	}
	test.Type(e, "h")
	if e.rest.rests != nil {
		t.Fatal("a key does not wake the cursor")
	}
	if again, _ := cursorParts(&e.Entry); again != anim {
		t.Fatal("the cursor's animation changed")
	}
	w.Canvas().Unfocus()
	if gone, _ := cursorParts(&e.Entry); gone != nil {
		t.Fatal("the unfocused entry still has an animation")
	}
}
