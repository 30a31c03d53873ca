package gui

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLoop plays Fyne's loop and GLFW for the idler: posted functions run on its own
// goroutine, one at a time (the "main thread", with its thread ID), and wait blocks until a
// wake or its timeout, as glfwWaitEventsTimeout does, or until an "event" comes.
type fakeLoop struct {
	t       *testing.T
	funcs   chan func()
	wakes   chan struct{} // glfwPostEmptyEvent's empty event: kept until a wait takes it
	events  chan struct{} // window events (a key, the pointer)
	waits   chan float64  // each wait begun, with its timeout
	stopped atomic.Bool   // GLFW terminated: a call then is a crash in the real app
	onMain  atomic.Bool
	clock   atomic.Int64 // the fake time, in nanoseconds
	busy    atomic.Bool
	wg      sync.WaitGroup
}

func newFakeLoop(t *testing.T) (*fakeLoop, *idler) {
	l := &fakeLoop{t: t, funcs: make(chan func(), 64), wakes: make(chan struct{}, 1),
		events: make(chan struct{}, 1), waits: make(chan float64, 64)}
	l.clock.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixNano())
	d := &idler{
		wait: l.wait, wake: l.wake, post: func(f func()) { l.funcs <- f },
		busy: l.busy.Load, now: func() time.Time { return time.Unix(0, l.clock.Load()) },
		tid: func() int64 {
			if l.onMain.Load() {
				return 1
			}
			return 2
		},
		main: 1,
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-l.funcs:
				l.onMain.Store(true)
				f()
				l.onMain.Store(false)
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		l.wg.Wait()
	})
	return l, d
}

func (l *fakeLoop) wait(seconds float64) {
	if l.stopped.Load() {
		l.t.Error("GLFW called to wait after it was terminated")
	}
	if !l.onMain.Load() {
		l.t.Error("GLFW called to wait off the main thread")
	}
	l.waits <- seconds
	select {
	case <-l.wakes:
	case <-l.events:
	case <-time.After(10 * time.Second): // the fake clock says otherwise: see advance
	}
}

func (l *fakeLoop) wake() {
	if l.stopped.Load() {
		l.t.Error("GLFW called to wake after it was terminated")
	}
	select {
	case l.wakes <- struct{}{}:
	default:
	}
}

// nextWait returns the timeout of the next wait begun.
func (l *fakeLoop) nextWait() float64 {
	l.t.Helper()
	select {
	case s := <-l.waits:
		return s
	case <-time.After(10 * time.Second):
		l.t.Fatal("the idler began no wait")
		return 0
	}
}

func (l *fakeLoop) noWait(within time.Duration) {
	l.t.Helper()
	select {
	case s := <-l.waits:
		l.t.Fatalf("the idler began a wait (%v s) while it should not", s)
	case <-time.After(within):
	}
}

// TestIdlerWaitsAtRestAndWakes (issue 18, idle CPU): at rest the idler hands Fyne's loop
// waits for window events of idleWait; a function for the window (Post) ends a wait at once
// and runs, then the loop runs freely for idleBusy; while the window animates there is no wait.
func TestIdlerWaitsAtRestAndWakes(t *testing.T) {
	l, d := newFakeLoop(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.run(ctx) })
	defer func() {
		cancel()
		l.wake()
		wg.Wait()
	}()
	if s := l.nextWait(); s != idleWait.Seconds() {
		t.Fatalf("the wait is %v s, want %v", s, idleWait.Seconds())
	}
	// A message for the window arrives: the wait ends and it is shown at once.
	ran := make(chan struct{})
	d.Post(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a function posted for the window did not run while the loop waited: Post does not wake it")
	}
	// The wait ended early: the loop runs freely for idleBusy, on the fake clock.
	l.noWait(200 * time.Millisecond)
	if got := d.early.Load(); got != 1 {
		t.Fatalf("%d waits ended early, want 1", got)
	}
	l.clock.Add(int64(idleBusy)) // the busy second has passed
	l.nextWait()                 // the idler's timer fires on real time: within idleBusy
	// A key: the window's event ends the wait, and the loop runs freely again.
	l.events <- struct{}{}
	l.noWait(200 * time.Millisecond)
	// The cursor blinks: no wait while it does, however long.
	l.busy.Store(true)
	l.clock.Add(int64(idleBusy))
	l.noWait(1500 * time.Millisecond)
	l.busy.Store(false)
	l.clock.Add(int64(idleBusy))
	l.nextWait()
}

// TestIdlerNeverCallsGLFWAfterStop: once stopped (every way of quitting stops it before Fyne
// terminates GLFW), the idler neither waits nor wakes, also when a function handed to the
// loop runs after the loop ended (Fyne then runs it on the caller's goroutine), and run ends.
func TestIdlerNeverCallsGLFWAfterStop(t *testing.T) {
	l, d := newFakeLoop(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		d.run(ctx)
	}()
	l.nextWait()
	quit := d.quitting(func() { l.stopped.Store(true) })
	quit()
	l.events <- struct{}{} // the input that made the user quit ends the wait
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the idler still runs after stop")
	}
	d.Post(func() {}) // a late function for the window: no wake
	d.waitOnce()      // run off the main thread, as after Fyne's loop: no wait
	if n := d.waits.Load(); n != 1 {
		t.Fatalf("%d waits, want 1", n)
	}
}

// TestIdlerWaitsOnlyOnTheMainThread: a wait handed to the loop that runs elsewhere (Fyne's
// loop has ended without a stop) calls nothing; before run, Post does not wake.
func TestIdlerWaitsOnlyOnTheMainThread(t *testing.T) {
	l, d := newFakeLoop(t)
	d.Post(func() {}) // before run: GLFW may not be initialised
	d.mu.Lock()
	d.state = idleRunning
	d.mu.Unlock()
	d.waitOnce() // the test's goroutine is not the main thread
	if n := d.waits.Load(); n != 0 {
		t.Fatalf("%d waits off the main thread", n)
	}
	select {
	case <-l.wakes:
		t.Fatal("Post woke GLFW before the idler ran")
	default:
	}
}
