package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/legacygroup"
	"feigo/node"
	"feigo/profile"
)

// rawUDP is a FeiQ or an iptux on loopback, played byte by byte.
type rawUDP struct {
	t *testing.T
	c *net.UDPConn
}

func newRawUDP(t *testing.T) *rawUDP {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{t, c}
}

func (r *rawUDP) port() int { return r.c.LocalAddr().(*net.UDPAddr).Port }

func (r *rawUDP) send(to int, b []byte) {
	r.t.Helper()
	if _, err := r.c.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to}); err != nil {
		r.t.Fatal(err)
	}
}

// expect reads datagrams until one of mode cmd comes, for 10 s at most.
func (r *rawUDP) expect(cmd ipmsg.Command) ipmsg.Packet {
	r.t.Helper()
	buf := make([]byte, 65536)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("no %#x datagram: %v", uint32(cmd), err)
		}
		p, err := ipmsg.Decode(buf[:n])
		if err == nil && p.Cmd.Mode() == cmd.Mode() {
			return p
		}
	}
}

func legacyEvent(t *testing.T, ev lan.Event) legacygroup.Event {
	t.Helper()
	var e legacygroup.Event
	if err := json.Unmarshal(ev.Room, &e); err != nil {
		t.Fatalf("event %s: %v", ev.Type, err)
	}
	return e
}

// The node takes legacy groups by default: a FeiQ room's message and an iptux group message
// reach its events and its history, unencrypted and marked so, and its answers go back the
// legacy way (a FeiQ room datagram, an IPTUX_SENDMSG).
func TestLegacyGroupsAdopted(t *testing.T) {
	peer := newRawUDP(t) // plays a FeiQ and an iptux at one address
	port := freePort(t)
	n := startLoop(t, t.TempDir(), "Grace", port, peer.port(), func(c *lan.Config) { c.LegacyMAC = "02:42:ac:1f:00:02" })
	if n.LegacyGroups() == nil {
		t.Fatal("legacy groups are off by default")
	}
	// FeiQ: a room announced, joined, a message in it.
	join, _ := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "00E04C6812AB", No: 1, User: "zhang", Host: "PC"})
	b, _ := join.Marshal()
	peer.send(port, b)
	seen := legacyEvent(t, n.wait(t, event.Type(legacygroup.RoomSeen), nil))
	if seen.Room.ID != "feiq:3b199b07" || seen.Room.Name != "项目组" || !seen.Unencrypted {
		t.Fatalf("seen %+v", seen)
	}
	if err := n.LegacyRoomJoin(seen.Room.ID, seen.Room.Name); err != nil {
		t.Fatal(err)
	}
	peer.expect(ipmsg.FeiQRoomEntry) // our join, announced
	msg, _ := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Room: 0x3b199b07, Stamp: "24901708", Text: "开会了", MAC: "00E04C6812AB", No: 2, User: "zhang", Host: "PC"})
	b, _ = msg.Marshal()
	peer.send(port, b)
	ev := n.wait(t, event.Type(legacygroup.RoomMessage), nil)
	got := legacyEvent(t, ev)
	if got.Text != "开会了" || got.Room.ID != "feiq:3b199b07" || !got.Unencrypted || ev.HistoryID == 0 {
		t.Fatalf("FeiQ message %+v (history %d)", got, ev.HistoryID)
	}
	rec, err := n.LegacyRoomSend(context.Background(), "feiq:3b199b07", "收到")
	if err != nil || rec.State != history.StateDelivered {
		t.Fatalf("FeiQ answer %+v %v", rec, err)
	}
	p := peer.expect(ipmsg.FeiQRoomMsg)
	if r, err := ipmsg.DecodeFeiQRoom(p); err != nil || r.Text != "收到" || r.Room != 0x3b199b07 {
		t.Fatalf("our FeiQ message %+v %v", r, err)
	}

	// iptux: announced in 研发部, a group message.
	iptux := func(no int, cmd ipmsg.Command, body string) []byte {
		return []byte(fmt.Sprintf("1_iptux 0.8.3:%d:root:vm:%d:%s", no, uint32(cmd), body))
	}
	peer.send(port, iptux(10, ipmsg.BrEntry|ipmsg.AbsenceOpt, "tux\x00研发部\x00icon-tux.png\x00utf-8\x00"))
	n.wait(t, event.PeerOnline, func(ev lan.Event) bool { return ev.Peer.Client == string(ipmsg.ClientIptux) })
	peer.send(port, iptux(11, ipmsg.IptuxSendMsg|ipmsg.Command(ipmsg.IptuxGroup), "大家好\x00"))
	ev = n.wait(t, event.Type(legacygroup.RoomMessage), nil)
	got = legacyEvent(t, ev)
	if got.Text != "大家好" || got.Room.ID != "iptux:group:研发部" || got.From.Nick != "tux" || !got.Unencrypted || ev.HistoryID == 0 {
		t.Fatalf("iptux message %+v", got)
	}
	if _, err := n.LegacyRoomSend(context.Background(), "iptux:group:研发部", "好的"); err != nil {
		t.Fatal(err)
	}
	if p := peer.expect(ipmsg.IptuxSendMsg); string(p.Body) != "好的\x00" {
		t.Fatalf("our iptux message %q", p.Body)
	}
	rooms := n.LegacyRooms()
	if len(rooms) != 2 {
		t.Fatalf("rooms %+v", rooms)
	}
	// Both rooms' messages are in the history, under their rooms, and searchable.
	rs, err := n.SearchHistory("大家好", 10)
	if err != nil || len(rs) != 1 || rs[0].Peer != node.LegacyRoomPeer("iptux:group:研发部") {
		t.Fatalf("search %+v %v", rs, err)
	}
	page, err := n.HistoryPage(node.LegacyRoomPeer("feiq:3b199b07"), 0, 10)
	if err != nil || len(page) != 2 || page[0].Text != "开会了" || page[1].Text != "收到" || page[1].Direction != event.Out {
		t.Fatalf("FeiQ room's history %+v %v", page, err)
	}
}

// legacy_groups "off" leaves them off, as does the "refuse" policy unless they are on; a
// value that is neither is refused.
func TestLegacyGroupsSetting(t *testing.T) {
	p, err := profile.Open(filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		st   profile.Settings
		want bool
	}{
		{profile.Settings{}, true},
		{profile.Settings{LegacyGroups: "off"}, false},
		{profile.Settings{Legacy: profile.LegacyRefuse}, false},
		{profile.Settings{Legacy: profile.LegacyRefuse, LegacyGroups: "on"}, true},
	} {
		cfg, err := node.LANConfig(p, c.st)
		if err != nil || cfg.LegacyGroups != c.want {
			t.Errorf("%+v: legacy groups %v (%v), want %v", c.st, cfg.LegacyGroups, err, c.want)
		}
	}
	if _, err := node.LANConfig(p, profile.Settings{LegacyGroups: "yes"}); err == nil || !strings.Contains(err.Error(), "legacy_groups") {
		t.Errorf("legacy_groups yes: %v", err)
	}
}
