package lan

import (
	"errors"
	"net/netip"
)

// spoofUDP would forge a datagram's source with a raw socket: Windows does not let raw
// sockets send UDP, so the tests that need one say so and stop.
func spoofUDP(src, dst netip.AddrPort, payload []byte) error {
	return errors.New("raw UDP sockets are not available on Windows")
}
