package lan

import (
	"bytes"
	"image"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"feigo/event"
	"feigo/ipmsg"
)

const iptuxVersion = "1_iptux_0#5#2"

// testIcon is a small PNG, as iptux sends a user's picture.
func testIcon(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 24, 24))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// iptuxIcon is IPTUX_SENDICON as iptux sends it: the header, an empty text and its NUL, the
// picture's bytes.
func iptuxIcon(no int, user string, pic []byte) []byte {
	return append([]byte(iptuxVersion+":"+strconv.Itoa(no)+":"+user+":pc:254:\x00"), pic...)
}

// An iptux colleague's picture is reported (peer_icon, with its bytes) once; again within a
// minute, from a stranger, from a client that is not iptux, empty or oversized, it is
// dropped; a flood takes one.
func TestIptuxIconTakenOnceAndBounded(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Alice", nil)
	tux := newRawPeer(t)
	tux.send(n.addr, iptuxVersion, "bob", "pc", ipmsg.BrEntry, "Bob\x00Dev\x00icon-tux.png\x00utf-8\x00")
	n.waitEvent(t, event.PeerOnline, func(e Event) bool { return e.Peer.User == "bob" })
	pic := testIcon(t)
	tux.sendRaw(n.addr, iptuxIcon(5000, "bob", pic))
	ev := n.waitEvent(t, event.PeerIcon, nil)
	if ev.Peer == nil || ev.Peer.User != "bob" || !bytes.Equal(ev.Icon, pic) {
		t.Fatalf("peer_icon %+v, %d bytes", ev.Peer, len(ev.Icon))
	}
	// The attacker's side: a flood from bob, a stranger's, IP Messenger's, a FeiGo colleague's
	// as a datagram (theirs come over their channel: anyone can send a datagram in their
	// name), an empty one, one too large and one with no NUL from another iptux colleague.
	// Everyone is listed first; then the packets, and a marker: no icon came before it.
	ipm := newRawPeer(t)
	ipm.send(n.addr, "1", "taro", "pc", ipmsg.BrEntry, "Taro\x00\x00")
	n.waitEvent(t, event.PeerOnline, func(e Event) bool { return e.Peer.User == "taro" })
	fg := newRawPeer(t)
	fg.send(n.addr, "1_feigo 0.1.0", "mallory", "pc", ipmsg.BrEntry, "Mallory\x00QA\x00\nFGID:id-mallory\x00")
	n.waitEvent(t, event.PeerOnline, func(e Event) bool { return e.Peer.User == "mallory" && e.Peer.Client == "feigo" })
	carol := newRawPeer(t)
	carol.send(n.addr, iptuxVersion, "carol", "pc", ipmsg.BrEntry, "Carol\x00Dev\x00icon-tux.png\x00utf-8\x00")
	n.waitEvent(t, event.PeerOnline, func(e Event) bool { return e.Peer.User == "carol" })
	for i := range 50 {
		tux.sendRaw(n.addr, iptuxIcon(5001+i, "bob", pic))
	}
	stranger := newRawPeer(t)
	stranger.sendRaw(n.addr, iptuxIcon(7000, "eve", pic))
	ipm.sendRaw(n.addr, append([]byte("1:7001:taro:pc:254:\x00"), pic...))
	fg.sendRaw(n.addr, append([]byte("1_feigo 0.1.0:7002:mallory:pc:254:\x00"), pic...))
	carol.sendRaw(n.addr, iptuxIcon(8000, "carol", nil))
	carol.sendRaw(n.addr, iptuxIcon(8001, "carol", bytes.Repeat([]byte{0x89}, MaxIconBytes+1)))
	carol.sendRaw(n.addr, []byte(iptuxVersion+":8002:carol:pc:254:no NUL at all"))
	carol.send(n.addr, iptuxVersion, "carol", "pc", ipmsg.SendMsg, "marker\x00")
	for {
		e := <-n.events
		if e.Type == event.PeerIcon {
			t.Fatalf("an icon taken that should have been dropped: from %+v, %d bytes", e.Peer, len(e.Icon))
		}
		if e.Type == event.Message && strings.Contains(e.Message.Text, "marker") {
			break
		}
	}
	// Carol's good picture is still taken (the others did not count against her).
	carol.sendRaw(n.addr, iptuxIcon(8003, "carol", pic))
	if ev := n.waitEvent(t, event.PeerIcon, nil); ev.Peer.User != "carol" {
		t.Fatalf("carol's icon: %+v", ev.Peer)
	}
}
