package ipmsg

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Client names the program a peer runs, as far as its packets tell.
type Client string

// The clients FeiGo tells apart.
const (
	ClientFeiGo Client = "feigo"
	ClientIptux Client = "iptux"
	ClientFeiQ  Client = "feiq"
	ClientIPMsg Client = "ipmsg"
)

// Bounds of what ParseEntry keeps of an entry, so that a peer costs the same few KiB of
// memory however large its packets are (a datagram holds up to 64 KiB). A name or text
// longer than its bound is cut at a character boundary: IPMsg's own name buffers are 80
// bytes, so no real client reaches these. An ID or a capability over its bound is not cut
// but ignored, since a cut one would name something else. Trailer keys FeiGo does not read
// (IPMsg's VS, anyone's inventions) are skipped and never kept. EntryBody applies the same
// bounds to what FeiGo sends, so its own entry reads back as it was written.
const (
	// MaxName bounds a nick, group, user or host name, in runes (so at most 4×80 bytes).
	MaxName = 80
	// MaxAwayText bounds the away text of FeiGo's FGAW key, in runes.
	MaxAwayText = 256
	// MaxVersion bounds the version field, in bytes; Decode refuses longer ones.
	MaxVersion = maxVersion
	// MaxID bounds a FeiGo ID (FGID), in bytes of printable UTF-8 without spaces: a UUID is
	// 36. A longer ID, or one with other bytes, is ignored and the peer is keyed by its
	// address.
	MaxID = 64
	// MaxCaps is how many capabilities of FGCAP are kept; later ones are ignored.
	MaxCaps = 8
	// MaxCapLen bounds one capability, in bytes of [a-z0-9._-]; others are ignored.
	MaxCapLen = 16
)

// Entry is what an entry packet (BR_ENTRY, ANSENTRY, BR_ABSENCE) says about its sender.
// ParseEntry bounds every field (MaxName, MaxAwayText, MaxVersion, MaxID, MaxCaps).
type Entry struct {
	User, Host  string
	Nick, Group string
	Client      Client
	Version     string
	// Charset is what the peer's packets without UTF8OPT are written in.
	Charset Charset
	// UTF8 is true when the peer reads UTF-8 (CAPUTF8OPT, iptux, FeiGo).
	UTF8 bool
	Away bool
	// ID is the FeiGo instance ID, or FeiQ's MAC address; empty for others.
	ID       string
	AwayText string
	Caps     []string
	// Key is a FeiGo peer's identity key (Ed25519, KeySize bytes; FGPK), or nil. An entry
	// only claims it: the peer proves it over TLS (package trust).
	Key []byte
	// Dialed and Port are said only in the hello on a FeiGo channel (over TLS, never in a
	// datagram): the address the sender dialled (FGTO) and the UDP port it listens on
	// (FGUP). They let the node that accepted the channel take the handshake as the
	// sender's proof of its key at its address, so that two nodes need one handshake, not
	// two (see lan's secure.go); a relayed channel names another address than the one it
	// reached.
	Dialed string
	Port   uint16
	// IptuxGroups, in our own entry, makes every entry body we send end with iptux's icon and
	// encoding sections ("…\0<icon or trailer>\0utf-8\0"): iptux then takes us for one of its
	// own ("compatible") and sends us its group chat as IPTUX_SENDMSG, which says which kind
	// of group a message is for, instead of a plain SENDMSG|BROADCASTOPT that does not. Off
	// unless legacy groups are enabled (lan.Config.LegacyGroups).
	IptuxGroups bool
}

// KeySize is the size of a FeiGo identity key; an FGPK of any other size is ignored.
const KeySize = 32

// Keys of the UTF-8 trailer that IPMsg appends as an entry's 3rd section. FeiGo adds its own
// keys there: iptux reads that section as an icon name (harmless) and IPMsg ignores keys it
// does not know, while a 4th section would be taken by iptux as an encoding name.
const (
	trUser  = "UN"
	trHost  = "HN"
	trNick  = "NN"
	trGroup = "GN"
	trID    = "FGID"
	trCaps  = "FGCAP"
	trAway  = "FGAW"
	trKey   = "FGPK" // the identity key, base64 (standard alphabet, padded)
	trTo    = "FGTO" // the address a channel's hello was sent to
	trPort  = "FGUP" // the UDP port of a channel hello's sender
)

// EntryBody builds nick\0group\0trailer\0 in cs, with everything every client reads: for
// broadcasts, which all of them hear. The trailer is UTF-8 whatever cs is.
func EntryBody(cs Charset, self Entry) []byte { return entryBody(cs, self, true, true) }

// EntryBodyFor builds the entry body for one peer whose program is to: only what that
// program reads, so a unicast entry (an answer to a BR_ENTRY, a liveness probe) is about the
// size of the peer's own and a forged entry does not earn its address more than it sent.
// FeiGo peers get nick\0group\0 and FeiGo's keys (ID, capabilities, away text; the names are
// in the sections already when cs is UTF-8); an IPMsg peer that reads UTF-8 (utf8Trailer,
// from CAPUTF8OPT) gets IPMsg's name trailer; iptux, FeiQ and older IPMsg get
// nick\0group\0, all they read.
func EntryBodyFor(cs Charset, self Entry, to Client, utf8Trailer bool) []byte {
	switch {
	case to == ClientFeiGo:
		return entryBody(cs, self, cs != UTF8, true)
	case to == ClientIPMsg && utf8Trailer:
		return entryBody(cs, self, true, false)
	}
	return entryBody(cs, self, false, false)
}

// entryBody writes nick\0group\0 and, if names or feigo, the trailer with IPMsg's name keys
// (names) and FeiGo's own keys (feigo).
func entryBody(cs Charset, self Entry, names, feigo bool) []byte {
	b := entrySections(cs, self, names, feigo)
	if self.IptuxGroups {
		if !names && !feigo {
			b = append(b, 0) // an empty icon section
		}
		b = append(b, cs.String()...)
		b = append(b, 0)
	}
	return b
}

func entrySections(cs Charset, self Entry, names, feigo bool) []byte {
	var b bytes.Buffer
	self.Nick, self.Group = ClipRunes(self.Nick, MaxName), ClipRunes(self.Group, MaxName)
	self.AwayText = ClipRunes(self.AwayText, MaxAwayText)
	b.Write(cs.Encode(self.Nick))
	b.WriteByte(0)
	b.Write(cs.Encode(self.Group))
	b.WriteByte(0)
	if !names && !feigo {
		return b.Bytes()
	}
	kv := func(k, v string) {
		b.WriteByte('\n')
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(OneLine(v))
	}
	if names {
		kv(trUser, self.User)
		kv(trHost, self.Host)
		kv(trNick, self.Nick)
		kv(trGroup, self.Group)
	}
	if feigo {
		kv(trID, self.ID)
		if len(self.Key) == KeySize {
			kv(trKey, base64.StdEncoding.EncodeToString(self.Key))
		}
		if len(self.Caps) > 0 {
			kv(trCaps, strings.Join(self.Caps, ","))
		}
		if self.Away && self.AwayText != "" {
			kv(trAway, self.AwayText)
		}
		if self.Dialed != "" {
			kv(trTo, self.Dialed)
		}
		if self.Port != 0 {
			kv(trPort, strconv.Itoa(int(self.Port)))
		}
	}
	b.WriteByte(0)
	return b.Bytes()
}

func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// ClipRunes returns s cut to at most n runes, in memory of its own (never a slice of a
// larger string, which would keep that alive).
func ClipRunes(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.Clone(s[:i])
}

// DecodeName decodes a name (nick, group, user, host) of at most MaxName runes: only the
// bytes that can hold them are decoded.
func DecodeName(cs Charset, b []byte) string { return decodeBounded(cs, b, MaxName) }

// clipBytes returns at most the first n bytes of b.
func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func decodeBounded(cs Charset, b []byte, n int) string {
	b = clipBytes(b, 4*n) // no encoding FeiGo reads takes more than 4 bytes a character
	return ClipRunes(cs.Decode(b), n)
}

// trailer is what FeiGo reads of IPMsg's "\nKEY:value\nKEY:value" section: the keys it
// knows, each bounded, the first of each kept; every other key is skipped.
type trailer struct {
	ok                      bool // the section is a trailer
	user, host, nick, group string
	hasUser, hasHost        bool
	hasNick, hasGroup       bool
	id, away                string
	hasID                   bool // an FGID key with a value, valid or not
	caps                    []string
	key                     []byte
	to                      string
	port                    uint16
}

// parseTrailer reads a trailer section; ok is false when the section is not one.
func parseTrailer(sec []byte) (tr trailer) {
	if len(sec) == 0 || sec[0] != '\n' {
		return tr
	}
	tr.ok = true
	var seenCaps, seenAway bool
	for rest := sec[1:]; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		name := func(dst *string, has *bool) {
			if !*has {
				*dst, *has = decodeBounded(UTF8, v, MaxName), true
			}
		}
		switch string(k) {
		case trUser:
			name(&tr.user, &tr.hasUser)
		case trHost:
			name(&tr.host, &tr.hasHost)
		case trNick:
			name(&tr.nick, &tr.hasNick)
		case trGroup:
			name(&tr.group, &tr.hasGroup)
		case trID:
			if !tr.hasID && len(v) > 0 {
				tr.hasID = true
				if validID(v) {
					tr.id = string(v)
				}
			}
		case trKey:
			if tr.key == nil && len(v) == base64.StdEncoding.EncodedLen(KeySize) {
				if k, err := base64.StdEncoding.DecodeString(string(v)); err == nil && len(k) == KeySize {
					tr.key = k
				}
			}
		case trCaps:
			if !seenCaps {
				seenCaps, tr.caps = true, parseCaps(v)
			}
		case trAway:
			if !seenAway {
				seenAway, tr.away = true, decodeBounded(UTF8, v, MaxAwayText)
			}
		case trTo:
			if tr.to == "" && len(v) <= maxDialed && isAddrText(v) {
				tr.to = string(v)
			}
		case trPort:
			if tr.port == 0 && len(v) <= 5 {
				if p, err := strconv.ParseUint(string(v), 10, 16); err == nil {
					tr.port = uint16(p)
				}
			}
		}
	}
	return tr
}

// maxDialed bounds FGTO: "[IPv6%zone]:port" fits.
const maxDialed = 64

// isAddrText reports whether v holds only what an address and port are written with; the
// node parses it (the codec has no notion of addresses).
func isAddrText(v []byte) bool {
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':' || c == '[' || c == ']' || c == '%') {
			return false
		}
	}
	return len(v) > 0
}

func validID(v []byte) bool {
	if len(v) > MaxID || !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// parseCaps keeps the first MaxCaps well-formed items of a comma-separated list.
func parseCaps(v []byte) []string {
	var caps []string
	for len(v) > 0 && len(caps) < MaxCaps {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if validCap(item) {
			caps = append(caps, string(item))
		}
	}
	return caps
}

func validCap(c []byte) bool {
	if len(c) == 0 || len(c) > MaxCapLen {
		return false
	}
	for _, b := range c {
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// ClientOf tells the program from the version field and trailer.
func ClientOf(version string, trailer map[string]string) Client {
	return clientOf(version, trailer[trID] != "")
}

func clientOf(version string, feigoID bool) Client {
	switch {
	case feigoID:
		return ClientFeiGo
	case strings.Contains(version, "iptux"):
		return ClientIptux
	case strings.HasPrefix(version, "1_lbt"):
		return ClientFeiQ
	}
	return ClientIPMsg
}

// feiqMAC returns the MAC address in FeiQ's version field (1_lbt6_0#128#001122334455#…).
func feiqMAC(version string) string {
	parts := strings.Split(version, "#")
	if len(parts) >= 3 && len(parts[2]) == 12 {
		return strings.ToLower(parts[2])
	}
	return ""
}

// ParseEntry reads an entry packet. legacy is the code page assumed for clients that do not
// say what they send (FeiQ is always GBK). It never fails: a packet with missing sections
// yields empty names. Every field of the result is bounded (see MaxName and the others) and
// none of them shares memory with p.
func ParseEntry(p Packet, legacy Charset) Entry {
	secs := Sections(p.Body)
	sec := func(i int) []byte {
		if i < len(secs) {
			return secs[i]
		}
		return nil
	}
	var tr trailer
	for _, s := range secs[min(2, len(secs)):] {
		if tr = parseTrailer(s); tr.ok {
			break
		}
	}
	if !tr.ok {
		// "nick\0\nUN:…" from a client without a group field.
		tr = parseTrailer(sec(1))
	}
	version := p.Version
	if len(version) > MaxVersion {
		version = strings.ToValidUTF8(version[:MaxVersion], "")
	}
	e := Entry{Version: version, Client: clientOf(version, tr.hasID)}
	e.Away = p.Cmd.Has(AbsenceOpt) && e.Client != ClientIptux // iptux sets it on every entry
	switch e.Client {
	case ClientFeiGo:
		e.Charset, e.UTF8 = UTF8, true
		e.ID, e.Caps, e.AwayText, e.Key = tr.id, tr.caps, tr.away, tr.key
		e.Dialed, e.Port = tr.to, tr.port
	case ClientIptux:
		e.Charset, e.UTF8 = UTF8, true
		if cs, err := ParseCharset(string(clipBytes(sec(3), 16))); err == nil {
			e.Charset = cs
		}
	case ClientFeiQ:
		e.Charset = GBK
		e.ID = feiqMAC(version)
	default:
		e.Charset = legacy
		e.UTF8 = p.Cmd.Has(CapUTF8Opt)
	}
	cs := e.Charset
	if p.Cmd.Has(UTF8Opt) {
		cs = UTF8
	}
	main := sec(0)
	group := sec(1)
	if len(group) > 0 && group[0] == '\n' {
		group = nil
	}
	if e.Client == ClientIPMsg && !tr.ok && !p.Cmd.Has(UTF8Opt) {
		cs = GuessCharset(legacy, p.User, p.Host, main, group)
	}
	e.User, e.Host = DecodeName(cs, p.User), DecodeName(cs, p.Host)
	e.Nick, e.Group = DecodeName(cs, main), DecodeName(cs, group)
	// IPMsg's UTF-8 trailer is authoritative for the names it carries.
	for _, f := range []struct {
		has bool
		v   string
		dst *string
	}{{tr.hasUser, tr.user, &e.User}, {tr.hasHost, tr.host, &e.Host}, {tr.hasNick, tr.nick, &e.Nick}, {tr.hasGroup, tr.group, &e.Group}} {
		if f.has {
			*f.dst = f.v
		}
	}
	if e.Nick == "" {
		e.Nick = e.User
	}
	// IP Messenger and FeiGo say with CLIPBOARDOPT that they show embedded images; FeiQ
	// and iptux never set it (FeiQ's other bits are its own), so it is believed of those two
	// only.
	if p.Cmd.Has(ClipboardOpt) && (e.Client == ClientIPMsg || e.Client == ClientFeiGo) && !slices.Contains(e.Caps, CapClipboard) {
		e.Caps = append(slices.Clip(e.Caps), CapClipboard)
	}
	return e
}

// CapClipboard is the capability ParseEntry adds to an entry with CLIPBOARDOPT from a client
// that shows embedded images (IP Messenger, FeiGo): images go to it as FileClipboard
// entries; to others as ordinary files.
const CapClipboard = "clipboard"

// ClipPos turns a place in text (a byte offset into its UTF-8) into a clipboard image's
// position as IP Messenger counts it: characters of its Windows rich-edit control, that is
// UTF-16 units, a line break one (FeiGo's texts have LF line ends), and each image placed
// before this one counts one (earlier).
func ClipPos(text string, off, earlier int) int {
	off = min(max(off, 0), len(text))
	n := earlier
	for _, r := range text[:off] {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return min(n, MaxClipPos)
}

// ClipOffset is ClipPos's inverse: the byte offset in text (images removed, LF line ends)
// where an image at pos goes, earlier being how many images come before it. A position past
// the end is the end; one inside a character pair is after it.
func ClipOffset(text string, pos, earlier int) int {
	n := earlier
	for i, r := range text {
		if n >= pos {
			return i
		}
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return len(text)
}
