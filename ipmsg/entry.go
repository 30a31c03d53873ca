package ipmsg

import (
	"bytes"
	"strings"
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

// Entry is what an entry packet (BR_ENTRY, ANSENTRY, BR_ABSENCE) says about its sender.
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
}

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
)

// EntryBody builds nick\0group\0trailer\0 in cs. The trailer is UTF-8 whatever cs is.
func EntryBody(cs Charset, self Entry) []byte {
	var b bytes.Buffer
	b.Write(cs.Encode(self.Nick))
	b.WriteByte(0)
	b.Write(cs.Encode(self.Group))
	b.WriteByte(0)
	kv := func(k, v string) {
		b.WriteByte('\n')
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(OneLine(v))
	}
	kv(trUser, self.User)
	kv(trHost, self.Host)
	kv(trNick, self.Nick)
	kv(trGroup, self.Group)
	kv(trID, self.ID)
	if len(self.Caps) > 0 {
		kv(trCaps, strings.Join(self.Caps, ","))
	}
	if self.Away && self.AwayText != "" {
		kv(trAway, self.AwayText)
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

// parseTrailer reads IPMsg's "\nKEY:value\nKEY:value" section. It returns nil when the
// section is not a trailer.
func parseTrailer(sec []byte) map[string]string {
	if len(sec) == 0 || sec[0] != '\n' {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.ToValidUTF8(string(sec[1:]), "\uFFFD"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// ClientOf tells the program from the version field and trailer.
func ClientOf(version string, trailer map[string]string) Client {
	switch {
	case trailer[trID] != "":
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
// yields empty names.
func ParseEntry(p Packet, legacy Charset) Entry {
	secs := Sections(p.Body)
	sec := func(i int) []byte {
		if i < len(secs) {
			return secs[i]
		}
		return nil
	}
	var tr map[string]string
	for _, s := range secs[min(2, len(secs)):] {
		if tr = parseTrailer(s); tr != nil {
			break
		}
	}
	if tr == nil {
		// "nick\0\nUN:…" from a client without a group field.
		tr = parseTrailer(sec(1))
	}
	e := Entry{Version: p.Version, Client: ClientOf(p.Version, tr)}
	e.Away = p.Cmd.Has(AbsenceOpt) && e.Client != ClientIptux // iptux sets it on every entry
	switch e.Client {
	case ClientFeiGo:
		e.Charset, e.UTF8 = UTF8, true
		e.ID = tr[trID]
		if c := tr[trCaps]; c != "" {
			e.Caps = strings.Split(c, ",")
		}
		e.AwayText = tr[trAway]
	case ClientIptux:
		e.Charset, e.UTF8 = UTF8, true
		if cs, err := ParseCharset(string(sec(3))); err == nil {
			e.Charset = cs
		}
	case ClientFeiQ:
		e.Charset = GBK
		e.ID = feiqMAC(p.Version)
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
	if e.Client == ClientIPMsg && tr == nil && !p.Cmd.Has(UTF8Opt) {
		cs = GuessCharset(legacy, p.User, p.Host, main, group)
	}
	e.User, e.Host = cs.Decode(p.User), cs.Decode(p.Host)
	e.Nick, e.Group = cs.Decode(main), cs.Decode(group)
	// IPMsg's UTF-8 trailer is authoritative for the names it carries.
	for k, dst := range map[string]*string{trUser: &e.User, trHost: &e.Host, trNick: &e.Nick, trGroup: &e.Group} {
		if v, ok := tr[k]; ok {
			*dst = v
		}
	}
	if e.Nick == "" {
		e.Nick = e.User
	}
	return e
}
