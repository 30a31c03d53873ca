package lan

import (
	"context"
	"fmt"
	"testing"
	"time"

	"feigo/ipmsg"
)

// Packet numbers are unpredictable: neither the clock nor the last number says the next one,
// and they never repeat among the recent ones (a repeat would be dropped as a duplicate).
func TestPacketNumbersUnpredictableAndDistinct(t *testing.T) {
	s := newPacketNos()
	const draws = 3 * recentNos
	seen := make(map[uint32]int, draws)
	var prev uint32
	near := 0
	for i := range draws {
		no := s.draw()
		if no == 0 || no >= 1<<31 {
			t.Fatalf("draw %d: %d is 0 or not below 2^31", i, no)
		}
		if j, ok := seen[no]; ok && i-j < recentNos {
			t.Fatalf("%d drawn again after %d draws", no, i-j)
		}
		seen[no] = i
		if d := no - prev; d < 1<<12 || -d < 1<<12 {
			near++ // within 4096 of the previous number: a guess that would hit
		}
		prev = no
	}
	// A uniform draw lands within ±2^12 of the last one with probability 2^13/2^31: 0.19
	// expected here, more than 5 by chance once in a million runs.
	if near > 5 {
		t.Fatalf("%d of %d numbers were within 65536 of the one before: guessable", near, draws)
	}
	// Two nodes started at the same second do not share their numbers.
	a, b := newPacketNos(), newPacketNos()
	same := 0
	for range 100 {
		if a.draw() == b.draw() {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("two nodes drew %d equal numbers in 100", same)
	}
}

// A number still among the recent ones is drawn again, not reused, even when the generator
// gives it.
func TestPacketNumbersRedrawCollision(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	first := seededPacketNos(seed).draw()
	s := seededPacketNos(seed) // gives first again next
	s.recent[first] = struct{}{}
	s.ring[len(s.ring)-1] = first
	if no := s.draw(); no == first {
		t.Fatalf("%d drawn while still recent", no)
	}
}

// Messages, automatic replies and offers carry rising numbers: iptux acknowledges a message
// and drops it unless its number is above the last it took from the sender (since the
// sender's last entry packet). Ten messages in a row to an iptux-like peer, all rising.
func TestMessageNumbersRiseForIptux(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Ann", nil)
	tux := newRawPeer(t)
	tux.send(n.addr, "1_iptux 0.8.3", "tux", "vm", ipmsg.BrEntry, "tux\x00g\x00icon\x00utf-8\x00")
	n.waitEvent(t, "peer_online", nil)
	var got []uint32
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		seen := map[uint32]bool{}
		for len(got) < 10 {
			tux.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			k, _, err := tux.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p, err := ipmsg.Decode(buf[:k])
			if err != nil || p.Cmd.Mode() != ipmsg.SendMsg {
				continue
			}
			b, _ := ipmsg.Packet{Version: "1_iptux 0.8.3", No: 9000 + p.No%1000, User: []byte("tux"), Host: []byte("vm"), Cmd: ipmsg.RecvMsg, Body: []byte(fmt.Sprint(p.No, "\x00"))}.Marshal()
			tux.conn.WriteToUDPAddrPort(b, n.addr)
			if !seen[p.No] {
				seen[p.No] = true
				got = append(got, p.No)
			}
		}
	}()
	for i := range 10 {
		if ds, err := n.Send(context.Background(), fmt.Sprint("m", i), tux.addr()); err != nil || ds[0].Err != nil {
			t.Fatalf("message %d: %+v %v", i, ds, err)
		}
	}
	<-done
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("message %d's number %d is not above %d: iptux would drop it (%v)", i, got[i], got[i-1], got)
		}
	}
	if len(got) != 10 {
		t.Fatalf("saw %d messages", len(got))
	}
}

// drawRising rises by random steps and starts anew, at random, before 2^31.
func TestRisingNumbers(t *testing.T) {
	s := newPacketNos()
	prev := s.drawRising()
	steps := map[uint32]bool{}
	for range 1000 {
		no := s.drawRising()
		if no <= prev || no-prev > risingStep {
			t.Fatalf("%d after %d", no, prev)
		}
		steps[no-prev] = true
		prev = no
	}
	if len(steps) < 100 {
		t.Fatalf("only %d different steps in 1000: guessable", len(steps))
	}
	s.rising = 1<<31 - 3
	if no := s.drawRising(); no == 0 || no >= 1<<30+1 {
		t.Fatalf("no new start before 2^31: %d", no)
	}
}
