package ipmsg

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The vectors below were computed independently of this package and of Go's Blowfish:
// testdata/feiqroom_vectors.py builds them with Python's cryptography (Blowfish, CBC, IV
// zero, PKCS#7) in the formats the public FeiQ reimplementations write: a message as
// pigercc's FeiqUtil and FeiQ's own sample ("QUNMSGMARK#3b199b07_24901708#…{/font;…}",
// version "1_lbt4_0#128#MAC#0#0#len#4000#9", command 4194339), an announcement as ifreechat
// writes it (0x2000C9, "QUNMSGMARK#<room>#<name>", a NUL after the cipher).
const (
	vecMAC  = "00E04C6812AB"
	vecMsg  = "315f6c6274345f30233132382330304530344336383132414223302330233936233430303023393a313730303030303030313ad5c5c8fd3a50432d5a48414e473a343139343333393a578bbe8b8caeaae2cb6f15d713b9a60af2e3fd646bbd9ec8e0b5fe776ac1047b9477ca3da435a603baf3db5f6c2aeaa7425828b32909b788eebc35ca4dbe209e1da5b0dae3feb610efc93b7dd8eb6a3b44f0689d17484139eba49dc19b296fca"
	vecJoin = "315f6c6274345f332331323823303045303443363831324142233023302333323a313730303030303030323a7a68616e673a50432d5a48414e473a323039373335333a578bbe8b8caeaae2cb6f15d713b9a60a62f4a1e480261cb29ad808ec896dfbe200"
	// FeiGo's message (room 0x2a, stamp 1700000000, "你好 FeiQ" and FeiQFont) and
	// announcement (room 0x2a, "测试群") under the key "0242AC1F0002".
	vecFeiGoCipher     = "36b258fb407545c294360fddb5d2288030a1b30f708907b08f54c4aee347da662f62f8775ee05ba8d009ba924011b42d668af647d1b3e95777b474f8ed13b606278b39848de56a1fb05e9efa3a6ad5c19d56f1c8543c6e8d"
	vecFeiGoJoinCipher = "36b258fb407545c283c249de822e398939e0af20258ffefc"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeRoom(t *testing.T, raw []byte) FeiQRoom {
	t.Helper()
	p, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeFeiQRoom(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDecodeFeiQRoomMessage(t *testing.T) {
	r := decodeRoom(t, unhex(t, vecMsg))
	want := FeiQRoom{Room: 0x3b199b07, Stamp: "24901708", Text: "大家好，开会了", MAC: vecMAC,
		No: 1700000001, User: "张三", Host: "PC-ZHANG"}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestDecodeFeiQRoomJoin(t *testing.T) {
	r := decodeRoom(t, unhex(t, vecJoin))
	want := FeiQRoom{Join: true, Room: 0x3b199b07, Name: "项目组", MAC: vecMAC, No: 1700000002, User: "zhang", Host: "PC-ZHANG"}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestEncodeFeiQRoomMatchesVectors(t *testing.T) {
	msg := FeiQRoom{Room: 0x2a, Stamp: "1700000000", Text: "你好 FeiQ", MAC: "0242AC1F0002", No: 7, User: "feigo", Host: "lab1"}
	p, err := EncodeFeiQRoom(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Body, unhex(t, vecFeiGoCipher)) {
		t.Fatalf("cipher\n got %x\nwant %s", p.Body, vecFeiGoCipher)
	}
	if p.Cmd != 0x400023 || p.Version != "1_lbt4_0#128#0242AC1F0002#0#0#88#4000#9" {
		t.Fatalf("header %q %#x", p.Version, uint32(p.Cmd))
	}
	join, err := EncodeFeiQRoom(FeiQRoom{Join: true, Room: 0x2a, Name: "测试群", MAC: "0242AC1F0002", No: 8, User: "feigo", Host: "lab1"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(join.Body, unhex(t, vecFeiGoJoinCipher)) || join.Cmd != 0x2000C9 {
		t.Fatalf("announcement %#x %x", uint32(join.Cmd), join.Body)
	}
	// And both read back through the whole path (Marshal, Decode).
	for _, tc := range []struct {
		p    Packet
		want FeiQRoom
	}{
		{p, FeiQRoom{Room: 0x2a, Stamp: "1700000000", Text: "你好 FeiQ", MAC: "0242AC1F0002", No: 7, User: "feigo", Host: "lab1"}},
		{join, FeiQRoom{Join: true, Room: 0x2a, Name: "测试群", MAC: "0242AC1F0002", No: 8, User: "feigo", Host: "lab1"}},
	} {
		raw, err := tc.p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeRoom(t, raw); got != tc.want {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, tc.want)
		}
	}
}

func TestDecodeFeiQRoomVariants(t *testing.T) {
	enc := func(t *testing.T, key, pt string, pad byte) []byte {
		// pad 0: PKCS#5 (feiqEncrypt); 'z': zeros, as OpenSSL's BF_cbc_encrypt leaves them.
		t.Helper()
		if pad == 'z' {
			b := []byte(pt)
			for len(b)%8 != 0 {
				b = append(b, 0)
			}
			ct, err := feiqEncrypt([]byte(key), b)
			if err != nil {
				t.Fatal(err)
			}
			return ct[:len(b)] // drop the block of PKCS#5 padding a multiple of 8 gets
		}
		ct, err := feiqEncrypt([]byte(key), []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	hdr := func(mac string, n int, cmd string) string {
		return "1_lbt4_0#128#" + mac + "#0#0#" + strconv.Itoa(n) + ":5:u:h:" + cmd + ":"
	}
	zero := enc(t, "AABBCCDDEEFF", "QUNMSGMARK#ff_1#zero padded", 'z')
	pk := enc(t, "AABBCCDDEEFF", "QUNMSGMARK#ff_1#hi", 0)
	for _, tc := range []struct {
		name string
		raw  string
		text string
		err  error
	}{
		{"zero padding", hdr("AABBCCDDEEFF", len(zero), "4194339") + string(zero), "zero padded", nil},
		{"no length field", "1_lbt4_0#128#AABBCCDDEEFF#0#0:5:u:h:4194339:" + string(pk), "hi", nil},
		{"trailing NUL", hdr("AABBCCDDEEFF", len(pk), "4194339") + string(pk) + "\x00", "hi", nil},
		{"in clear (luafeiq without ENCRYPTOPT)", hdr("AABBCCDDEEFF", 0, "2097187") + "QUNMSGMARK#ff_1#plain\x00", "plain", nil},
		{"wrong key", hdr("AABBCCDDEEF0", len(pk), "4194339") + string(pk), "", ErrMalformed},
		{"length beyond the body", hdr("AABBCCDDEEFF", len(pk)+8, "4194339") + string(pk), "", ErrMalformed},
		{"cipher not a block multiple", hdr("AABBCCDDEEFF", 0, "4194339") + string(pk[:10]), "", ErrMalformed},
		{"length not a number", "1_lbt4_0#128#AABBCCDDEEFF#0#0#x:5:u:h:4194339:" + string(pk), "", ErrMalformed},
		{"bad MAC", hdr("AA-BB", len(pk), "4194339") + string(pk), "", ErrMalformed},
		{"not FeiQ's version", "1:5:u:h:4194339:" + string(pk), "", ErrMalformed},
		{"no room number", hdr("AABBCCDDEEFF", 0, "4194339") + "QUNMSGMARK##x", "", ErrMalformed},
		{"room number not hex", hdr("AABBCCDDEEFF", 0, "4194339") + "QUNMSGMARK#xyz#x", "", ErrMalformed},
		{"room number too long", hdr("AABBCCDDEEFF", 0, "4194339") + "QUNMSGMARK#11112222333344445#x", "", ErrMalformed},
		{"message without text", hdr("AABBCCDDEEFF", 0, "4194339") + "QUNMSGMARK#ff", "", ErrMalformed},
		{"empty body", hdr("AABBCCDDEEFF", 0, "4194339"), "", ErrMalformed},
		{"another mode", hdr("AABBCCDDEEFF", 0, "32") + "QUNMSGMARK#ff#x", "", ErrNotRoom},
		{"control string", hdr("AABBCCDDEEFF", 0, "4194339") + "QUNMSGMARK#ff_1#/~#>shake<B~", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeFeiQRoom(p)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v (room %+v)", err, tc.err, r)
				}
				return
			}
			if err != nil || r.Text != tc.text || r.Room != 0xff {
				t.Fatalf("%+v %v", r, err)
			}
			if tc.name == "control string" && !r.Control {
				t.Fatal("a control string not marked")
			}
		})
	}
}

func TestEncodeFeiQRoomRefuses(t *testing.T) {
	for name, r := range map[string]FeiQRoom{
		"no MAC":        {Text: "x"},
		"MAC with ':'":  {MAC: "AA:BB", Text: "x"},
		"stamp with #":  {MAC: "AABB", Stamp: "1#2", Text: "x"},
		"user with ':'": {MAC: "AABB", User: "a:b", Text: "x"},
		"too long":      {MAC: "AABB", Text: strings.Repeat("字", MaxPacket)},
	} {
		if _, err := EncodeFeiQRoom(r); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := EncodeFeiQRoom(FeiQRoom{MAC: "AABB", Text: strings.Repeat("字", MaxPacket)}); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
}

func TestIptuxGroupMsg(t *testing.T) {
	// What iptux 0.8.3 sends from a group window (Command::SendUnitMsg: CreateCommand with
	// the option and IPTUX_SENDMSG, the text and its NUL), one per option value.
	for _, tc := range []struct {
		cmd  string
		kind IptuxGroupKind
	}{
		{"251", IptuxRegular}, {"507", IptuxRegular}, {"763", IptuxSegment}, {"1019", IptuxGroup}, {"1275", IptuxBroadcast},
		{"8389627", IptuxRegular}, // 0x8003FB: UTF8OPT with GROUPOPT is "regular" to iptux
	} {
		p, err := Decode([]byte("1_iptux 0.8.3:42:root:vm:" + tc.cmd + ":大家好\x00"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeIptuxGroupMsg(p, UTF8)
		if err != nil {
			t.Fatal(err)
		}
		if m != (IptuxGroupMsg{Kind: tc.kind, No: 42, User: "root", Host: "vm", Text: "大家好"}) {
			t.Fatalf("%s: %+v", tc.cmd, m)
		}
	}
	for _, raw := range []string{"1_iptux 0.8.3:42:root:vm:1019:", "1_iptux 0.8.3:42:root:vm:1019:\x00x", "1_iptux 0.8.3:42:root:vm:32:x"} {
		p, _ := Decode([]byte(raw))
		if _, err := DecodeIptuxGroupMsg(p, UTF8); err == nil {
			t.Errorf("%q decoded", raw)
		}
	}
	p, err := IptuxGroupPacket(IptuxGroup, UTF8, "收到")
	if err != nil {
		t.Fatal(err)
	}
	if p.Cmd != 0x3FB || string(p.Body) != "收到\x00" {
		t.Fatalf("%#x %q", uint32(p.Cmd), p.Body)
	}
	if _, err := IptuxGroupPacket(IptuxGroupKind(0x500), UTF8, "x"); err == nil {
		t.Fatal("a kind iptux does not know encoded")
	}
	if _, err := IptuxGroupPacket(IptuxGroup, UTF8, strings.Repeat("x", MaxPacket)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("too long: %v", err)
	}
}

func TestEntryIptuxGroupsSections(t *testing.T) {
	self := Entry{ID: "id", Nick: "n", Group: "g", User: "u", Host: "h", IptuxGroups: true}
	if got := string(EntryBodyFor(UTF8, self, ClientIptux, false)); got != "n\x00g\x00\x00utf-8\x00" {
		t.Fatalf("to iptux: %q", got)
	}
	b := EntryBody(UTF8, self)
	secs := Sections(b)
	if len(secs) != 4 || string(secs[3]) != "utf-8" {
		t.Fatalf("broadcast: %q", b)
	}
	// FeiGo still reads its own keys, and an iptux reading section 3 finds the encoding.
	e := ParseEntry(Packet{Version: "1_feigo 1", Cmd: BrEntry, Body: b}, GBK)
	if e.ID != "id" || e.Nick != "n" || e.Group != "g" {
		t.Fatalf("%+v", e)
	}
	self.IptuxGroups = false
	if got := string(EntryBodyFor(UTF8, self, ClientIptux, false)); got != "n\x00g\x00" {
		t.Fatalf("off: %q", got)
	}
}

func FuzzDecodeFeiQRoom(f *testing.F) {
	f.Add(unhex(f, vecMsg))
	f.Add(unhex(f, vecJoin))
	f.Add([]byte("1_lbt4_0#128#AABB#0#0#8:1:u:h:4194339:12345678"))
	f.Add([]byte("1_lbt4_0#128#AABB#0#0#0:1:u:h:201:QUNMSGMARK#ff#name"))
	f.Add([]byte("1_iptux 0.8.3:42:root:vm:1019:text\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		if r, err := DecodeFeiQRoom(p); err == nil {
			if utf8.RuneCountInString(r.Text) > MaxRoomText || utf8.RuneCountInString(r.Name) > MaxName ||
				utf8.RuneCountInString(r.User) > MaxName || len(r.MAC) > maxMAC || len(r.Stamp) > maxStamp {
				t.Fatalf("a room packet over its bounds: %+v", r)
			}
			if !r.Join && !r.Control {
				// What we read, we can write, and read back the same.
				r.Text = strings.ToValidUTF8(r.Text, "")
				if q, err := EncodeFeiQRoom(r); err == nil {
					raw, err := q.Marshal()
					if err != nil {
						t.Fatal(err)
					}
					q2, err := Decode(raw)
					if err != nil {
						t.Fatal(err)
					}
					if r2, err := DecodeFeiQRoom(q2); err != nil || r2.Room != r.Room || r2.MAC != r.MAC {
						t.Fatalf("%+v does not read back: %+v %v", r, r2, err)
					}
				}
			}
		}
		if m, err := DecodeIptuxGroupMsg(p, UTF8); err == nil && utf8.RuneCountInString(m.Text) > MaxRoomText {
			t.Fatalf("iptux text of %d runes", utf8.RuneCountInString(m.Text))
		}
	})
}
