package ipmsg

import (
	"slices"
	"strconv"
	"testing"
)

// IP Messenger for Windows (share.cpp, ShareInfo::EncodeMsg) writes a pasted picture as
// "id:name:size:mtime:attr:8=pos:\a": id decimal, the rest hex, attr IPMSG_FILE_CLIPBOARD
// (0x20) and the extended attribute IPMSG_FILE_CLIPBOARDPOS (8) holding the position; the
// name is "ipmsgclip_s_<base>_<pos>.png".
func TestClipboardEntriesAsIPMsgWritesThem(t *testing.T) {
	list := "1032704563:ipmsgclip_s_1700000000_5.png:1a2b:65f0a000:20:8=5:\a" +
		"1032704564:report.pdf:400:65f0a000:1:14=65f0a000:\a" +
		"1032704565:ipmsgclip_s_1700000000_12.png:10:65f0a000:20:8=12:\a"
	got := ParseFileList([]byte(list), UTF8)
	want := []FileInfo{
		{ID: 1032704563, Name: "ipmsgclip_s_1700000000_5.png", Size: 0x1a2b, MTime: 0x65f0a000, Attr: FileClipboard, Pos: 5},
		{ID: 1032704564, Name: "report.pdf", Size: 0x400, MTime: 0x65f0a000, Attr: FileRegular},
		{ID: 1032704565, Name: "ipmsgclip_s_1700000000_12.png", Size: 0x10, MTime: 0x65f0a000, Attr: FileClipboard, Pos: 0x12},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if !got[0].IsClip() || got[1].IsClip() {
		t.Error("IsClip wrong")
	}
	// Written back byte for byte as IPMsg writes them.
	if b := string(EncodeFileList(UTF8, want, false)); b != "1032704563:ipmsgclip_s_1700000000_5.png:1a2b:65f0a000:20:8=5:\a"+
		"1032704564:report.pdf:400:65f0a000:1:\a"+"1032704565:ipmsgclip_s_1700000000_12.png:10:65f0a000:20:8=12:\a" {
		t.Errorf("encoded %q", b)
	}
	// For iptux (which never gets clipboard entries from FeiGo, see xfer) the format is the same.
	if b := string(EncodeFileList(UTF8, want[:1], true)); b != "1032704563:ipmsgclip_s_1700000000_5.png:1a2b:65f0a000:20:8=5:\a" {
		t.Errorf("encoded for iptux %q", b)
	}
}

func TestClipboardPositionHostile(t *testing.T) {
	for _, c := range []struct {
		list string
		pos  int
	}{
		{"1:a.png:1:0:20:\a", 0},                     // no position: the start
		{"1:a.png:1:0:20:8=zz:\a", 0},                // malformed
		{"1:a.png:1:0:20:8=ffffffff:\a", MaxClipPos}, // bounded
		{"1:a.png:1:0:20:14=65f0a000:8=3:\a", 3},     // after another extension
		{"1:a.png:1:0:20:9=3:\a", 0},                 // another key
		{"1:a.png:1:0:20:8=1=2:\a", 0},               // garbage value
	} {
		got := ParseFileList([]byte(c.list), UTF8)
		if len(got) != 1 || got[0].Pos != c.pos || !got[0].IsClip() {
			t.Errorf("%q: got %+v, want pos %d", c.list, got, c.pos)
		}
	}
	// Negative and huge positions are written bounded.
	if b := string(EncodeFileList(UTF8, []FileInfo{{ID: 1, Name: "a.png", Size: 1, Attr: FileClipboard, Pos: -4}}, false)); b != "1:a.png:1:0:20:8=0:\a" {
		t.Errorf("negative pos written %q", b)
	}
	if b := string(EncodeFileList(UTF8, []FileInfo{{ID: 1, Name: "a.png", Size: 1, Attr: FileClipboard, Pos: 1 << 40}}, false)); b != "1:a.png:1:0:20:8="+strconv.FormatInt(MaxClipPos, 16)+":\a" {
		t.Errorf("huge pos written %q", b)
	}
}

func TestClipPosCountsAsRichEdit(t *testing.T) {
	text := "ab\n中😀x" // a, b, LF, 中 one unit each, 😀 two (a surrogate pair), x one
	for _, c := range []struct{ off, earlier, pos int }{
		{0, 0, 0}, {2, 0, 2}, {3, 0, 3}, {6, 0, 4}, {10, 0, 6}, {11, 0, 7}, {11, 2, 9}, {99, 0, 7},
	} {
		if got := ClipPos(text, c.off, c.earlier); got != c.pos {
			t.Errorf("ClipPos(%d, %d) = %d, want %d", c.off, c.earlier, got, c.pos)
		}
		off := min(c.off, len(text))
		if got := ClipOffset(text, c.pos, c.earlier); got != off {
			t.Errorf("ClipOffset(%d, %d) = %d, want %d", c.pos, c.earlier, got, off)
		}
	}
	// Inside the surrogate pair: after the character. Past the end: the end.
	if got := ClipOffset(text, 5, 0); got != 10 {
		t.Errorf("inside a pair: %d", got)
	}
	if got := ClipOffset(text, 1000, 0); got != len(text) {
		t.Errorf("past the end: %d", got)
	}
}

func TestClipboardOptInEntries(t *testing.T) {
	for _, c := range []struct {
		raw  string
		clip bool
	}{
		// IP Messenger 5 sets CLIPBOARDOPT (0x08000000) with CAPUTF8OPT and FILEATTACHOPT.
		{"1:5:taro:pc:" + strconv.Itoa(int(BrEntry|ClipboardOpt|CapUTF8Opt|FileAttachOpt)) + ":Taro\x00\x00\nUN:taro", true},
		{"1:5:taro:pc:" + strconv.Itoa(int(BrEntry|CapUTF8Opt)) + ":Taro\x00\x00\nUN:taro", false},
		{"1_feigo 0.1.0:9:li:pc:" + strconv.Itoa(int(AnsEntry|ClipboardOpt)) + ":li\x00\x00\nUN:li\nFGID:abc\nFGCAP:files\x00", true},
		// FeiQ and iptux are not believed: they do not show clipboard entries.
		{"1_lbt6_0#128#001122AABBCC#0#0#0#4001#9:1:Admin:PC:" + strconv.Itoa(int(BrEntry|ClipboardOpt)) + ":x\x00", false},
		{"1_iptux 0.8.3:1:root:vm:" + strconv.Itoa(int(BrEntry|ClipboardOpt)) + ":tux\x00g\x00icon\x00utf-8\x00", false},
	} {
		p, err := Decode([]byte(c.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(ParseEntry(p, GBK).Caps, CapClipboard); got != c.clip {
			t.Errorf("%q: clipboard %v, want %v", c.raw, got, c.clip)
		}
	}
}
