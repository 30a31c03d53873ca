package lan

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"feigo/event"
	"feigo/ipmsg"
)

// pollUntil waits, with a deadline, for cond.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

// Between FeiGo peers every message asks for a read notice; the receiver's READMSG becomes a
// message_read event at the sender; a third host cannot mark the message read.
func TestReadNoticeBetweenFeiGoPeersAndFromAThirdHost(t *testing.T) {
	a, b := filePair(t, nil)
	ds, err := a.Send(context.Background(), "did you read this?", b.addr)
	if err != nil || ds[0].Err != nil || !ds[0].ReadCheck {
		t.Fatalf("send: %+v %v", ds, err)
	}
	m := b.waitEvent(t, event.Message, nil).Message
	if !m.ReadCheck || m.Sealed {
		t.Fatalf("received %+v", m)
	}
	// Eve, a third host, claims Bob read it.
	eve := newRawPeer(t)
	eve.send(a.addr, "1", "eve", "evil", ipmsg.ReadMsg|ipmsg.ReadCheckOpt, strconv.FormatUint(uint64(ds[0].PacketNo), 10)+"\x00")
	pollUntil(t, "Eve's notice refused", func() bool { return a.Stats().ReadRefused == 1 })
	// Bob opens it.
	b.SendRead(a.addr, m.PacketNo, m.ReadCheck)
	ev := a.waitEvent(t, event.MessageRead, nil)
	if ev.Message.PacketNo != ds[0].PacketNo || ev.Message.Addr != b.addr {
		t.Fatalf("read event %+v", ev.Message)
	}
	// A second notice for the same message is not news.
	b.SendRead(a.addr, m.PacketNo, false)
	pollUntil(t, "the repeated notice refused", func() bool { return a.Stats().ReadRefused == 2 })
	select {
	case e := <-a.events:
		if e.Type == event.MessageRead {
			t.Fatalf("a second read event: %+v", e)
		}
	default:
	}
}

// A sealed message to IP Messenger is SENDMSG with SECRETOPT and READCHECKOPT; its READMSG
// (with READCHECKOPT) is answered with ANSREADMSG and reported; a READMSG from another
// address for it is refused.
func TestSealedMessageToIPMsg(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Alice", nil)
	r := newRawPeer(t)
	r.send(n.addr, "1", "taro", "pc", ipmsg.BrEntry|ipmsg.CapUTF8Opt, "Taro\x00\x00\nUN:taro")
	n.waitEvent(t, event.PeerOnline, nil)
	done := make(chan []Delivery, 1)
	go func() {
		ds, _ := n.SendWith(context.Background(), "", "secret", SendOpts{Sealed: true}, r.addr())
		done <- ds
	}()
	p := r.expect(ipmsg.SendMsg)
	if !p.Cmd.Has(ipmsg.SecretOpt|ipmsg.ReadCheckOpt|ipmsg.SendCheckOpt) || string(ipmsg.FirstSection(p.Body)) != "secret" {
		t.Fatalf("sealed message %#x %q", uint32(p.Cmd), p.Body)
	}
	no := strconv.FormatUint(uint64(p.No), 10)
	r.send(n.addr, "1", "taro", "pc", ipmsg.RecvMsg, no+"\x00")
	if ds := <-done; len(ds) != 1 || ds[0].Err != nil || !ds[0].Sealed {
		t.Fatalf("%+v", ds)
	}
	// The same user and host, from another port: not the recipient's address.
	other := newRawPeer(t)
	other.send(n.addr, "1", "taro", "pc", ipmsg.ReadMsg, no+"\x00")
	pollUntil(t, "a notice from another address refused", func() bool { return n.Stats().ReadRefused == 1 })
	r.send(n.addr, "1", "taro", "pc", ipmsg.ReadMsg|ipmsg.ReadCheckOpt, no+"\x00")
	if ans := r.expect(ipmsg.AnsReadMsg); string(ipmsg.FirstSection(ans.Body)) != no {
		t.Fatalf("ANSREADMSG %q", ans.Body)
	}
	if ev := n.waitEvent(t, event.MessageRead, nil); ev.Message.PacketNo != p.No {
		t.Fatalf("%+v", ev.Message)
	}
	// A plain message to IPMsg asks for nothing: it stays what IPMsg expects.
	go n.Send(context.Background(), "plain", r.addr())
	p = r.expect(ipmsg.SendMsg)
	if p.Cmd.Has(ipmsg.SecretOpt) || p.Cmd.Has(ipmsg.ReadCheckOpt) {
		t.Fatalf("plain message to IPMsg carries %#x", uint32(p.Cmd))
	}
	r.send(n.addr, "1", "taro", "pc", ipmsg.RecvMsg, strconv.FormatUint(uint64(p.No), 10)+"\x00")
}

const feiqVersion = "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9"

// FeiQ's typing and knock notices, as FeiQ sends them (its version field, the mode, no body),
// are reported; a flood of knocks shakes once; FeiGo sends its own to FeiQ, and none to
// IP Messenger.
func TestFeiQTypingAndNudges(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Alice", nil)
	fq := newRawPeer(t)
	fq.send(n.addr, feiqVersion, "Admin", "PC", ipmsg.BrEntry, "\xd5\xc5\xc8\xfd\x00")
	n.waitEvent(t, event.PeerOnline, nil)
	fq.sendRaw(n.addr, []byte(feiqVersion+":2001:Admin:PC:121:"))
	if ev := n.waitEvent(t, event.Typing, nil); !ev.Typing || ev.Peer == nil || ev.Peer.Client != "feiq" {
		t.Fatalf("typing %+v", ev)
	}
	fq.sendRaw(n.addr, []byte(feiqVersion+":2002:Admin:PC:122:"))
	if ev := n.waitEvent(t, event.Typing, nil); ev.Typing {
		t.Fatalf("stopped typing %+v", ev)
	}
	for i := range 50 {
		fq.sendRaw(n.addr, []byte(feiqVersion+":"+strconv.Itoa(3000+i)+":Admin:PC:209:"))
	}
	n.waitEvent(t, event.Nudge, nil)
	// A message after the flood: by the time it is shown, the flood was read, and shook once.
	fq.send(n.addr, feiqVersion, "Admin", "PC", ipmsg.SendMsg, "marker\x00")
	for {
		e := <-n.events
		if e.Type == event.Nudge {
			t.Fatal("a flood of knocks shook the window twice")
		}
		if e.Type == event.Message {
			break
		}
	}
	// FeiGo's own, to FeiQ.
	n.SendTyping(fq.addr(), true)
	if p := fq.expect(ipmsg.FeiQInputing); p.Cmd != ipmsg.FeiQInputing || len(p.Body) != 0 {
		t.Fatalf("typing sent %#x %q", uint32(p.Cmd), p.Body)
	}
	n.SendTyping(fq.addr(), false)
	fq.expect(ipmsg.FeiQInputEnd)
	if err := n.SendNudge(fq.addr()); err != nil {
		t.Fatal(err)
	}
	fq.expect(ipmsg.FeiQKnock)
	if err := n.SendNudge(fq.addr()); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("a second nudge at once: %v", err)
	}
	// To IP Messenger, nothing: the next packet it gets is the message that follows.
	ip := newRawPeer(t)
	ip.send(n.addr, "1", "taro", "pc", ipmsg.BrEntry, "Taro\x00\x00\nUN:taro")
	n.waitEvent(t, event.PeerOnline, func(e Event) bool { return e.Peer.User == "taro" })
	n.SendTyping(ip.addr(), true)
	if err := n.SendNudge(ip.addr()); err == nil {
		t.Fatal("a nudge to IP Messenger")
	}
	go n.Send(context.Background(), "after", ip.addr())
	buf := make([]byte, 9000)
	ip.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		k, _, err := ip.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := ipmsg.Decode(buf[:k])
		if m := p.Cmd.Mode(); m == ipmsg.FeiQInputing || m == ipmsg.FeiQKnock {
			t.Fatalf("IP Messenger got FeiQ's notice %#x", uint32(p.Cmd))
		}
		if p.Cmd.Mode() == ipmsg.SendMsg {
			ip.send(n.addr, "1", "taro", "pc", ipmsg.RecvMsg, strconv.FormatUint(uint64(p.No), 10)+"\x00")
			break
		}
	}
}
