//go:build linux

package lan

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"feigo/event"
	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/legacygroup"
	"feigo/peers"
)

// TestLegacyGroupsLabHelper is not a test: TestLegacyGroupsLab runs this test binary on a lab
// host with FEIGO_LG_HELPER=1, and this function then runs a FeiGo node with legacy groups
// on the host's port 2425 until SIGTERM. It joins FeiQ room 3b199b07, prints each event as
// a JSON line and answers each room message with "回复:" and its text.
func TestLegacyGroupsLabHelper(t *testing.T) {
	if os.Getenv("FEIGO_LG_HELPER") != "1" {
		t.Skip("helper for TestLegacyGroupsLab")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	out := make(chan any, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc := json.NewEncoder(os.Stdout)
		for v := range out {
			enc.Encode(v)
		}
	}()
	replies := make(chan legacygroup.Event, 100)
	n, err := NewNode(Config{ID: "lab-feigo", Nick: "FeiGo", Group: "研发部", User: "feigo", Host: "lab1", NoFiles: true,
		LegacyGroups: true,
		OnEvent: func(e Event) {
			if e.Type == event.Ready {
				out <- map[string]any{"type": "ready"}
			}
		},
		OnLegacyGroup: func(e legacygroup.Event) {
			out <- map[string]any{"type": string(e.Type), "room": string(e.Room.ID), "text": e.Text,
				"from": e.From.Addr.String(), "mac": e.From.MAC, "unencrypted": e.Unencrypted}
			if e.Type == legacygroup.RoomMessage {
				select {
				case replies <- e:
				default:
				}
			}
		}}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.LegacyGroups().JoinFeiQRoom(0x3b199b07, "项目组"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-replies:
				sent, err := n.LegacyGroups().Send(ctx, e.Room.ID, "回复:"+e.Text)
				ev := map[string]any{"type": "sent", "room": string(e.Room.ID), "n": sent, "mac": n.LegacyGroups().MAC()}
				if err != nil {
					ev["err"] = err.Error()
				}
				out <- ev
			}
		}
	}()
	err = n.Run(ctx)
	close(out)
	<-done
	if err != nil {
		t.Fatal(err)
	}
}

// labSocket opens UDP port 2425 on host h, joined to FeiQ's group on its eth0 and sending
// multicast there, as FeiQ does.
func labSocket(t *testing.T, h *lab.Host) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := h.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 2425})
		if err != nil {
			return err
		}
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptIPMreqn(int(fd), syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP,
				&syscall.IPMreqn{Multiaddr: [4]byte{226, 81, 9, 8}, Ifindex: int32(ifc.Index)})
			if serr == nil {
				serr = syscall.SetsockoptIPMreqn(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, &syscall.IPMreqn{Ifindex: int32(ifc.Index)})
			}
		})
		return serr
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readMode returns the next datagram of mode from c (from any source), decoded.
func readMode(t *testing.T, c *net.UDPConn, mode ipmsg.Command, within time.Duration) (ipmsg.Packet, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(within))
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for mode %#x: %v", uint32(mode), err)
		}
		p, err := ipmsg.Decode(append([]byte(nil), buf[:n]...))
		if err == nil && p.Cmd.Mode() == mode {
			return p, from
		}
	}
}

func waitLab(t *testing.T, p *lab.Proc, typ string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	return p.WaitEvent(typ, 10*time.Second, ok)
}

// TestLegacyGroupsLab: a FeiGo node on a lab host, FeiQ's bytes on another (written here
// from the format the codec's vectors check) and iptux's on a third, over the lab's bridge:
// FeiQ room traffic both ways through the multicast group, iptux group datagrams both ways.
func TestLegacyGroupsLab(t *testing.T) {
	if os.Getenv("FEIGO_LG_HELPER") == "1" {
		t.Skip("inside the helper")
	}
	l := lab.New(t, 3)
	t.Setenv("FEIGO_LG_HELPER", "1")
	feigo := l.Hosts[0].Start(t.TempDir(), os.Args[0], "-test.run=^TestLegacyGroupsLabHelper$")
	t.Cleanup(func() { feigo.Stop() })
	waitLab(t, feigo, "ready", nil)

	// FeiQ on host 2: its announcement reaches FeiGo through the multicast group (sent again
	// until FeiGo has joined the group).
	feiq := labSocket(t, l.Hosts[1])
	group := netip.MustParseAddrPort("226.81.9.8:2425")
	send := func(r ipmsg.FeiQRoom) {
		t.Helper()
		if _, err := feiq.WriteToUDPAddrPort(feiqRoomPacket(t, r), group); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for no := uint32(1); ; no++ {
		send(ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "00E04C6812AB", No: no, User: "zhang", Host: "PC-ZHANG"})
		time.Sleep(200 * time.Millisecond)
		joined := false
		for _, e := range feigo.Events() {
			joined = joined || e["type"] == string(legacygroup.MemberJoined) && e["from"] == "10.213.0.2:2425"
		}
		if joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FeiQ's announcement never reached FeiGo through the multicast group; its log:\n%s", feigo.LogTail())
		}
	}
	send(ipmsg.FeiQRoom{Room: 0x3b199b07, Stamp: "1700000000", Text: "开会了", MAC: "00E04C6812AB", No: 100, User: "zhang", Host: "PC-ZHANG"})
	msg := waitLab(t, feigo, string(legacygroup.RoomMessage), func(e map[string]any) bool { return e["room"] == "feiq:3b199b07" })
	if msg["text"] != "开会了" || msg["mac"] != "00E04C6812AB" || msg["unencrypted"] != true {
		t.Fatalf("%v", msg)
	}
	sent := waitLab(t, feigo, "sent", func(e map[string]any) bool { return e["room"] == "feiq:3b199b07" })
	if sent["err"] != nil || sent["n"] != float64(1) {
		t.Fatalf("%v", sent)
	}
	for {
		p, from := readMode(t, feiq, ipmsg.FeiQRoomMsg, 5*time.Second)
		if from.Addr() != l.Hosts[0].Addr {
			continue // our own message, looped back
		}
		r, err := ipmsg.DecodeFeiQRoom(p)
		if err != nil || r.Text != "回复:开会了" || r.Room != 0x3b199b07 || r.MAC != sent["mac"] || p.Cmd != ipmsg.FeiQRoomMsgCmd {
			t.Fatalf("FeiGo's room message %+v %v", r, err)
		}
		break
	}

	// iptux on host 3: it announces itself, FeiGo answers as one of iptux's own, a group
	// datagram arrives and the reply comes back to iptux's group window.
	var tux *net.UDPConn
	if err := l.Hosts[2].Do(func() (err error) {
		tux, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(l.Hosts[2].Addr.AsSlice()), Port: 2425})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tux.Close()
	fg := netip.AddrPortFrom(l.Hosts[0].Addr, 2425)
	raw := func(no uint32, cmd ipmsg.Command, body string) {
		t.Helper()
		b, _ := ipmsg.Packet{Version: "1_iptux 0.8.3", No: no, User: []byte("root"), Host: []byte("vm"), Cmd: cmd, Body: []byte(body)}.Marshal()
		if _, err := tux.WriteToUDPAddrPort(b, fg); err != nil {
			t.Fatal(err)
		}
	}
	raw(1, ipmsg.BrEntry|ipmsg.AbsenceOpt, "tux\x00研发部\x00icon-tux.png\x00utf-8\x00")
	ans, _ := readMode(t, tux, ipmsg.AnsEntry, 5*time.Second)
	if secs := ipmsg.Sections(ans.Body); len(secs) != 4 || string(secs[3]) != "utf-8" {
		t.Fatalf("FeiGo's answer to iptux %q: iptux would not take it for one of its own", ans.Body)
	}
	time.Sleep(100 * time.Millisecond) // the entry is listed by the read loop before the group datagram is decoded
	raw(2, ipmsg.IptuxSendMsg|ipmsg.Command(ipmsg.IptuxGroup), "大家好\x00")
	msg = waitLab(t, feigo, string(legacygroup.RoomMessage), func(e map[string]any) bool { return e["room"] == "iptux:group:研发部" })
	if msg["text"] != "大家好" || msg["from"] != "10.213.0.3:2425" {
		t.Fatalf("%v", msg)
	}
	p, _ := readMode(t, tux, ipmsg.IptuxSendMsg, 5*time.Second)
	if p.Cmd != 0x3FB || string(p.Body) != "回复:大家好\x00" {
		t.Fatalf("FeiGo's reply to iptux %#x %q", uint32(p.Cmd), p.Body)
	}
}
