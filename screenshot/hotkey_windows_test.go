//go:build windows

package screenshot

import (
	"context"
	"errors"
	"testing"
	"time"
)

var procKeybdEvent = user32.NewProc("keybd_event")

// pressCtrlAltA types Ctrl+Alt+A as the keyboard would (the system's input queue).
func pressCtrlAltA() {
	const vkControl, vkMenu, keyUp = 0x11, 0x12, 0x2
	for _, vk := range []uintptr{vkControl, vkMenu, 'A'} {
		procKeybdEvent.Call(vk, 0, 0, 0)
	}
	for _, vk := range []uintptr{'A', vkMenu, vkControl} {
		procKeybdEvent.Call(vk, 0, keyUp, 0)
	}
}

// Ctrl+Alt+A pressed anywhere calls f; while FeiGo holds the key a second holder is told it
// is taken; once ctx ends, run returns and the key is free again.
func TestHotkeyWindows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pressed := make(chan struct{}, 10)
	run, err := Hotkey(ctx, func() { pressed <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() { run(); close(ended) }()

	if _, err := Hotkey(ctx, func() {}); !errors.Is(err, ErrHotkeyTaken) {
		t.Fatalf("a second holder of Ctrl+Alt+A: %v, want ErrHotkeyTaken", err)
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	pressCtrlAltA()
wait:
	for {
		select {
		case <-pressed:
			break wait
		case <-tick.C:
			pressCtrlAltA() // the first may come before the loop waits for messages
		case <-deadline:
			t.Fatal("Ctrl+Alt+A did not reach f in 30 s")
		}
	}
	cancel()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after ctx ended")
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	run2, err := Hotkey(ctx2, func() {})
	if err != nil {
		t.Fatalf("Ctrl+Alt+A not let go: %v", err)
	}
	cancel2()
	run2()
}
