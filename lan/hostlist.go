package lan

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// IP Messenger's host list (ipmsg/hostlist.go), both ways.
//
// Serving: a BR_ISGETLIST or BR_ISGETLIST2 is answered with OKGETLIST, and a GETLIST with an
// ANSLIST page of the colleagues listed here (every client, the asker left out), unless
// Config.NoHostList. So IP Messenger users on other subnets get FeiGo's list, as from an IP
// Messenger that allows sending its list. A GETLIST is a few bytes and a page up to
// listPageBytes: pages go to one address at most listBytesBurst bytes at once, then
// listBytesBurst per listBytesEvery, and to all together at most listAllBurst bytes per
// listBytesEvery, within the replies' per-address control limit; a forged GETLIST cannot make
// the node a cannon.
//
// Asking: once at start (askListsAt) and at each refresh, the node asks each listed IP
// Messenger client (at most maxListAsks, each at most once per listAskEvery) with a unicast
// BR_ISGETLIST2; one that answers OKGETLIST within listAskWait is sent GETLIST, page after
// page (at most maxListPages pages, maxListHosts hosts, the index going forward). The hosts a
// page names are learnt as a peer exchange's are (reach.go: the same ranges, the same
// greetings, once each, within the same budget), so they are listed only once they answer.
// Pages and OKGETLIST from an address not asked are ignored.
const (
	listPageBytes  = 7000
	listBytesBurst = 32 << 10
	listAllBurst   = 256 << 10
	listBytesEvery = 10 * time.Minute
	maxListAsks    = 16
	listAskEvery   = time.Minute
	listAskWait    = 30 * time.Second
	maxListPages   = 32
	maxListHosts   = 1024
	askListsAt     = 5 // seconds after start
)

type listAsk struct {
	at      time.Time
	started bool
	start   int // the index of the last page asked for
	pages   int
	hosts   int
}

// hostLists are the node's host-list requests under way, by address, and when each address
// was last asked.
type hostLists struct {
	mu    sync.Mutex
	asks  map[netip.Addr]*listAsk
	asked map[netip.Addr]time.Time
}

// onHostList handles the host-list commands from from.
func (n *Node) onHostList(p ipmsg.Packet, from netip.AddrPort) {
	switch p.Cmd.Mode() {
	case ipmsg.BrIsGetList, ipmsg.BrIsGetList2:
		if !n.cfg.NoHostList {
			cs, f := n.encodingFor(from)
			n.reply(from, n.packet(cs, f, ipmsg.OkGetList, nil), true)
		}
	case ipmsg.GetList:
		if !n.cfg.NoHostList {
			n.sendListPage(from, p)
		}
	case ipmsg.OkGetList:
		n.onOkGetList(from)
	case ipmsg.AnsList:
		n.onAnsList(p, from)
	}
}

// sendListPage answers a GETLIST with the page it asks for.
func (n *Node) sendListPage(to netip.AddrPort, p ipmsg.Packet) {
	if !n.controlLimit.allow(to.Addr(), n.now(), 1) {
		// Decided before the page is built: a flood of GETLIST costs the read loop nothing.
		n.stats.repliesDropped.Add(1)
		return
	}
	start, _ := strconv.Atoi(string(bytes.TrimSpace(ipmsg.FirstSection(p.Body))))
	start = max(start, 0)
	var list []peers.Peer
	for _, q := range n.table.Snapshot() {
		if q.Addr != to && q.Addr.Addr().Is4() {
			list = append(list, q)
		}
	}
	// In the order of addresses: pages asked for one after the other fit together.
	slices.SortFunc(list, func(a, b peers.Peer) int { return a.Addr.Compare(b.Addr) })
	cs, utf8 := n.cfg.Legacy, false
	if q, ok := n.table.ByAddr(to); ok {
		cs, _ = peerEncoding(q)
	}
	if p.Cmd.Has(ipmsg.UTF8Opt) || p.Cmd.Has(ipmsg.CapUTF8Opt) {
		cs, utf8 = ipmsg.UTF8, true // IP Messenger answers in UTF-8 an asker that reads it
	}
	var page []ipmsg.HostListEntry
	size := 12
	for i := start; i < len(list); i++ {
		q := list[i]
		status := ipmsg.BrEntry // never 0: a status of 0 (or BR_EXIT) takes the host off the list
		if q.Status == peers.Away {
			status |= ipmsg.AbsenceOpt
		}
		if q.UTF8 {
			status |= ipmsg.CapUTF8Opt
		}
		e := ipmsg.HostListEntry{User: q.User, Host: q.Host, Status: status, IP: q.Addr.Addr().String(), Port: q.Addr.Port(),
			Nick: q.Nick, Group: q.Group}
		line := len(ipmsg.HostListLine(cs, e))
		if size+line > listPageBytes {
			break
		}
		size += line
		page = append(page, e)
	}
	next := start + len(page)
	if next >= len(list) || len(page) == 0 {
		next = 0
	}
	r := n.packet(cs, utf8, ipmsg.AnsList, ipmsg.AnsListBody(cs, next, page))
	b := n.marshal(r)
	if b == nil {
		return
	}
	now := n.now()
	if !n.listBytes.allow(to.Addr(), now, float64(len(b))) ||
		!n.listAll.allow(struct{}{}, now, float64(len(b))) {
		n.stats.repliesDropped.Add(1)
		n.warnOnce(to.Addr(), "host list page not sent: over the budget", "size", len(b))
		return
	}
	n.send(to, b)
}

// askLists asks the listed IP Messenger clients for their host lists.
func (n *Node) askLists() {
	if !n.bound() {
		return
	}
	now := n.now()
	var to []peers.Peer
	n.lists.mu.Lock()
	if n.lists.asks == nil {
		n.lists.asks, n.lists.asked = map[netip.Addr]*listAsk{}, map[netip.Addr]time.Time{}
	}
	for a, ask := range n.lists.asks {
		if now.Sub(ask.at) >= listAskWait {
			delete(n.lists.asks, a)
		}
	}
	for a, at := range n.lists.asked {
		if now.Sub(at) >= listAskEvery {
			delete(n.lists.asked, a)
		}
	}
	for _, q := range n.table.Snapshot() {
		if len(n.lists.asks) >= maxListAsks {
			break
		}
		a := q.Addr.Addr()
		if q.Client != string(ipmsg.ClientIPMsg) || !a.Is4() {
			continue
		}
		if _, recent := n.lists.asked[a]; recent {
			continue
		}
		n.lists.asked[a] = now
		n.lists.asks[a] = &listAsk{at: now}
		to = append(to, q)
	}
	n.lists.mu.Unlock()
	for _, q := range to {
		cs, _ := peerEncoding(q)
		n.sayState(func() {
			p := n.entryPacket(cs, ipmsg.ClientIPMsg, q.UTF8, ipmsg.BrIsGetList2)
			p.Cmd |= ipmsg.RetryOpt // "asked again": answered by any host that allows sending its list
			n.reply(q.Addr, p, true)
		})
	}
}

// onOkGetList asks a host that offered its list (and was asked) for the first page.
func (n *Node) onOkGetList(from netip.AddrPort) {
	n.lists.mu.Lock()
	ask, ok := n.lists.asks[from.Addr()]
	if !ok || ask.started || n.now().Sub(ask.at) >= listAskWait {
		n.lists.mu.Unlock()
		return
	}
	ask.started = true
	n.lists.mu.Unlock()
	cs, f := n.encodingFor(from)
	n.reply(from, n.packet(cs, f, ipmsg.GetList, nil), true)
}

// onAnsList learns the hosts of a page from a host that was asked, and asks for the next.
func (n *Node) onAnsList(p ipmsg.Packet, from netip.AddrPort) {
	n.lists.mu.Lock()
	ask, ok := n.lists.asks[from.Addr()]
	if !ok || !ask.started || n.now().Sub(ask.at) >= listAskWait {
		n.lists.mu.Unlock()
		n.stats.listsRefused.Add(1)
		return
	}
	ask.pages++
	room := maxListHosts - ask.hosts
	n.lists.mu.Unlock()
	cs := n.readCharset(p, from)
	next, _, hosts, err := ipmsg.ParseAnsList(p.Body, cs, min(room, MaxShared))
	if err != nil {
		n.stats.listsRefused.Add(1)
		n.lists.mu.Lock()
		delete(n.lists.asks, from.Addr())
		n.lists.mu.Unlock()
		return
	}
	targets, covered := n.announceTargets()
	now := n.now()
	queued := 0
	for _, h := range hosts {
		if h.Status == 0 || h.Status.Mode() == ipmsg.BrExit {
			continue // "this host left"
		}
		ip, err := netip.ParseAddr(h.IP)
		if err != nil {
			n.stats.learnRefused.Add(1)
			continue
		}
		if n.learnAddr(netip.AddrPortFrom(ip, h.Port), from, targets, covered, now) {
			queued++
		}
	}
	n.wakeLearnt(queued)
	n.lists.mu.Lock()
	defer n.lists.mu.Unlock()
	ask.hosts += len(hosts)
	if next == 0 || next <= ask.start || len(hosts) == 0 || ask.pages >= maxListPages || ask.hosts >= maxListHosts {
		delete(n.lists.asks, from.Addr()) // done (or going nowhere)
		return
	}
	ask.start = next
	ask.at = now
	f := p.Cmd.Has(ipmsg.UTF8Opt)
	n.reply(from, n.packet(cs, f, ipmsg.GetList, []byte(strconv.Itoa(next))), true)
}
