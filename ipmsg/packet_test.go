package ipmsg

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Real packets from docs/ipmsg-protocol.md (iptux lab captures, IPMsg and FeiQ formats).
var realPackets = []struct {
	name    string
	raw     string
	version string
	no      uint32
	user    string
	host    string
	cmd     Command
	body    string
}{
	{"spec example", "1:100:shirouzu:jupiter:32:Hello", "1", 100, "shirouzu", "jupiter", 32, "Hello"},
	{"iptux BR_ENTRY", "1_iptux 0.8.3:1:root:vm:257:tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00",
		"1_iptux 0.8.3", 1, "root", "vm", BrEntry | AbsenceOpt, "tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00"},
	{"iptux ANSENTRY", "1_iptux 0.8.3:6:root:vm:259:tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00",
		"1_iptux 0.8.3", 6, "root", "vm", AnsEntry | AbsenceOpt, "tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00"},
	{"iptux ack", "1_iptux 0.8.3:7:root:vm:289:1002\x00", "1_iptux 0.8.3", 7, "root", "vm", RecvMsg | SendCheckOpt, "1002\x00"},
	{"iptux exit", "1_iptux 0.8.3:15:root:vm:65538:\x00", "1_iptux 0.8.3", 15, "root", "vm", BrExit | DialupOpt, "\x00"},
	{"iptux sign", "1_iptux 0.8.3:15:root:vm:252:my-sign\x00", "1_iptux 0.8.3", 15, "root", "vm", IptuxSendSign, "my-sign\x00"},
	{"iptux GETFILEDATA", "1_iptux 0.8.3:13:root:vm:96:7d5:0:0\x00", "1_iptux 0.8.3", 13, "root", "vm", GetFileData, "7d5:0:0\x00"},
	{"probe entry", "1:1001:probe:probehost:1:ProbeNick\x00ProbeGroup\x00", "1", 1001, "probe", "probehost", BrEntry, "ProbeNick\x00ProbeGroup\x00"},
	{"iptux GBK reply", "1_iptux 0.8.3:11:root:vm:288:reply one \xd6\xd0\xce\xc4\x00", "1_iptux 0.8.3", 11, "root", "vm", SendMsg | SendCheckOpt, "reply one \xd6\xd0\xce\xc4\x00"},
	{"FeiQ 3.x", "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9:1700000000:Administrator:PC-01:6291457:\xd5\xc5\xc8\xfd\x00",
		"1_lbt6_0#128#001122AABBCC#0#0#0#4001#9", 1700000000, "Administrator", "PC-01", 6291457, "\xd5\xc5\xc8\xfd\x00"},
	{"FeiQ 2.x", "1_lbt4_10#32899#002481627512#0#0#0:42:user:host:32:hi", "1_lbt4_10#32899#002481627512#0#0#0", 42, "user", "host", 32, "hi"},
	{"IPMsg trailer", "1:1700000001:taro:pc:16777217:Taro\x00Sales\x00\nUN:taro\nHN:pc\nNN:Taro\nGN:Sales\nVS:00010002:5:0:0",
		"1", 1700000001, "taro", "pc", BrEntry | CapUTF8Opt, "Taro\x00Sales\x00\nUN:taro\nHN:pc\nNN:Taro\nGN:Sales\nVS:00010002:5:0:0"},
	{"empty body", "1:5:u:h:3:", "1", 5, "u", "h", AnsEntry, ""},
	{"colon in body", "1:5:u:h:32:a:b:c", "1", 5, "u", "h", SendMsg, "a:b:c"},
	{"max packet number", "1:4294967295:u:h:32:x", "1", 4294967295, "u", "h", SendMsg, "x"},
}

func TestDecodeRealPackets(t *testing.T) {
	for _, tc := range realPackets {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode([]byte(tc.raw))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if p.Version != tc.version || p.No != tc.no || string(p.User) != tc.user ||
				string(p.Host) != tc.host || string(p.Body) != tc.body {
				t.Fatalf("got %+v", p)
			}
			if p.Cmd != tc.cmd {
				t.Fatalf("cmd = %#x, want %#x", p.Cmd, tc.cmd)
			}
			again, err := p.Marshal()
			if err != nil || string(again) != tc.raw {
				t.Fatalf("Marshal = %q, %v; want %q", again, err, tc.raw)
			}
		})
	}
}

func TestDecodeRejectsJunk(t *testing.T) {
	junk := []string{
		"",
		"hello",
		"1:2:3:4",                         // four fields
		"2:1:u:h:32:x",                    // version 2
		"12:1:u:h:32:x",                   // version 12
		"iptux 0.7.4:1:u:h:32:x",          // iptux 0.7.4's broken version field
		"1:-1:u:h:32:x",                   // negative number
		"1:4294967296:u:h:32:x",           // packet number over 32 bits
		"1:1:u:h:0x20:x",                  // hex command
		"1::u:h:32:x",                     // empty number
		"1:1:u:h::x",                      // empty command
		"1:99999999999999999999:u:h:32:x", // overlong number
		"1" + strings.Repeat("x", 200) + ":1:u:h:32:x", // overlong version
	}
	for _, s := range junk {
		if _, err := Decode([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q) err = %v, want ErrMalformed", s, err)
		}
	}
}

func TestMarshalRefusesColonInNames(t *testing.T) {
	for _, p := range []Packet{
		{Version: "1", User: []byte("a:b"), Host: []byte("h")},
		{Version: "1", User: []byte("u"), Host: []byte("h:1")},
		{Version: "1:x", User: []byte("u"), Host: []byte("h")},
		{Version: "", User: []byte("u"), Host: []byte("h")},
	} {
		if _, err := p.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) succeeded", p)
		}
	}
}

func TestSections(t *testing.T) {
	pad := strings.Repeat("\x00", 64)
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\x00", nil},
		{"text\x00", []string{"text"}},
		{"text" + pad, []string{"text"}},
		{"nick\x00group\x00", []string{"nick", "group"}},
		{"nick\x00\x00\nUN:u", []string{"nick", "", "\nUN:u"}},
	}
	for _, c := range cases {
		got := Sections([]byte(c.in))
		if len(got) != len(c.want) {
			t.Errorf("Sections(%q) = %q, want %q", c.in, got, c.want)
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("Sections(%q)[%d] = %q, want %q", c.in, i, got[i], c.want[i])
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range realPackets {
		f.Add([]byte(tc.raw))
	}
	f.Add([]byte("1:1:u:h:1:" + strings.Repeat("\x00", 64)))
	f.Add([]byte(":::::"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		e := ParseEntry(p, GBK)
		for _, s := range []string{e.Nick, e.Group, e.User, e.Host} {
			if utf8.RuneCountInString(s) > MaxName {
				t.Fatalf("a name of %d runes kept", utf8.RuneCountInString(s))
			}
		}
		if utf8.RuneCountInString(e.AwayText) > MaxAwayText || len(e.ID) > MaxID || len(e.Caps) > MaxCaps || len(e.Version) > MaxVersion {
			t.Fatalf("an entry over its bounds: %+v", e)
		}
		_ = Sections(p.Body)
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("a decoded packet does not marshal: %v", err)
		}
		q, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		if q.Version != p.Version || q.No != p.No || q.Cmd != p.Cmd || !bytes.Equal(q.User, p.User) ||
			!bytes.Equal(q.Host, p.Host) || !bytes.Equal(q.Body, p.Body) {
			t.Fatalf("round trip changed the packet:\n in %q\nout %q", b, out)
		}
	})
}
