package lan

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"feigo/ipmsg"
)

// limiter is a token bucket per key (an IP address, usually). Each key's bucket holds up to
// burst tokens and regains rate tokens a second; allow takes tokens if there are enough.
// earn adds tokens beyond burst, up to ceil: the reply budget's credit for bytes received.
//
// It remembers at most maxKeys keys, so spoofed source addresses cannot grow it: prune
// forgets keys whose bucket has refilled (a full bucket is as good as none), and a new key
// in a full map pushes out an arbitrary one, which starts afresh when it comes back.
type limiter[K comparable] struct {
	rate, burst, ceil float64
	maxKeys           int
	// key, when set, maps a key to the one it counts under (an IPv6 address to its /64:
	// limitKey).
	key func(K) K

	mu sync.Mutex
	b  map[K]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxLimiterKeys bounds each limiter's memory (a few hundred KiB at most).
const maxLimiterKeys = 8192

// newLimiter allows burst at once and one more every per.
func newLimiter[K comparable](burst int, per time.Duration) *limiter[K] {
	return &limiter[K]{rate: float64(time.Second) / float64(per), burst: float64(burst), ceil: float64(burst),
		maxKeys: maxLimiterKeys, b: map[K]*bucket{}}
}

// newAddrLimiter is newLimiter keyed by source address, an IPv6 address counting under its
// /64 (limitKey).
func newAddrLimiter(burst int, per time.Duration) *limiter[netip.Addr] {
	l := newLimiter[netip.Addr](burst, per)
	l.key = limitKey
	return l
}

// get returns k's bucket, refilled to now; the caller holds mu.
func (l *limiter[K]) get(k K, now time.Time) *bucket {
	b, ok := l.b[k]
	if !ok {
		if len(l.b) >= l.maxKeys {
			for old := range l.b {
				delete(l.b, old)
				break
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.b[k] = b
		return b
	}
	if dt := now.Sub(b.at); dt > 0 {
		if b.tokens < l.burst {
			b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		}
		b.at = now
	}
	return b
}

// allow takes n tokens from k's bucket if it holds them.
func (l *limiter[K]) allow(k K, now time.Time, n float64) bool {
	if l.key != nil {
		k = l.key(k)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(k, now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// earn adds n tokens to k's bucket, up to ceil.
func (l *limiter[K]) earn(k K, now time.Time, n float64) {
	if l.key != nil {
		k = l.key(k)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(k, now)
	b.tokens = max(b.tokens, min(l.ceil, b.tokens+n))
}

// prune forgets the keys whose buckets are full again.
func (l *limiter[K]) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.b {
		if l.get(k, now).tokens == l.burst {
			delete(l.b, k)
		}
	}
}

// logEvery is how often one source may cause the same kind of log line: a flood is logged,
// not written out packet by packet.
const logEvery = time.Minute

type logKey struct {
	src  netip.Addr
	what string
}

// warnOnce logs msg at most once per logEvery per source address and kind of line.
func (n *Node) warnOnce(src netip.Addr, msg string, args ...any) {
	if n.logLimit.allow(logKey{src, msg}, n.now(), 1) {
		n.log.Warn(msg, append([]any{"from", src, "next report for it in", logEvery}, args...)...)
	}
}

// stats are the node's counters (see Stats).
type stats struct {
	peersRefused, strangersDropped, repliesDropped atomic.Uint64
	peerMessagesDropped                            atomic.Uint64
	notProved                                      atomic.Uint64
	legacyRefused                                  atomic.Uint64
	channelsDialled                                atomic.Uint64 // channels to peers opened (tests)
	proofsDialled, helloProofs                     atomic.Uint64
	datagramsSent                                  atomic.Uint64
	readRefused                                    atomic.Uint64
	learnRefused, learntGreeted, exchanges         atomic.Uint64
	listsRefused                                   atomic.Uint64
	otherFamily                                    atomic.Uint64
}

// Stats counts what the node refused or dropped to protect itself and others on the LAN.
type Stats struct {
	// PeersRefused counts entries the peer table had no room for (peers.ErrFull,
	// peers.ErrAddrFull): not listed, not answered.
	PeersRefused uint64 `json:"peers_refused"`
	// StrangersDropped counts messages from strangers dropped unacknowledged: over their
	// rate or MaxStrangerDatagram.
	StrangersDropped uint64 `json:"strangers_dropped"`
	// RepliesDropped counts replies and probes not sent: over their destination's budget.
	RepliesDropped uint64 `json:"replies_dropped"`
	// PeerMessagesDropped counts messages from colleagues in the table dropped
	// unacknowledged: over PeerBurst and PeerEvery.
	PeerMessagesDropped uint64 `json:"peer_messages_dropped"`
	// ReadRefused counts read notices (READMSG) not believed: for no message of ours, or
	// not from its recipient.
	ReadRefused uint64 `json:"read_refused"`
	// NotProved counts FeiGo announcements whose sender did not prove the key they name
	// (impostors, or peers gone before the proof): believed in nothing.
	NotProved uint64 `json:"not_proved"`
	// LegacyRefused counts datagrams from clients that cannot encrypt, dropped because
	// Config.RefuseLegacy is set.
	LegacyRefused uint64 `json:"legacy_refused,omitempty"`
	// ProofsDialled counts the TLS handshakes this node opened to prove a colleague's key;
	// HelloProofs the colleagues proved by the handshake they opened to prove this node's
	// (a pair of FeiGo nodes needs one handshake, not one each way).
	ProofsDialled uint64 `json:"proofs_dialled"`
	HelloProofs   uint64 `json:"hello_proofs"`
	// DatagramsSent counts the UDP datagrams the node sent (every kind).
	DatagramsSent uint64 `json:"datagrams_sent"`
	// Exchanges counts the peer exchanges this node asked for that were answered (reach.go);
	// LearntGreeted the addresses learnt from them that it greeted; LearnRefused the
	// addresses in lists it would not greet (outside the ranges, its own subnets, over the
	// list's length).
	Exchanges     uint64 `json:"exchanges,omitempty"`
	LearntGreeted uint64 `json:"learnt_greeted,omitempty"`
	LearnRefused  uint64 `json:"learn_refused,omitempty"`
	// ListsRefused counts IP Messenger host-list pages ignored: not asked for, or malformed.
	ListsRefused uint64 `json:"lists_refused,omitempty"`
	// OtherFamily counts entries of FeiGo colleagues over the other IP family than the one
	// they are listed at, ignored while they are heard there (a dual-stack LAN, or a forgery).
	OtherFamily uint64 `json:"other_family,omitempty"`
}

// Limits on messages from strangers: senders not in the peer table. Each one costs a
// history write and nothing vouches for it, so it is counted against these before any work
// is done on it (before its text is decoded, before the history); the excess is dropped
// without an acknowledgement, counted (Stats.StrangersDropped) and logged once per source
// per minute. A copy of a message already taken (its acknowledgement was lost) is
// acknowledged again without counting. Peers in the table are not limited.
const (
	// StrangerBurst messages from one source IP address are taken at once, then one every
	// StrangerEvery: 6 a minute.
	StrangerBurst = 5
	StrangerEvery = 10 * time.Second
	// StrangersBurst messages from all strangers together are taken at once, then one
	// every StrangersEvery: 60 a minute.
	StrangersBurst = 30
	StrangersEvery = time.Second
	// MaxStrangerDatagram bounds a stranger's message, in bytes of datagram: iptux reads
	// 8 KiB and FeiGo sends no more, so only IPMsg's longest messages (it allows 32 KiB)
	// from a client that has not announced itself are refused.
	MaxStrangerDatagram = ipmsg.MaxPacket
	// PeerBurst messages from one colleague in the table are taken at once, then one every
	// PeerEvery (20 a second): far more than anyone types or pastes (a 64 KiB text is 8
	// parts) or a script sends, while a host that announced itself cannot grow the history
	// as fast as it can send. What is over is not acknowledged: the sender's retries get it
	// in later.
	PeerBurst = 200
	PeerEvery = 50 * time.Millisecond
	// PeerBytes bytes of messages from one colleague are taken at once, then PeerByteRate
	// a second (about 110 MiB an hour at most, from a host that does nothing else).
	PeerBytes    = 1 << 20
	PeerByteRate = 32 << 10
)

// Limits on what the node sends that its user did not ask for: replies (ANSENTRY, RECVMSG,
// automatic replies, SENDINFO, SENDABSENCEINFO, the BR_ENTRY that asks a stranger who it
// is) and liveness probes. A datagram's source address can be forged, so without them the
// node would reflect an attacker's datagrams, amplified, at whoever owns that address. They
// are kept per destination IP address; what does not fit is not sent, but counted
// (Stats.RepliesDropped) and logged once per destination per minute. What the user asks
// for (messages, files, announcements, goodbyes) is not limited.
const (
	// ReplyAllowance is the byte budget an address starts with and regains, ReplyRefill
	// bytes a second; every datagram received from it adds its own size, up to ReplyCredit.
	// So, over time, an address is sent little more than it sent: a colleague's messages pay
	// for their acknowledgements, a forged address's budget runs dry. The allowance is
	// spent once and then regained slowly; 4 KiB acknowledges a burst of 60 of an IPMsg
	// peer's shortest messages (each half the size of our acknowledgement) at once.
	ReplyAllowance = 4 << 10
	ReplyRefill    = 64
	ReplyCredit    = 16 << 10
	// ControlBurst replies other than acknowledgements go to one address at once, then one
	// every ControlEvery: every client of a host (peers.MaxPerAddr) can be answered when
	// they all start, but a burst of forged entries earns its address 8 answers, not one
	// each.
	ControlBurst = 8
	ControlEvery = 5 * time.Second
)

// reply sends p to to, which asked for it (or, for a probe, which the node asks), if it fits
// to's budgets: its bytes always, and a control reply (not an acknowledgement or a probe) its
// count too.
func (n *Node) reply(to netip.AddrPort, p ipmsg.Packet, control bool) {
	b := n.marshal(p)
	if b == nil {
		return
	}
	now := n.now()
	switch {
	case control && !n.controlLimit.allow(to.Addr(), now, 1):
	case !n.replyBudget.allow(to.Addr(), now, float64(len(b))):
	default:
		n.send(to, b)
		return
	}
	n.stats.repliesDropped.Add(1)
	n.warnOnce(to.Addr(), "reply not sent: over the destination's budget", "mode", fmt.Sprintf("%#x", uint32(p.Cmd.Mode())),
		"size", len(b), "dropped in all", n.stats.repliesDropped.Load())
}

// admitPeer decides whether a message from the colleague who (peer ID) is taken; a copy of
// one taken always is.
func (n *Node) admitPeer(who string, key dedupKey, size int) bool {
	if n.dedup.has(key) {
		return true
	}
	now := n.now()
	if n.peerLimit.allow(who, now, 1) && n.peerBytes.allow(who, now, float64(size)) {
		return true
	}
	n.stats.peerMessagesDropped.Add(1)
	n.warnOnce(key.addr, "colleague's message dropped: over the limit", "peer", who,
		"dropped in all", n.stats.peerMessagesDropped.Load())
	return false
}

// admitStranger decides, before any work is done on it, whether a message of size bytes
// from a sender not in the table is taken.
func (n *Node) admitStranger(from netip.AddrPort, size int, key dedupKey) bool {
	if n.dedup.has(key) {
		return true // a copy of one taken: acknowledged again, nothing more
	}
	now := n.now()
	reason := ""
	switch {
	case size > MaxStrangerDatagram:
		reason = "too large"
	case !n.strangerLimit.allow(from.Addr(), now, 1):
		reason = "over the limit per source"
	case !n.strangersLimit.allow(struct{}{}, now, 1):
		reason = "over the limit for all strangers"
	default:
		return true
	}
	n.stats.strangersDropped.Add(1)
	n.warnOnce(from.Addr(), "stranger's message dropped", "why", reason, "size", size,
		"dropped in all", n.stats.strangersDropped.Load())
	return false
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{PeersRefused: n.stats.peersRefused.Load(), StrangersDropped: n.stats.strangersDropped.Load(),
		RepliesDropped: n.stats.repliesDropped.Load(), NotProved: n.stats.notProved.Load(),
		LegacyRefused:       n.stats.legacyRefused.Load(),
		PeerMessagesDropped: n.stats.peerMessagesDropped.Load(),
		ProofsDialled:       n.stats.proofsDialled.Load(), HelloProofs: n.stats.helloProofs.Load(),
		DatagramsSent: n.stats.datagramsSent.Load(), ReadRefused: n.stats.readRefused.Load(),
		Exchanges: n.stats.exchanges.Load(), LearntGreeted: n.stats.learntGreeted.Load(),
		LearnRefused: n.stats.learnRefused.Load(), ListsRefused: n.stats.listsRefused.Load(),
		OtherFamily: n.stats.otherFamily.Load()}
}
