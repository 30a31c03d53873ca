package lan

import (
	"errors"
	"net"
	"testing"

	"feigo/internal/wine"
)

// The dual listener accepts on both of its listeners, and Close ends its goroutines (the
// package's leak check would see them) with Accept answering net.ErrClosed.
func TestDualListenerAcceptsOnBoth(t *testing.T) {
	v4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	v6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		v4.Close()
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	d := newDualListener(v4, v6)
	for _, ln := range []net.Listener{v4, v6} {
		c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got.LocalAddr().String() != ln.Addr().String() {
			t.Errorf("accepted on %s, dialled %s", got.LocalAddr(), ln.Addr())
		}
		got.Close()
		c.Close()
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}
