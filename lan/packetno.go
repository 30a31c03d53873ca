package lan

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
)

// packetNos draws the numbers of the packets a node sends. They are unpredictable (ChaCha8
// seeded from crypto/rand), so that a host on the LAN cannot guess the number of an offer
// already made, nor fill a peer's duplicate filter with a colleague's next numbers. IPMsg
// needs them only to be distinct among recent packets from one sender: a number is never
// drawn twice among the last recentNos, and never 0; they stay below 2^31, since some
// clients read them with atoi.
type packetNos struct {
	mu     sync.Mutex
	rng    *rand.ChaCha8
	recent map[uint32]struct{} // the numbers in ring
	ring   []uint32
	next   int
}

// recentNos is how many of the last numbers are kept distinct: the size of a receiver's
// duplicate filter, and more than any message's retransmission window uses.
const recentNos = 16384

func newPacketNos() *packetNos {
	var seed [32]byte
	crand.Read(seed[:]) // never fails (Go 1.24+)
	return seededPacketNos(seed)
}

func seededPacketNos(seed [32]byte) *packetNos {
	return &packetNos{rng: rand.NewChaCha8(seed), recent: make(map[uint32]struct{}, recentNos), ring: make([]uint32, recentNos)}
}

func (s *packetNos) draw() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		no := uint32(s.rng.Uint64() & 0x7fffffff)
		if _, dup := s.recent[no]; no == 0 || dup {
			continue
		}
		if old := s.ring[s.next]; old != 0 {
			delete(s.recent, old)
		}
		s.ring[s.next] = no
		s.recent[no] = struct{}{}
		s.next = (s.next + 1) % len(s.ring)
		return no
	}
}
