package room

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRoomSend50 is a message to a room of 50 managers on the in-memory LAN (the fake
// transport calls each member's Handle in the sender's goroutines): the manager's and the
// history's work for one room message, over all 50 members, without the network's.
func BenchmarkRoomSend50(b *testing.B) {
	ctx := context.Background()
	l := &fakeLAN{ms: map[string]*Manager{}, up: map[string]bool{}}
	var ws []*who
	var ms []*Manager
	for i := range 50 {
		w := newWho(b, fmt.Sprintf("m%d", i))
		m, _ := l.add(b, w)
		ws, ms = append(ws, w), append(ms, m)
	}
	s, err := ms[0].Create(ctx, "bench", members(ws[1:]...))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		s, err := ms[0].Send(ctx, s.Room.ID, fmt.Sprintf("message %d", i))
		if err != nil {
			b.Fatal(err)
		}
		if yes, _ := delivered(s); len(yes) != 49 {
			b.Fatalf("delivered to %d", len(yes))
		}
	}
}
