//go:build linux

package lab

import (
	"net"
	"testing"
	"time"
)

// TestLossIsInjected checks the lab itself: hosts reach each other over the bridge, and
// SetLoss(30) drops about 30 % of UDP datagrams, so the lossy FeiGo tests really are lossy.
func TestLossIsInjected(t *testing.T) {
	l := New(t, 2)
	rx, err := l.Hosts[1].ListenUDP(9999)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := l.Hosts[0].ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rx.SetReadBuffer(4 << 20)
	to := &net.UDPAddr{IP: net.IP(l.Hosts[1].Addr.AsSlice()), Port: 9999}

	count := func(n int) int {
		for range n {
			if _, err := tx.WriteToUDP([]byte("x"), to); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Microsecond) // stay under the socket buffers
		}
		got := 0
		buf := make([]byte, 16)
		for {
			rx.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, _, err := rx.ReadFromUDP(buf); err != nil {
				return got
			}
			got++
		}
	}
	if got := count(500); got != 500 {
		t.Fatalf("without loss %d of 500 arrived", got)
	}
	l.SetLoss(30)
	// 2000 draws at p=0.7: mean 1400, sd ~20; 1250..1550 is over 7 sd either way.
	if got := count(2000); got < 1250 || got > 1550 {
		t.Fatalf("with 30%% loss %d of 2000 arrived", got)
	}
	l.SetLoss(0)
	if got := count(200); got != 200 {
		t.Fatalf("after removing loss %d of 200 arrived", got)
	}
}

// TestRouterForwardsUnicastNotBroadcast checks a routed lab: a host reaches a host of another
// subnet by unicast, through the router, but that subnet's broadcast address only from inside
// it, as behind an office router.
func TestRouterForwardsUnicastNotBroadcast(t *testing.T) {
	l := NewRouted(t, 1, 2)
	far, near, rcv := l.Hosts[0], l.Hosts[2], l.Hosts[1]
	if far.Subnet != 0 || rcv.Subnet != 1 || near.Subnet != 1 || rcv.Addr.String() != "10.213.1.1" {
		t.Fatalf("hosts: %+v %+v %+v", far, rcv, near)
	}
	var rx *net.UDPConn
	if err := rcv.Do(func() (err error) {
		rx, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 9999}) // broadcasts too
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	arrives := func(from *Host, to string) bool {
		tx, err := from.ListenUDP(0)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		dst := &net.UDPAddr{IP: net.ParseIP(to), Port: 9999}
		msg := []byte(from.Addr.String() + ">" + to)
		buf := make([]byte, 64)
		for range 3 {
			if _, err := tx.WriteToUDP(msg, dst); err != nil {
				t.Fatalf("%s → %s: %v", from.Addr, to, err)
			}
			rx.SetReadDeadline(time.Now().Add(time.Second))
			for {
				k, _, err := rx.ReadFromUDP(buf)
				if err != nil {
					break
				}
				if string(buf[:k]) == string(msg) {
					return true
				}
			}
		}
		return false
	}
	if !arrives(far, "10.213.1.1") {
		t.Error("unicast across the router did not arrive")
	}
	if !arrives(near, "10.213.1.255") {
		t.Error("a broadcast inside the subnet did not arrive")
	}
	if arrives(far, "10.213.1.255") {
		t.Error("the router forwarded a directed broadcast")
	}
}
