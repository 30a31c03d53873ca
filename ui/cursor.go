package ui

import (
	"image/color"
	"reflect"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// A cursor that rests. Fyne's entry blinks its cursor for as long as it has the focus: a
// fade animation whose frames redraw the whole window, 6–7 % of a core with software
// rendering while nobody types (issue 18). As GTK (cursor-blink-timeout, 10 s) and Windows
// do, the message box's cursor stops blinking, shown steady, after cursorRest without a key
// or a click, and blinks again at the next one.
//
// Fyne 2.8 has no setting for one entry's blinking (only the app-wide "no animations",
// which the user's Fyne settings or a build tag set), so the rest reaches the entry's
// animation through reflection: it reads the fields cursorAnim.anim (a *fyne.Animation, which
// it stops and starts through its exported methods) and cursorAnim.cursor (the
// *canvas.Rectangle it colours). Nothing unexported is written. Where a Fyne version names
// them otherwise, the cursor just blinks as before; TestCursorRests fails then.

// cursorRest is how long the cursor blinks after the last key or click.
const cursorRest = 5 * time.Second

// cursorParts returns the entry's cursor animation (nil when none runs: not focused) and the
// cursor's rectangle, or nils where Fyne's fields are not as expected.
func cursorParts(e *widget.Entry) (*fyne.Animation, *canvas.Rectangle) {
	v := reflect.ValueOf(e).Elem().FieldByName("cursorAnim")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, nil
	}
	anim, cur := v.Elem().FieldByName("anim"), v.Elem().FieldByName("cursor")
	if !anim.IsValid() || anim.Type() != reflect.TypeFor[*fyne.Animation]() ||
		!cur.IsValid() || cur.Type() != reflect.TypeFor[*canvas.Rectangle]() || cur.IsNil() {
		return nil, nil
	}
	return (*fyne.Animation)(anim.UnsafePointer()), (*canvas.Rectangle)(cur.UnsafePointer())
}

// restingCursor stops and restarts an entry's blinking. Its methods run on Fyne's goroutine.
type restingCursor struct {
	entry *widget.Entry
	// after runs a function on Fyne's goroutine after a while (time.AfterFunc + fyne.Do;
	// tests: their own clock).
	after func(time.Duration, func())
	seq   int             // counts the keys and clicks: a rest planned before one is dropped
	rests *fyne.Animation // the animation stopped, to start again
}

// active is a key or a click in the entry (or its focus): the cursor blinks again, and rests
// cursorRest later if nothing else happens.
func (r *restingCursor) active() {
	r.seq++
	if r.rests != nil {
		if anim, _ := cursorParts(r.entry); anim == r.rests {
			anim.Start()
		}
		r.rests = nil
	}
	if r.after == nil {
		return
	}
	seq := r.seq
	r.after(cursorRest, func() {
		if seq == r.seq {
			r.rest()
		}
	})
}

// rest stops the blinking and shows the cursor steady.
func (r *restingCursor) rest() {
	anim, cur := cursorParts(r.entry)
	if anim == nil || r.rests != nil {
		return
	}
	anim.Stop()
	r.rests = anim
	pr, pg, pb, _ := theme.Color(theme.ColorNamePrimary).RGBA()
	cur.FillColor = color.NRGBA{R: uint8(pr >> 8), G: uint8(pg >> 8), B: uint8(pb >> 8), A: 0xff}
	cur.Refresh()
}
