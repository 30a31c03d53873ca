package ui

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2/dialog"
)

// This file is how the window leaves Fyne's goroutine and comes back: work runs a call to the
// core in the background, do brings a change back, and Close ends both.

// closeWait is how long Close waits for the background calls before abandoning them.
const closeWait = 3 * time.Second

// work runs job on a goroutine of its own with the window's context (cancelled when the
// window closes), then, on Fyne's goroutine, the function job returns, if any, unless the
// window has closed meanwhile. Call work on Fyne's goroutine, reading first whatever job
// needs from the window: job itself touches nothing of the UI.
func (u *UI) work(job func(ctx context.Context) func()) {
	if u.ctx.Err() != nil {
		return
	}
	u.jobs.add(1)
	go func() {
		defer u.jobs.add(-1) // after its result is handed over: see testUI.settle
		if then := job(u.ctx); then != nil {
			u.do(then)
		}
	}()
}

// showErr returns what shows err on Fyne's goroutine, or nil for no error: what a job
// returns when it has nothing else to show.
func (u *UI) showErr(err error) func() {
	if err == nil {
		return nil
	}
	return func() { dialog.ShowError(err, u.Win) }
}

// ShowError shows err in a dialog; it may be called from any goroutine.
func (u *UI) ShowError(err error) { u.do(func() { dialog.ShowError(err, u.Win) }) }

// do runs f on Fyne's goroutine, unless the window has closed: the one way other goroutines
// reach the widgets. f must not call do itself.
func (u *UI) do(f func()) { u.post(func() { u.live(f) }) }

// live runs f unless the window has closed. Functions handed to Fyne run under u.life:
// once Fyne's loop has ended, fyne.Do runs them on the caller's goroutine, and Close must
// know that none runs any more.
func (u *UI) live(f func()) {
	u.life.Lock()
	defer u.life.Unlock()
	if u.closed || u.ctx.Err() != nil {
		return
	}
	f()
}

// Close ends the window's background work: the context of its calls is cancelled, nothing
// more is shown, and Close waits up to closeWait for the calls to return (one stuck in the
// core is abandoned; what it brings back is dropped). Call it after Fyne's loop has ended,
// not from a function handed to Fyne. It is safe to call more than once.
func (u *UI) Close() {
	u.life.Lock()
	u.closed = true
	u.life.Unlock()
	u.stop()
	u.notes.close()
	u.jobs.wait(closeWait)
}

// activity counts work under way and tells a waiter when the count changes.
type activity struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed at the next change
}

func (a *activity) add(d int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n += d
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// quiet reports whether nothing is under way, and returns a channel closed at the next change.
func (a *activity) quiet() (bool, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.n == 0, a.changed
}

// wait waits up to limit for nothing to be under way, and reports whether that happened.
func (a *activity) wait(limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		quiet, changed := a.quiet()
		if quiet {
			return true
		}
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}
