package ipmsg

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseFileListFromRealClients(t *testing.T) {
	for _, tc := range []struct {
		name string
		list string
		want []FileInfo
	}{
		{
			// iptux's shared-files answer from the lab (reference §5): mtime 0, a folder's size
			// the total of its contents, entries ending ":\a".
			"iptux shared list", "1:hello.txt:11:0:1:\a2:sub:d:0:2:\a",
			[]FileInfo{{ID: 1, Name: "hello.txt", Size: 0x11, Attr: 1}, {ID: 2, Name: "sub", Size: 0xd, Attr: 2}},
		},
		{
			// iptux chat attachments end ":\a:"; IPMsg writes "\a" with extension fields.
			"iptux attachment", "0:a b.txt:5:65f0a000:1:\a:1:c.bin:a:65f0a001:1:\a:",
			[]FileInfo{{ID: 0, Name: "a b.txt", Size: 5, MTime: 0x65f0a000, Attr: 1}, {ID: 1, Name: "c.bin", Size: 10, MTime: 0x65f0a001, Attr: 1}},
		},
		{
			"IPMsg with escapes and extensions", "402653184:te::xt.txt:b:65f0a000:1:14=65f0a000:16=65f0a000:\a",
			[]FileInfo{{ID: 402653184, Name: "te:xt.txt", Size: 11, MTime: 0x65f0a000, Attr: 1}},
		},
		{
			// IPMsg sets RONLY and other high bits, which iptux rejects; we keep the entry.
			"IPMsg attribute bits", "7:ro.txt:3:0:201:\a",
			[]FileInfo{{ID: 7, Name: "ro.txt", Size: 3, Attr: 0x201}},
		},
		{
			// A bad entry is skipped, not the rest (iptux stops at the first).
			"bad entries skipped", "x:y\a1:ok.txt:1:0:1:\a2:Clip.png:1:0:9:\a3::1:0:1:\a4:neg:-1:0:1:\a",
			[]FileInfo{{ID: 1, Name: "ok.txt", Size: 1, Attr: 1}},
		},
	} {
		got := ParseFileList([]byte(tc.list), UTF8)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %+v", tc.name, got)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: entry %d = %+v, want %+v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestFileListRoundTripAndIptuxFallback(t *testing.T) {
	files := []FileInfo{
		{ID: 0, Name: "报告:最终.docx", Size: 123456, MTime: 1700000000, Attr: FileRegular},
		{ID: 1, Name: "照片", Size: 99, MTime: 1700000001, Attr: FileDir | 0x200},
	}
	for _, cs := range []Charset{UTF8, GBK} {
		b := EncodeFileList(cs, files, false)
		got := ParseFileList(b, cs)
		if len(got) != 2 || got[0].Name != files[0].Name || got[0].Size != 123456 || got[1].Name != "照片" || got[1].Attr != FileDir {
			t.Errorf("%s: round trip %+v from %q", cs, got, b)
		}
	}
	// iptux: no ':' in names and attr exactly 1 or 2.
	b := string(EncodeFileList(UTF8, files, true))
	if b != "0:报告_最终.docx:1e240:6553f100:1:\a1:照片:63:6553f101:2:\a" {
		t.Errorf("for iptux: %q", b)
	}
	// A name cannot smuggle a separator into the list.
	b = string(EncodeFileList(UTF8, []FileInfo{{Name: "a\ab\x00c\nd", Attr: 1}}, false))
	if strings.Count(b, "\a") != 1 || strings.ContainsAny(b, "\x00\n") {
		t.Errorf("separators leaked: %q", b)
	}
}

func TestFileRequests(t *testing.T) {
	for _, tc := range []struct {
		body       string
		withOffset bool
		want       FileRequest
		bad        bool
	}{
		{"7d5:0:0\x00", true, FileRequest{PacketNo: 0x7d5}, false},                              // iptux
		{"7d5:1a:400:", true, FileRequest{PacketNo: 0x7d5, FileID: 0x1a, Offset: 0x400}, false}, // IPMsg
		{"7d5:3:0:fgsum1:", true, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true}, false},
		{"7d5:3:0:fgok1:fgtk1=0a1b:", true, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true, NoSum: true, Token: "0a1b"}, false},
		{"7d5:3:fgtk1=0a1b:", false, FileRequest{PacketNo: 0x7d5, FileID: 3, Token: "0a1b"}, false},
		// A token that is not one (not hex, too long, empty) is no token.
		{"7d5:3:0:fgtk1=zz:", true, FileRequest{PacketNo: 0x7d5, FileID: 3}, false},
		{"7d5:3:0:fgtk1=" + strings.Repeat("a", MaxTokenLen+1) + ":", true, FileRequest{PacketNo: 0x7d5, FileID: 3}, false},
		{"7d5:3:0:fgtk1=:", true, FileRequest{PacketNo: 0x7d5, FileID: 3}, false},
		{"7d5:3:0", false, FileRequest{PacketNo: 0x7d5, FileID: 3}, false}, // GETDIRFILES, iptux's ":0"
		{"7d5:3:fgok1:fgskip1=1f400:", false, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true, NoSum: true, Skip: 0x1f400}, false},
		// A skip that is not one (negative, not hex, overlong) is none.
		{"7d5:3:fgok1:fgskip1=-5:", false, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true, NoSum: true}, false},
		{"7d5:3:fgok1:fgskip1=zz:", false, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true, NoSum: true}, false},
		{"7d5:3:fgok1:fgskip1=" + strings.Repeat("1", 17) + ":", false, FileRequest{PacketNo: 0x7d5, FileID: 3, FeiGo: true, NoSum: true}, false},
		{"7d5", true, FileRequest{}, true},
		{"zz:1:0", true, FileRequest{}, true},
		{"1:2:-5", true, FileRequest{}, true},
	} {
		got, err := ParseFileRequest([]byte(tc.body), tc.withOffset)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("%q: %+v, %v", tc.body, got, err)
		}
	}
	r := FileRequest{PacketNo: 0x7d5, FileID: 2, Offset: 0x10}
	if got := string(EncodeFileRequest(r, true)); got != "7d5:2:10:\x00" {
		t.Errorf("request %q", got)
	}
	r.FeiGo = true
	if back, _ := ParseFileRequest(EncodeFileRequest(r, true), true); back != r {
		t.Errorf("round trip %+v", back)
	}
	for _, withOffset := range []bool{true, false} {
		r := FileRequest{PacketNo: 0x7d5, FileID: 2, FeiGo: true, NoSum: true, Token: strings.Repeat("c3", 16)}
		if withOffset {
			r.Offset = 0x10
		}
		if back, _ := ParseFileRequest(EncodeFileRequest(r, withOffset), withOffset); back != r {
			t.Errorf("round trip %+v: %+v", r, back)
		}
	}
	r = FileRequest{PacketNo: 0x7d5, FileID: 2, FeiGo: true, Skip: 12345}
	if back, _ := ParseFileRequest(EncodeFileRequest(r, false), false); back != r {
		t.Errorf("round trip of a folder's resume %+v", back)
	}
	// A request without FeiGo fields is exactly IPMsg's, even when given a bad token or a skip.
	if got := string(EncodeFileRequest(FileRequest{PacketNo: 1, FileID: 2, Token: "not hex", Skip: 9}, false)); got != "1:2:\x00" {
		t.Errorf("request %q", got)
	}
}

// The token of an offer is a section of its own after the file list: the file list reads
// the same with or without it, and only a well-formed token is read back.
func TestOfferToken(t *testing.T) {
	files := []FileInfo{{ID: 0, Name: "a.txt", Size: 3, MTime: 5, Attr: FileRegular}}
	body := append(append([]byte("note\x00"), EncodeFileList(UTF8, files, false)...), 0)
	tok := strings.Repeat("9f", 16)
	with := AppendOfferToken(slices.Clone(body), tok)
	if got := OfferToken(with); got != tok {
		t.Fatalf("token %q from %q", got, with)
	}
	if got := OfferToken(body); got != "" {
		t.Fatalf("token %q from an offer without one", got)
	}
	if got := string(CutOfferToken(with)); got != string(body) {
		t.Fatalf("cut %q, want %q", got, body)
	}
	i := bytes.IndexByte(with, 0)
	if got := ParseFileList(with[i+1:], UTF8); !slices.Equal(got, files) {
		t.Fatalf("file list with a token %+v", got)
	}
	for _, bad := range []string{"zz", strings.Repeat("a", MaxTokenLen+1), ""} {
		if got := OfferToken(AppendOfferToken(slices.Clone(body), bad)); got != "" {
			t.Errorf("token %q read from %q", got, bad)
		}
	}
	// In the text or in the file list, it is not a token.
	if got := OfferToken([]byte("fgtk1=" + tok + "\x00\x00")); got != "" {
		t.Errorf("token %q from the text", got)
	}
}

func TestDirStreamFromIptux(t *testing.T) {
	// The bytes iptux sent in the lab for a folder sub/ holding inner/b.bin and a.txt.
	stream := "002d:sub:000000000:2:14=6b034dfa:16=6b034dfa:" +
		"002f:inner:000000000:2:14=6b034dfa:16=6b034dfa:" +
		"002f:b.bin:00000000a:1:14=6b034dfa:16=6b034dfa:inner-data" +
		"0023:.:0:3:14=6b034dfa:16=6b034dfa:" +
		"002f:a.txt:000000003:1:14=6b034dfa:16=6b034dfa:abc" +
		"0023:.:0:3:14=6b034dfa:16=6b034dfa:"
	r := bufio.NewReader(strings.NewReader(stream))
	var got []string
	for {
		var hl [4]byte
		if _, err := io.ReadFull(r, hl[:]); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, c := range hl {
			n = n*16 + strings.IndexByte("0123456789abcdef", c)
		}
		rest := make([]byte, n-4)
		if _, err := io.ReadFull(r, rest); err != nil {
			t.Fatalf("header length %d: %v", n, err)
		}
		h, err := ParseDirHeader(append(hl[:], rest...), UTF8)
		if err != nil {
			t.Fatal(err)
		}
		content := make([]byte, h.Size)
		io.ReadFull(r, content)
		got = append(got, h.Name+"|"+string(content))
		if h.MTime != 0x6b034dfa {
			t.Errorf("%s: mtime %x", h.Name, h.MTime)
		}
	}
	if want := "sub| inner| b.bin|inner-data .| a.txt|abc .|"; strings.Join(got, " ") != want {
		t.Errorf("records %q", got)
	}
	// Our own headers parse back, and their length field is right.
	b, err := EncodeDirHeader(GBK, DirHeader{Name: "年报:v2", Size: 5, Attr: FileRegular, MTime: 0x6b034dfa}, false)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := ParseDirHeader(b, GBK); err != nil || h.Name != "年报:v2" || h.Size != 5 || h.MTime != 0x6b034dfa {
		t.Errorf("%q → %+v %v", b, h, err)
	}
}

func FuzzParseDirHeader(f *testing.F) {
	f.Add([]byte("002d:sub:000000000:2:14=6b034dfa:16=6b034dfa:"))
	f.Add([]byte("0010:a::b:1:1:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseDirHeader(b, GBK)
		ParseFileList(b, UTF8)
		ParseFileRequest(b, true)
		if r, err := ParseFileRequest(b, true); err == nil && r.Token != "" && !validToken(r.Token) {
			t.Fatalf("token %q", r.Token)
		}
		OfferToken(b)
		CutOfferToken(b)
	})
}
