package ipmsg

import (
	"testing"
)

// The parsers of what landed today (host lists, iptux group messages, clipboard positions in
// file lists), fed hostile bytes: they never panic and keep their bounds; names put in a host
// list page never add hosts to it. Run with
// go test -fuzz FuzzAttackParsers ./ipmsg; the seeds run in every go test.
func FuzzAttackParsers(f *testing.F) {
	f.Add([]byte("0\a3\au\ah\a1\a10.0.0.1\a2425\a\b\a\b\a"), 5)
	f.Add([]byte("1:a.png:1f:0:20:8=ffffffff:\a2:b:0:0:20:8=-1:"), 0)
	f.Add([]byte("hello\x00\x00"), 1)
	f.Add([]byte("\xf0\x9f\x98\x80x\ny"), 70000)
	f.Fuzz(func(t *testing.T, b []byte, k int) {
		max := k % 300
		if max < 0 {
			max = -max
		}
		for _, cs := range []Charset{UTF8, GBK} {
			_, _, hosts, err := ParseAnsList(b, cs, max)
			if err == nil && len(hosts) > max {
				t.Fatalf("%d hosts, max %d", len(hosts), max)
			}
			for _, fi := range ParseFileList(b, cs) {
				if fi.IsClip() && (fi.Pos < 0 || fi.Pos > MaxClipPos) {
					t.Fatalf("clipboard position %d", fi.Pos)
				}
			}
			for _, mode := range []Command{IptuxSendMsg, IptuxSendMsg | Command(IptuxGroup), IptuxSendMsg | 0xff00} {
				m, err := DecodeIptuxGroupMsg(Packet{Cmd: mode, Body: b, User: b, Host: b}, cs)
				if err == nil && len([]rune(m.Text)) > MaxRoomText {
					t.Fatalf("text of %d runes", len([]rune(m.Text)))
				}
			}
			ParseEntry(Packet{Cmd: BrEntry, Body: b, User: b, Host: b}, cs)
			// A colleague's names served in our host list cannot inject hosts into it.
			s := cs.Decode(b)
			page := AnsListBody(cs, 0, []HostListEntry{{User: s, Host: s, Status: BrEntry, IP: "10.0.0.1", Port: 2425, Nick: s, Group: s}})
			if _, _, hosts, err := ParseAnsList(page, cs, 10); err != nil || len(hosts) != 1 || hosts[0].IP != "10.0.0.1" || hosts[0].Port != 2425 {
				t.Fatalf("names %q made the page %q read as %+v, %v", s, page, hosts, err)
			}
		}
		text := string(b)
		off := ClipOffset(text, k, 0)
		if off < 0 || off > len(text) {
			t.Fatalf("offset %d in %d bytes", off, len(text))
		}
		if p := ClipPos(text, k, max%3); p < 0 || p > MaxClipPos {
			t.Fatalf("position %d", p)
		}
	})
}
