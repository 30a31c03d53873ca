package ipmsg

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/blowfish"
)

// FeiQ's group rooms (群), as the public reimplementations of FeiQ send and read them
// (kevinlynx/luafeiq, pigercc's FeiqUtil, ifreechat; FeiQ itself is closed):
//
//   - Everything goes to the UDP multicast group 226.81.9.8, port 2425 (FeiQRoomGroup, port 2425).
//   - A member announces a room with mode 0xC9 (sent as 0x2000C9) and a room message is
//     mode 0x23 with ENCRYPTOPT (0x400023). Both carry "QUNMSGMARK#<room>#<rest>", GBK:
//     <room> is the room number in hex, followed in messages by "_<stamp>" (the sender's
//     clock; FeiQ's own example reads "3b199b07_24901708"); <rest> is the room's name in an
//     announcement and the text (with FeiQ's "{/font;…}" block) in a message.
//   - That plaintext is encrypted with Blowfish in CBC mode, IV zero, PKCS#5 padding, keyed
//     by the sender's MAC address as the 12 characters the version field carries:
//     "1_lbt4_0#128#<MAC>#0#0#<cipher length>#4000#9". The key travels with the message, so
//     anyone on the LAN can read every room: the encryption only hides the text from
//     someone who does not know the format.
const (
	FeiQRoomMsg   Command = 0x23 // mode of a room message
	FeiQRoomEntry Command = 0xC9 // mode of a room announcement (join)

	// FeiQRoomMsgCmd and FeiQRoomEntryCmd are the whole command words FeiQ sends.
	FeiQRoomMsgCmd   = EncryptOpt | FeiQRoomMsg
	FeiQRoomEntryCmd = FileAttachOpt | FeiQRoomEntry
)

// FeiQRoomGroup is the multicast group FeiQ's rooms use, on IPMsg's port 2425.
const FeiQRoomGroup = "226.81.9.8"

// Bounds of what a room packet may hold.
const (
	// MaxRoomCipher bounds the encrypted part of a room packet; FeiQ's datagrams are far
	// smaller, and FeiGo's own never exceed MaxPacket.
	MaxRoomCipher = 16 << 10
	// MaxRoomText bounds a room message's text, in runes (longer texts are cut).
	MaxRoomText = 8 << 10
	maxMAC      = 32 // FeiQ's MAC is 12 hex digits; anything from 1 to 32 letters/digits is read
	maxStamp    = 20
	roomMark    = "QUNMSGMARK#"
)

// ErrNotRoom is wrapped by DecodeFeiQRoom's errors for packets that are not room packets at
// all (another mode), as opposed to broken room packets (ErrMalformed).
var ErrNotRoom = errors.New("not a FeiQ room packet")

// FeiQRoom is one decoded room packet: an announcement (Join) or a message.
type FeiQRoom struct {
	Join bool
	// Room is the room's number (hex on the wire).
	Room uint64
	// Stamp is what a message carries after the room number's '_', as sent ("" if none).
	Stamp string
	// Name is the room's name an announcement carries ("" when it carries none).
	Name string
	// Text is a message's text with FeiQ's format block removed; Control is set (and Text
	// empty) for FeiQ's control strings, which are not for people.
	Text    string
	Control bool
	// MAC is the sender's MAC address as its version field spells it (the key).
	MAC string
	// No, User and Host are the header's packet number and names (GBK decoded).
	No         uint32
	User, Host string
}

// FeiQRoomMode reports whether cmd is one of the room modes.
func FeiQRoomMode(cmd Command) bool {
	m := cmd.Mode()
	return m == FeiQRoomMsg || m == FeiQRoomEntry
}

// DecodeFeiQRoom reads a room packet. It never panics: anything that is not exactly a room
// packet as described above is an error wrapping ErrNotRoom or ErrMalformed.
func DecodeFeiQRoom(p Packet) (FeiQRoom, error) {
	if !FeiQRoomMode(p.Cmd) {
		return FeiQRoom{}, fmt.Errorf("%w: mode %#x", ErrNotRoom, uint32(p.Cmd.Mode()))
	}
	r := FeiQRoom{Join: p.Cmd.Mode() == FeiQRoomEntry, No: p.No,
		User: DecodeName(GBK, p.User), Host: DecodeName(GBK, p.Host)}
	mac, n, err := feiqRoomVersion(p.Version)
	if err != nil {
		return FeiQRoom{}, err
	}
	r.MAC = mac
	var plain []byte
	if bytes.HasPrefix(p.Body, []byte(roomMark)) {
		// Sent in clear (luafeiq reads a message without ENCRYPTOPT so).
		plain = p.Body
		if i := bytes.IndexByte(plain, 0); i >= 0 {
			plain = plain[:i]
		}
	} else {
		ct := p.Body
		switch {
		case n > 0:
			if n > len(ct) {
				return FeiQRoom{}, fmt.Errorf("%w: room packet says %d encrypted bytes, has %d", ErrMalformed, n, len(ct))
			}
			ct = ct[:n]
		case len(ct)%8 == 1 && ct[len(ct)-1] == 0:
			ct = ct[:len(ct)-1] // a C string's NUL after the cipher
		}
		if len(ct) == 0 || len(ct)%blowfish.BlockSize != 0 || len(ct) > MaxRoomCipher {
			return FeiQRoom{}, fmt.Errorf("%w: room cipher of %d bytes", ErrMalformed, len(ct))
		}
		plain, err = feiqDecrypt([]byte(mac), ct)
		if err != nil {
			return FeiQRoom{}, err
		}
	}
	if !bytes.HasPrefix(plain, []byte(roomMark)) {
		return FeiQRoom{}, fmt.Errorf("%w: room text without %s (wrong key?)", ErrMalformed, roomMark)
	}
	rest := plain[len(roomMark):]
	idf, rest, ok := bytes.Cut(rest, []byte("#"))
	if !ok && !r.Join {
		return FeiQRoom{}, fmt.Errorf("%w: room message without text", ErrMalformed)
	}
	hexPart, stamp, _ := bytes.Cut(idf, []byte("_"))
	if len(hexPart) == 0 || len(hexPart) > 16 {
		return FeiQRoom{}, fmt.Errorf("%w: room number %q", ErrMalformed, Clip(idf))
	}
	r.Room, err = strconv.ParseUint(string(hexPart), 16, 64)
	if err != nil {
		return FeiQRoom{}, fmt.Errorf("%w: room number %q", ErrMalformed, Clip(idf))
	}
	if len(stamp) > maxStamp || !alnum(stamp) {
		return FeiQRoom{}, fmt.Errorf("%w: room stamp %q", ErrMalformed, Clip(stamp))
	}
	r.Stamp = string(stamp)
	if r.Join {
		r.Name = OneLine(decodeBounded(GBK, rest, MaxName))
		return r, nil
	}
	text := ClipRunes(GBK.Decode(clipBytes(rest, 4*MaxRoomText)), MaxRoomText)
	text, show := FeiQText(text)
	r.Text, r.Control = text, !show
	return r, nil
}

// feiqRoomVersion reads the MAC and the cipher length (0 when absent) from a FeiQ version
// field "1_lbt…#<status>#<MAC>#…#…#<length>[#…]".
func feiqRoomVersion(v string) (mac string, n int, err error) {
	f := strings.Split(v, "#")
	if !strings.HasPrefix(v, "1_lbt") || len(f) < 3 {
		return "", 0, fmt.Errorf("%w: room packet without FeiQ's version field (%q)", ErrMalformed, Clip([]byte(v)))
	}
	mac = f[2]
	if len(mac) == 0 || len(mac) > maxMAC || !alnum([]byte(mac)) {
		return "", 0, fmt.Errorf("%w: MAC %q", ErrMalformed, Clip([]byte(mac)))
	}
	if len(f) > 5 && f[5] != "" && f[5] != "0" {
		x, perr := strconv.Atoi(f[5])
		if perr != nil || x < 0 || x > MaxRoomCipher {
			return "", 0, fmt.Errorf("%w: room cipher length %q", ErrMalformed, Clip([]byte(f[5])))
		}
		n = x
	}
	return mac, n, nil
}

func alnum(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// feiqDecrypt undoes Blowfish-CBC (IV zero) and the padding. FeiQ and its
// reimplementations pad with PKCS#5; a sender that pads with zeros (OpenSSL's
// BF_cbc_encrypt, as ifreechat does) is read too. A C string's NULs at the end go.
func feiqDecrypt(key, ct []byte) ([]byte, error) {
	c, err := blowfish.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %v", ErrMalformed, err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c, make([]byte, blowfish.BlockSize)).CryptBlocks(pt, ct)
	if k := int(pt[len(pt)-1]); k >= 1 && k <= blowfish.BlockSize && bytes.Count(pt[len(pt)-k:], pt[len(pt)-1:]) == k {
		pt = pt[:len(pt)-k]
	}
	return bytes.TrimRight(pt, "\x00"), nil
}

// feiqEncrypt is Blowfish-CBC, IV zero, PKCS#5 padding, as FeiQ writes.
func feiqEncrypt(key, pt []byte) ([]byte, error) {
	c, err := blowfish.NewCipher(key)
	if err != nil {
		return nil, err
	}
	k := blowfish.BlockSize - len(pt)%blowfish.BlockSize
	buf := make([]byte, len(pt)+k)
	copy(buf, pt)
	for i := len(pt); i < len(buf); i++ {
		buf[i] = byte(k)
	}
	cipher.NewCBCEncrypter(c, make([]byte, blowfish.BlockSize)).CryptBlocks(buf, buf)
	return buf, nil
}

// FeiQFont is the format block FeiGo appends to its room messages, as FeiQ does to its own:
// a Windows LOGFONT (height -12, weight 400, charset 134 = GB2312, face 宋体) and a colour.
const FeiQFont = "{/font;-12 0 0 0 400 0 0 0 134 0 0 0 0 宋体 0;}"

// EncodeFeiQRoom builds a room packet from r: an announcement when r.Join (r.Room and
// r.Name), else a message (r.Room, r.Stamp, r.Text, to which FeiQFont is appended). r.MAC
// is ours, 1 to 32 letters and digits (12 hex digits, as FeiQ's); r.No, r.User and r.Host
// go into the header (GBK). Text FeiQ cannot show in GBK becomes '?'. A packet over
// MaxPacket is refused.
func EncodeFeiQRoom(r FeiQRoom) (Packet, error) {
	if len(r.MAC) == 0 || len(r.MAC) > maxMAC || !alnum([]byte(r.MAC)) {
		return Packet{}, fmt.Errorf("ipmsg: room MAC %q: want 1 to %d letters and digits", r.MAC, maxMAC)
	}
	if len(r.Stamp) > maxStamp || !alnum([]byte(r.Stamp)) {
		return Packet{}, fmt.Errorf("ipmsg: room stamp %q", r.Stamp)
	}
	var pt []byte
	cmd := FeiQRoomMsgCmd
	if r.Join {
		cmd = FeiQRoomEntryCmd
		pt = fmt.Appendf(nil, "%s%x#", roomMark, r.Room)
		pt = append(pt, GBK.Encode(OneLine(ClipRunes(r.Name, MaxName)))...)
	} else {
		id := strconv.FormatUint(r.Room, 16)
		if r.Stamp != "" {
			id += "_" + r.Stamp
		}
		pt = append([]byte(roomMark+id+"#"), GBK.Encode(r.Text+FeiQFont)...)
	}
	ct, err := feiqEncrypt([]byte(r.MAC), pt)
	if err != nil {
		return Packet{}, fmt.Errorf("ipmsg: room key: %w", err)
	}
	p := Packet{
		Version: fmt.Sprintf("1_lbt4_0#128#%s#0#0#%d#4000#9", r.MAC, len(ct)),
		No:      r.No, User: GBK.Encode(r.User), Host: GBK.Encode(r.Host), Cmd: cmd, Body: ct,
	}
	if b, err := p.Marshal(); err != nil {
		return Packet{}, err
	} else if len(b) > MaxPacket {
		return Packet{}, fmt.Errorf("ipmsg: room message of %d bytes: %w", len(b), ErrTooLong)
	}
	return p, nil
}

// ErrTooLong is returned for a message that does not fit in one datagram.
var ErrTooLong = errors.New("message too long for one datagram")
