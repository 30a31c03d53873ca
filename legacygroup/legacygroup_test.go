package legacygroup

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"feigo/ipmsg"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func from(i int) Member {
	return Member{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 2425)}
}

func TestFeiQRoomLifecycle(t *testing.T) {
	r := New()
	ann := ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "AABBCCDDEEFF", No: 1}
	ev, ok := r.OnFeiQ(ann, from(1), t0)
	if !ok || ev.Type != RoomSeen || ev.Room.ID != "feiq:3b199b07" || ev.Room.Name != "项目组" || !ev.Unencrypted || !ev.Room.Unencrypted {
		t.Fatalf("announcement of an unknown room: %+v %v", ev, ok)
	}
	ann.No = 2
	if _, ok := r.OnFeiQ(ann, from(1), t0); ok {
		t.Fatal("a room seen twice reported twice")
	}
	msg := ipmsg.FeiQRoom{Room: 0x3b199b07, Stamp: "1", Text: "hi", MAC: "AABBCCDDEEFF", No: 3}
	if _, ok := r.OnFeiQ(msg, from(1), t0); ok {
		t.Fatal("a message of a room not joined delivered")
	}
	if err := r.Join("feiq:3b199b07", ""); err != nil {
		t.Fatal(err)
	}
	msg.No = 4
	ev, ok = r.OnFeiQ(msg, from(1), t0)
	if !ok || ev.Type != RoomMessage || ev.Text != "hi" || ev.From.MAC != "AABBCCDDEEFF" || !ev.Unencrypted {
		t.Fatalf("message: %+v %v", ev, ok)
	}
	if _, ok := r.OnFeiQ(msg, from(1), t0); ok {
		t.Fatal("a duplicate delivered")
	}
	ann.No = 5
	ev, ok = r.OnFeiQ(ipmsg.FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: "112233445566", No: 1}, from(2), t0)
	if !ok || ev.Type != MemberJoined || ev.Room.Name != "项目组" {
		t.Fatalf("second member: %+v %v", ev, ok)
	}
	ctl := ipmsg.FeiQRoom{Room: 0x3b199b07, Control: true, MAC: "AABBCCDDEEFF", No: 9}
	if _, ok := r.OnFeiQ(ctl, from(1), t0); ok {
		t.Fatal("a control string delivered")
	}
	rm, _ := r.Room("feiq:3b199b07")
	if len(rm.Members) != 2 || !rm.Joined || rm.Name != "项目组" {
		t.Fatalf("%+v", rm)
	}
	r.Leave("feiq:3b199b07")
	msg.No = 10
	if _, ok := r.OnFeiQ(msg, from(1), t0); ok {
		t.Fatal("a message after leaving delivered")
	}
}

func TestBounds(t *testing.T) {
	r := New()
	for i := range MaxRooms {
		if err := r.Join(FeiQRoomID(uint64(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Join(FeiQRoomID(9999), ""); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("room %d joined: %v", MaxRooms+1, err)
	}
	// Windows opened by iptux messages are bounded apart (TestAttackIptuxWindowsDoNotFillTheRooms).
	if _, ok := r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxBroadcast, Text: "x"}, "", from(1), t0); !ok {
		t.Fatal("an iptux window not opened: the user's rooms took its place")
	}
	for i := range 3 * MaxMembers {
		r.OnFeiQ(ipmsg.FeiQRoom{Room: 1, Text: "x", MAC: fmt.Sprintf("%012X", i), No: 1}, from(i), t0.Add(time.Duration(i)))
	}
	rm, _ := r.Room(FeiQRoomID(1))
	if len(rm.Members) != MaxMembers {
		t.Fatalf("%d members kept", len(rm.Members))
	}
	for _, m := range rm.Members {
		if m.LastSeen.Before(t0.Add(time.Duration(2 * MaxMembers))) {
			t.Fatalf("an old member kept over a newer one: %+v", m)
		}
	}
	for i := range 3 * MaxSeen {
		r.OnFeiQ(ipmsg.FeiQRoom{Join: true, Room: uint64(100000 + i), MAC: "AB", No: uint32(i)}, from(1), t0.Add(time.Duration(i)))
	}
	if len(r.seen) != MaxSeen {
		t.Fatalf("%d rooms seen kept", len(r.seen))
	}
	for i := range 3 * dedupSize {
		r.duplicate("x", uint32(i))
	}
	if len(r.recent) != dedupSize {
		t.Fatalf("dedup window of %d", len(r.recent))
	}
}

func TestIptuxRooms(t *testing.T) {
	r := New()
	ev, ok := r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxGroup, No: 7, User: "root", Host: "vm", Text: "大家好"}, "研发部", from(5), t0)
	if !ok || ev.Room.ID != "iptux:group:研发部" || ev.Room.Name != "研发部" || ev.Text != "大家好" || ev.From.User != "root" || !ev.Unencrypted {
		t.Fatalf("%+v %v", ev, ok)
	}
	if _, ok := r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxGroup, No: 7, Text: "大家好"}, "研发部", from(5), t0); ok {
		t.Fatal("a duplicate delivered")
	}
	for _, tc := range []struct {
		k     ipmsg.IptuxGroupKind
		group string
		id    RoomID
	}{
		{ipmsg.IptuxGroup, "", "iptux:group:"}, {ipmsg.IptuxSegment, "x", "iptux:segment"},
		{ipmsg.IptuxBroadcast, "x", "iptux:broadcast"}, {ipmsg.IptuxRegular, "x", "iptux:regular:10.0.0.5"},
	} {
		id := IptuxRoomID(tc.k, tc.group, from(5).Addr.Addr())
		if id != tc.id {
			t.Fatalf("%v: %q", tc.k, id)
		}
		s, err := id.Parse()
		if err != nil || s.Kind != Iptux || s.IptuxKind != tc.k {
			t.Fatalf("%q: %+v %v", id, s, err)
		}
	}
	for _, bad := range []RoomID{"", "feiq:", "feiq:xyz", "feiq:11112222333344445", "iptux:regular:nope", "iptux:other", "room:1"} {
		if _, err := bad.Parse(); !errors.Is(err, ErrBadRoom) {
			t.Errorf("%q parsed: %v", bad, err)
		}
	}
	if s, err := RoomID("feiq:3b199b07").Parse(); err != nil || s.FeiQ != 0x3b199b07 {
		t.Fatalf("%+v %v", s, err)
	}
}

// A stranger on the LAN sends one iptux "regular" group message from each of MaxRooms forged
// source addresses (a regular window is named after its sender): each opened a room, and the
// rooms were full. The user could then join no FeiQ room (ErrTooManyRooms), and a real iptux
// colleague's group message opened no window and was dropped. Windows opened by messages
// are bounded on their own, the quietest pushed out; the rooms the user joined are not
// theirs to take.
func TestAttackIptuxWindowsDoNotFillTheRooms(t *testing.T) {
	r := New()
	if err := r.Join(FeiQRoomID(7), "team"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * MaxRooms {
		if _, ok := r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxRegular, No: 1, Text: "spam"}, "", from(1000+i), t0.Add(time.Duration(i))); !ok {
			t.Fatalf("message %d not delivered", i)
		}
	}
	if n := len(r.Joined()); n > 2*MaxRooms {
		t.Fatalf("%d rooms held", n)
	}
	if err := r.Join(FeiQRoomID(8), "other team"); err != nil {
		t.Fatalf("joining a FeiQ room after the flood: %v", err)
	}
	ev, ok := r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxGroup, No: 2, Text: "hello"}, "dev", from(5), t0.Add(time.Hour))
	if !ok || ev.Room.ID != "iptux:group:dev" {
		t.Fatalf("a colleague's group message after the flood: %+v %v", ev, ok)
	}
	for _, id := range []RoomID{FeiQRoomID(7), FeiQRoomID(8), "iptux:group:dev"} {
		if !r.IsJoined(id) {
			t.Errorf("%s pushed out by the flood", id)
		}
	}
	// A window the user kept is theirs: the flood does not push it out either.
	if err := r.Join("iptux:segment", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * MaxRooms {
		r.OnIptux(ipmsg.IptuxGroupMsg{Kind: ipmsg.IptuxRegular, No: 3, Text: "spam"}, "", from(2000+i), t0.Add(2*time.Hour+time.Duration(i)))
	}
	if !r.IsJoined("iptux:segment") || !r.IsJoined(FeiQRoomID(7)) {
		t.Error("a room the user joined or kept was pushed out by windows a flood opened")
	}
}
