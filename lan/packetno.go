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
	rising uint32 // the last number drawRising gave
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

// drawRising gives the numbers of messages (SENDMSG): each above the one before, by a random
// step of 1 to risingStep, from a random start below 2^30. iptux takes a message only if its
// number is above the last it took from the sender (since the sender's last entry packet,
// which resets that), so a burst of messages with random numbers lost most of them there,
// acknowledged and silently dropped. The steps keep the next number unknown to a host that
// has not seen the last one; it wraps (to a new random start) before 2^31.
func (s *packetNos) drawRising() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	step := 1 + uint32(s.rng.Uint64()%risingStep)
	if s.rising == 0 || s.rising+step >= 1<<31 {
		s.rising = 1 + uint32(s.rng.Uint64()%(1<<30))
		return s.rising
	}
	s.rising += step
	return s.rising
}

// risingStep bounds drawRising's steps: a billion numbers of headroom last two million
// messages before a wrap, which a receiver survives since each of our entry packets resets it.
const risingStep = 512

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
