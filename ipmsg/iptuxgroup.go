package ipmsg

import (
	"fmt"
)

// iptux's group chat (iptux-src/iptux v0.8.3, the version Debian ships: Const.h,
// Command.cpp SendUnitMsg, UdpData.cpp SomeoneBcstmsg, DialogGroup.cpp):
//
//   - A message typed in one of iptux's group windows goes to each member as its own
//     datagram, never acknowledged nor retried: IPTUX_SENDMSG (mode 0xFB) with exactly one
//     of the values below in the option bits (values, not flags: iptux compares the whole
//     option word, so any other bit, UTF8OPT included, makes it a "regular" message), and
//     the text (UTF-8) as the additional section. Only peers whose entry carries an encoding
//     in its 4th section (iptux's "compatible" peers) get it; others get a plain
//     SENDMSG|BROADCASTOPT with the text.
//   - The datagram names no group: the receiver files it by the option and the sender. A
//     "group" message lands in the receiver's window for the sender's announced group, a
//     "segment" message in the window for the sender's network segment (iptux's settings;
//     out of the box it lists ranges such as "10.0.0.0~10.255.255.255"), a "broadcast" message in the one
//     broadcast window, a "regular" message in the one-to-one window with the sender.
//   - iptux drops a datagram whose packet number is not above the last one it took from
//     that peer (SENDMSG and IPTUX_SENDMSG share the counter, which each entry resets).
const IptuxSendMsg Command = 0xFB

// IptuxGroupKind is the option value of an IPTUX_SENDMSG: which kind of group window it is for.
type IptuxGroupKind Command

const (
	IptuxRegular   IptuxGroupKind = 0x100
	IptuxSegment   IptuxGroupKind = 0x200
	IptuxGroup     IptuxGroupKind = 0x300
	IptuxBroadcast IptuxGroupKind = 0x400
)

func (k IptuxGroupKind) String() string {
	switch k {
	case IptuxSegment:
		return "segment"
	case IptuxGroup:
		return "group"
	case IptuxBroadcast:
		return "broadcast"
	}
	return "regular"
}

// IptuxGroupMsg is one decoded IPTUX_SENDMSG.
type IptuxGroupMsg struct {
	Kind       IptuxGroupKind
	No         uint32
	User, Host string
	Text       string
}

// DecodeIptuxGroupMsg reads an IPTUX_SENDMSG written in cs (iptux writes UTF-8). It reads the
// kind as iptux does (any option word but the four values is "regular"); the text is the
// first section, at most MaxRoomText runes. An empty text, which iptux does not show, is an
// error, as is any other mode. It never panics.
func DecodeIptuxGroupMsg(p Packet, cs Charset) (IptuxGroupMsg, error) {
	if p.Cmd.Mode() != IptuxSendMsg {
		return IptuxGroupMsg{}, fmt.Errorf("%w: mode %#x is not IPTUX_SENDMSG", ErrNotRoom, uint32(p.Cmd.Mode()))
	}
	m := IptuxGroupMsg{Kind: IptuxRegular, No: p.No, User: DecodeName(cs, p.User), Host: DecodeName(cs, p.Host)}
	switch k := IptuxGroupKind(p.Cmd &^ 0xFF); k {
	case IptuxSegment, IptuxGroup, IptuxBroadcast:
		m.Kind = k
	}
	text := FirstSection(p.Body)
	if len(text) == 0 {
		return IptuxGroupMsg{}, fmt.Errorf("%w: empty iptux group message", ErrMalformed)
	}
	m.Text = ClipRunes(cs.Decode(clipBytes(text, 4*MaxRoomText)), MaxRoomText)
	return m, nil
}

// IptuxGroupPacket builds the IPTUX_SENDMSG that puts text into iptux's window of kind k:
// no option but k (so no UTF8OPT, whatever the encoding), the text in cs followed by a NUL.
// The caller sets the header (Version, No, User, Host). A text that does not fit in
// MaxPacket with a header is refused with ErrTooLong.
func IptuxGroupPacket(k IptuxGroupKind, cs Charset, text string) (Packet, error) {
	switch k {
	case IptuxRegular, IptuxSegment, IptuxGroup, IptuxBroadcast:
	default:
		return Packet{}, fmt.Errorf("ipmsg: iptux group kind %#x", uint32(k))
	}
	body := append(cs.Encode(text), 0)
	if len(body) > MaxPacket-256 {
		return Packet{}, fmt.Errorf("ipmsg: iptux group message of %d bytes: %w", len(body), ErrTooLong)
	}
	return Packet{Cmd: Command(k) | IptuxSendMsg, Body: body}, nil
}
