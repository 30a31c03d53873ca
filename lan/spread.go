package lan

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"feigo/ipmsg"
)

// Answers to announcements are spread on large LANs, as IP Messenger delays its ANSENTRY:
// a node that announces itself to hundreds of colleagues would otherwise get hundreds of
// answers (and the ARP behind them) in the same millisecond. Below spreadFrom colleagues an
// answer goes at once; from there each waits a random time up to spreadPerPeer per colleague
// listed, at most spreadMax.
const (
	spreadFrom    = 50
	spreadPerPeer = 4 * time.Millisecond
	spreadMax     = time.Second
	// maxSpread bounds the answers waiting; beyond it an answer is dropped (counted in
	// Stats.RepliesDropped): a flood of announcements costs no memory. One answer waits
	// per address at most.
	maxSpread = 4096
)

// answerEntry answers an announcement from addr with our entry, at once or a little later.
func (n *Node) answerEntry(to netip.AddrPort) {
	peers := n.table.Len()
	if peers < spreadFrom {
		n.sayState(func() { n.reply(to, n.entryTo(to, ipmsg.AnsEntry), true) })
		return
	}
	wait := rand.N(min(spreadMax, time.Duration(peers)*spreadPerPeer))
	if !n.spread.add(to, time.Now().Add(wait)) {
		n.stats.repliesDropped.Add(1)
	}
}

// spreader holds the answers waiting, by when they are due; runSpread sends them.
type spreader struct {
	mu     sync.Mutex
	due    dueHeap
	queued map[netip.AddrPort]bool // the addresses with an answer in due
	wake   chan struct{}           // one token: an answer due sooner than the timer was set for
}

type dueAnswer struct {
	at time.Time
	to netip.AddrPort
}

type dueHeap []dueAnswer

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueAnswer)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (s *spreader) add(to netip.AddrPort, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued[to] {
		// One answer to an address is waiting already: a flood of announcements from
		// one address takes one place in the queue, not all of it.
		return true
	}
	if len(s.due) >= maxSpread {
		return false
	}
	if s.queued == nil {
		s.queued = map[netip.AddrPort]bool{}
	}
	s.queued[to] = true
	heap.Push(&s.due, dueAnswer{at, to})
	if s.due[0].to == to && s.due[0].at.Equal(at) {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// next pops the answers due by now and returns when the next one is due.
func (s *spreader) next(now time.Time) (due []netip.AddrPort, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.due) > 0 && !s.due[0].at.After(now) {
		to := heap.Pop(&s.due).(dueAnswer).to
		delete(s.queued, to)
		due = append(due, to)
	}
	after = time.Hour
	if len(s.due) > 0 {
		after = s.due[0].at.Sub(now)
	}
	return due, after
}

// runSpread sends the spread answers when due, until ctx ends (those still waiting are
// dropped: the node is leaving).
func (n *Node) runSpread(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		due, after := n.spread.next(time.Now())
		for _, to := range due {
			n.sayState(func() { n.reply(to, n.entryTo(to, ipmsg.AnsEntry), true) })
		}
		t.Reset(after)
		select {
		case <-ctx.Done():
			return
		case <-n.spread.wake:
		case <-t.C:
		}
	}
}
