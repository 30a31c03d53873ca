package lan

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"feigo/ipmsg"
)

// Subnets returns the IPv4 subnet of every up, broadcast-capable, non-loopback interface,
// limited to the named interfaces when names is not empty. Point-to-point (/31, /32)
// addresses have no broadcast address and are left out.
func Subnets(names []string) ([]netip.Prefix, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var out []netip.Prefix
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagBroadcast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, bits := ipn.Mask.Size()
			if !ok || !ip.Unmap().Is4() || bits != 32 || ones >= 31 {
				continue
			}
			if pf := netip.PrefixFrom(ip.Unmap(), ones).Masked(); !slices.Contains(out, pf) {
				out = append(out, pf)
			}
		}
	}
	return out, nil
}

// virtualPrefixes name the interfaces of containers, virtual machines and VPNs: Docker's
// bridges and veths, libvirt, VirtualBox, VMware, LXC/LXD, Podman, Kubernetes' CNIs, and VPN
// tunnels (OpenVPN's tun/tap, WireGuard, Tailscale, ZeroTier). Colleagues are not there.
var virtualPrefixes = []string{"docker", "br-", "veth", "virbr", "vboxnet", "vmnet", "lxcbr", "lxdbr", "podman",
	"cni", "flannel", "cali", "weave", "kube", "tun", "tap", "wg", "tailscale", "zt", "utun"}

// VirtualInterface reports whether an interface is a container's, a virtual machine's or a
// VPN's, by its name: left out of announcements unless chosen (Config.Interfaces) or
// Config.VirtualInterfaces is set.
func VirtualInterface(name string) bool {
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// announceSubnets are the subnets announcements go to: Subnets(names), without virtual
// interfaces unless they are named or virtual is set.
func announceSubnets(names []string, virtual bool) ([]netip.Prefix, error) {
	if len(names) > 0 || virtual {
		return Subnets(names)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var real []string
	for _, ifc := range ifs {
		if !VirtualInterface(ifc.Name) {
			real = append(real, ifc.Name)
		}
	}
	if len(real) == 0 {
		return nil, nil
	}
	return Subnets(real)
}

// Broadcast returns a subnet's directed broadcast address (10.1.2.0/24 → 10.1.2.255).
func Broadcast(pf netip.Prefix) netip.Addr {
	b := pf.Masked().Addr().As4()
	host := uint32(1)<<(32-pf.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// localAddrs returns every address of this host, IPv4 and IPv6 (loopback included; no zones).
func localAddrs() map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return m
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				m[ip.Unmap()] = true
			}
		}
	}
	return m
}

// ParseTarget reads an extra announce address as users write it: "10.1.2.255", "10.1.2.7",
// "10.1.2.7:2426", an IPv6 host "fd00::7" or "[fd00::7]:2426", a link-local one with its
// interface "fe80::7%eth0" or "[fe80::7%eth0]:2426", or an IPv6 group such as IP Messenger's
// "ff15::979" (on the default interface) or "ff15::979%eth0". A missing port is defPort.
func ParseTarget(s string, defPort int) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return netip.AddrPort{}, fmt.Errorf("%q is not an address (like 192.168.2.255, 10.0.0.7:2425, fd00::7 or [fe80::7%%eth0]:2425)", s)
		}
		if defPort <= 0 || defPort > 65535 {
			return netip.AddrPort{}, fmt.Errorf("bad port %s", strconv.Itoa(defPort))
		}
		ap = netip.AddrPortFrom(a, uint16(defPort))
	}
	a := ap.Addr()
	if a.Is4In6() {
		a = a.Unmap()
		ap = netip.AddrPortFrom(a, ap.Port())
	}
	switch {
	case ap.Port() == 0:
		return netip.AddrPort{}, fmt.Errorf("%q: the port must not be 0", s)
	case a.IsUnspecified():
		return netip.AddrPort{}, fmt.Errorf("%q: an unspecified address reaches nobody", s)
	case a.Is6() && a.Zone() == "" && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()):
		return netip.AddrPort{}, fmt.Errorf("%q: a link-local address needs its interface, like fe80::7%%eth0", s)
	case a.Is6() && a.Zone() != "" && !a.IsLinkLocalUnicast() && !a.IsMulticast():
		return netip.AddrPort{}, fmt.Errorf("%q: only link-local addresses and groups take an interface", s)
	}
	return ap, nil
}

// CheckTarget is ParseTarget for a node with IPv6 off (noIPv6) or on: with it off, an IPv6
// address is refused too.
func CheckTarget(s string, defPort int, noIPv6 bool) (netip.AddrPort, error) {
	ap, err := ParseTarget(s, defPort)
	if err == nil && noIPv6 && ap.Addr().Is6() {
		return netip.AddrPort{}, fmt.Errorf("%q is an IPv6 address, and IPv6 is off", strings.TrimSpace(s))
	}
	return ap, err
}

// watchAddrs looks at the host's addresses (housekeeping calls it every second): when one
// came or went (Wi-Fi to cable, a VPN up, a DHCP renewal), the node's own addresses are
// updated and it announces itself (BR_ENTRY) on the networks it is on now, to the broadcast
// addresses and to every colleague they do not reach, so colleagues see it at its new
// address within seconds, as the same colleague (a FeiGo proves its key there). Addresses
// gone are no longer announced to (announceTargets looks at the interfaces each time).
func (n *Node) watchAddrs() {
	now := localAddrs()
	old := *n.locals.Load()
	if maps.Equal(now, old) {
		return
	}
	n.locals.Store(&now)
	var added, gone []string
	for a := range now {
		// IPv6 as IPv4: a new address may be the one colleagues will see us at (the
		// source of our announcements), so it is announced; a privacy address that rotates
		// costs one announcement a day.
		if !old[a] {
			added = append(added, a.String())
		}
	}
	for a := range old {
		if !now[a] {
			gone = append(gone, a.String())
		}
	}
	n.log.Info("this host's addresses changed: announcing again", "added", added, "gone", gone)
	if len(added) > 0 {
		n.announce(ipmsg.BrEntry, n.table.Snapshot())
	}
}
