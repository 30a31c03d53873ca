package ipmsg

import (
	"bytes"
	"strings"
	"testing"
)

// How the legacy clients read an entry's body (BR_ENTRY, ANSENTRY, BR_ABSENCE), restated
// from their public sources (see docs/protocol.md, "Presence", for the files and lines). The
// tests below feed them FeiGo's entries with legacy groups on, whose bodies end with iptux's
// encoding section, to show it is taken for nothing by IP Messenger and FeiQ.

// legacyRead is what a client lists of an entry.
type legacyRead struct{ nick, group, user, host string }

// readIPMsg reads as IP Messenger for Windows does (msgmng.cpp, MsgMng::ResolveMsg): the
// main section is the nick, the second the group unless it starts with '\n', and a third
// section (or the second, when it starts with '\n') that starts with '\n' is the UTF-8
// trailer, read only when CAPUTF8OPT is set: UN and HN for every command, NN and GN for
// BR_ENTRY and BR_ABSENCE (BR_NOTIFY) only. It looks at no fourth section. Names outside the
// trailer are decoded as the system's code page (cs) unless UTF8OPT is set.
func readIPMsg(cmd Command, user, host, body []byte, cs Charset) legacyRead {
	if cmd.Has(UTF8Opt) {
		cs = UTF8
	}
	main, rest, _ := bytes.Cut(body, []byte{0})
	r := legacyRead{nick: cs.Decode(main), user: cs.Decode(user), host: cs.Decode(host)}
	var ex, ulist []byte
	if len(rest) > 0 {
		ex, rest, _ = bytes.Cut(rest, []byte{0})
		if len(rest) > 0 {
			ulist, _, _ = bytes.Cut(rest, []byte{0})
		}
	}
	if len(ex) == 0 || ex[0] != '\n' {
		r.group = cs.Decode(ex)
	} else if ulist == nil {
		ulist = ex
	}
	if len(ulist) == 0 || ulist[0] != '\n' || !cmd.Has(CapUTF8Opt) {
		return r
	}
	names := cmd.Mode() == BrEntry || cmd.Mode() == BrAbsence
	for _, line := range strings.Split(string(ulist), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch {
		case k == "UN":
			r.user = v
		case k == "HN":
			r.host = v
		case k == "NN" && names:
			r.nick = v
		case k == "GN" && names:
			r.group = v
		}
	}
	return r
}

// readFeiQCString reads as compilelife/feiq does (feiqengine.cpp, RecvBrEntry and
// RecvAnsEntry): the whole additional section converted from GBK, taken as a C string, so
// the name is what comes before the first NUL.
func readFeiQCString(body []byte) legacyRead {
	main, _, _ := bytes.Cut(body, []byte{0})
	return legacyRead{nick: GBK.Decode(main)}
}

// readFeiQSplit reads as wqfantexi/PythonFeiQ does (AnsEntryRecvHandler.py): the additional
// section decoded from GB2312 and split at NUL; with more than two parts, the first is the
// nick and the second the group, the rest ignored.
func readFeiQSplit(body []byte) legacyRead {
	parts := strings.Split(GBK.Decode(body), "\x00")
	if len(parts) > 2 {
		return legacyRead{nick: parts[0], group: parts[1]}
	}
	return legacyRead{}
}

// TestEncodingSectionIsNothingToIPMsgAndFeiQ (issue 14): with legacy groups on, every entry
// FeiGo sends ends with iptux's encoding section. IP Messenger and the FeiQ readers take the
// nick, group, user and host from the same places as without it, and never the encoding's
// name for any of them; the exact bytes are pinned.
func TestEncodingSectionIsNothingToIPMsgAndFeiQ(t *testing.T) {
	self := Entry{ID: "id-1", Nick: "小王", Group: "研发部", User: "wang", Host: "pc-7", IptuxGroups: true}
	trailer := "\nUN:wang\nHN:pc-7\nNN:小王\nGN:研发部"
	gbk := func(s string) string { return string(GBK.Encode(s)) }
	all := legacyRead{nick: "小王", group: "研发部", user: "wang", host: "pc-7"}
	ipmsg := func(cmd Command) func([]byte) legacyRead {
		return func(b []byte) legacyRead { return readIPMsg(cmd, []byte("wang"), []byte("pc-7"), b, GBK) }
	}
	toFeiQ := func(e Entry) []byte { return EntryBodyFor(GBK, e, ClientFeiQ, false) }
	for _, c := range []struct {
		name   string
		build  func(Entry) []byte
		vector string
		read   func([]byte) legacyRead
		want   legacyRead
	}{
		// The broadcast BR_ENTRY every client hears: UTF-8 names, no UTF8OPT, the trailer.
		{"broadcast BR_ENTRY, IPMsg", func(e Entry) []byte { return EntryBody(UTF8, e) },
			"小王\x00研发部\x00" + trailer + "\nFGID:id-1\x00utf-8\x00", ipmsg(BrEntry | CapUTF8Opt), all},
		// The ANSENTRY to an IPMsg that reads UTF-8 (CAPUTF8OPT), with UTF8OPT as IPMsg itself
		// answers such a peer (IPMsg takes an ANSENTRY's nick and group from its sections).
		{"ANSENTRY to IPMsg with UTF-8", func(e Entry) []byte { return EntryBodyFor(UTF8, e, ClientIPMsg, true) },
			"小王\x00研发部\x00" + trailer + "\x00utf-8\x00", ipmsg(AnsEntry | CapUTF8Opt | UTF8Opt), all},
		// The ANSENTRY to an older IPMsg, in its code page: nick\0group\0, an empty icon, the encoding.
		{"ANSENTRY to IPMsg in GBK", func(e Entry) []byte { return EntryBodyFor(GBK, e, ClientIPMsg, false) },
			gbk("小王") + "\x00" + gbk("研发部") + "\x00\x00gbk\x00", ipmsg(AnsEntry), all},
		{"ANSENTRY to FeiQ, read as a C string", toFeiQ, gbk("小王") + "\x00" + gbk("研发部") + "\x00\x00gbk\x00", readFeiQCString, legacyRead{nick: "小王"}},
		{"ANSENTRY to FeiQ, split at NUL", toFeiQ, gbk("小王") + "\x00" + gbk("研发部") + "\x00\x00gbk\x00", readFeiQSplit, legacyRead{nick: "小王", group: "研发部"}},
	} {
		body := c.build(self)
		if string(body) != c.vector {
			t.Errorf("%s: body %q, want %q", c.name, body, c.vector)
		}
		got := c.read(body)
		if got != c.want {
			t.Errorf("%s: read as %+v, want %+v", c.name, got, c.want)
		}
		for _, name := range []string{got.nick, got.group, got.user, got.host} {
			if strings.Contains(name, "utf-8") || strings.Contains(name, "gbk") {
				t.Errorf("%s: the encoding section was taken for a name: %+v", c.name, got)
			}
		}
		plain := self
		plain.IptuxGroups = false
		if without := c.read(c.build(plain)); without != got {
			t.Errorf("%s: read as %+v with the encoding section, %+v without", c.name, got, without)
		}
	}
}

// The readers above are the clients' rules, not a mirror of ParseEntry: they must tell a
// misplaced section from a right one, or the test above could not fail.
func TestLegacyReadersSeeMisplacedSections(t *testing.T) {
	// An encoding put where the group goes is read as the group by both.
	if r := readIPMsg(AnsEntry, []byte("wang"), []byte("pc-7"), []byte("小王\x00utf-8\x00"), UTF8); r.group != "utf-8" {
		t.Errorf("IPMsg: %+v", r)
	}
	if r := readFeiQSplit(GBK.Encode("小王\x00utf-8\x00")); r.group != "utf-8" {
		t.Errorf("FeiQ: %+v", r)
	}
	// An ANSENTRY's NN is not believed by IPMsg: UTF-8 names without UTF8OPT are misread.
	if r := readIPMsg(AnsEntry|CapUTF8Opt, []byte("wang"), []byte("pc-7"), []byte("小王\x00\x00\nNN:小王"), GBK); r.nick == "小王" {
		t.Errorf("IPMsg read an ANSENTRY's UTF-8 nick without UTF8OPT: %+v", r)
	}
}
