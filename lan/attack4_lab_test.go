//go:build linux

package lan

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"feigo/event"
	"feigo/internal/lab"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/peers"
)

// A hostile LAN fills the node's send buffer (answers to forged sources nobody answers ARP
// for wait there for seconds), so that every datagram waits sendWait before it is dropped.
// An announcement to the colleagues listed by unicast then lasts a send wait per colleague.
// The user going away meanwhile (SetAway waits for stateMu) must not stop the read loop: it
// took stateMu for reading behind the waiting SetAway and heard nothing until the whole
// announcement was over (seconds); an announcement holds stateMu for one datagram at a time.
func TestAttackSetAwayBehindSlowAnnouncementStallsReadLoop(t *testing.T) {
	l := lab.New(t, 1)
	h := l.Hosts[0]
	conn, err := h.ListenUDP(0)
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	if err := conn.SetWriteBuffer(4096); err != nil { // the kernel's least: a few datagrams
		t.Fatal(err)
	}
	n := startNode(t, conn, "Ann", func(c *Config) { c.NoFiles = true })
	rc, err := h.ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawPeer{t: t, conn: rc, no: 1000}
	// Colleagues listed at addresses of the lab's subnet where nobody answers ARP (not
	// covered: the node announces to no subnet), fewer than spreadFrom.
	k := 0
	for i := 20; k < spreadFrom-2; i++ {
		for port := range 2 {
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 213, 0, byte(i)}), uint16(2425+port))
			if _, err := n.Table().Upsert(peers.Peer{ID: fmt.Sprint("p", k), Nick: "P", Addr: a, Status: peers.Online, LastSeen: time.Now()}); err != nil {
				t.Fatal(err)
			}
			k++
		}
	}
	announced := make(chan time.Duration, 1)
	go func() {
		began := time.Now()
		n.announce(ipmsg.BrAbsence, n.Table().Snapshot())
		announced <- time.Since(began)
	}()
	time.Sleep(200 * time.Millisecond) // the buffer is full: each datagram waits sendWait
	away := make(chan struct{})
	go func() { n.SetAway(true, "lunch"); close(away) }()
	time.Sleep(100 * time.Millisecond)
	message := func(text string) time.Time {
		raw.send(n.addr, "1", "eve", "evehost", ipmsg.SendMsg, text)
		deadline := time.After(20 * time.Second)
		for {
			select {
			case e := <-n.events:
				if e.Type == event.Message && e.Message != nil && e.Message.Text == text {
					return time.Now()
				}
			case <-deadline:
				t.Fatalf("message %q never taken", text)
			}
		}
	}
	first := message("one") // a stranger's: asked who it is (an entry, under stateMu)
	second := message("two")
	took := <-announced
	<-away
	t.Logf("announcement to %d colleagues took %v; the read loop took the next datagram %v after the first", k, took.Round(time.Millisecond), second.Sub(first).Round(time.Millisecond))
	if took < time.Second {
		t.Skipf("the announcement took %v: the send buffer did not fill, nothing raced", took)
	}
	if d := second.Sub(first); d > took/2 {
		t.Fatalf("the read loop stood still %v behind a waiting SetAway", d)
	}
}
