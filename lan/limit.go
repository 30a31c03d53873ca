package lan

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
	peersRefused atomic.Uint64
}

// Stats counts what the node refused or dropped to protect itself and others on the LAN.
type Stats struct {
	// PeersRefused counts entries the peer table had no room for (peers.ErrFull,
	// peers.ErrAddrFull): not listed, not answered.
	PeersRefused uint64 `json:"peers_refused"`
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{PeersRefused: n.stats.peersRefused.Load()}
}
