//go:build !windows

package lan

import (
	"encoding/binary"
	"net/netip"
	"syscall"
)

// spoofUDP sends payload as a UDP datagram from src to dst with a raw socket (root).
func spoofUDP(src, dst netip.AddrPort, payload []byte) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	udpLen := 8 + len(payload)
	b := make([]byte, 20+udpLen)
	b[0], b[8], b[9] = 0x45, 64, syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(udpLen)) // checksum 0: none (IPv4)
	copy(b[28:], payload)
	return syscall.Sendto(fd, b, 0, &syscall.SockaddrInet4{Addr: d4})
}
