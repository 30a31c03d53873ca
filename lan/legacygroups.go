package lan

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"feigo/ipmsg"
	"feigo/legacygroup"
)

// Legacy group chats (Config.LegacyGroups): FeiQ's rooms on the multicast group 226.81.9.8
// and iptux's group windows. The read loop only hands their datagrams (rate-limited, copied)
// to a queue; one goroutine of Run decodes them (Blowfish for FeiQ) and calls
// Config.OnLegacyGroup. Nothing here is encrypted: see package legacygroup.

// Bounds of the legacy group receive side.
const (
	legacyQueue       = 256                    // datagrams waiting for the decoder; more are dropped
	legacyBurst       = 20                     // datagrams per source at once
	legacyEvery       = 100 * time.Millisecond // and one more per source this often
	legacyAllBurst    = 200                    // datagrams from all sources at once
	legacyAllEvery    = 5 * time.Millisecond   // and one more this often
	maxLegacyDatagram = ipmsg.MaxRoomCipher + 1024
	// The text of room messages delivered, from all senders together: legacyTextBurst
	// bytes at once, then legacyTextRate a second (each is kept in the history).
	legacyTextBurst = 64 << 10
	legacyTextRate  = 4 << 10
)

// LegacyGroups is the node's side of FeiQ's rooms and iptux's group windows: join, leave,
// list and send; what arrives goes to Config.OnLegacyGroup. Its methods are safe for
// concurrent use; sends wait for Run to have joined the multicast group.
type LegacyGroups struct {
	n     *Node
	rooms *legacygroup.Rooms
	mac   string
	in    chan legacyIn
	limit *limiter[netip.Addr]
	all   *limiter[struct{}]
	text  *limiter[struct{}] // bytes of room messages' text delivered
	// Dropped counts datagrams dropped unread: over a rate or the queue full.
	dropped atomic.Uint64

	mcMu   sync.Mutex // IP_MULTICAST_IF is per socket: set and send together
	ifaces []int      // interface indexes joined to the multicast group
	// joined is closed once run has joined the group: room packets wait for it, so that
	// none leaves by the routing table's choice before the interfaces are known.
	joined chan struct{}

	noMu    sync.Mutex
	iptuxNo map[netip.Addr]uint32 // the last number of a group datagram to each iptux
}

type legacyIn struct {
	b    []byte
	from netip.AddrPort
}

var feiqGroup = netip.MustParseAddr(ipmsg.FeiQRoomGroup)

func newLegacyGroups(n *Node) *LegacyGroups {
	mac := strings.ToUpper(strings.NewReplacer(":", "", "-", "").Replace(n.cfg.LegacyMAC))
	if mac == "" {
		mac = firstMAC(n.cfg.Interfaces)
	}
	return &LegacyGroups{n: n, rooms: legacygroup.New(), mac: mac, in: make(chan legacyIn, legacyQueue),
		limit: newAddrLimiter(legacyBurst, legacyEvery), all: newLimiter[struct{}](legacyAllBurst, legacyAllEvery),
		text:    newLimiter[struct{}](legacyTextBurst, time.Second/legacyTextRate),
		iptuxNo: map[netip.Addr]uint32{}, joined: make(chan struct{})}
}

// LegacyGroups returns the node's legacy group chats, or nil when Config.LegacyGroups is off.
func (n *Node) LegacyGroups() *LegacyGroups { return n.groups }

// MAC is the address FeiGo's FeiQ room packets carry, and so their key.
func (g *LegacyGroups) MAC() string { return g.mac }

// Dropped counts the legacy group datagrams dropped unread (over a rate, or the queue full),
// and the messages dropped over the rate of text delivered.
func (g *LegacyGroups) Dropped() uint64 { return g.dropped.Load() }

// wants reports whether a datagram of command cmd is a legacy group's.
func (g *LegacyGroups) wants(cmd ipmsg.Command) bool {
	return ipmsg.FeiQRoomMode(cmd) || cmd.Mode() == ipmsg.IptuxSendMsg
}

// offer queues a copy of b from the read loop, never waiting.
func (g *LegacyGroups) offer(b []byte, from netip.AddrPort) {
	now := g.n.now()
	if len(b) > maxLegacyDatagram || !g.limit.allow(from.Addr(), now, 1) || !g.all.allow(struct{}{}, now, 1) {
		g.dropped.Add(1)
		return
	}
	select {
	case g.in <- legacyIn{b: slices.Clone(b), from: from}:
	default:
		g.dropped.Add(1)
	}
}

// run decodes what offer queued until ctx ends. It joins the multicast group first and
// announces the FeiQ rooms joined before Run.
func (g *LegacyGroups) run(ctx context.Context) {
	if !g.n.cfg.NoInterfaces {
		g.joinMulticast()
	}
	close(g.joined)
	for _, r := range g.rooms.Joined() {
		if s, err := r.ID.Parse(); err == nil && s.Kind == legacygroup.FeiQ {
			g.announceRoom(s.FeiQ, r.Name)
		}
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			g.limit.prune(g.n.now())
		case x := <-g.in:
			g.handle(x)
		}
	}
}

func (g *LegacyGroups) handle(x legacyIn) {
	p, err := ipmsg.Decode(x.b)
	if err != nil {
		return
	}
	sender := legacygroup.Member{Addr: x.from}
	peer, listed := g.n.table.ByAddr(x.from)
	if listed {
		sender.Nick, sender.PeerID = peer.Nick, peer.ID
	}
	now := g.n.now()
	var ev legacygroup.Event
	var ok bool
	if p.Cmd.Mode() == ipmsg.IptuxSendMsg {
		if listed && peer.Secure {
			// FeiGo sends these only to iptux peers, and a peer that proved its key speaks
			// to us over TLS: this one is someone else's, in that colleague's name.
			g.n.stats.notProved.Add(1)
			g.n.log.Debug("iptux group message in the name of a peer that uses TLS dropped", "from", x.from)
			return
		}
		cs := ipmsg.UTF8
		if listed {
			cs, _ = peerEncoding(peer)
		}
		m, err := ipmsg.DecodeIptuxGroupMsg(p, cs)
		if err != nil {
			g.n.log.Debug("iptux group message dropped", "from", x.from, "err", err)
			return
		}
		ev, ok = g.rooms.OnIptux(m, peer.Group, sender, now)
	} else {
		f, err := ipmsg.DecodeFeiQRoom(p)
		if err != nil {
			g.n.log.Debug("FeiQ room packet dropped", "from", x.from, "err", err)
			return
		}
		if f.MAC == g.mac {
			return // our own, from another interface
		}
		ev, ok = g.rooms.OnFeiQ(f, sender, now)
	}
	if ok && ev.Type == legacygroup.RoomMessage && !g.text.allow(struct{}{}, now, float64(len(ev.Text))) {
		// Each message is kept in the history: a flood from many (forged) senders must not
		// fill the disk.
		g.dropped.Add(1)
		g.n.warnOnce(x.from.Addr(), "group message dropped: over the rate of group messages from all senders", "room", ev.Room.ID)
		return
	}
	if ok && g.n.cfg.OnLegacyGroup != nil {
		g.n.cfg.OnLegacyGroup(ev)
	}
}

// JoinFeiQRoom joins FeiQ's room number under name and announces it (0xC9) on the
// multicast group, once Run has joined the group (Run announces the rooms joined before).
func (g *LegacyGroups) JoinFeiQRoom(number uint64, name string) error {
	if err := g.rooms.Join(legacygroup.FeiQRoomID(number), name); err != nil {
		return err
	}
	select {
	case <-g.joined:
		g.announceRoom(number, name)
	default: // run announces it once it has joined the group
	}
	return nil
}

// Keep keeps an iptux room (its window) so that Send may go there before anyone wrote.
func (g *LegacyGroups) Keep(id legacygroup.RoomID) error { return g.rooms.Join(id, "") }

// Leave forgets a room: FeiQ's room's messages are no longer delivered (FeiQ has no leave
// packet: its members simply stop hearing from us).
func (g *LegacyGroups) Leave(id legacygroup.RoomID) { g.rooms.Leave(id) }

// Rooms lists the rooms joined or kept, with their members.
func (g *LegacyGroups) Rooms() []legacygroup.Room { return g.rooms.Joined() }

// Room returns one room, with its members.
func (g *LegacyGroups) Room(id legacygroup.RoomID) (legacygroup.Room, bool) { return g.rooms.Room(id) }

// ErrNotJoined is returned by Send for a room not joined or kept.
var ErrNotJoined = errors.New("not in that group room")

// Send writes text into room id: for a FeiQ room one datagram to the multicast group on
// each interface, for an iptux room one IPTUX_SENDMSG to each of its members (Recipients).
// Neither is acknowledged (FeiQ and iptux do not), so Send returns once the datagrams are
// written: sent is how many. FeiQ's rooms are read in GBK: characters it lacks become '?'.
func (g *LegacyGroups) Send(ctx context.Context, id legacygroup.RoomID, text string) (sent int, err error) {
	spec, err := id.Parse()
	if err != nil {
		return 0, err
	}
	if !g.rooms.IsJoined(id) {
		return 0, fmt.Errorf("%w %s", ErrNotJoined, id)
	}
	if text == "" {
		return 0, errors.New("empty message")
	}
	select {
	case <-g.joined:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-g.n.stopping:
		return 0, ErrNodeClosed
	}
	if spec.Kind == legacygroup.FeiQ {
		self := g.n.Self()
		p, err := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Room: spec.FeiQ, Stamp: strconv.FormatInt(g.n.now().Unix(), 10),
			Text: text, MAC: g.mac, No: g.n.nextNo(), User: headerName(self.User), Host: headerName(self.Host)})
		if err != nil {
			return 0, err
		}
		return g.multicast(p), nil
	}
	to := g.Recipients(id)
	if len(to) == 0 {
		return 0, fmt.Errorf("no iptux member of %s is online", id)
	}
	self := g.n.Self()
	for _, a := range to {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		p, err := ipmsg.IptuxGroupPacket(spec.IptuxKind, ipmsg.UTF8, text)
		if err != nil {
			return sent, err
		}
		p.Version, p.No = versionField, g.nextIptuxNo(a.Addr())
		p.User, p.Host = []byte(headerName(self.User)), []byte(headerName(self.Host))
		if b := g.n.marshal(p); b != nil {
			g.n.send(a, b)
			sent++
		}
	}
	return sent, nil
}

// nextIptuxNo numbers a group datagram to an iptux: iptux shows a datagram only if its number is
// above the last one it took from us, so each iptux gets increasing numbers from a random
// start (below 2^30, so they stay under 2^31 for a billion messages).
func (g *LegacyGroups) nextIptuxNo(a netip.Addr) uint32 {
	g.noMu.Lock()
	defer g.noMu.Unlock()
	no, ok := g.iptuxNo[a]
	if !ok {
		if len(g.iptuxNo) >= maxLimiterKeys {
			clear(g.iptuxNo)
		}
		no = 1 + rand.Uint32N(1<<30)
	}
	no += 1 + rand.Uint32N(64)
	g.iptuxNo[a] = no
	return no
}

// Recipients are the online iptux peers an iptux room's messages go to: for a "group"
// window the iptux peers that announce that group, for the segment and broadcast windows
// every iptux peer, for a "regular" one its peer. Replies land in each iptux's window of the
// same kind for us: for a "group" window, the one named after our own group, so FeiGo's
// group should be the room's.
func (g *LegacyGroups) Recipients(id legacygroup.RoomID) []netip.AddrPort {
	spec, err := id.Parse()
	if err != nil || spec.Kind != legacygroup.Iptux {
		return nil
	}
	var out []netip.AddrPort
	for _, p := range g.n.table.Snapshot() {
		if p.Client != string(ipmsg.ClientIptux) {
			continue
		}
		switch spec.IptuxKind {
		case ipmsg.IptuxGroup:
			if p.Group != spec.IptuxGroup {
				continue
			}
		case ipmsg.IptuxRegular:
			if p.Addr.Addr() != spec.IptuxPeer {
				continue
			}
		}
		out = append(out, p.Addr)
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

func (g *LegacyGroups) announceRoom(number uint64, name string) {
	self := g.n.Self()
	p, err := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Join: true, Room: number, Name: name, MAC: g.mac,
		No: g.n.nextNo(), User: headerName(self.User), Host: headerName(self.Host)})
	if err != nil {
		g.n.log.Error("FeiQ room announcement", "err", err)
		return
	}
	g.multicast(p)
}

// multicast sends p to FeiQ's group on every joined interface (the routing table's choice
// when none could be joined) and returns how many copies went. With Config.NoInterfaces
// the group is not used: p goes to each of Config.Extra instead (tests on loopback).
func (g *LegacyGroups) multicast(p ipmsg.Packet) int {
	b := g.n.marshal(p)
	if b == nil {
		return 0
	}
	if g.n.cfg.NoInterfaces {
		sent := 0
		for _, x := range g.n.cfg.Extra {
			if to, err := ParseTarget(x, g.n.Port()); err == nil {
				g.n.send(to, b)
				sent++
			}
		}
		return sent
	}
	to := netip.AddrPortFrom(feiqGroup, uint16(g.n.Port()))
	g.mcMu.Lock()
	defer g.mcMu.Unlock()
	if len(g.ifaces) == 0 {
		g.n.send(to, b)
		return 1
	}
	sent := 0
	for _, idx := range g.ifaces {
		if err := g.setsockopt(func(fd uintptr) error { return setMulticastIf(fd, idx) }); err != nil {
			continue
		}
		g.n.send(to, b)
		sent++
	}
	return sent
}

// joinMulticast joins FeiQ's group on every up, multicast-capable, non-loopback interface
// with an IPv4 address (only Config.Interfaces when set).
func (g *LegacyGroups) joinMulticast() {
	ifs, err := net.Interfaces()
	if err != nil {
		g.n.log.Warn("FeiQ rooms: listing interfaces", "err", err)
		return
	}
	var joined []int
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(g.n.cfg.Interfaces) > 0 && !slices.Contains(g.n.cfg.Interfaces, ifc.Name) {
			continue
		}
		if !hasIPv4(ifc) {
			continue
		}
		if err := g.setsockopt(func(fd uintptr) error { return joinGroup(fd, feiqGroup.As4(), ifc.Index) }); err != nil {
			g.n.log.Warn("FeiQ rooms: joining the multicast group", "interface", ifc.Name, "err", err)
			continue
		}
		joined = append(joined, ifc.Index)
	}
	g.mcMu.Lock()
	g.ifaces = joined
	g.mcMu.Unlock()
	g.n.log.Info("FeiQ rooms: multicast group joined", "group", ipmsg.FeiQRoomGroup, "interfaces", len(joined))
}

func (g *LegacyGroups) setsockopt(f func(fd uintptr) error) error {
	return setsockopt(g.n.conn, f)
}

func hasIPv4(ifc net.Interface) bool {
	addrs, err := ifc.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return true
		}
	}
	return false
}

// firstMAC is the hardware address of the first up, non-loopback interface that has one,
// as FeiQ writes it (12 hex digits, upper case); "000000000000" when there is none.
func firstMAC(names []string) string {
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || len(ifc.HardwareAddr) != 6 {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, ifc.Name) {
			continue
		}
		return strings.ToUpper(strings.ReplaceAll(ifc.HardwareAddr.String(), ":", ""))
	}
	return "000000000000"
}
