package ipmsg

import (
	"bytes"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEntryDialects(t *testing.T) {
	cases := []struct {
		name   string
		raw    string
		legacy Charset
		want   Entry
	}{
		{"iptux, ABSENCEOPT ignored", "1_iptux 0.8.3:1:root:vm:257:tuxnick\x00tuxgroup\x00icon-tux.png\x00utf-8\x00", GBK,
			Entry{User: "root", Host: "vm", Nick: "tuxnick", Group: "tuxgroup", Client: ClientIptux, Charset: UTF8, UTF8: true}},
		{"IPMsg with UTF-8 trailer", "1:5:taro:pc:16777217:\x83\x5e\x83\x8d\x00Sales\x00\nUN:taro\nHN:pc\nNN:タロ\nGN:営業\nVS:00010002:5:0:0", CP932,
			Entry{User: "taro", Host: "pc", Nick: "タロ", Group: "営業", Client: ClientIPMsg, Charset: CP932, UTF8: true}},
		{"IPMsg without group", "1:5:taro:pc:1:Taro\x00\x00\nUN:taro\nNN:Taro", CP932,
			Entry{User: "taro", Host: "pc", Nick: "Taro", Group: "", Client: ClientIPMsg, Charset: CP932}},
		{"Japanese IPMsg in CP932", "1:5:\x83\x5e\x83\x8d:pc:257:\x83\x5e\x83\x8d\x00\x89\x63\x8b\xc6\x00", CP932,
			Entry{User: "タロ", Host: "pc", Nick: "タロ", Group: "営業", Client: ClientIPMsg, Charset: CP932, Away: true}},
		{"FeiQ in GBK, identity by MAC", "1_lbt6_0#128#001122AABBCC#0#0#0#4001#9:1:Admin:PC:1:\xd5\xc5\xc8\xfd\x00", CP932,
			Entry{User: "Admin", Host: "PC", Nick: "张三", Client: ClientFeiQ, Charset: GBK, ID: "001122aabbcc"}},
		{"FeiGo", "1_feigo 0.1.0:9:li:pc:16777473:\xe6\x9d\x8e\x00\xe7\xa0\x94\xe5\x8f\x91\x00\nUN:li\nHN:pc\nNN:李\nGN:研发\nFGID:abc\nFGCAP:x,y\nFGAW:lunch\x00", GBK,
			Entry{User: "li", Host: "pc", Nick: "李", Group: "研发", Client: ClientFeiGo, Charset: UTF8, UTF8: true, Away: true, ID: "abc", AwayText: "lunch"}},
		{"no body: nick falls back to user", "1:5:bob:pc:1:", GBK,
			Entry{User: "bob", Host: "pc", Nick: "bob", Client: ClientIPMsg, Charset: GBK}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode([]byte(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			e := ParseEntry(p, c.legacy)
			e.Version, e.Caps = "", nil
			if !reflect.DeepEqual(e, c.want) {
				t.Fatalf("got  %+v\nwant %+v", e, c.want)
			}
		})
	}
}

func TestEntryBodyRoundTrip(t *testing.T) {
	self := Entry{ID: "id-1", Nick: "王芳", Group: "财务", User: "wf", Host: "pc-7", Away: true, AwayText: "at\nlunch", Caps: []string{"a"}}
	for _, cs := range []Charset{UTF8, GBK} {
		p := Packet{Version: "1_feigo 0.1.0", No: 1, User: []byte("wf"), Host: []byte("pc-7"), Cmd: BrEntry | AbsenceOpt, Body: EntryBody(cs, self)}
		e := ParseEntry(p, GBK)
		if e.Nick != "王芳" || e.Group != "财务" || e.ID != "id-1" || e.AwayText != "at lunch" || !e.Away || e.Client != ClientFeiGo {
			t.Fatalf("%v: %+v", cs, e)
		}
		if secs := Sections(p.Body); len(secs) != 3 {
			t.Fatalf("%v: %d sections; a 4th would be read by iptux as an encoding", cs, len(secs))
		}
	}
}

func TestCharsets(t *testing.T) {
	for _, cs := range []Charset{UTF8, GBK, CP932} {
		for _, s := range []string{"hello", "中文", "日本語"} {
			if got := cs.Decode(cs.Encode(s)); got != s {
				t.Errorf("%v: %q → %q", cs, s, got)
			}
		}
	}
	if got := string(GBK.Encode("a😀b")); got != "a?b" {
		t.Errorf("GBK emoji: %q", got)
	}
	if got := UTF8.Decode([]byte{0xff, 'a'}); got != "\uFFFDa" {
		t.Errorf("bad UTF-8: %q", got)
	}
	if _, err := ParseCharset("latin9"); err == nil {
		t.Error("ParseCharset accepted latin9")
	}
}

func TestFeiQTextCleaning(t *testing.T) {
	for in, want := range map[string]string{
		"你好{/font;-12;0;0;0;400;0;0;0;134;3;2;1;2;宋体;000000}": "你好",
		"see {this}":             "see {this}",
		"json {\"a\":1}":         "json {\"a\":1}",
		"a {b;c}\nnext line":     "a {b;c}\nnext line",
		"plain":                  "plain",
		"two {x} blocks {a;b;c}": "two {x} blocks ",
	} {
		if got, show := FeiQText(in); !show || got != want {
			t.Errorf("FeiQText(%q) = %q, %v; want %q", in, got, show, want)
		}
	}
	if _, show := FeiQText("/~#>abc<B~"); show {
		t.Error("a control string is shown")
	}
}

// hostileEntry is the attacker's BR_ENTRY: every field far over any real client's, a FGCAP
// of ~20k commas and thousands of keys nobody knows, about 60 KiB in all.
func hostileEntry(i int) []byte {
	var b strings.Builder
	b.WriteString("1_feigo 0.1.0:" + strconv.Itoa(i) + ":" + strings.Repeat("u", 3000) + ":" + strings.Repeat("h", 3000) + ":1:")
	b.WriteString(strings.Repeat("张", 2000) + "\x00" + strings.Repeat("组", 2000) + "\x00")
	b.WriteString("\nUN:" + strings.Repeat("ü", 1000) + "\nHN:" + strings.Repeat("h", 1000))
	b.WriteString("\nNN:" + strings.Repeat("N", 3000) + "\nGN:" + strings.Repeat("G", 3000))
	b.WriteString("\nFGID:id-" + strconv.Itoa(i) + "\nFGAW:" + strings.Repeat("away ", 1000))
	b.WriteString("\nFGCAP:files,sha256" + strings.Repeat(",", 20000) + strings.Repeat("x", 100) + ",more")
	for k := range 2000 {
		b.WriteString("\nX" + strconv.Itoa(k) + ":" + strings.Repeat("v", 3))
	}
	b.WriteString("\x00")
	return []byte(b.String())
}

// Every field of an entry is bounded where it is parsed, whatever the packet holds.
func TestParseEntryBounds(t *testing.T) {
	p, err := Decode(hostileEntry(1))
	if err != nil {
		t.Fatal(err)
	}
	e := ParseEntry(p, GBK)
	runes := func(s string) int { return utf8.RuneCountInString(s) }
	for name, c := range map[string]struct {
		s   string
		max int
	}{"nick": {e.Nick, 80}, "group": {e.Group, 80}, "user": {e.User, 80}, "host": {e.Host, 80}, "away": {e.AwayText, 256}} {
		if n := runes(c.s); n == 0 || n > c.max {
			t.Errorf("%s: %d runes, want 1…%d", name, n, c.max)
		}
	}
	if e.ID != "id-1" || e.Client != ClientFeiGo {
		t.Errorf("ID %q client %q", e.ID, e.Client)
	}
	if len(e.Caps) > 8 || !slices.Equal(e.Caps[:2], []string{"files", "sha256"}) {
		t.Errorf("caps: %d items, first %q", len(e.Caps), e.Caps[:min(2, len(e.Caps))])
	}
	for _, c := range e.Caps {
		if c == "" || len(c) > 16 {
			t.Errorf("capability %q kept", c)
		}
	}
	// An ID too long to be a FeiGo ID (a UUID is 36 bytes) is ignored, not cut.
	long := "1_feigo 0.1.0:2:u:h:1:n\x00g\x00\nFGID:" + strings.Repeat("i", 65) + "\x00"
	if p, _ := Decode([]byte(long)); ParseEntry(p, GBK).ID != "" {
		t.Error("a 65-byte ID was kept")
	}
	if p, _ := Decode([]byte("1_feigo 0.1.0:2:u:h:1:n\x00g\x00\nFGID:a\x01b\x00")); ParseEntry(p, GBK).ID != "" {
		t.Error("an ID with a control character was kept")
	}
}

// What a peer's entry keeps does not hold on to the packet: 300 hostile entries (18 MB of
// datagrams) kept in memory cost well under a megabyte.
func TestParseEntryKeepsNoPacket(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := make([]Entry, 300)
	for i := range kept {
		p, err := Decode(hostileEntry(i))
		if err != nil {
			t.Fatal(err)
		}
		kept[i] = ParseEntry(p, GBK)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("300 entries hold %d KiB", grown>>10)
	}
	runtime.KeepAlive(kept)
}

// A unicast entry (an answer, a probe) carries only what its receiver reads, so it is no
// larger than it need be, and each client still reads all it needs from it.
func TestEntryBodyForEachClient(t *testing.T) {
	self := Entry{ID: "5e4f0c1a-7b7e-4d7a-9a51-2b8f9f6c0d11", Nick: "王芳", Group: "财务", User: "wf", Host: "pc-7",
		Away: true, AwayText: "lunch", Caps: []string{"files", "sha256"}}
	full := EntryBody(UTF8, self)
	parse := func(version string, body []byte, cs Charset, cmd Command) Entry {
		return ParseEntry(Packet{Version: version, No: 1, User: cs.Encode("wf"), Host: cs.Encode("pc-7"), Cmd: cmd, Body: body}, cs)
	}
	// FeiGo: everything FeiGo reads, without the names its UTF-8 sections already carry.
	b := EntryBodyFor(UTF8, self, ClientFeiGo, true)
	e := parse("1_feigo 0.1.0", b, UTF8, AnsEntry|AbsenceOpt)
	if e.ID != self.ID || !slices.Equal(e.Caps, self.Caps) || e.AwayText != "lunch" || e.Nick != "王芳" || e.Group != "财务" || e.User != "wf" || e.Host != "pc-7" {
		t.Errorf("FeiGo reads %+v", e)
	}
	if len(b) >= len(full) {
		t.Errorf("to FeiGo: %d bytes, the broadcast body is %d", len(b), len(full))
	}
	// IPMsg that reads UTF-8: its name trailer, none of FeiGo's keys.
	b = EntryBodyFor(GBK, self, ClientIPMsg, true)
	if e := parse("1", b, GBK, AnsEntry|CapUTF8Opt); e.Nick != "王芳" || e.Group != "财务" || bytes.Contains(b, []byte("FG")) {
		t.Errorf("to IPMsg with UTF-8: %q, read as %+v", b, e)
	}
	// Everyone else reads nick\0group\0 only.
	for _, c := range []struct {
		to Client
		cs Charset
	}{{ClientIptux, UTF8}, {ClientFeiQ, GBK}, {ClientIPMsg, CP932}} {
		b := EntryBodyFor(c.cs, self, c.to, false)
		if want := string(c.cs.Encode("王芳")) + "\x00" + string(c.cs.Encode("财务")) + "\x00"; string(b) != want {
			t.Errorf("to %s: %q, want %q", c.to, b, want)
		}
	}
}

// A FeiGo entry carries its identity key (FGPK); a malformed or oversized one is ignored,
// and other clients' entries never have one.
func TestEntryKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	self := Entry{ID: "id-1", Nick: "王芳", User: "wf", Host: "pc-7", Key: key}
	p := Packet{Version: "1_feigo 0.1.0", No: 1, User: []byte("wf"), Host: []byte("pc-7"), Cmd: BrEntry, Body: EntryBody(UTF8, self)}
	if e := ParseEntry(p, GBK); !bytes.Equal(e.Key, key) || e.ID != "id-1" {
		t.Fatalf("key not carried: %+v", e)
	}
	if secs := Sections(p.Body); len(secs) != 3 {
		t.Fatalf("%d sections; a 4th would be read by iptux as an encoding", len(secs))
	}
	for _, bad := range []string{"", "AAAA", strings.Repeat("A", 43) + "=x", strings.Repeat("QUFB", 20)} {
		p.Body = []byte("n\x00g\x00\nFGID:id-1\nFGPK:" + bad + "\x00")
		if e := ParseEntry(p, GBK); e.Key != nil {
			t.Errorf("FGPK %q taken as a key", bad)
		}
	}
	p.Version = "1_iptux 0.8.3"
	p.Body = []byte("n\x00g\x00\nFGPK:" + strings.Repeat("A", 43) + "=\x00")
	if e := ParseEntry(p, GBK); e.Key != nil {
		t.Error("an iptux entry with a key")
	}
}

// A channel's hello says where it was sent and the sender's UDP port (FGTO, FGUP); anything
// malformed is not taken, and an entry without them has neither.
func TestEntryDialedAndPort(t *testing.T) {
	to := "10.0.0.7:2425"
	self := Entry{ID: "id-1", Nick: "n", Key: bytes.Repeat([]byte{7}, KeySize), Dialed: to, Port: 2426}
	p := Packet{Version: "1_feigo 0.1.0", No: 1, User: []byte("u"), Host: []byte("h"), Cmd: BrEntry, Body: EntryBody(UTF8, self)}
	if e := ParseEntry(p, GBK); e.Dialed != to || e.Port != 2426 {
		t.Fatalf("hello: %v %d", e.Dialed, e.Port)
	}
	self.Dialed, self.Port = "", 0
	p.Body = EntryBody(UTF8, self)
	if bytes.Contains(p.Body, []byte("FGTO")) || bytes.Contains(p.Body, []byte("FGUP")) {
		t.Fatalf("an entry names a dialled address it was not given: %q", p.Body)
	}
	for _, bad := range []string{"FGTO:" + strings.Repeat("1", 80) + "\nFGUP:70000", "FGTO:x:y\nFGUP:-1", "FGTO:1.2.3.4:5 6\nFGUP:24 25"} {
		p.Body = []byte("n\x00g\x00\nFGID:id-1\n" + bad + "\x00")
		if e := ParseEntry(p, GBK); e.Dialed != "" || e.Port != 0 {
			t.Errorf("%q taken: %v %d", bad, e.Dialed, e.Port)
		}
	}
}
