package gui

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The idler lets Fyne's loop sleep while nothing happens (issue 18: idle CPU under 1 % of a
// core with the message box focused).
//
// Fyne 2.8's desktop driver polls its window 60 times a second whatever happens
// (internal/driver/glfw/loop.go: a ticker, glfw.PollEvents, a check for changes). Each tick
// wakes the main thread, which Go keeps locked to the main goroutine, through two or three
// thread switches: 1.2–1.5 % of a core at rest, measured, the whole of the window's idle cost
// once its cursor stopped blinking. GLFW itself can wait for events
// (glfwWaitEventsTimeout), so while the window is at rest the idler hands Fyne's loop a
// function that waits for the next X or Wayland event, at most idleWait: the loop runs it on
// the main thread like any other function it is given and, when it returns, polls and draws
// as always. Input (keys, the pointer, exposure, the close button) ends the wait at once;
// GLFW runs Fyne's input callbacks inside the wait just as inside its poll. Work for the
// window from FeiGo's other goroutines goes through Post, which wakes the wait
// (glfwPostEmptyEvent, which GLFW allows from any thread). What else hands Fyne's loop a
// function (Fyne's own timers, the tray menu's clicks) waits at most idleWait.
//
// The loop runs freely again for idleBusy after any wait that ended early (something
// happened: more may follow, a tap animates) and while the window animates (a blinking
// cursor, which needs frames without events: ui.UI.Animating).
type idler struct {
	// wait waits for window events, at most the given seconds (glfw.WaitEventsTimeout); wake
	// ends a wait from any goroutine (glfw.PostEmptyEvent). Both need GLFW initialised and
	// not yet terminated: the idler calls them only between start and stop.
	wait func(seconds float64)
	wake func()
	// post hands a function to Fyne's loop (fyne.Do); busy says whether the window animates;
	// both run on Fyne's goroutine.
	post func(func())
	busy func() bool
	now  func() time.Time
	// tid tells the thread the caller runs on (threadID); main is Fyne's main thread's, set by
	// run's caller. GLFW is called from no other: once Fyne's loop has ended, a function
	// handed to it runs on the goroutine that handed it.
	tid  func() int64
	main int64

	mu    sync.RWMutex // held for reading around wake, for writing to change state
	state int          // idleNew, idleRunning or idleStopped

	until atomic.Int64 // unix nanoseconds: the loop runs freely until then
	// waits counts the waits begun and early those that ended before their time (tests and
	// the benchmark's report).
	waits, early atomic.Int64
}

const (
	idleNew = iota
	idleRunning
	idleStopped
)

const (
	// idleWait is the longest wait: what hands Fyne's loop a function without waking it (a
	// click in the tray's menu, Fyne's own timers) waits at most this long. Measured at rest
	// under Xvfb: 200 ms waits used 0.9 % of a core, 500 ms 0.4 %, 1 s 0.2 %; Go's system
	// monitor wakes ~60 times in each wait, while the main thread sits in GLFW's call.
	idleWait = 500 * time.Millisecond
	// idleBusy is how long the loop runs freely after something happened: longer than Fyne's
	// double-tap delay (300 ms), after which a single tap is delivered by a function handed to
	// the loop.
	idleBusy = time.Second
)

// Post runs f on Fyne's goroutine and wakes the loop if it waits. Safe from any goroutine.
func (d *idler) Post(f func()) {
	d.post(f)
	d.wakeUp()
}

// wakeUp ends a wait in progress; before start and after stop it does nothing.
func (d *idler) wakeUp() {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.state == idleRunning {
		d.wake()
	}
}

// stop ends the idling for good, before the app quits: GLFW is terminated after, and must not
// be called then. Safe from any goroutine, Fyne's included; it does not wait.
func (d *idler) stop() {
	d.mu.Lock()
	d.state = idleStopped
	d.mu.Unlock()
}

// quitting returns quit preceded by stop.
func (d *idler) quitting(quit func()) func() {
	return func() {
		d.stop()
		quit()
	}
}

// run hands Fyne's loop a wait whenever the window is at rest, until ctx ends or stop. Call it
// once Fyne's loop runs, on a goroutine of its own, with main set: the app's OnStarted runs on
// Fyne's main thread.
func (d *idler) run(ctx context.Context) {
	d.mu.Lock()
	if d.state == idleNew {
		d.state = idleRunning
	}
	d.mu.Unlock()
	done := make(chan struct{}, 1)
	for {
		if free := time.Duration(d.until.Load() - d.now().UnixNano()); free > 0 {
			t := time.NewTimer(free)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		d.post(func() {
			defer func() { done <- struct{}{} }()
			d.waitOnce()
		})
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
		d.mu.RLock()
		stopped := d.state == idleStopped
		d.mu.RUnlock()
		if stopped {
			return
		}
	}
}

// waitOnce waits for window events unless the window animates or the idler stopped. It runs
// on Fyne's goroutine (or, once Fyne's loop has ended, on the caller's: then it sees stop).
func (d *idler) waitOnce() {
	d.mu.RLock()
	running := d.state == idleRunning
	d.mu.RUnlock()
	if !running || d.tid() != d.main {
		return
	}
	if d.busy() {
		d.freeFor(idleBusy)
		return
	}
	d.waits.Add(1)
	start := d.now()
	d.wait(idleWait.Seconds())
	if d.now().Sub(start) < idleWait*9/10 {
		d.early.Add(1)
		d.freeFor(idleBusy)
	}
}

func (d *idler) freeFor(t time.Duration) { d.until.Store(d.now().Add(t).UnixNano()) }
