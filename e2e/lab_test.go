//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/lan"
)

func TestLabThreeHostsSeeEachOtherAndMessage(t *testing.T) {
	l := lab.New(t, 3)
	names := []struct{ nick, group string }{{"王芳", "财务部"}, {"Bob", "Sales"}, {"Chen", "研发部"}}
	var ns []*node
	for i, h := range l.Hosts {
		ns = append(ns, serve(t, h, names[i].nick, names[i].group))
	}
	for i, n := range ns {
		n.waitPeers(t, 2, 10*time.Second)
		got := map[string]string{}
		for _, p := range n.peers(t) {
			if p.Client != "feigo" || p.Status != "online" {
				t.Errorf("host %d sees %+v", i+1, p)
			}
			got[p.Addr.Addr().String()] = p.Nick + "/" + p.Group
		}
		for j, h := range l.Hosts {
			if j == i {
				continue
			}
			if want := names[j].nick + "/" + names[j].group; got[h.Addr.String()] != want {
				t.Errorf("host %d sees %s as %q, want %q", i+1, h.Addr, got[h.Addr.String()], want)
			}
		}
	}

	// The three pairs proved each other's keys, each with one handshake (the hello of the
	// node that dialled proves it to the other), and `feigo status --json` says so.
	var dialled, hellos uint64
	for i, n := range ns {
		out, _, code := n.cli("status", "--json")
		var st control.Self
		if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Stats == nil {
			t.Fatalf("host %d: status --json %q: %v", i+1, out, err)
		}
		dialled, hellos = dialled+st.Stats.ProofsDialled, hellos+st.Stats.HelloProofs
	}
	if hellos == 0 || dialled > 6 {
		t.Errorf("the three pairs took %d dialled proofs and %d hello proofs", dialled, hellos)
	}
	t.Logf("three pairs proved with %d handshakes dialled (%d hellos taken as proofs)", dialled, hellos)

	out, errOut, code := ns[0].cli("send", "Bob", "周五", "下午开会", "(Friday meeting)")
	if code != 0 || !strings.Contains(out, "delivered to Bob") {
		t.Fatalf("feigo send: exit %d, %q %q", code, out, errOut)
	}
	ev := ns[1].WaitEvent("message", 5*time.Second, nil)
	msg := ev["message"].(map[string]any)
	if msg["text"] != "周五 下午开会 (Friday meeting)" || msg["nick"] != "王芳" {
		t.Fatalf("received %v", msg)
	}
	ns[0].WaitEvent("message_delivered", 5*time.Second, nil)
	// Shown once: a refresh round later there is still exactly one message event.
	ns[1].cli("refresh")
	ns[0].waitPeers(t, 2, 5*time.Second)
	if c := countMessages(ns[1], "周五 下午开会 (Friday meeting)"); c != 1 {
		t.Fatalf("message shown %d times", c)
	}
	if c := countMessages(ns[2], ""); c != 0 {
		t.Fatalf("the third host got %d messages", c)
	}

	// Absence: the others see it, and a message gets the automatic reply.
	if _, e, c := ns[1].cli("away", "on", "leave"); c != 0 {
		t.Fatalf("feigo away: %s", e)
	}
	ns[0].WaitEvent("peer_updated", 5*time.Second, func(ev map[string]any) bool {
		p := ev["peer"].(map[string]any)
		return p["nick"] == "Bob" && p["status"] == "away" && p["away_text"] == "on leave"
	})
	if _, e, c := ns[0].cli("send", "Bob", "still there?"); c != 0 {
		t.Fatalf("send to away peer: %s", e)
	}
	auto := ns[0].WaitEvent("message", 5*time.Second, nil)["message"].(map[string]any)
	if auto["auto"] != true || auto["text"] != "on leave" {
		t.Fatalf("auto reply %v", auto)
	}
	if _, e, c := ns[1].cli("back"); c != 0 {
		t.Fatalf("feigo back: %s", e)
	}
	ns[0].WaitEvent("peer_updated", 5*time.Second, func(ev map[string]any) bool {
		p := ev["peer"].(map[string]any)
		return p["nick"] == "Bob" && p["status"] == "online"
	})

	// An ambiguous name is an error listing the matches.
	ns[2].Stop()
	n4 := serve(t, l.Hosts[2], "Bob", "Ops")
	ns[0].waitPeers(t, 2, 10*time.Second)
	_ = n4
	_, errOut, code = ns[0].cli("send", "Bob", "which one?")
	if code == 0 || !strings.Contains(errOut, "matches 2 peers") || !strings.Contains(errOut, "10.213.0.2") || !strings.Contains(errOut, "10.213.0.3") {
		t.Fatalf("ambiguous send: exit %d, %q", code, errOut)
	}
	if _, errOut, code = ns[0].cli("send", "nobody-here", "x"); code == 0 || !strings.Contains(errOut, "no peer matches") {
		t.Fatalf("unknown peer: exit %d, %q", code, errOut)
	}
}

func countMessages(n *node, text string) int {
	c := 0
	for _, ev := range n.Events() {
		if ev["type"] == "message" && (text == "" || ev["message"].(map[string]any)["text"] == text) {
			c++
		}
	}
	return c
}

func TestLabLossyDeliveryExactlyOnce(t *testing.T) {
	l, a, b := pair(t)
	l.SetLoss(30)
	const total = 100
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	errs := make(chan error, total)
	for i := range total {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// By address: under loss the table may briefly lose Bob, the address stays good.
			resp, err := a.call(control.Request{Cmd: "send", To: []string{l.Hosts[1].Addr.String()}, Text: fmt.Sprintf("msg %03d", i)})
			if err == nil && !resp.OK {
				err = fmt.Errorf("msg %03d: %s", i, resp.Error)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	l.SetLoss(0)
	// Late duplicates may still be in flight; let the retransmissions settle.
	time.Sleep(2 * time.Second)
	seen := map[string]int{}
	for _, ev := range b.Events() {
		if ev["type"] == "message" {
			seen[ev["message"].(map[string]any)["text"].(string)]++
		}
	}
	for i := range total {
		if c := seen[fmt.Sprintf("msg %03d", i)]; c != 1 {
			t.Errorf("msg %03d shown %d times", i, c)
		}
	}
	delivered := 0
	for _, ev := range a.Events() {
		if ev["type"] == "message_delivered" {
			delivered++
		}
	}
	if delivered != total {
		t.Errorf("sender reported %d delivered, want %d", delivered, total)
	}
}

func TestLabPeersThatVanishAreDropped(t *testing.T) {
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "A", "G")
	b := serve(t, l.Hosts[1], "B", "G")
	c := serve(t, l.Hosts[2], "C", "G")
	a.waitPeers(t, 2, 10*time.Second)
	b.waitPeers(t, 2, 10*time.Second)

	// A clean quit says goodbye: dropped at once.
	start := time.Now()
	if code := b.Stop(); code != 0 {
		t.Fatalf("feigo serve exited %d after SIGTERM; log:\n%s", code, b.LogTail())
	}
	isB := func(ev map[string]any) bool { return ev["peer"].(map[string]any)["nick"] == "B" }
	a.WaitEvent("peer_offline", 3*time.Second, isB)
	c.WaitEvent("peer_offline", 3*time.Second, isB)
	t.Logf("clean exit noticed after %v", time.Since(start).Round(time.Millisecond))

	// A crash says nothing: the liveness check drops it within 60 s.
	start = time.Now()
	c.Kill()
	a.WaitEvent("peer_offline", 75*time.Second, func(ev map[string]any) bool { return ev["peer"].(map[string]any)["nick"] == "C" })
	t.Logf("kill -9 noticed after %v", time.Since(start).Round(time.Second))
	if len(a.peers(t)) != 0 {
		t.Fatalf("peers left: %+v", a.peers(t))
	}
}

func TestLabJunkDatagramsDoNotHurt(t *testing.T) {
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "A", "G")
	b := serve(t, l.Hosts[1], "B", "G")
	a.waitPeers(t, 1, 10*time.Second)

	conn, err := l.Hosts[2].ListenUDP(lan.DefaultPort)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	target := netip.AddrPortFrom(l.Hosts[0].Addr, lan.DefaultPort)
	rng := rand.New(rand.NewPCG(7, 7))
	send := func(b []byte) {
		if _, err := conn.WriteToUDPAddrPort(b, target); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2000 {
		b := make([]byte, rng.IntN(1500))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		switch i % 4 {
		case 1:
			b = append([]byte("1:1:u:h:"), b...)
		case 2:
			b = []byte("1_lbt6_0#128#0011#:99:x:y:32")[:rng.IntN(28)] // truncated
		}
		send(b)
	}
	send([]byte(strings.Repeat("1:", 32000)))                                  // huge
	send(append([]byte("1:5:u:h:288:"), make([]byte, 60000)...))               // huge message of NULs
	send([]byte("1:6:u:h:1:" + strings.Repeat("\xff", 3000) + "\x00\x00\x00")) // garbage entry

	// A still answers a raw IPMsg client and a FeiGo peer.
	send([]byte("1:77:probe:probehost:64:"))
	buf := make([]byte, 65536)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	gotInfo := false
	for !gotInfo {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no SENDINFO after the junk: %v", err)
		}
		p, err := ipmsg.Decode(buf[:n])
		gotInfo = err == nil && p.Cmd.Mode() == ipmsg.SendInfo
	}
	if _, e, c := b.cli("send", "A", "after the storm"); c != 0 {
		t.Fatalf("send after junk: %s", e)
	}
	if !a.Alive() {
		t.Fatal("node A died")
	}
}

func TestLabPeerKeepsIdentityAcrossAddressChange(t *testing.T) {
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "A", "G")
	dir := t.TempDir()
	prof := dir + "/moving"
	// The same profile (so the same FeiGo ID) first on host 2, then, after a crash, on host 3:
	// a laptop that moved to another address.
	first := l.Hosts[1].Start(dir, bin, "serve", "--profile", prof, "--nick", "Laptop")
	first.WaitEvent("ready", 10*time.Second, nil)
	before := a.waitPeers(t, 1, 10*time.Second)[0]
	first.Kill()
	second := l.Hosts[2].Start(dir, bin, "serve", "--profile", prof, "--nick", "Laptop")
	second.WaitEvent("ready", 10*time.Second, nil)
	a.WaitEvent("peer_updated", 10*time.Second, func(ev map[string]any) bool {
		return ev["peer"].(map[string]any)["addr"] == l.Hosts[2].Addr.String()+":2425"
	})
	after := a.peers(t)
	if len(after) != 1 || after[0].ID != before.ID || after[0].Addr.Addr() != l.Hosts[2].Addr {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	for _, ev := range a.Events() {
		if ev["type"] == "peer_offline" {
			t.Fatalf("the moved peer went offline in between: %v", ev)
		}
	}
}
