package ui

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/node"
	"feigo/profile"
)

// rawPeer is a FeiQ and an iptux on loopback, played byte by byte.
type rawPeer struct {
	t *testing.T
	c *net.UDPConn
}

func (r *rawPeer) port() int { return r.c.LocalAddr().(*net.UDPAddr).Port }

func (r *rawPeer) send(to int, b []byte) {
	r.t.Helper()
	if _, err := r.c.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to}); err != nil {
		r.t.Fatal(err)
	}
}

// expect reads datagrams until one of mode cmd comes, for 10 s at most.
func (r *rawPeer) expect(cmd ipmsg.Command) ipmsg.Packet {
	r.t.Helper()
	buf := make([]byte, 65536)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("no %#x datagram: %v", uint32(cmd), err)
		}
		if p, err := ipmsg.Decode(buf[:n]); err == nil && p.Cmd.Mode() == cmd.Mode() {
			return p
		}
	}
}

// startLegacyNode runs a node with the default settings (legacy groups on) on 127.0.0.1,
// announcing to peer; its events go to push once it is set.
func startLegacyNode(t *testing.T, peer *rawPeer, events func(lan.Event)) (*node.Node, int) {
	t.Helper()
	p, err := profile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	tcp, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
	if err != nil {
		conn.Close()
		t.Skipf("TCP port %d is taken: %v", port, err)
	}
	cfg, err := node.LANConfig(p, profile.Settings{Nick: "王芳", Group: "研发部", Port: port, Interfaces: []string{"none"},
		Broadcast: []string{fmt.Sprintf("127.0.0.1:%d", peer.port())}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conn, cfg.TCP, cfg.LegacyMAC, cfg.OnEvent = conn, tcp, "02:42:ac:1f:00:02", events
	n, err := node.Start(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return n, port
}

// A FeiQ room and an iptux group chat, from the bytes on the wire to the window: the FeiQ room
// announced on the LAN is listed (not joined, not encrypted), joined on the user's yes, its
// message shown and answered in FeiQ's format; an iptux group message opens its room, and the
// answer goes to iptux as IPTUX_SENDMSG. Both are marked unencrypted.
func TestLegacyGroupsInTheWindow(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer := &rawPeer{t, c}
	var mu sync.Mutex
	var inbox *Inbox
	var early []lan.Event
	n, port := startLegacyNode(t, peer, func(ev lan.Event) {
		mu.Lock()
		defer mu.Unlock()
		if inbox == nil {
			early = append(early, ev)
			return
		}
		inbox.Push(ev)
	})
	u := newTestWindow(t, test.NewTempApp(t), nodeCore{n}, Options{Settings: profile.Settings{Language: "en"}})
	u.Win.Resize(fyne.NewSize(1000, 640))
	mu.Lock()
	inbox = u.inbox
	for _, ev := range early {
		inbox.Push(ev)
	}
	mu.Unlock()

	join, _ := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "00E04C6812AB", No: 1, User: "zhang", Host: "PC"})
	b, _ := join.Marshal()
	peer.send(port, b)
	row := legacyRow("feiq:3b199b07")
	u.until("the FeiQ room listed", func() bool { _, _, ok := u.legacyRoom(row); return ok })
	if roots := u.treeChildren(""); len(roots) == 0 || roots[0] != roomsBranch {
		t.Fatalf("rooms not above the colleagues: %v", roots)
	}
	line := u.treeCreate(false)
	u.treeUpdate(row, false, line)
	if got := rowParts(line).rowString(); !strings.Contains(got, "项目组  · FeiQ · not encrypted  (not joined)") {
		t.Fatalf("FeiQ room row %q", got)
	}
	if lock := rowParts(line).lock; lock.Resource == nil || !strings.Contains(lock.Resource.Name(), "lock-open") {
		t.Fatalf("the FeiQ room's row has no open lock: %v", lock.Resource)
	}
	u.roomTreeSelected(row)
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(deepTexts(top), " "), "anyone on the network can read it") {
		t.Fatal("joining a FeiQ room does not say it is readable by anyone")
	}
	test.Tap(findButton(top, "Yes"))
	u.settle()
	peer.expect(ipmsg.FeiQRoomEntry) // our join, announced as FeiQ does
	feiq := u.convs[row]
	if feiq == nil || u.tabs.Selected() != feiq.tab || !strings.Contains(feiq.status.Text, "Not encrypted") {
		t.Fatalf("the FeiQ room's conversation: %+v", feiq)
	}
	msg, _ := ipmsg.EncodeFeiQRoom(ipmsg.FeiQRoom{Room: 0x3b199b07, Stamp: "24901708", Text: "开会了", MAC: "00E04C6812AB", No: 2, User: "zhang", Host: "PC"})
	b, _ = msg.Marshal()
	peer.send(port, b)
	u.until("the FeiQ message shown", func() bool { return strings.Contains(boxText(feiq), "开会了") })
	test.Type(feiq.input, "收到")
	feiq.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	p := peer.expect(ipmsg.FeiQRoomMsg)
	if r, err := ipmsg.DecodeFeiQRoom(p); err != nil || r.Text != "收到" || r.Room != 0x3b199b07 {
		t.Fatalf("the answer in FeiQ's format: %+v %v", r, err)
	}
	u.until("the answer marked", func() bool { return strings.Contains(boxText(feiq), "sent (not acknowledged)") })

	// iptux, in 研发部 as this node: a group message opens its room.
	iptux := func(no int, cmd ipmsg.Command, body string) []byte {
		return []byte(fmt.Sprintf("1_iptux 0.8.3:%d:root:vm:%d:%s", no, uint32(cmd), body))
	}
	peer.send(port, iptux(10, ipmsg.BrEntry|ipmsg.AbsenceOpt, "tux\x00研发部\x00icon-tux.png\x00utf-8\x00"))
	u.until("iptux listed", func() bool { return len(u.peers) == 1 })
	peer.send(port, iptux(11, ipmsg.IptuxSendMsg|ipmsg.Command(ipmsg.IptuxGroup), "大家好\x00"))
	trow := legacyRow("iptux:group:研发部")
	u.until("the iptux room", func() bool { c := u.convs[trow]; return c != nil && strings.Contains(boxText(c), "大家好") })
	tux := u.convs[trow]
	if tux.unread != 1 {
		t.Errorf("the iptux room's unread %d with the FeiQ room in front", tux.unread)
	}
	if tux.tab.Icon == nil || !strings.Contains(tux.tab.Icon.Name(), "lock-open") || !strings.Contains(tux.status.Text, "iptux group chat") {
		t.Errorf("the iptux room is not marked unencrypted: %v %q", tux.tab.Icon, tux.status.Text)
	}
	u.tabs.Select(tux.tab)
	u.settle()
	if tux.unread != 0 {
		t.Errorf("unread %d after coming back", tux.unread)
	}
	test.Type(tux.input, "好的")
	tux.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	if p := peer.expect(ipmsg.IptuxSendMsg); string(p.Body) != "好的\x00" {
		t.Fatalf("the answer to iptux %q", p.Body)
	}
}
