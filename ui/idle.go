package ui

import "time"

// animating says that an animation runs for d from now (a nudge's flashing banner): the
// window animates meanwhile. Call it on Fyne's goroutine.
func (u *UI) animating(d time.Duration) {
	if until := time.Now().Add(d); until.After(u.animUntil) {
		u.animUntil = until
	}
}

// Animating reports whether the window may be animating something that needs Fyne's loop to
// draw frames while no event comes: a text box with the focus, whose cursor blinks. The
// message box's cursor stops blinking after cursorRest (cursor.go): resting, it animates
// nothing. A hidden window draws nothing. Call it on Fyne's goroutine.
func (u *UI) Animating() bool {
	if u.hidden {
		return false
	}
	if time.Now().Before(u.animUntil) {
		return true
	}
	f := u.Win.Canvas().Focused()
	if f == nil {
		return false
	}
	if e, ok := f.(*chatEntry); ok {
		return e.rest.rests == nil
	}
	return true // another entry blinks for as long as it has the focus
}
