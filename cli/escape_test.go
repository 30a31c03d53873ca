package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
	"feigo/xfer"
)

// nasty is what a hostile colleague puts in every string FeiGo shows: an OSC 52 clipboard
// write, a screen clear, a right-to-left override, a tab (which breaks tables), a C1 CSI,
// DEL and a carriage return.
const nasty = "\x1b]52;c;ZXZpbA==\x07|\x1b[2J|\u202egnp.exe|a\tb|\u009b31m|\x7f|\rX|\u2066\u200f\u061c"

// hostileNode is a node whose every peer-provided string is nasty.
type hostileNode struct {
	control.Node
	table *peers.Table
}

var peerAddr = netip.MustParseAddrPort("10.0.0.7:2425")

func newHostileNode() hostileNode {
	t := peers.New(nil)
	t.Upsert(peers.Peer{ID: "id" + nasty, Nick: "nick" + nasty, User: "user" + nasty, Host: "host" + nasty,
		Group: "group" + nasty, Addr: peerAddr, Status: peers.Away, AwayText: "away" + nasty, Client: "client" + nasty})
	return hostileNode{table: t}
}

func (n hostileNode) Table() *peers.Table { return n.table }
func (n hostileNode) Self() ipmsg.Entry {
	return ipmsg.Entry{ID: "self", Nick: "me" + nasty, Group: "g" + nasty, User: "u", Host: "h", Away: true, AwayText: "out" + nasty}
}
func (n hostileNode) Resolve(string) (netip.AddrPort, error) { return peerAddr, nil }
func (n hostileNode) Send(ctx context.Context, text string, to ...netip.AddrPort) ([]lan.Delivery, error) {
	m := lan.Message{Nick: "nick" + nasty, Addr: peerAddr}
	return []lan.Delivery{{Message: m}, {Message: m, Err: errors.New("no answer from " + nasty)}}, nil
}

func (n hostileNode) transfers() []xfer.Transfer {
	file := xfer.TransferFile{FileInfo: ipmsg.FileInfo{ID: 1, Name: "file" + nasty, Size: 3}, Path: "/dl/file" + nasty, State: xfer.StateDone}
	return []xfer.Transfer{
		{ID: 1, Direction: event.In, State: xfer.StateDone, Nick: "nick" + nasty, Addr: peerAddr, Text: nasty,
			Files: []xfer.TransferFile{file, file}, Dest: "/dl" + nasty, Total: 3, Done: 3},
		{ID: 2, Direction: event.Out, State: xfer.StateDone, Files: []xfer.TransferFile{file}, Total: 3, Done: 3,
			Recipients: []xfer.Recipient{{Nick: "nick" + nasty, Addr: peerAddr, State: xfer.StateDone, Fetched: []uint32{1}}}},
		{ID: 3, Direction: event.In, State: xfer.StateFailed, Nick: "nick" + nasty, Addr: peerAddr,
			Files: []xfer.TransferFile{file}, Error: "failed" + nasty},
	}
}
func (n hostileNode) Transfers() []xfer.Transfer { return n.transfers() }
func (n hostileNode) Transfer(id int) (xfer.Transfer, error) {
	if id < 1 || id > 3 {
		return xfer.Transfer{}, errors.New("no transfer " + nasty)
	}
	return n.transfers()[id-1], nil
}
func (n hostileNode) Accept(id int, dir string, only []string) (xfer.Transfer, error) {
	return n.Transfer(id)
}
func (n hostileNode) SendFiles(ctx context.Context, text string, paths []string, to ...netip.AddrPort) (xfer.Transfer, error) {
	return n.Transfer(2)
}
func (n hostileNode) QueryHistory(peer, search string, since time.Time, limit int) ([]history.Record, error) {
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	return []history.Record{
		{ID: 1, Time: at, Peer: "p", Nick: "nick" + nasty, Direction: event.In, Kind: history.KindText, Text: "first line\n" + nasty, State: history.StateReceived},
		{ID: 2, Time: at, Peer: "p", Nick: "nick" + nasty, Direction: event.Out, Kind: history.KindText, Text: "hi", State: history.StateFailed, Error: "failed" + nasty},
		{ID: 3, Time: at, Peer: "p", Nick: "nick" + nasty, Direction: event.In, Kind: history.KindFile, Text: "file" + nasty, State: xfer.StateDone, Folder: "/dl" + nasty,
			Files: []history.File{{Name: "file" + nasty, Size: 3}}},
	}, nil
}
func (n hostileNode) Contact(q string) (history.Contact, error) {
	return history.Contact{}, errors.New("no colleague " + nasty)
}
func (n hostileNode) Queue(ctx context.Context, sendID, text string, c history.Contact) (history.Record, error) {
	return history.Record{}, errors.New("unused")
}
func (n hostileNode) ClearHistory(peer string) (int64, error) { return 0, nil }

// serveHostile runs a control socket for a hostileNode in a fresh profile and returns the
// profile directory.
func serveHostile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := control.Listen(p.SocketPath())
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, ln, newHostileNode()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return dir
}

// unsafeRune reports a rune a terminal must never get from a peer.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20 && r != '\n', r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return r == utf8.RuneError
}

// Every command's human output escapes what peers said: no escape sequence, bidi control
// or tab reaches the terminal, and the escaped form stays visible.
func TestHumanOutputEscapesPeerStrings(t *testing.T) {
	prof := serveHostile(t)
	for _, args := range [][]string{
		{"peers"}, {"status"}, {"history"}, {"history", "--clear", "bob"}, {"transfers"},
		{"send", "bob", "hi"}, {"send-file", "bob", "/etc/hostname"}, {"accept", "1", "--wait"},
		{"accept", "3", "--wait"}, {"accept", "1"}, {"accept", "9"},
	} {
		out, errOut, code := run(append([]string{args[0], "--profile", prof}, args[1:]...)...)
		all := out + errOut
		for i, r := range all {
			if unsafeRune(r) {
				t.Errorf("%v: raw %U at byte %d in\n%s", args, r, i, all)
				break
			}
		}
		if strings.ContainsRune(out, '\t') {
			t.Errorf("%v: a tab in the output", args)
		}
		if !strings.Contains(all, `\x1b]52;c;ZXZpbA==\x07`) || !strings.Contains(all, `\u202egnp.exe`) {
			t.Errorf("%v: exit %d, the escaped text is not shown:\n%s", args, code, all)
		}
		// A multi-line message cannot pass for a record of its own.
		if args[0] == "history" && code == 0 {
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !strings.HasPrefix(line, "2026-") && !strings.HasPrefix(line, " ") {
					t.Errorf("history: line %q is neither a record nor indented", line)
				}
			}
		}
	}
}

// --json prints exactly what the peers sent; JSON escapes it by itself.
func TestJSONOutputIsExact(t *testing.T) {
	prof := serveHostile(t)
	out, errOut, code := run("peers", "--profile", prof, "--json")
	var ps []peers.Peer
	if err := json.Unmarshal([]byte(out), &ps); err != nil || code != 0 || len(ps) != 1 {
		t.Fatalf("peers --json: %v, exit %d, %s %s", err, code, out, errOut)
	}
	if p := ps[0]; p.Nick != "nick"+nasty || p.Group != "group"+nasty || p.AwayText != "away"+nasty || p.Client != "client"+nasty || p.ID != "id"+nasty {
		t.Fatalf("peers --json changed the strings: %+v", p)
	}
	out, _, _ = run("history", "--profile", prof, "--json")
	var rs []history.Record
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 3 || rs[0].Text != "first line\n"+nasty || rs[1].Error != "failed"+nasty || rs[2].Files[0].Name != "file"+nasty {
		t.Fatalf("history --json: %v, %+v", err, rs)
	}
	out, _, _ = run("transfers", "--profile", prof, "--json")
	var ts []xfer.Transfer
	if err := json.Unmarshal([]byte(out), &ts); err != nil || len(ts) != 3 || ts[0].Files[0].Name != "file"+nasty || ts[2].Error != "failed"+nasty {
		t.Fatalf("transfers --json: %v, %+v", err, ts)
	}
	out, _, _ = run("status", "--profile", prof, "--json")
	var self control.Self
	if err := json.Unmarshal([]byte(out), &self); err != nil || self.Nick != "me"+nasty {
		t.Fatalf("status --json: %v, %+v", err, self)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"小王 (10.0.0.7)":          "小王 (10.0.0.7)",
		"\x1b]52;c;ZXZpbA==\x07": `\x1b]52;c;ZXZpbA==\x07`,
		"\u202egnp.exe":          `\u202egnp.exe`,
		"a\tb\nc\rd\x7f\x00":     `a\tb\nc\rd\x7f\x00`,
		"\u009b31m":              `\u009b31m`,
		"bad\xffbyte":            `bad\xffbyte`,
		`C:\dir`:                 `C:\dir`,
		"e\u0301 👨\u200d👩":       "e\u0301 👨\u200d👩", // combining marks and emoji joiners stay
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := printableLines("one\ntwo\x1b[2J\n"), "one\n    two\\x1b[2J\n    "; got != want {
		t.Errorf("printableLines = %q, want %q", got, want)
	}
}
