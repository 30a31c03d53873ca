package lan

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
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

// Broadcast returns a subnet's directed broadcast address (10.1.2.0/24 → 10.1.2.255).
func Broadcast(pf netip.Prefix) netip.Addr {
	b := pf.Masked().Addr().As4()
	host := uint32(1)<<(32-pf.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// localAddrs returns every IPv4 address of this host (loopback included).
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

// ParseTarget reads an extra announce address as users write it: "10.1.2.255",
// "10.1.2.7" or "10.1.2.7:2426". A missing port is defPort.
func ParseTarget(s string, defPort int) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if !ap.Addr().Is4() || ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("%q: want an IPv4 address with a non-zero port", s)
		}
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IPv4 address (like 192.168.2.255 or 10.0.0.7:2425)", s)
	}
	if defPort <= 0 || defPort > 65535 {
		return netip.AddrPort{}, fmt.Errorf("bad port %s", strconv.Itoa(defPort))
	}
	return netip.AddrPortFrom(a, uint16(defPort)), nil
}
