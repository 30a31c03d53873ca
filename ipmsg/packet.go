package ipmsg

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Command is an IPMsg command word: a mode in the low 8 bits and option flags above.
type Command uint32

// Mode returns the command's low 8 bits.
func (c Command) Mode() Command { return c & 0xFF }

// Has reports whether every option bit in opt is set.
func (c Command) Has(opt Command) bool { return c&opt == opt }

// Modes (docs/ipmsg-protocol.md §2).
const (
	NoOperation     Command = 0x00
	BrEntry         Command = 0x01
	BrExit          Command = 0x02
	AnsEntry        Command = 0x03
	BrAbsence       Command = 0x04
	SendMsg         Command = 0x20
	RecvMsg         Command = 0x21
	ReadMsg         Command = 0x30
	DelMsg          Command = 0x31
	AnsReadMsg      Command = 0x32
	GetInfo         Command = 0x40
	SendInfo        Command = 0x41
	GetAbsenceInfo  Command = 0x50
	SendAbsenceInfo Command = 0x51
	GetFileData     Command = 0x60
	ReleaseFiles    Command = 0x61
	GetDirFiles     Command = 0x62
	GetPubKey       Command = 0x72
	AnsPubKey       Command = 0x73

	// FeiQ's private modes: chat window opened, typing, stopped typing, window shake.
	FeiQOpenYou  Command = 0x77
	FeiQInputing Command = 0x79
	FeiQInputEnd Command = 0x7A
	FeiQKnock    Command = 0xD1
	// iptux's private modes.
	IptuxSendSign Command = 0xFC
	IptuxSendIcon Command = 0xFE
	// IptuxAskShared asks iptux for the files it shares; it answers with an offer.
	IptuxAskShared Command = 0xFF
)

// Options valid on entry packets (and, for the encoding bits, on every packet).
const (
	AbsenceOpt    Command = 0x100
	DialupOpt     Command = 0x10000
	FileAttachOpt Command = 0x200000
	EncryptOpt    Command = 0x400000
	UTF8Opt       Command = 0x800000
	CapUTF8Opt    Command = 0x1000000
	CapIPDictOpt  Command = 0x2000000 // never set by FeiGo
	// ClipboardOpt says the sender shows images embedded in messages (clipboard
	// attachments, FileClipboard); IP Messenger sets it on its entries.
	ClipboardOpt Command = 0x8000000
)

// Options valid on SENDMSG.
const (
	SendCheckOpt Command = 0x100
	SecretOpt    Command = 0x200
	BroadcastOpt Command = 0x400
	MulticastOpt Command = 0x800
	AutoRetOpt   Command = 0x2000
	RetryOpt     Command = 0x4000
	PasswordOpt  Command = 0x8000
	NoLogOpt     Command = 0x20000
	NoAddListOpt Command = 0x80000
	ReadCheckOpt Command = 0x100000
)

// MaxPacket is the largest datagram FeiGo sends: iptux reads at most 8 KiB and cuts the rest.
const MaxPacket = 8192

// maxVersion bounds the version field; real ones are under 64 bytes.
const maxVersion = 128

// ErrMalformed is wrapped by every Decode error.
var ErrMalformed = errors.New("malformed IPMsg packet")

// Packet is one IPMsg datagram: version:packetNo:user:host:command:additional.
// User, Host and Body are raw bytes in whatever encoding the sender used; see Charset.
type Packet struct {
	Version string
	No      uint32
	User    []byte
	Host    []byte
	Cmd     Command
	Body    []byte
}

// Decode parses one datagram. It accepts what real clients send (FeiQ's and iptux's
// version fields, trailing NUL padding) and returns an error wrapping ErrMalformed for
// anything else. It never panics. The returned slices alias b.
func Decode(b []byte) (Packet, error) {
	var f [5][]byte
	rest := b
	for i := range f {
		j := bytes.IndexByte(rest, ':')
		if j < 0 {
			return Packet{}, fmt.Errorf("%w: %d of 5 header fields", ErrMalformed, i)
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	v := f[0]
	if len(v) == 0 || v[0] != '1' || (len(v) > 1 && v[1] >= '0' && v[1] <= '9') {
		return Packet{}, fmt.Errorf("%w: version %q", ErrMalformed, Clip(v))
	}
	if len(v) > maxVersion {
		return Packet{}, fmt.Errorf("%w: version field of %d bytes", ErrMalformed, len(v))
	}
	no, err := parseU32(f[1])
	if err != nil {
		return Packet{}, fmt.Errorf("%w: packet number %q", ErrMalformed, Clip(f[1]))
	}
	cmd, err := parseU32(f[4])
	if err != nil {
		return Packet{}, fmt.Errorf("%w: command %q", ErrMalformed, Clip(f[4]))
	}
	return Packet{Version: string(v), No: no, User: f[2], Host: f[3], Cmd: Command(cmd), Body: rest}, nil
}

func parseU32(b []byte) (uint32, error) {
	if len(b) == 0 || len(b) > 10 {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	return uint32(n), err
}

func Clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// Marshal encodes p. User, host and version must not contain ':' (it would shift the
// fields for every receiver); Body may contain anything.
func (p Packet) Marshal() ([]byte, error) {
	if p.Version == "" || bytes.IndexByte([]byte(p.Version), ':') >= 0 {
		return nil, fmt.Errorf("ipmsg: bad version field %q", p.Version)
	}
	if bytes.IndexByte(p.User, ':') >= 0 || bytes.IndexByte(p.Host, ':') >= 0 {
		return nil, errors.New("ipmsg: user or host name contains ':'")
	}
	b := make([]byte, 0, len(p.Version)+len(p.User)+len(p.Host)+len(p.Body)+32)
	b = append(b, p.Version...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(p.No), 10)
	b = append(b, ':')
	b = append(b, p.User...)
	b = append(b, ':')
	b = append(b, p.Host...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(p.Cmd), 10)
	b = append(b, ':')
	b = append(b, p.Body...)
	return b, nil
}

// Sections splits an additional section at NUL bytes and drops the empty sections at the
// end, so "text\0", "text" and "text" followed by IPMsg's 64 NUL padding bytes are all
// one section. Empty sections in the middle are kept ("nick\0\0\nUN:…" has an empty group).
func Sections(body []byte) [][]byte {
	body = bytes.TrimRight(body, "\x00")
	if len(body) == 0 {
		return nil
	}
	return bytes.Split(body, []byte{0})
}

// FirstSection is the main text of an additional section: everything before the first NUL.
func FirstSection(body []byte) []byte {
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return body[:i]
	}
	return body
}
