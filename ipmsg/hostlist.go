package ipmsg

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// IP Messenger's host list, for hosts that broadcasts cannot reach (IP Messenger's protocol
// text, "IPMSG_BR_ISGETLIST"…; its source, SendHostList and AddHostListCore). A host that wants
// a list broadcasts (or sends) BR_ISGETLIST2; a host that serves lists answers OKGETLIST; the
// asker sends GETLIST with the index to start from (decimal; empty for 0), and gets an ANSLIST
// page: "%5d\a%5d\a" (the index of the next page, 0 when this is the last; the number of hosts
// in this page), then per host user, host, status (decimal command flags), IP address, port,
// nickname and group, each followed by '\a', an empty nickname or group written "\b". Pages
// are asked for until the next index is 0.
const (
	BrIsGetList  Command = 0x10
	OkGetList    Command = 0x11
	GetList      Command = 0x12
	AnsList      Command = 0x13
	BrIsGetList2 Command = 0x18
)

// HostListEntry is one host of an ANSLIST page. IP is the address as the page writes it (the
// codec does not read addresses: its user does).
type HostListEntry struct {
	User, Host  string
	Status      Command
	IP          string
	Port        uint16
	Nick, Group string
}

// hostListSep separates the fields; hostListEmpty stands for an empty nickname or group.
const (
	hostListSep   = '\a'
	hostListEmpty = "\b"
)

// AnsListBody writes an ANSLIST page of entries whose next page starts at next (0: the last),
// in cs. Fields are cleaned of the separators and NULs.
func AnsListBody(cs Charset, next int, entries []HostListEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%5d%c%5d%c", next, hostListSep, len(entries), hostListSep)
	for _, e := range entries {
		b.Write(HostListLine(cs, e))
	}
	return b.Bytes()
}

// HostListLine is one host of an ANSLIST page.
func HostListLine(cs Charset, e HostListEntry) []byte {
	field := func(s string, dummy bool) []byte {
		clean := bytes.Map(func(r rune) rune {
			if r == hostListSep || r == '\b' || r == 0 {
				return -1
			}
			return r
		}, []byte(s))
		if len(clean) == 0 && dummy {
			return []byte(hostListEmpty)
		}
		return cs.Encode(string(clean))
	}
	var b bytes.Buffer
	for _, f := range [][]byte{
		field(e.User, false), field(e.Host, false), []byte(strconv.FormatUint(uint64(e.Status), 10)),
		field(e.IP, false), []byte(strconv.Itoa(int(e.Port))),
		field(e.Nick, true), field(e.Group, true),
	} {
		b.Write(f)
		b.WriteByte(hostListSep)
	}
	return b.Bytes()
}

// maxIPText is the longest address text (an IPv6 address with a zone, generously).
const maxIPText = 64

// ErrHostList is ParseAnsList's error for a page that is not one.
var ErrHostList = errors.New("not an ANSLIST page")

// ParseAnsList reads an ANSLIST page: the next page's index, the count the page states and
// its hosts, at most max of them (the rest is ignored). A host whose status or port does not
// parse, or whose address is empty or longer than an address can be, is skipped; names are
// decoded from cs.
func ParseAnsList(body []byte, cs Charset, max int) (next, count int, hosts []HostListEntry, err error) {
	body = bytes.TrimRight(body, "\x00")
	f := bytes.Split(body, []byte{hostListSep})
	if len(f) < 2 {
		return 0, 0, nil, ErrHostList
	}
	next, err1 := strconv.Atoi(string(bytes.TrimSpace(f[0])))
	count, err2 := strconv.Atoi(string(bytes.TrimSpace(f[1])))
	if err1 != nil || err2 != nil || next < 0 || count < 0 {
		return 0, 0, nil, ErrHostList
	}
	for i := 2; i+7 <= len(f) && len(hosts) < max; i += 7 {
		st, err := strconv.ParseUint(string(f[i+2]), 10, 32)
		if err != nil {
			continue
		}
		ip := string(f[i+3])
		if ip == "" || len(ip) > maxIPText {
			continue
		}
		port, err := strconv.ParseUint(string(f[i+4]), 10, 16)
		if err != nil {
			continue
		}
		name := func(b []byte) string {
			if string(b) == hostListEmpty {
				return ""
			}
			return cs.Decode(b)
		}
		hosts = append(hosts, HostListEntry{User: cs.Decode(f[i]), Host: cs.Decode(f[i+1]), Status: Command(st),
			IP: ip, Port: uint16(port), Nick: name(f[i+5]), Group: name(f[i+6])})
	}
	return next, count, hosts, nil
}
