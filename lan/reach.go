package lan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// Reaching colleagues on other subnets with no master PC. Broadcasts stop at the router; a
// colleague there is heard only by unicast: because someone configured its address
// (Config.Extra), because it was remembered, or because another FeiGo told us of it.
//
// FeiGo peers tell each other whom they list: a peer exchange (CmdPeers) is a FeiGo-only
// request that travels only over the TLS channel of a peer that proved its key, never as a
// datagram, so legacy clients never see it. Its body, and its answer's, is the sender's
// list of colleagues that proved their keys to it, one "address:port" a line. A node
// exchanges with each colleague its broadcasts do not reach (another subnet) when it lists
// it, again whenever a colleague joined its table since (at most once per exchangeMin), and
// at least every exchangeEvery; so what one node knows spreads to every subnet linked to it,
// and everyone ends up listing everyone, directly: when the linking node quits, the others
// keep beating to each other by unicast.
//
// What a list names is only a hint: each address learnt is greeted once (a unicast
// BR_ENTRY) and listed only if it answers from that address and, being a FeiGo, proves its
// key over TLS like any colleague. Against a hostile LAN (a colleague's key proves who they
// are, not that they are honest): a list is read up to MaxShared lines; an address is learnt
// only if it is a private, link-local or configured (Config.ReachRanges, Config.Extra's /24)
// IPv4 unicast address, or a unique local or configured (Config.ReachRanges, the /64 of an
// IPv6 Config.Extra, but for forms that carry an IPv4 address) IPv6 unicast one beyond the
// link, with a port from 1024, not this host's, not one the broadcasts reach,
// not listed already; an address is greeted at most once per learnAgain, at most
// MaxLearned addresses are remembered as greeted or waiting, and greetings leave at most
// learnBurst at once and then one a second (learnEvery), learnPace apart: a list from an
// attacker cannot make the node a datagram cannon. Lists are taken from one colleague at
// most exchangeAskBurst times per exchangeAskEvery.
//
// Colleagues the broadcasts do not reach are remembered in the state folder (reachFile), so
// that the next start greets them with no configuration (greetRemembered); one that did not
// prove a key (listed on a datagram, whose source may be forged) only at an address a list
// could name (farAddr).

// CmdPeers is the command of a peer exchange and its answer; IPMsg, FeiQ and iptux do not use
// it, and it is never sent over UDP.
const CmdPeers ipmsg.Command = 0xE8

const (
	// MaxShared bounds the addresses in one list, either way.
	MaxShared = 256
	// MaxLearned bounds the addresses learnt from lists that are waiting to be greeted or
	// were greeted within learnAgain.
	MaxLearned = 1024
	learnAgain = 10 * time.Minute
	// Greetings of learnt addresses: learnBurst at once, then one per learnEvery; learnPace
	// apart.
	learnBurst = 256
	learnEvery = time.Second
	learnPace  = 10 * time.Millisecond

	exchangeMin      = 5 * time.Second
	exchangeEvery    = 10 * time.Minute
	exchangesPerTick = 8
	exchangeAskBurst = 4
	exchangeAskEvery = 10 * time.Second

	// reachFile, in Config.StateDir, holds the addresses of the colleagues last listed that
	// the broadcasts do not reach (at most MaxRemembered, forgotten after rememberFor).
	reachFile    = "reach.json"
	maxReachFile = 256 << 10
	rememberFor  = 30 * 24 * time.Hour
	saveEvery    = 30 * time.Second
)

// reach is the node's state of peer exchanges, learnt addresses and remembered colleagues.
type reach struct {
	mu      sync.Mutex
	gen     uint64               // bumped each time a colleague joins the table
	last    map[string]exchanged // by peer ID: the last exchange with each colleague
	greeted map[netip.AddrPort]time.Time
	perIP   map[netip.Addr]int // addresses in greeted at each IP address
	queue   []netip.AddrPort
	wake    chan struct{}
	// remembered are the colleagues listed that the broadcasts do not reach, and when they
	// were last listed; dirty, that one was added since the last save.
	remembered map[netip.AddrPort]time.Time
	dirty      bool
	loaded     []netip.AddrPort // read from reachFile at start
}

type exchanged struct {
	at  time.Time
	gen uint64
}

func newReach() reach {
	return reach{last: map[string]exchanged{}, greeted: map[netip.AddrPort]time.Time{}, perIP: map[netip.Addr]int{},
		wake: make(chan struct{}, 1), remembered: map[netip.AddrPort]time.Time{}}
}

// joined notes that a colleague joined: what this node knows changed, worth telling.
func (r *reach) joined() {
	r.mu.Lock()
	r.gen++
	r.mu.Unlock()
}

// sharedList is the body of a peer exchange: the colleagues that proved their keys here,
// but the one at exclude.
func (n *Node) sharedList(exclude netip.AddrPort) []byte {
	var b bytes.Buffer
	k := 0
	for _, p := range n.table.Snapshot() {
		if !p.Secure || p.Addr == exclude || !shareable(p.Addr.Addr()) {
			continue
		}
		if k++; k > MaxShared {
			break
		}
		b.WriteString(p.Addr.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// learnable reports whether an address from a list may be greeted.
func (n *Node) learnable(a netip.AddrPort, targets []netip.AddrPort, covered []netip.Prefix) bool {
	ip := a.Addr()
	if ((*n.locals.Load())[ip] && int(a.Port()) == n.Port()) || n.reached(a, targets, covered) || slices.Contains(targets, a) {
		return false
	}
	return n.farAddr(a, targets)
}

// shareable reports whether a colleague's address means the same on another subnet, so that
// a peer list may name it: any IPv4 address, an IPv6 unicast address beyond the link (not
// link-local, whose zone names an interface of the lister's).
func shareable(ip netip.Addr) bool {
	if ip.Is4() || ip.Is4In6() {
		return true
	}
	return ip.Is6() && ip.Zone() == "" && !ip.IsLinkLocalUnicast() && !ip.IsLoopback() && !ip.IsMulticast() && !ip.IsUnspecified()
}

// farAddr reports whether a is an address a colleague on another subnet may have, as a peer
// list may name it, with a port from 1024: a private, link-local or configured IPv4 unicast
// address (not a network or broadcast one), or a unique local (fc00::/7) or configured IPv6
// one, or one in the /64 of an IPv6 address typed with --broadcast (not one of ipv4Forms,
// which may name any IPv4 host through a translator).
func (n *Node) farAddr(a netip.AddrPort, targets []netip.AddrPort) bool {
	ip := a.Addr()
	if ip.Is6() {
		if a.Port() < 1024 || !shareable(ip) {
			return false
		}
		if ip.IsPrivate() {
			return true
		}
		for _, pf := range n.cfg.ReachRanges {
			if pf.Contains(ip) {
				return true
			}
		}
		if carriesIPv4(ip) {
			return false // only in a configured range: its /64 may hold any IPv4 host
		}
		for _, t := range targets {
			if t.Addr().Is6() && !t.Addr().IsMulticast() {
				if pf, err := t.Addr().WithZone("").Prefix(64); err == nil && pf.Contains(ip) {
					return true
				}
			}
		}
		return false
	}
	if !ip.Is4() || a.Port() < 1024 || ip.IsUnspecified() || ip.IsMulticast() || ip == netip.IPv4Unspecified() {
		return false
	}
	if b := ip.As4(); b[3] == 0 || b[3] == 255 {
		return false // a network or broadcast address of a /24 or larger: a cannon's favourite
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return true
	}
	for _, pf := range n.cfg.ReachRanges {
		if pf.Contains(ip) {
			return true
		}
	}
	for _, t := range targets {
		if pf, err := t.Addr().Prefix(24); err == nil && pf.Contains(ip) {
			return true
		}
	}
	return false
}

// ipv4Forms are the IPv6 ranges whose addresses carry an IPv4 address of anyone's, in their
// low bits, that a translator, relay or tunnel reaches: IPv4-compatible and IPv4-translated
// (::/96, ::ffff:0:0:0/96; ::ffff:0:0/96 is unmapped before), NAT64 (64:ff9b::/96 and the
// local-use 64:ff9b:1::/48) and Teredo (2001::/32, whose /64 holds every client of a relay).
var ipv4Forms = []netip.Prefix{
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0:0/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
}

// carriesIPv4 reports whether ip is in one of ipv4Forms.
func carriesIPv4(ip netip.Addr) bool {
	return slices.ContainsFunc(ipv4Forms, func(pf netip.Prefix) bool { return pf.Contains(ip) })
}

// learn reads a list from the colleague at from and queues the greetings of the addresses
// it may greet.
func (n *Node) learn(body []byte, from netip.AddrPort) {
	targets, covered := n.announceTargets()
	now := n.now()
	queued := 0
	for i, line := range bytes.SplitN(body, []byte{'\n'}, MaxShared+1) {
		if i >= MaxShared {
			n.stats.learnRefused.Add(1)
			break
		}
		a, err := netip.ParseAddrPort(string(bytes.TrimSpace(line)))
		if err != nil {
			continue
		}
		if n.learnAddr(a, from, targets, covered, now) {
			queued++
		}
	}
	if queued > 0 {
		n.log.Debug("colleagues learnt", "from", from, "count", queued)
	}
	n.wakeLearnt(queued)
}

// learnAddr queues the greeting of an address a list from from names, if it may be greeted
// and is not listed, and reports whether it did.
func (n *Node) learnAddr(a, from netip.AddrPort, targets []netip.AddrPort, covered []netip.Prefix, now time.Time) bool {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if a == from {
		return false
	}
	// With no IPv6 socket (--no-ipv6, or no IPv6 here) an IPv6 address is never greeted: it
	// would only take the place and the budget of one that can be.
	if !n.learnable(a, targets, covered) || a.Addr().Is6() && n.conn6 == nil {
		n.stats.learnRefused.Add(1)
		return false
	}
	if _, listed := n.table.ByAddr(a); listed {
		return false
	}
	return n.far.enqueue(a, now)
}

// wakeLearnt tells runLearnt that queued greetings were added.
func (n *Node) wakeLearnt(queued int) {
	if queued > 0 {
		select {
		case n.far.wake <- struct{}{}:
		default:
		}
	}
}

// enqueue queues a greeting of a unless it was greeted (or queued) within learnAgain,
// MaxLearned addresses are held, or peers.MaxPerAddr are held at its IP address.
func (r *reach) enqueue(a netip.AddrPort, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.greeted[a]; ok && now.Sub(at) < learnAgain {
		return false
	}
	if len(r.greeted) >= MaxLearned || r.perIP[a.Addr()] >= peers.MaxPerAddr {
		for k, at := range r.greeted {
			if now.Sub(at) >= learnAgain {
				r.forgetLocked(k)
			}
		}
		if len(r.greeted) >= MaxLearned {
			return false
		}
		if r.perIP[a.Addr()] >= peers.MaxPerAddr {
			// One host on many ports: a list aimed at one victim. As many as the table
			// would list at one address.
			return false
		}
	}
	r.greeted[a] = now
	r.perIP[a.Addr()]++
	r.queue = append(r.queue, a)
	return true
}

// forgetLocked forgets that a was greeted; the caller holds mu.
func (r *reach) forgetLocked(a netip.AddrPort) {
	delete(r.greeted, a)
	if r.perIP[a.Addr()]--; r.perIP[a.Addr()] <= 0 {
		delete(r.perIP, a.Addr())
	}
}

func (r *reach) pop() (netip.AddrPort, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return netip.AddrPort{}, false
	}
	a := r.queue[0]
	r.queue = r.queue[1:]
	if len(r.queue) == 0 {
		r.queue = nil
	}
	return a, true
}

// runLearnt greets the learnt addresses, paced and within the node's greeting budget, until
// ctx ends.
func (n *Node) runLearnt(ctx context.Context) {
	pause := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		a, ok := n.far.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-n.far.wake:
				continue
			}
		}
		for !n.learnLimit.allow(struct{}{}, n.now(), 1) {
			if !pause(learnEvery) {
				return
			}
		}
		if _, listed := n.table.ByAddr(a); !listed {
			n.stats.learntGreeted.Add(1)
			n.sayState(func() { n.reply(a, n.entryTo(a, ipmsg.BrEntry), true) })
		}
		if !pause(learnPace) {
			return
		}
	}
}

// onPeers answers a peer exchange that came over peer's channel: it learns the list and
// answers with its own.
func (n *Node) onPeers(p ipmsg.Packet, peer peers.Peer) ipmsg.Packet {
	if n.cfg.NoExchange || !n.exchangeLimit.allow(peer.ID, n.now(), 1) {
		return n.packet(ipmsg.UTF8, true, ipmsg.NoOperation, nil)
	}
	n.learn(p.Body, peer.Addr)
	return n.packet(ipmsg.UTF8, true, CmdPeers, n.sharedList(peer.Addr))
}

// exchange sends our list to peer over its channel and learns its own from the answer.
func (n *Node) exchange(ctx context.Context, peer peers.Peer) error {
	ans, err := n.request(ctx, peer, n.packet(ipmsg.UTF8, true, CmdPeers, n.sharedList(peer.Addr)))
	if err != nil {
		return err
	}
	if ans.Cmd.Mode() != CmdPeers {
		return fmt.Errorf("no list in the answer (mode %#x)", uint32(ans.Cmd.Mode()))
	}
	n.stats.exchanges.Add(1)
	n.learn(ans.Body, peer.Addr)
	return nil
}

// runReach exchanges lists with the colleagues the broadcasts do not reach and keeps the
// remembered ones (saved in the state folder), once a second, until ctx ends.
func (n *Node) runReach(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSave := n.now()
	defer n.saveReach(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		targets, covered := n.announceTargets()
		now := n.now()
		var due []peers.Peer
		listed := n.table.Snapshot() // not under far.mu: the table's events take it
		n.far.mu.Lock()
		gen := n.far.gen
		for _, p := range listed {
			if n.reached(p.Addr, nil, covered) {
				continue // on a subnet the broadcasts reach (a configured address is not)
			}
			if !p.Secure && !n.farAddr(p.Addr, targets) {
				// Listed on a datagram whose source may be forged: greeted at every start
				// for a month only where a colleague could be.
				continue
			}
			if _, ok := n.far.remembered[p.Addr]; !ok {
				n.far.dirty = true
			}
			n.far.remembered[p.Addr] = now
			if !p.Secure || n.cfg.NoExchange || n.cfg.Identity == nil || len(due) >= exchangesPerTick {
				continue
			}
			last, ok := n.far.last[p.ID]
			if !ok || (last.gen < gen && now.Sub(last.at) >= exchangeMin) || now.Sub(last.at) >= exchangeEvery {
				due = append(due, p)
				n.far.last[p.ID] = exchanged{at: now, gen: last.gen}
			}
		}
		if len(n.far.last) > 4*peers.MaxPeers {
			clear(n.far.last)
		}
		n.trimRememberedLocked(now)
		n.far.mu.Unlock()
		for _, p := range due {
			if err := n.exchange(ctx, p); err != nil {
				n.log.Debug("peer exchange", "with", p.Addr, "err", err)
				continue
			}
			n.far.mu.Lock()
			n.far.last[p.ID] = exchanged{at: now, gen: gen}
			n.far.mu.Unlock()
		}
		if now.Sub(lastSave) >= saveEvery {
			lastSave = now
			n.saveReach(false)
		}
	}
}

// trimRememberedLocked keeps at most MaxRemembered remembered colleagues, the most recent.
func (n *Node) trimRememberedLocked(now time.Time) {
	r := &n.far
	for a, at := range r.remembered {
		if now.Sub(at) > rememberFor {
			delete(r.remembered, a)
		}
	}
	for len(r.remembered) > MaxRemembered {
		var oldest netip.AddrPort
		var at time.Time
		for a, t := range r.remembered {
			if at.IsZero() || t.Before(at) {
				oldest, at = a, t
			}
		}
		delete(r.remembered, oldest)
	}
}

// reachState is reachFile's content.
type reachState struct {
	Peers []rememberedPeer `json:"peers"`
}

type rememberedPeer struct {
	Addr netip.AddrPort `json:"addr"`
	Seen time.Time      `json:"seen"`
}

// loadReach reads the remembered colleagues from the state folder (at most MaxRemembered, the
// most recent first); a missing or damaged file is an empty one.
func (n *Node) loadReach() {
	if n.cfg.StateDir == "" {
		return
	}
	f, err := os.Open(filepath.Join(n.cfg.StateDir, reachFile))
	if err != nil {
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReachFile+1))
	var st reachState
	if err != nil || len(b) > maxReachFile || json.Unmarshal(b, &st) != nil {
		n.log.Warn("remembered colleagues on other subnets: file unreadable, ignored", "file", f.Name())
		return
	}
	slices.SortFunc(st.Peers, func(a, b rememberedPeer) int { return b.Seen.Compare(a.Seen) })
	n.far.mu.Lock()
	defer n.far.mu.Unlock()
	for _, p := range st.Peers {
		a := netip.AddrPortFrom(p.Addr.Addr().Unmap(), p.Addr.Port())
		if len(n.far.loaded) >= MaxRemembered || !shareable(a.Addr()) || a.Port() == 0 || slices.Contains(n.far.loaded, a) {
			continue
		}
		n.far.loaded = append(n.far.loaded, a)
		n.far.remembered[a] = p.Seen
	}
}

// saveReach writes the remembered colleagues to the state folder if one was added since the
// last save, or always (at stop) if any are remembered.
func (n *Node) saveReach(always bool) {
	if n.cfg.StateDir == "" {
		return
	}
	n.far.mu.Lock()
	if !n.far.dirty && (!always || len(n.far.remembered) == 0) {
		n.far.mu.Unlock()
		return
	}
	var st reachState
	for a, at := range n.far.remembered {
		st.Peers = append(st.Peers, rememberedPeer{a, at})
	}
	n.far.dirty = false
	n.far.mu.Unlock()
	slices.SortFunc(st.Peers, func(a, b rememberedPeer) int { return b.Seen.Compare(a.Seen) })
	b, err := json.MarshalIndent(st, "", " ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(n.cfg.StateDir, reachFile), b)
	}
	if err != nil {
		n.log.Error("remembering colleagues on other subnets", "err", err)
	}
}

// writeFileAtomic writes b to path through a temporary file renamed over it.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".reach-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
