package lan

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/legacygroup"
)

// startGroupsNode runs a node with legacy groups on loopback; with NoInterfaces its FeiQ
// room packets go to extra instead of the multicast group, and it joins no group.
func startGroupsNode(t *testing.T, extra ...netip.AddrPort) (*testNode, chan legacygroup.Event) {
	t.Helper()
	evs := make(chan legacygroup.Event, 100)
	tn := startNode(t, loopbackConn(t), "Grace", func(c *Config) {
		c.LegacyGroups, c.LegacyMAC = true, "02:42:ac:1f:00:02"
		c.OnLegacyGroup = func(e legacygroup.Event) { evs <- e }
	}, extra...)
	return tn, evs
}

func waitGroupEvent(t *testing.T, evs chan legacygroup.Event, typ legacygroup.EventType) legacygroup.Event {
	t.Helper()
	select {
	case e := <-evs:
		if e.Type != typ {
			t.Fatalf("got %s, want %s: %+v", e.Type, typ, e)
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event", typ)
	}
	return legacygroup.Event{}
}

func feiqRoomPacket(t *testing.T, r ipmsg.FeiQRoom) []byte {
	t.Helper()
	p, err := ipmsg.EncodeFeiQRoom(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FeiQ's room packets as a FeiQ writes them (the codec's vectors check the bytes) arrive as
// events; ours go out in FeiQ's format and read back with FeiQ's key.
func TestFeiQRoomBothWays(t *testing.T) {
	feiq := newRawPeer(t)
	n, evs := startGroupsNode(t, feiq.addr())
	if n.LegacyGroups().MAC() != "0242AC1F0002" {
		t.Fatalf("MAC %q", n.LegacyGroups().MAC())
	}
	feiq.sendRaw(n.addr, feiqRoomPacket(t, ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "00E04C6812AB", No: 1, User: "zhang", Host: "PC"}))
	seen := waitGroupEvent(t, evs, legacygroup.RoomSeen)
	if seen.Room.ID != "feiq:3b199b07" || seen.Room.Name != "项目组" || !seen.Unencrypted {
		t.Fatalf("%+v", seen)
	}
	if err := n.LegacyGroups().JoinFeiQRoom(0x3b199b07, ""); err != nil {
		t.Fatal(err)
	}
	// The announcement of our join, in FeiQ's format under our MAC.
	ann := feiq.expect(ipmsg.FeiQRoomEntry)
	if r, err := ipmsg.DecodeFeiQRoom(ann); err != nil || !r.Join || r.Room != 0x3b199b07 || r.MAC != "0242AC1F0002" || ann.Cmd != 0x2000C9 {
		t.Fatalf("announcement %+v %v", r, err)
	}
	feiq.sendRaw(n.addr, feiqRoomPacket(t, ipmsg.FeiQRoom{Room: 0x3b199b07, Stamp: "24901708", Text: "开会了", MAC: "00E04C6812AB", No: 2, User: "zhang", Host: "PC"}))
	msg := waitGroupEvent(t, evs, legacygroup.RoomMessage)
	if msg.Text != "开会了" || msg.From.MAC != "00E04C6812AB" || msg.From.Addr != feiq.addr() || msg.Room.ID != "feiq:3b199b07" || !msg.Unencrypted {
		t.Fatalf("%+v", msg)
	}
	sent, err := n.LegacyGroups().Send(context.Background(), "feiq:3b199b07", "收到，马上来")
	if err != nil || sent != 1 {
		t.Fatalf("Send: %d %v", sent, err)
	}
	p := feiq.expect(ipmsg.FeiQRoomMsg)
	r, err := ipmsg.DecodeFeiQRoom(p)
	if err != nil || r.Text != "收到，马上来" || r.Room != 0x3b199b07 || p.Cmd != 0x400023 || r.User != "grace" {
		t.Fatalf("our message %+v %v (cmd %#x)", r, err, uint32(p.Cmd))
	}
	if _, err := n.LegacyGroups().Send(context.Background(), "feiq:1", "x"); err == nil {
		t.Fatal("sent to a room not joined")
	}
	// Garbage in the room modes: dropped, nothing delivered, the node still answers.
	for _, junk := range []string{"1_lbt4_0#128#AB#0#0#8:1:u:h:4194339:12345678", "1_lbt4_0#128#AB:1:u:h:201:", "1:1:u:h:251:"} {
		feiq.sendRaw(n.addr, []byte(junk))
	}
	feiq.sendRaw(n.addr, feiqRoomPacket(t, ipmsg.FeiQRoom{Room: 0x3b199b07, Text: "after", MAC: "00E04C6812AB", No: 3}))
	if e := waitGroupEvent(t, evs, legacygroup.RoomMessage); e.Text != "after" {
		t.Fatalf("%+v", e)
	}
}

// iptux's group datagrams arrive as messages of the window they are for; replies go to each
// iptux member as IPTUX_SENDMSG with the same option and nothing else, numbers increasing.
func TestIptuxGroupBothWays(t *testing.T) {
	tux := newRawPeer(t)
	n, evs := startGroupsNode(t, tux.addr())
	// iptux sees us as "compatible": our entries carry an encoding in the 4th section.
	entry := tux.expect(ipmsg.BrEntry)
	if secs := ipmsg.Sections(entry.Body); len(secs) < 4 || string(secs[3]) != "utf-8" {
		t.Fatalf("our entry to iptux %q", entry.Body)
	}
	tux.send(n.addr, "1_iptux 0.8.3", "root", "vm", ipmsg.BrEntry|ipmsg.AbsenceOpt, "tux\x00研发部\x00icon-tux.png\x00utf-8\x00")
	ans := tux.expect(ipmsg.AnsEntry)
	if string(ans.Body) != "Grace\x00QA\x00\x00utf-8\x00" {
		t.Fatalf("answer %q", ans.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(n.LegacyGroups().Recipients("iptux:group:研发部")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	tux.send(n.addr, "1_iptux 0.8.3", "root", "vm", ipmsg.IptuxSendMsg|ipmsg.Command(ipmsg.IptuxGroup), "大家好\x00")
	e := waitGroupEvent(t, evs, legacygroup.RoomMessage)
	if e.Room.ID != "iptux:group:研发部" || e.Text != "大家好" || e.From.Nick != "tux" || e.From.User != "root" || !e.Unencrypted {
		t.Fatalf("%+v", e)
	}
	tux.send(n.addr, "1_iptux 0.8.3", "root", "vm", ipmsg.IptuxSendMsg|ipmsg.Command(ipmsg.IptuxBroadcast), "all\x00")
	if e := waitGroupEvent(t, evs, legacygroup.RoomMessage); e.Room.ID != "iptux:broadcast" || e.Text != "all" {
		t.Fatalf("%+v", e)
	}
	var last uint32
	for i, text := range []string{"收到", "second"} {
		sent, err := n.LegacyGroups().Send(context.Background(), "iptux:group:研发部", text)
		if err != nil || sent != 1 {
			t.Fatalf("Send: %d %v", sent, err)
		}
		p := tux.expect(ipmsg.IptuxSendMsg)
		if p.Cmd != 0x3FB || string(p.Body) != text+"\x00" || !strings.HasPrefix(p.Version, "1_feigo") {
			t.Fatalf("reply %#x %q %q", uint32(p.Cmd), p.Body, p.Version)
		}
		if i > 0 && p.No <= last {
			t.Fatalf("numbers %d then %d: iptux drops the second", last, p.No)
		}
		last = p.No
	}
	if _, err := n.LegacyGroups().Send(context.Background(), "iptux:group:Other", "x"); err == nil {
		t.Fatal("sent to an iptux room never kept")
	}
}

// A flood of room datagrams is dropped at the read loop's door, unread; the node keeps
// serving.
func TestLegacyGroupsFloodBounded(t *testing.T) {
	flood := newRawPeer(t)
	n, evs := startGroupsNode(t)
	b := feiqRoomPacket(t, ipmsg.FeiQRoom{Join: true, Room: 1, MAC: "AABBCCDDEEFF", No: 1})
	for range 2000 {
		flood.sendRaw(n.addr, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n.LegacyGroups().Dropped() < 1000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d := n.LegacyGroups().Dropped(); d < 1000 {
		t.Fatalf("only %d of 2000 datagrams from one source dropped", d)
	}
	if e := waitGroupEvent(t, evs, legacygroup.RoomSeen); e.Room.ID != "feiq:1" {
		t.Fatalf("%+v", e)
	}
	select {
	case e := <-evs:
		t.Fatalf("a copy delivered again: %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}
