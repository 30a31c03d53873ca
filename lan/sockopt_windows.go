package lan

import "syscall"

// setBroadcast lets the UDP socket send to broadcast addresses.
func setBroadcast(fd uintptr) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
}

// ifIndexAddr is interface ifindex in the form Winsock's IP_MULTICAST_IF and ip_mreq's
// imr_interface accept in place of an address: 0.x.x.x, the index in network byte order.
func ifIndexAddr(ifindex int) [4]byte {
	return [4]byte{0, byte(ifindex >> 16), byte(ifindex >> 8), byte(ifindex)}
}

// setMulticastIf sends the socket's multicast datagrams out of interface ifindex.
func setMulticastIf(fd uintptr, ifindex int) error {
	return syscall.SetsockoptInet4Addr(syscall.Handle(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, ifIndexAddr(ifindex))
}

// joinGroup joins the IPv4 multicast group on interface ifindex.
func joinGroup(fd uintptr, group [4]byte, ifindex int) error {
	mreq := &syscall.IPMreq{Multiaddr: group, Interface: ifIndexAddr(ifindex)}
	return syscall.SetsockoptIPMreq(syscall.Handle(fd), syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq)
}

// setMulticastIf6 sends the IPv6 socket's multicast datagrams out of interface ifindex.
func setMulticastIf6(fd uintptr, ifindex int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, ifindex)
}

// setMulticastHops6 sets how many routers the IPv6 socket's multicast datagrams may cross.
func setMulticastHops6(fd uintptr, hops int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, hops)
}

// joinGroup6 joins the IPv6 multicast group on interface ifindex.
func joinGroup6(fd uintptr, group [16]byte, ifindex int) error {
	mreq := &syscall.IPv6Mreq{Multiaddr: group, Interface: uint32(ifindex)}
	return syscall.SetsockoptIPv6Mreq(syscall.Handle(fd), syscall.IPPROTO_IPV6, syscall.IPV6_JOIN_GROUP, mreq)
}
