package lan

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	a := netip.MustParseAddr("10.0.0.1")
	l := newLimiter[netip.Addr](3, time.Second)
	for i := range 4 {
		if got := l.allow(a, t0, 1); got != (i < 3) {
			t.Fatalf("take %d: %v", i+1, got)
		}
	}
	if l.allow(a, t0.Add(999*time.Millisecond), 1) || !l.allow(a, t0.Add(time.Second), 1) {
		t.Fatal("one token a second")
	}
	// Refill stops at the burst; earned tokens go beyond it, up to the ceiling.
	l.ceil = 5
	t1 := t0.Add(time.Hour)
	l.earn(a, t1, 100)
	for i := range 6 {
		if got := l.allow(a, t1, 1); got != (i < 5) {
			t.Fatalf("after earning, take %d: %v", i+1, got)
		}
	}
	// Spoofed sources cannot grow it: 20,000 keys leave at most maxKeys.
	l.maxKeys = 100
	for i := range 20000 {
		l.allow(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), t1, 1)
	}
	if len(l.b) > 100 {
		t.Fatalf("%d keys kept", len(l.b))
	}
	// Full buckets are forgotten (they are as good as new); others are kept.
	for range 3 {
		l.allow(a, t1, 1) // a (pushed out by the flood, so afresh) spends its burst
	}
	l.prune(t1.Add(time.Second)) // the flood's keys have refilled, a has not
	if _, ok := l.b[a]; !ok || len(l.b) != 1 {
		t.Fatalf("after prune: %d keys, a kept: %v", len(l.b), ok)
	}
	l.prune(t1.Add(10 * time.Second))
	if len(l.b) != 0 {
		t.Fatalf("%d keys after all refilled", len(l.b))
	}
}
