package lan

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"feigo/internal/oserr"
)

// IPv6 (issue 16). IP Messenger, when its IPv6 mode is on, announces to the site-scope
// multicast group ff15::979 (IPMSG_DEFAULT_MULTICAST_ADDR6) and to the link's all-nodes group
// ff02::1, with a multicast hop limit of 32, and answers by unicast to the source. FeiGo joins
// ff15::979 on every interface it announces on (and, as every IPv6 host, hears ff02::1) and
// announces to ff15::979 on each of them: where an interface has only a link-local address,
// that is the source, and answers come back to it with the interface as its zone. IPv4 goes
// on exactly as before, on its own socket (IPV6_V6ONLY), so an IPv4-only client sees nothing
// new.

// Group6 is IP Messenger's IPv6 multicast group.
var Group6 = netip.MustParseAddr("ff15::979")

// multicastHops6 is the hop limit of the node's IPv6 multicast datagrams: IP Messenger's, so
// that routers that forward the site-scope group carry FeiGo's announcements as far as theirs.
const multicastHops6 = 32

// iface6 is an interface the node announces on over IPv6.
type iface6 struct {
	Index int
	Name  string
	// Prefixes are the interface's IPv6 subnets other than link-local (fe80::/10, which
	// every interface has).
	Prefixes []netip.Prefix
}

// interfaces6 returns the up, multicast-capable, non-loopback interfaces with an IPv6 address,
// chosen as announceSubnets chooses IPv4 subnets: the named ones when names is not empty,
// else all but the virtual ones unless virtual is set.
func interfaces6(names []string, virtual bool) ([]iface6, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var out []iface6
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, ifc.Name) ||
			len(names) == 0 && !virtual && VirtualInterface(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		x, any6 := iface6{Index: ifc.Index, Name: ifc.Name}, false
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() != nil {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, bits := ipn.Mask.Size()
			if !ok || bits != 128 {
				continue
			}
			any6 = true
			if pf := netip.PrefixFrom(ip, ones).Masked(); !ip.IsLinkLocalUnicast() && !slices.Contains(x.Prefixes, pf) {
				x.Prefixes = append(x.Prefixes, pf)
			}
		}
		if any6 {
			out = append(out, x)
		}
	}
	return out, nil
}

// Interface6 is an interface FeiGo announces on over IPv6 (to Group6): its name and its IPv6
// subnets other than link-local (none: link-local only).
type Interface6 struct {
	Name     string
	Prefixes []netip.Prefix
}

// Interfaces6 lists the interfaces a node with default settings announces on over IPv6 (all
// but the virtual ones), for the doctor.
func Interfaces6() ([]Interface6, error) {
	ifs, err := interfaces6(nil, false)
	out := make([]Interface6, 0, len(ifs))
	for _, x := range ifs {
		out = append(out, Interface6{Name: x.Name, Prefixes: x.Prefixes})
	}
	return out, err
}

// linkLocal6 is fe80::/10: a zoned address there is on the link of its zone.
var linkLocal6 = netip.MustParsePrefix("fe80::/10")

// limitKey is the key under which a source address is rate-limited: an IPv4 address itself,
// an IPv6 address its /64 (zone dropped). A host picks any address of its /64 at will
// (privacy addresses), so per-address limits would let one host flood from thousands.
func limitKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is4() {
		return a
	}
	pf, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a
	}
	return pf.Addr()
}

// Listen6 binds the IPv6 UDP port ([::]:port, IPv6 only: IPv4 stays on Listen's socket) and
// sets the multicast hop limit. An error means the node runs on IPv4 alone.
func Listen6(port int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return control(c, func(fd uintptr) error { return setMulticastHops6(fd, multicastHops6) })
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp6", "[::]:"+strconv.Itoa(port))
	if err != nil {
		if oserr.AddrInUse(err) {
			return nil, fmt.Errorf("UDP port %d on IPv6 is in use: %w", port, ErrPortInUse)
		}
		return nil, fmt.Errorf("binding UDP port %d on IPv6: %w", port, err)
	}
	uc := pc.(*net.UDPConn)
	_ = uc.SetReadBuffer(4 << 20)
	return uc, nil
}

// join6 joins Group6 on each of ifs not joined yet (an interface that came up since).
func (n *Node) join6(ifs []iface6) {
	if n.conn6 == nil {
		return
	}
	n.mcast6Mu.Lock()
	defer n.mcast6Mu.Unlock()
	if n.joined6 == nil {
		n.joined6 = map[int]bool{}
	}
	for _, ifc := range ifs {
		if n.joined6[ifc.Index] {
			continue
		}
		jerr := setsockopt(n.conn6, func(fd uintptr) error { return joinGroup6(fd, Group6.As16(), ifc.Index) })
		if jerr != nil && !oserr.AddrInUse(jerr) {
			n.log.Debug("joining the IPv6 group", "interface", ifc.Name, "err", jerr)
			continue
		}
		n.joined6[ifc.Index] = true
		n.log.Debug("joined the IPv6 group", "group", Group6, "interface", ifc.Name)
	}
}

// targets6 are the IPv6 announcement targets, Group6 on each interface (the zone names it),
// and the subnets they reach (link-local included).
func (n *Node) targets6() (targets []netip.AddrPort, covered []netip.Prefix) {
	if n.conn6 == nil || n.cfg.NoInterfaces {
		return nil, nil
	}
	ifs, err := interfaces6(n.cfg.Interfaces, n.cfg.VirtualInterfaces)
	if err != nil {
		n.log.Warn("no IPv6 interfaces", "err", err)
		return nil, nil
	}
	n.join6(ifs)
	for _, ifc := range ifs {
		targets = append(targets, netip.AddrPortFrom(Group6.WithZone(ifc.Name), uint16(n.Port())))
		for _, pf := range ifc.Prefixes {
			if !slices.Contains(covered, pf) {
				covered = append(covered, pf)
			}
		}
	}
	if len(ifs) > 0 {
		covered = append(covered, linkLocal6)
	}
	return targets, covered
}

// sendMulticast6 sends b to Group6 on the interface to's zone names: the socket's multicast
// interface is set for each datagram, under a lock, as the zone of a site-scope group is not
// taken as the interface to send on.
func (n *Node) sendMulticast6(to netip.AddrPort, b []byte) error {
	idx := 0
	if ifc, err := net.InterfaceByName(to.Addr().Zone()); err == nil {
		idx = ifc.Index
	} else if i, err := strconv.Atoi(to.Addr().Zone()); err == nil {
		idx = i
	}
	n.mcast6Mu.Lock()
	defer n.mcast6Mu.Unlock()
	if err := setsockopt(n.conn6, func(fd uintptr) error { return setMulticastIf6(fd, idx) }); err != nil {
		return err
	}
	_, err := n.conn6.WriteToUDPAddrPort(b, netip.AddrPortFrom(to.Addr().WithZone(""), to.Port()))
	return err
}

// control runs opt on c's socket and returns its error, or Control's.
func control(c syscall.RawConn, opt func(fd uintptr) error) error {
	var oerr error
	if err := c.Control(func(fd uintptr) { oerr = opt(fd) }); err != nil {
		return err
	}
	return oerr
}

// setsockopt runs f on conn's socket.
func setsockopt(conn *net.UDPConn, f func(fd uintptr) error) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	return control(rc, f)
}
