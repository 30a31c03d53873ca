package lan

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/trust"
)

// orderedKeys returns two identities, the first with the smaller fingerprint: the one that
// dials when two FeiGo nodes hear each other.
func orderedKeys(t *testing.T) (small, large *trust.Identity) {
	t.Helper()
	a, err := trust.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := trust.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint().String() > b.Fingerprint().String() {
		a, b = b, a
	}
	return a, b
}

func withIdentity(id *trust.Identity, tweak func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Identity = id
		c.Pins, _ = trust.OpenPins("", nil)
		if tweak != nil {
			tweak(c)
		}
	}
}

// Two FeiGo nodes that hear each other prove both keys with one TLS handshake: the node with
// the smaller fingerprint dials, and its hello proves its own key to the other (helloProof).
// The announcements repeated at start (1 s and 3 s) cost no handshake either.
func TestOneHandshakeProvesAPair(t *testing.T) {
	for _, order := range []string{"the smaller announces first", "the larger announces first"} {
		t.Run(order, func(t *testing.T) {
			small, large := orderedKeys(t)
			first, second := small, large
			if order == "the larger announces first" {
				first, second = large, small
			}
			patient := func(c *Config) { c.HelloWait = time.Minute } // no fallback dial here
			ca, cb := loopbackConn(t), loopbackConn(t)
			a := startNode(t, ca, "Alice", withIdentity(first, patient), addrOf(cb))
			b := startNode(t, cb, "Bob", withIdentity(second, patient), addrOf(ca))
			a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
			b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Alice" && e.Peer.Secure })
			time.Sleep(3500 * time.Millisecond) // the repeated announcements, and their answers
			sa, sb := a.Stats(), b.Stats()
			if sa.ProofsDialled+sb.ProofsDialled != 1 {
				t.Fatalf("%d handshakes dialled to prove a pair (Alice %+v, Bob %+v), want 1", sa.ProofsDialled+sb.ProofsDialled, sa, sb)
			}
			dialler, proved := a, b
			if first != small {
				dialler, proved = b, a
			}
			if dialler.Stats().ProofsDialled != 1 || proved.Stats().HelloProofs < 1 {
				t.Fatalf("the node with the larger fingerprint dialled, or was not proved by the hello: %+v / %+v", dialler.Stats(), proved.Stats())
			}
			// The pair talks both ways over TLS.
			if ds, err := proved.Send(context.Background(), "both ways", dialler.addr); err != nil || ds[0].Err != nil {
				t.Fatalf("send: %+v %v", ds, err)
			}
			dialler.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "both ways" && e.Message.Encrypted })
		})
	}
}

// A colleague whose hello proves nothing (a FeiGo from before helloProof) is still listed:
// the node that waited for it dials it after HelloWait.
func TestHelloProofFallsBackToDialling(t *testing.T) {
	small, large := orderedKeys(t)
	ca, cb := loopbackConn(t), loopbackConn(t)
	old := startNode(t, ca, "Alice", withIdentity(small, func(c *Config) { c.oldHello = true }), addrOf(cb))
	b := startNode(t, cb, "Bob", withIdentity(large, func(c *Config) { c.HelloWait = 500 * time.Millisecond }), addrOf(ca))
	old.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	b.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Alice" && e.Peer.Secure })
	if s := b.Stats(); s.ProofsDialled < 1 || s.HelloProofs != 0 {
		t.Fatalf("Bob listed Alice without dialling her, though her hello proves nothing: %+v", s)
	}
}

// The attacker's side: a host that relays a colleague's channel to a third node cannot make
// that node take the colleague's hello as a proof of the colleague at the relay's address.
// Mallory (127.0.0.2) copies Bob's announcement to Alice and relays Alice's TCP connection to
// Bob, from her own address, where she also accepts TCP on Alice's port. Alice's hello says
// she dialled Mallory, not Bob: Bob refuses it (before helloProof checked FGTO, Bob listed
// Alice at Mallory's address).
func TestAttackRelayedHelloIsNoProof(t *testing.T) {
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", withKey(t))
	b := startNode(t, cb, "Bob", withKey(t))
	uc, ln := samePortAt(t, "127.0.0.2")
	relay := addrOf(uc)
	// Mallory also answers TCP on Alice's port at her own address, so that a check of the
	// channel port there passes.
	decoy, err := net.Listen("tcp4", netip.AddrPortFrom(relay.Addr(), a.addr.Port()).String())
	if err != nil {
		t.Skipf("127.0.0.2:%d is taken: %v", a.addr.Port(), err)
	}
	t.Cleanup(func() { decoy.Close() })
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	track := func(c ...net.Conn) {
		mu.Lock()
		open = append(open, c...)
		mu.Unlock()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			c, err := decoy.Accept()
			if err != nil {
				return
			}
			track(c)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			u, err := d.Dial("tcp4", b.addr.String())
			if err != nil {
				c.Close()
				continue
			}
			track(c, u)
			wg.Add(2)
			go func() { defer wg.Done(); copyClose(u, c) }()
			go func() { defer wg.Done(); copyClose(c, u) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		decoy.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	sendUDP(t, uc, a.addr, 4242, "bob", "host-Bob", ipmsg.BrEntry, ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	sendUDP(t, uc, a.addr, 4243, "bob", "host-Bob", ipmsg.AnsEntry, ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	listed := func() bool {
		for _, p := range b.Table().Snapshot() {
			if p.PinName == "id-Alice" {
				t.Errorf("BREAK: Bob lists Alice at %v through Mallory's relay (%+v)", p.Addr, p)
				return true
			}
		}
		return false
	}
	if !waitFor(10*time.Second, func() bool { return listed() || b.Stats().NotProved >= 1 }) {
		t.Fatalf("the relayed hello never reached Bob: %+v", b.Stats())
	}
	time.Sleep(500 * time.Millisecond)
	listed()
}

func copyClose(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
}

// The attacker's side of the beats: copies of a crashed colleague's beats, replayed from the
// colleague's own address and port, keep them listed no longer than Config.ReproveQuiet
// after their last proof and the expiry: an unchanged beat refreshes a colleague without a
// handshake only while their last proof is recent, then it is proved again, and a crashed
// colleague cannot prove anything. (Before, a replayed beat refreshed them for ever.)
func TestAttackReplayedBeatsDoNotKeepACrashedColleague(t *testing.T) {
	scaled := func(c *Config) {
		c.BeatEvery, c.ProbeAfter, c.ProbeEvery, c.Expiry = 300*time.Millisecond, time.Second, 200*time.Millisecond, 1500*time.Millisecond
		c.ReproveQuiet = time.Second
	}
	ca, cb := loopbackConn(t), loopbackConn(t)
	a := startNode(t, ca, "Alice", func(c *Config) { withKey(t)(c); scaled(c) }, addrOf(cb))
	b := startNode(t, cb, "Bob", func(c *Config) { withKey(t)(c); scaled(c) }, addrOf(ca))
	a.waitEvent(t, "peer_online", func(e Event) bool { return e.Peer.PinName == "id-Bob" && e.Peer.Secure })
	// While Bob runs, his beats keep him listed (and he is proved again now and then).
	time.Sleep(3 * time.Second)
	if _, ok := colleague(a, "id-Bob"); !ok {
		t.Fatal("Bob, running and beating, was dropped")
	}
	// Bob crashes: his socket closes under him (no goodbye reaches anyone), and his node ends.
	beat := ipmsg.EntryBody(ipmsg.UTF8, b.Self())
	bobAddr := b.addr
	b.crashed = true
	cb.Close()
	b.stop()
	// Mallory replays Bob's beat from Bob's own address and port, five times a second.
	var m *net.UDPConn
	for range 50 {
		var err error
		if m, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(bobAddr)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m == nil {
		t.Fatal("Bob's port stayed taken")
	}
	defer m.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for no := uint32(7000); ; no++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			sendUDP(t, m, a.addr, no, "bob", "host-Bob", ipmsg.BrAbsence|ipmsg.CapUTF8Opt|ipmsg.FileAttachOpt, beat)
		}
	}()
	defer func() { close(stop); <-done }()
	crashed := time.Now()
	if !waitFor(10*time.Second, func() bool { _, ok := colleague(a, "id-Bob"); return !ok }) {
		t.Fatalf("BREAK: replayed beats kept crashed Bob listed for %v", time.Since(crashed).Round(time.Second))
	}
	t.Logf("crashed Bob left Alice's list %v after the crash, beats replayed throughout", time.Since(crashed).Round(10*time.Millisecond))
}
