package lan

import "testing"

// Packet numbers are unpredictable: neither the clock nor the last number says the next one,
// and they never repeat among the recent ones (a repeat would be dropped as a duplicate).
func TestPacketNumbersUnpredictableAndDistinct(t *testing.T) {
	s := newPacketNos()
	const draws = 3 * recentNos
	seen := make(map[uint32]int, draws)
	var prev uint32
	near := 0
	for i := range draws {
		no := s.draw()
		if no == 0 || no >= 1<<31 {
			t.Fatalf("draw %d: %d is 0 or not below 2^31", i, no)
		}
		if j, ok := seen[no]; ok && i-j < recentNos {
			t.Fatalf("%d drawn again after %d draws", no, i-j)
		}
		seen[no] = i
		if d := no - prev; d < 1<<12 || -d < 1<<12 {
			near++ // within 4096 of the previous number: a guess that would hit
		}
		prev = no
	}
	// A uniform draw lands within ±2^12 of the last one with probability 2^13/2^31: 0.19
	// expected here, more than 5 by chance once in a million runs.
	if near > 5 {
		t.Fatalf("%d of %d numbers were within 65536 of the one before: guessable", near, draws)
	}
	// Two nodes started at the same second do not share their numbers.
	a, b := newPacketNos(), newPacketNos()
	same := 0
	for range 100 {
		if a.draw() == b.draw() {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("two nodes drew %d equal numbers in 100", same)
	}
}

// A number still among the recent ones is drawn again, not reused, even when the generator
// gives it.
func TestPacketNumbersRedrawCollision(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	first := seededPacketNos(seed).draw()
	s := seededPacketNos(seed) // gives first again next
	s.recent[first] = struct{}{}
	s.ring[len(s.ring)-1] = first
	if no := s.draw(); no == first {
		t.Fatalf("%d drawn while still recent", no)
	}
}
