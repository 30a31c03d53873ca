package lan

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/peers"
)

// announceTargets are the addresses entry broadcasts go to: each interface's directed
// broadcast address, IP Messenger's IPv6 group on each interface (targets6), and the user's
// extra addresses. covered are the subnets those broadcasts reach.
func (n *Node) announceTargets() (targets []netip.AddrPort, covered []netip.Prefix) {
	if !n.cfg.NoInterfaces {
		subnets, err := announceSubnets(n.cfg.Interfaces, n.cfg.VirtualInterfaces)
		if n.cfg.subnets != nil {
			subnets, err = n.cfg.subnets, nil
		}
		if err != nil {
			n.log.Warn("no broadcast addresses", "err", err)
		}
		for _, pf := range subnets {
			targets = append(targets, netip.AddrPortFrom(Broadcast(pf), uint16(n.Port())))
		}
		covered = subnets
		t6, c6 := n.targets6()
		targets, covered = append(targets, t6...), append(covered, c6...)
	}
	for _, x := range n.cfg.Extra {
		if ap, err := ParseTarget(x, n.Port()); err == nil && !slices.Contains(targets, ap) {
			targets = append(targets, ap)
		}
	}
	return targets, covered
}

// entryCmd is an entry mode with our status flags. FILEATTACHOPT is set when file transfers
// are served; ENCRYPTOPT is not: FeiGo advertises only what it implements.
func (n *Node) entryCmd(mode ipmsg.Command) ipmsg.Command {
	cmd := mode | ipmsg.CapUTF8Opt
	if !n.cfg.NoFiles {
		cmd |= ipmsg.FileAttachOpt
		if n.cfg.ImageDir != "" {
			cmd |= ipmsg.ClipboardOpt // images embedded in messages are shown
		}
	}
	if n.Self().Away {
		cmd |= ipmsg.AbsenceOpt
	}
	return cmd
}

// announce sends an entry packet to the broadcast targets and to each peer in also that
// those broadcasts do not reach (hosts on other subnets that know us by unicast).
func (n *Node) announce(mode ipmsg.Command, also []peers.Peer) {
	targets, covered := n.announceTargets()
	n.announceTo(mode, also, targets, covered)
}

// beat says the node is still there (a BR_ABSENCE with its state, every Config.BeatEvery).
// On a dual-stack LAN it goes over IPv4 only, so that the at-rest count stays one datagram
// per interface and beat whatever the families: colleagues list a dual-stack FeiGo at its
// IPv4 address (listedOverOtherFamily) and hear it there. It goes to IP Messenger's IPv6
// group too where there is no IPv4 broadcast to send it to, or where a colleague is listed
// at an IPv6 address (one heard over IPv6 only, such as on an IPv6-only host).
func (n *Node) beat() {
	all := n.table.Snapshot()
	targets, covered := n.announceTargets()
	has4, listed6 := false, false
	for _, t := range targets {
		if t.Addr().Unmap().Is4() {
			has4 = true
		}
	}
	for _, p := range all {
		if !p.Addr.Addr().Unmap().Is4() {
			listed6 = true
		}
	}
	if has4 && !listed6 {
		targets = slices.DeleteFunc(targets, func(t netip.AddrPort) bool { return t.Addr().Is6() && t.Addr().IsMulticast() })
	}
	n.announceTo(ipmsg.BrAbsence, all, targets, covered)
}

func (n *Node) announceTo(mode ipmsg.Command, also []peers.Peer, targets []netip.AddrPort, covered []netip.Prefix) {
	if !n.bound() {
		return // Run announces the node (with what SetAway or SetName changed) when it starts
	}
	n.announceMu.Lock()
	defer n.announceMu.Unlock()
	if mode == ipmsg.BrEntry {
		n.broadcastAt.Store(n.now().UnixNano())
	}
	// Each datagram is built (again if the state changed) and sent under stateMu, one at a
	// time: a send may wait sendWait when a hostile LAN keeps the send buffer full, and a
	// SetAway waiting for the whole announcement would hold up every entry the read loop
	// answers (stateMu's readers queue behind a waiting writer) for as long.
	var p ipmsg.Packet
	built := ^uint64(0)
	for _, t := range targets {
		n.sayState(func() {
			if built != n.stateGen {
				// BR_* packets never carry UTF8OPT; the UTF-8 names also travel in the trailer.
				p, built = n.packet(ipmsg.UTF8, false, n.entryCmd(mode), ipmsg.EntryBody(ipmsg.UTF8, n.Self())), n.stateGen
			}
			n.write(t, p)
		})
	}
	unicast := 0
	for _, peer := range also {
		if !n.reached(peer.Addr, targets, covered) {
			n.sayState(func() { n.write(peer.Addr, n.entryTo(peer.Addr, mode)) })
			unicast++
		}
	}
	n.log.Debug("announced", "mode", uint32(mode), "targets", len(targets), "unicast", unicast)
}

// sayState runs send, which builds entry packets from the node's state and sends them, with
// no change of the state in between (stateMu).
func (n *Node) sayState(send func()) {
	n.stateMu.RLock()
	defer n.stateMu.RUnlock()
	send()
}

// reached reports whether announcements to targets reach addr: it is one of them, or listens
// on our port on a subnet their broadcasts cover.
func (n *Node) reached(addr netip.AddrPort, targets []netip.AddrPort, covered []netip.Prefix) bool {
	ip := addr.Addr().WithZone("") // a link-local address is on fe80::/10 whatever its zone
	return slices.Contains(targets, addr) || (int(addr.Port()) == n.Port() &&
		slices.ContainsFunc(covered, func(pf netip.Prefix) bool { return pf.Contains(ip) }))
}

// entryPacket is an entry packet for one peer: in cs, with what a client of kind to reads
// (ipmsg.EntryBodyFor), so an answer is no larger than it need be. An ANSENTRY to an IP
// Messenger that reads UTF-8 carries UTF8OPT, as IP Messenger's own answers do: it reads an
// ANSENTRY's nick and group from its sections only (the trailer's NN and GN count for
// BR_ENTRY and BR_ABSENCE), in its code page unless the flag says UTF-8.
func (n *Node) entryPacket(cs ipmsg.Charset, to ipmsg.Client, utf8 bool, mode ipmsg.Command) ipmsg.Packet {
	flag := mode == ipmsg.AnsEntry && to == ipmsg.ClientIPMsg && utf8 && cs == ipmsg.UTF8
	return n.packet(cs, flag, n.entryCmd(mode), ipmsg.EntryBodyFor(cs, n.Self(), to, utf8))
}

// entryTo is an entry packet for the peer at addr, in its encoding and dialect; for an
// address not in the table, one with everything, in UTF-8.
func (n *Node) entryTo(addr netip.AddrPort, mode ipmsg.Command) ipmsg.Packet {
	if p, ok := n.table.ByAddr(addr); ok {
		cs, _ := peerEncoding(p)
		return n.entryPacket(cs, ipmsg.Client(p.Client), p.UTF8, mode)
	}
	return n.packet(ipmsg.UTF8, false, n.entryCmd(mode), ipmsg.EntryBody(ipmsg.UTF8, n.Self()))
}

func (n *Node) onEntry(p ipmsg.Packet, from netip.AddrPort) {
	e := ipmsg.ParseEntry(p, n.cfg.Legacy)
	if n.isSelf(from, &e) {
		return
	}
	if n.listedOverOtherFamily(e, from) {
		n.stats.otherFamily.Add(1)
		return
	}
	var warning string
	if n.cfg.Identity != nil {
		if key, ok := keyOf(e); ok && e.ID != "" {
			n.onKeyedEntry(p, e, key, from)
			return
		}
		if q, ok := n.table.ByAddr(from); ok && q.Secure {
			return // an entry without the key cannot speak for a peer that proved one here
		}
		if n.refuseLegacy.Load() {
			n.stats.legacyRefused.Add(1)
			n.warnOnce(from.Addr(), "a client that cannot encrypt is refused (policy)", "client", string(e.Client))
			return
		}
		if _, pinned := n.cfg.Pins.Get(e.ID); pinned && e.Client == ipmsg.ClientFeiGo {
			// A colleague's FeiGo ID without their key: listed by its address, apart.
			e.ID, warning = "", "uses the FeiGo ID of a colleague without their key"
		}
	}
	peer := peers.Peer{
		Warning: warning,
		ID:      peerID(e, from), Nick: e.Nick, User: e.User, Host: e.Host, Group: e.Group,
		Addr: from, Status: peers.Online, Client: string(e.Client), Version: e.Version,
		Encoding: e.Charset.String(), UTF8: e.UTF8, Caps: e.Caps,
	}
	if e.Away {
		peer.Status, peer.AwayText = peers.Away, e.AwayText
	}
	change, err := n.table.Upsert(peer)
	if err != nil {
		// Not listed, so not answered either: a flood of entries costs it nothing more.
		n.stats.peersRefused.Add(1)
		n.warnOnce(from.Addr(), "peer refused", "err", err, "refused in all", n.stats.peersRefused.Load())
		return
	}
	switch p.Cmd.Mode() {
	case ipmsg.BrEntry:
		// iptux sends two copies of its broadcast with one number; answer one.
		if n.dedup.seen(dedupKey{from.Addr(), string(p.User), p.No, ipmsg.BrEntry}) {
			return
		}
		n.answerEntry(from)
		if n.cfg.Announced != nil {
			n.cfg.Announced(peer)
		}
	case ipmsg.AnsEntry:
		// An answer to our probe, or to our broadcast if that was recent: worth probing.
		n.table.Confirm(from, n.now().Sub(time.Unix(0, n.broadcastAt.Load())) < answerWindow)
		// The peer answered our broadcast, which was in UTF-8. A legacy client that reads
		// only its code page gets our names again in that code page.
		if change == peers.Joined && !e.UTF8 && !isASCII(n.Self().Nick+n.Self().Group) {
			n.sayState(func() { n.reply(from, n.entryTo(from, ipmsg.BrAbsence), true) })
		}
	}
}

// peerID is the table key: the FeiGo ID, FeiQ's MAC, or else the address.
func peerID(e ipmsg.Entry, from netip.AddrPort) string {
	switch {
	case e.Client == ipmsg.ClientFeiGo && e.ID != "":
		return e.ID
	case e.Client == ipmsg.ClientFeiQ && e.ID != "":
		return "mac:" + e.ID
	}
	return from.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// answerWindow is how long after our BR_ENTRY broadcast an ANSENTRY counts as an answer to
// it: IPMsg waits up to 4 s before answering, on large networks.
const answerWindow = 5 * time.Second

// checkLiveness asks peers that have gone quiet to answer, and drops those quiet too long.
// The question is a unicast BR_ENTRY, which every IPMsg client (iptux, FeiQ, IPMsg) answers
// with ANSENTRY, so crashed and unplugged legacy peers are noticed too. A peer that has never
// answered us is asked no more often than it sent us packets (peers.Table.Probe): a forged
// entry costs the address it names one probe, not one every ProbeEvery until it expires.
func (n *Node) checkLiveness() {
	now := n.now()
	for _, p := range n.table.Expire(n.cfg.Expiry) {
		n.log.Info("peer timed out", "nick", p.Nick, "addr", p.Addr, "quiet", now.Sub(p.LastSeen).Round(time.Second))
	}
	for _, p := range n.table.Probe(n.cfg.ProbeAfter, n.cfg.ProbeEvery) {
		n.sayState(func() { n.reply(p.Addr, n.entryTo(p.Addr, ipmsg.BrEntry), false) })
	}
}

// sayGoodbye sends BR_EXIT twice, 100 ms apart as IPMsg does, to the broadcast targets and to
// every known peer directly.
func (n *Node) sayGoodbye() {
	known := n.table.Snapshot()
	for i := range 2 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		n.announce(ipmsg.BrExit, known)
	}
}

// SetAway enters absence mode with text as the automatic reply, or leaves it when away is
// false, and tells the LAN (BR_ABSENCE).
func (n *Node) SetAway(away bool, text string) {
	if !away {
		text = ""
	}
	n.changeSelf(func(self *ipmsg.Entry) { self.Away, self.AwayText = away, text })
}

// changeSelf changes what the node's entries say with change, under stateMu written (no
// entry built before the change goes out after it), then tells the LAN (BR_ABSENCE) and the
// node's owner (self_updated).
func (n *Node) changeSelf(change func(*ipmsg.Entry)) {
	n.stateMu.Lock()
	n.selfMu.Lock()
	change(&n.self)
	n.stateGen++
	n.selfMu.Unlock()
	n.stateMu.Unlock()
	n.announce(ipmsg.BrAbsence, n.table.Snapshot())
	n.emitSelf()
}

// emitSelf tells the node's owner its status and names as they are now (self_updated).
func (n *Node) emitSelf() {
	s := n.Self()
	n.emit(Event{Type: event.SelfUpdated, Self: &SelfState{Nick: s.Nick, Group: s.Group, Away: s.Away, AwayText: s.AwayText}})
}

// SetName changes the nickname and group and tells the LAN (BR_ABSENCE).
func (n *Node) SetName(nick, group string) {
	n.changeSelf(func(self *ipmsg.Entry) { self.Nick, self.Group = nick, group })
}

// Refresh announces the node again (BR_ENTRY) to the broadcast targets and to every known
// peer; peers that do not answer leave the table through the liveness check.
// Refreshes asked for within refreshEvery of the last are coalesced into one, sent when
// that time is up (the housekeeping looks each second): a user or a script pressing refresh
// cannot make the node storm the LAN.
func (n *Node) Refresh() {
	now := n.now()
	n.refreshMu.Lock()
	if now.Sub(n.refreshedAt) < refreshEvery {
		n.refreshPending = true
		n.refreshMu.Unlock()
		return
	}
	n.refreshedAt, n.refreshPending = now, false
	n.refreshMu.Unlock()
	n.announce(ipmsg.BrEntry, n.table.Snapshot())
	n.askLists()
}

// refreshEvery is the least time between two refreshes.
const refreshEvery = 2 * time.Second

// refreshIfPending sends a refresh coalesced by Refresh once its time is up.
func (n *Node) refreshIfPending() {
	n.refreshMu.Lock()
	due := n.refreshPending && n.now().Sub(n.refreshedAt) >= refreshEvery
	n.refreshMu.Unlock()
	if due {
		n.Refresh()
	}
}

// MaxRemembered bounds the remembered addresses greeted at start; RememberedEvery paces them
// (256 take five seconds).
const (
	MaxRemembered   = 256
	RememberedEvery = 20 * time.Millisecond
)

// greetRemembered greets, once at start, the remembered addresses the broadcasts do not reach:
// the colleagues on other subnets last listed (reachFile), then Config.Remembered (those only
// at an address a peer list could name: farAddr).
func (n *Node) greetRemembered(ctx context.Context) {
	targets, covered := n.announceTargets()
	seen := map[netip.AddrPort]bool{}
	greeted := 0
	n.far.mu.Lock()
	all := append(slices.Clone(n.far.loaded), n.cfg.Remembered...) // the colleagues on other subnets first
	loaded := len(n.far.loaded)
	n.far.mu.Unlock()
	for i, a := range all {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if greeted >= MaxRemembered || !shareable(a.Addr()) || a.Port() == 0 || seen[a] || n.reached(a, targets, covered) {
			continue
		}
		if i >= loaded && !n.farAddr(a, targets) {
			// A contact's address: a stranger's message makes one, from a source that may
			// be forged. Greeted only where a colleague could be.
			continue
		}
		seen[a] = true
		if _, listed := n.table.ByAddr(a); listed {
			continue
		}
		n.sayState(func() { n.write(a, n.entryTo(a, ipmsg.BrEntry)) })
		greeted++
		select {
		case <-ctx.Done():
			return
		case <-time.After(RememberedEvery):
		}
	}
	if greeted > 0 {
		n.log.Debug("greeted remembered colleagues", "count", greeted)
	}
}

// listedOverOtherFamily reports whether the FeiGo colleague an entry names is listed at an
// IPv4 address, was heard there within Config.ProbeAfter, and the entry came over IPv6: a
// colleague on a dual-stack LAN announces itself over IPv4 and IPv6 at once, and stays one
// colleague, at its IPv4 address (where its beats come: beat), as long as it is heard there.
// Its IPv6 address is ignored, so it neither moves back and forth nor costs a proof per beat,
// and a forged IPv6 source cannot take its place (it would need to prove its key anyway). One
// listed at its IPv6 address first (that entry came first) moves to its IPv4 address when
// heard there (toIPv4OnLink); should the IPv4 address fall silent, the IPv6 one is taken, as a
// move is.
// Legacy clients are told apart by address: an IP Messenger on both families is listed
// twice, as nothing proves the two are one.
func (n *Node) listedOverOtherFamily(e ipmsg.Entry, from netip.AddrPort) bool {
	if e.Client != ipmsg.ClientFeiGo || e.ID == "" {
		return false
	}
	id := e.ID
	if n.cfg.Identity != nil {
		if key, ok := keyOf(e); ok {
			id = fingerprint(key) // a colleague that proved its key is listed under it
		}
	}
	return n.heardOverOtherFamily(id, from)
}

// heardOverOtherFamily reports whether the peer id is listed at an IPv4 address, was heard
// there within Config.ProbeAfter, and from is IPv6. IPv4 is preferred: a colleague listed at
// an IPv6 address that is heard over IPv4 moves there (proved by dialling, as any move), so
// that a dual-stack LAN settles on IPv4, where beats go (beat).
func (n *Node) heardOverOtherFamily(id string, from netip.AddrPort) bool {
	q, ok := n.table.Get(id)
	return ok && q.Addr.Addr().Unmap().Is4() && !from.Addr().Unmap().Is4() && n.now().Sub(q.LastSeen) < n.cfg.ProbeAfter
}

// sameFamily reports whether a and b are both IPv4 or both IPv6.
func sameFamily(a, b netip.Addr) bool { return a.Unmap().Is4() == b.Unmap().Is4() }
