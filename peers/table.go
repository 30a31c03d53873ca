// Package peers is FeiGo's table of the colleagues it can see on the LAN.
//
// It is plain Go with no network or UI code: the lan package feeds it what packets say, the
// UI and the control socket read Snapshot copies and follow changes through Subscribe. Time
// comes from an injected clock so expiry is tested without sleeping.
package peers

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds of the table, so that a flood of announcements (forged ones cost nothing) takes a
// bounded amount of memory. What does not fit is refused: Upsert returns ErrFull or
// ErrAddrFull and changes nothing; peers already in the table keep updating.
const (
	// MaxPeers is the most peers the table holds: a large office LAN, with room to spare.
	MaxPeers = 4096
	// MaxPerAddr is the most peers at one IP address (on different ports): several
	// clients may share a host, a few dozen do not.
	MaxPerAddr = 8
)

// Errors from Upsert for an announcement that does not fit.
var (
	ErrFull     = errors.New("peer table full")
	ErrAddrFull = errors.New("too many peers at one IP address")
)

// Peer is one colleague as last announced. Values returned by the Table are copies.
type Peer struct {
	// ID is stable for a peer: for a FeiGo peer that proved its key, the key's fingerprint
	// (trust.Fingerprint: a colleague is their key); "mac:…" for FeiQ (whose MAC is its
	// identity); the FeiGo ID for FeiGo peers without a key; and the address
	// ("10.0.0.5:2425") for other clients.
	ID       string         `json:"id"`
	Nick     string         `json:"nick"`
	User     string         `json:"user"`
	Host     string         `json:"host"`
	Group    string         `json:"group"`
	Addr     netip.AddrPort `json:"addr"`
	Status   Status         `json:"status"`
	AwayText string         `json:"away_text,omitempty"`
	Client   string         `json:"client"`
	Version  string         `json:"version"`
	Encoding string         `json:"encoding"`
	// UTF8 is true when the peer reads UTF-8 with UTF8OPT.
	UTF8      bool      `json:"utf8"`
	Caps      []string  `json:"caps,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Key is a FeiGo peer's identity key (Ed25519) and Fingerprint its fingerprint, once
	// the peer has proved it (Secure): answered over TLS with it at this address. Verified
	// is set when the user compared the safety code. Warning says why this peer is not
	// who it may look like (it claims the name of a colleague pinned to another key).
	Key         []byte `json:"-"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Secure      bool   `json:"secure"`
	Verified    bool   `json:"verified"`
	Warning     string `json:"warning,omitempty"`
	// KeyChanged is set when the name (FeiGo ID) this peer claims is pinned to another key
	// that the user verified: the colleague's key changed (a reinstall), or this is someone
	// taking their place. The window asks the user to verify again, in a dialog.
	KeyChanged bool `json:"key_changed,omitempty"`
	// PinName is the name (FeiGo ID) the key is pinned under, or claims.
	PinName string `json:"-"`
	// Icon is the picture the colleague set (iptux's IPTUX_SENDICON), a file of the
	// profile's icon store; "" for none. The table never sets it: the node does.
	Icon string `json:"icon,omitempty"`
}

// Status is a peer's presence.
type Status string

// The statuses a peer can be in while it is in the table.
const (
	Online Status = "online"
	Away   Status = "away"
)

func (p Peer) clone() Peer {
	p.Caps = slices.Clone(p.Caps)
	p.Key = slices.Clone(p.Key)
	return p
}

// entry is a peer in the table with its liveness state.
type entry struct {
	Peer
	// confirmed: it answered us (an ANSENTRY to a probe or our broadcast, an
	// acknowledgement of our message), so it is worth probing on schedule. A peer only ever
	// heard announcing itself may be anyone's forgery with anyone's address.
	confirmed bool
	heard     int       // packets from it (entries and others), counted up to maxHeard
	asked     bool      // probed, and no answer since
	probes    int       // probes sent
	probedAt  time.Time // the last one
}

// maxHeard caps entry.heard; only its comparison with a handful of probes matters.
const maxHeard = 1 << 10

// Change says what happened to a peer.
type Change string

// The changes a subscriber is told about.
const (
	Joined  Change = "online"
	Updated Change = "updated"
	Left    Change = "offline"
)

// Event is one change to the table, with the peer as it is after the change (as it was, for Left).
type Event struct {
	Change Change
	Peer   Peer
}

// Table is the peer table. It is safe for concurrent use. Subscribers are called in the
// order changes happened, from the goroutine that made the change; they may read the table
// but must not change it or block. Lookups by ID and by address cost the same whatever the
// table holds.
type Table struct {
	now func() time.Time

	mu     sync.Mutex
	byID   map[string]*entry
	byAddr map[netip.AddrPort]*entry // one peer per address: a newcomer takes it over
	perIP  map[netip.Addr]int        // peers at each IP address, for MaxPerAddr
	// emitMu is held by every change from before it is made until it is delivered, so
	// subscribers see changes in the order they happened. Lock order: emitMu, then mu.
	emitMu sync.Mutex
	subs   map[int]func(Event)
	nextID int
}

// New returns an empty table reading time from now (time.Now when nil).
func New(now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	return &Table{now: now, byID: map[string]*entry{}, byAddr: map[netip.AddrPort]*entry{},
		perIP: map[netip.Addr]int{}, subs: map[int]func(Event){}}
}

// Subscribe calls fn for every later change until the returned cancel function is called.
func (t *Table) Subscribe(fn func(Event)) (cancel func()) {
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	id := t.nextID
	t.nextID++
	t.subs[id] = fn
	return func() {
		t.emitMu.Lock()
		delete(t.subs, id)
		t.emitMu.Unlock()
	}
}

// emit delivers evs; the caller holds emitMu.
func (t *Table) emit(evs []Event) {
	for _, ev := range evs {
		for _, fn := range t.subs {
			fn(ev)
		}
	}
}

// add and del keep the indexes; the caller holds mu.
func (t *Table) add(p *entry) {
	t.byID[p.ID] = p
	t.byAddr[p.Addr] = p
	t.perIP[p.Addr.Addr()]++
}

func (t *Table) del(p *entry) {
	delete(t.byID, p.ID)
	if t.byAddr[p.Addr] == p {
		delete(t.byAddr, p.Addr)
	}
	ip := p.Addr.Addr()
	if t.perIP[ip]--; t.perIP[ip] <= 0 {
		delete(t.perIP, ip)
	}
}

// Upsert records an announcement. FirstSeen and LastSeen are set from the clock. A peer
// whose address another peer held before takes that address over: the old entry is removed
// (a legacy client restarted, or a FeiGo peer moved). A new peer that would take the table
// over MaxPeers, or its IP address over MaxPerAddr, is refused with ErrFull or ErrAddrFull
// and nothing changes.
func (t *Table) Upsert(p Peer) (Change, error) {
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	now := t.now()
	p = p.clone()
	var evs []Event
	t.mu.Lock()
	old := t.byID[p.ID]
	holder := t.byAddr[p.Addr]
	if holder == old {
		holder = nil // the peer itself, or nobody
	}
	size, atIP := len(t.byID), t.perIP[p.Addr.Addr()]
	if old == nil {
		size++
	}
	if old == nil || old.Addr.Addr() != p.Addr.Addr() {
		atIP++
	}
	if holder != nil {
		size--
		atIP--
	}
	switch {
	case size > MaxPeers:
		t.mu.Unlock()
		return "", ErrFull
	case atIP > MaxPerAddr:
		t.mu.Unlock()
		return "", ErrAddrFull
	}
	if holder != nil {
		t.del(holder)
		evs = append(evs, Event{Left, holder.clone()})
	}
	change := Joined
	e := &entry{Peer: p}
	if old != nil {
		e.FirstSeen = old.FirstSeen
		change = Updated
		if samePresence(old.Peer, p) {
			change = ""
		}
		e.confirmed, e.heard, e.asked, e.probes, e.probedAt = old.confirmed, old.heard, old.asked, old.probes, old.probedAt
		t.del(old)
	} else {
		e.FirstSeen = now
	}
	e.LastSeen = now
	e.heard = min(e.heard+1, maxHeard)
	t.add(e)
	p = e.Peer
	t.mu.Unlock()
	if change != "" {
		evs = append(evs, Event{change, p.clone()})
	}
	t.emit(evs)
	return change, nil
}

// samePresence reports whether b says nothing new about a (times aside).
func samePresence(a, b Peer) bool {
	return a.Nick == b.Nick && a.User == b.User && a.Host == b.Host && a.Group == b.Group &&
		a.Addr == b.Addr && a.Status == b.Status && a.AwayText == b.AwayText &&
		a.Client == b.Client && a.Version == b.Version && a.Encoding == b.Encoding &&
		a.UTF8 == b.UTF8 && slices.Equal(a.Caps, b.Caps) && a.Secure == b.Secure &&
		a.Verified == b.Verified && a.Warning == b.Warning && a.Fingerprint == b.Fingerprint && a.PinName == b.PinName
}

// Touch records that addr was heard from. It reports whether a peer has that address.
func (t *Table) Touch(addr netip.AddrPort) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.byAddr[addr]; ok {
		p.LastSeen = now
		p.heard = min(p.heard+1, maxHeard)
		return true
	}
	return false
}

// Remove deletes the peer at addr (it said goodbye) and returns it.
func (t *Table) Remove(addr netip.AddrPort) (Peer, bool) {
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	t.mu.Lock()
	gone, ok := t.byAddr[addr]
	if ok {
		t.del(gone)
	}
	t.mu.Unlock()
	if !ok {
		return Peer{}, false
	}
	t.emit([]Event{{Left, gone.clone()}})
	return gone.clone(), true
}

// Quiet returns the peers not heard from for at least d: the ones worth probing.
func (t *Table) Quiet(d time.Duration) []Peer {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Peer
	for _, p := range t.byID {
		if now.Sub(p.LastSeen) >= d {
			out = append(out, p.clone())
		}
	}
	return out
}

// Probe returns the peers due for a liveness probe and records that they are being asked:
// those quiet for at least after and not asked within every, if they are confirmed (they
// have answered us before) or have been asked fewer times than they sent us packets. A
// peer that never answers is thus asked no more often than it spoke: one forged BR_ENTRY
// costs the address it names one probe, not one every few seconds until it expires, while
// an honest client that never speaks unasked (iptux, which sends its broadcast twice) gets
// a second chance if a probe or its answer is lost, answers, and is confirmed.
func (t *Table) Probe(after, every time.Duration) []Peer {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Peer
	for _, e := range t.byID {
		if now.Sub(e.LastSeen) < after || (!e.confirmed && e.probes >= e.heard) ||
			(e.probes > 0 && now.Sub(e.probedAt) < every) {
			continue
		}
		e.asked, e.probes, e.probedAt = true, e.probes+1, now
		out = append(out, e.clone())
	}
	return out
}

// Confirm records an answer from the peer at addr: it is confirmed (probed on schedule
// from now on) if it was asked, by a probe (Probe) or, when asked is true, by the caller
// (an answer to our broadcast, an acknowledgement of our message).
func (t *Table) Confirm(addr netip.AddrPort, asked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byAddr[addr]; ok {
		e.confirmed = e.confirmed || asked || e.asked
		e.asked = false
	}
}

// Expire removes the peers not heard from for at least maxAge and returns them.
func (t *Table) Expire(maxAge time.Duration) []Peer {
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	now := t.now()
	t.mu.Lock()
	var evs []Event
	var gone []Peer
	for _, p := range t.byID {
		if now.Sub(p.LastSeen) >= maxAge {
			t.del(p)
			gone = append(gone, p.clone())
			evs = append(evs, Event{Left, p.clone()})
		}
	}
	t.mu.Unlock()
	t.emit(evs)
	return gone
}

// Clear removes every peer (a refresh starts the list anew) and returns them.
func (t *Table) Clear() []Peer {
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	t.mu.Lock()
	var evs []Event
	var gone []Peer
	for _, p := range t.byID {
		t.del(p)
		gone = append(gone, p.clone())
		evs = append(evs, Event{Left, p.clone()})
	}
	t.mu.Unlock()
	t.emit(evs)
	return gone
}

// Get returns the peer with the given ID.
func (t *Table) Get(id string) (Peer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.byID[id]; ok {
		return p.clone(), true
	}
	return Peer{}, false
}

// ByAddr returns the peer at addr.
func (t *Table) ByAddr(addr netip.AddrPort) (Peer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.byAddr[addr]; ok {
		return p.clone(), true
	}
	return Peer{}, false
}

// Snapshot returns copies of all peers, sorted by group, then nick, then ID.
func (t *Table) Snapshot() []Peer {
	t.mu.Lock()
	out := make([]Peer, 0, len(t.byID))
	for _, p := range t.byID {
		out = append(out, p.clone())
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Peer) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(a.Nick), strings.ToLower(b.Nick)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Len returns the number of peers.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// Find resolves what a user typed to name a peer: an ID, an IP address (with or without
// port), "user@host" or a nickname (case-insensitive). It returns every match, so a caller
// can say which names are ambiguous.
func Find(ps []Peer, query string) []Peer {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil
	}
	tiers := []func(Peer) bool{
		func(p Peer) bool { return p.ID == q },
		func(p Peer) bool {
			if ap, err := netip.ParseAddrPort(q); err == nil {
				return p.Addr == ap
			}
			a, err := netip.ParseAddr(q)
			return err == nil && p.Addr.Addr() == a
		},
		func(p Peer) bool { return strings.EqualFold(p.User+"@"+p.Host, q) },
		func(p Peer) bool { return p.Nick == q },
		func(p Peer) bool { return strings.EqualFold(p.Nick, q) },
	}
	for _, match := range tiers {
		var out []Peer
		for _, p := range ps {
			if match(p) {
				out = append(out, p)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}
