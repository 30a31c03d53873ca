package wine

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

// Only the exact refusals count: other socket errors, and errors without a syscall, are not
// Wine's.
func TestOtherErrorsAreNotRefusals(t *testing.T) {
	for _, err := range []error{
		nil,
		errors.New("wsaioctl"),
		&net.OpError{Op: "listen", Net: "tcp4", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)},
		&net.OpError{Op: "listen", Net: "udp4", Err: os.NewSyscallError("bind", syscall.EACCES)},
	} {
		if r := refusal(err); r != "" {
			t.Errorf("refusal(%v) = %q", err, r)
		}
	}
}

// On the system these tests run on, UDP and AF_UNIX either work or fail with one of the
// refusals, and the refusals appear only under Wine.
func TestRefusalsOnlyUnderWine(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err == nil {
		c.Close()
	} else if r := refusal(err); r == "" || !Running() {
		t.Fatalf("UDP: %v (refusal %q, Wine %v)", err, r, Running())
	}
	p := t.TempDir() + string(os.PathSeparator) + "s.sock"
	ln, err := net.Listen("unix", p)
	if err == nil {
		ln.Close()
	} else if r := refusal(err); r == "" || !Running() {
		t.Fatalf("AF_UNIX: %v (refusal %q, Wine %v)", err, r, Running())
	}
}
