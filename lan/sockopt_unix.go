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
