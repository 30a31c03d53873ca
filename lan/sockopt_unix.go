//go:build !windows

package lan

import "syscall"

// setBroadcast lets the UDP socket send to broadcast addresses.
func setBroadcast(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
}

// setMulticastIf sends the socket's multicast datagrams out of interface ifindex.
func setMulticastIf(fd uintptr, ifindex int) error {
	return syscall.SetsockoptIPMreqn(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, &syscall.IPMreqn{Ifindex: int32(ifindex)})
}

// joinGroup joins the IPv4 multicast group on interface ifindex.
func joinGroup(fd uintptr, group [4]byte, ifindex int) error {
	mreq := &syscall.IPMreqn{Multiaddr: group, Ifindex: int32(ifindex)}
	return syscall.SetsockoptIPMreqn(int(fd), syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq)
}

// setMulticastIf6 sends the IPv6 socket's multicast datagrams out of interface ifindex.
func setMulticastIf6(fd uintptr, ifindex int) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, ifindex)
}

// setMulticastHops6 sets how many routers the IPv6 socket's multicast datagrams may cross.
func setMulticastHops6(fd uintptr, hops int) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, hops)
}

// joinGroup6 joins the IPv6 multicast group on interface ifindex.
func joinGroup6(fd uintptr, group [16]byte, ifindex int) error {
	mreq := &syscall.IPv6Mreq{Multiaddr: group, Interface: uint32(ifindex)}
	return syscall.SetsockoptIPv6Mreq(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_JOIN_GROUP, mreq)
}
