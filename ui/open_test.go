package ui

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/xfer"
)

// fakeOpener records what the window asks the desktop to open, and fails when told to.
type fakeOpener struct {
	mu     sync.Mutex
	opened []string
	err    error
}

func (f *fakeOpener) open(u *url.URL) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, u.Path)
	return f.err
}

// A finished download of one file offers Open file besides Open folder; each hands its
// path to the desktop, and when nothing can open it the window says so in a dialog.
func TestDoneDownloadOpensFileAndShowsWhenNothingCanOpenIt(t *testing.T) {
	u, _ := newTestUI(t, "en")
	op := &fakeOpener{}
	u.opener = op.open
	u.HandleEvent(online("b", "Bob", "R&D", bobAddr))
	offer := xfer.Transfer{ID: 7, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "report.xlsx", Size: 10, Attr: ipmsg.FileRegular}}}, Total: 10}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	card := u.offers[7]
	if card.openFile.Visible() {
		t.Fatal("open file shown before anything arrived")
	}
	offer.State, offer.Done, offer.Dest = xfer.StateDone, 10, "/tmp/dl"
	offer.Files[0].Path = "/tmp/dl/report.xlsx"
	u.HandleEvent(lan.Event{Type: event.TransferDone, Transfer: &offer})
	if !card.openFile.Visible() || !card.open.Visible() {
		t.Fatalf("done: open file %v, open folder %v", card.openFile.Visible(), card.open.Visible())
	}
	test.Tap(card.openFile)
	u.settle()
	test.Tap(card.open)
	u.settle()
	if got := strings.Join(op.opened, "|"); got != "/tmp/dl/report.xlsx|/tmp/dl" {
		t.Fatalf("opened %q", got)
	}
	if top := u.Win.Canvas().Overlays().Top(); top != nil {
		t.Fatalf("a dialog after opening worked: %q", deepTexts(top))
	}

	op.err = errors.New("xdg-open not found")
	test.Tap(card.openFile)
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("nothing shown when the file could not be opened")
	}
	if got := strings.Join(deepTexts(top), "|"); !strings.Contains(got, "Nothing could open /tmp/dl/report.xlsx: xdg-open not found") {
		t.Fatalf("dialog says %q", got)
	}
}

// Open file is for one file: a download of several files, or of a folder, has only Open folder.
func TestOpenFileOnlyForOneFile(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "R&D", bobAddr))
	for i, files := range [][]xfer.TransferFile{
		{{FileInfo: ipmsg.FileInfo{Name: "a", Attr: ipmsg.FileRegular}, Path: "/tmp/dl/a"}, {FileInfo: ipmsg.FileInfo{Name: "b", Attr: ipmsg.FileRegular}, Path: "/tmp/dl/b"}},
		{{FileInfo: ipmsg.FileInfo{Name: "dir", Attr: ipmsg.FileDir}, Path: "/tmp/dl/dir"}},
	} {
		tr := xfer.Transfer{ID: 10 + i, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr, Files: files}
		u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &tr})
		tr.State, tr.Dest = xfer.StateDone, "/tmp/dl"
		u.HandleEvent(lan.Event{Type: event.TransferDone, Transfer: &tr})
		card := u.offers[tr.ID]
		if card.openFile.Visible() || !card.open.Visible() {
			t.Errorf("%d: open file %v, open folder %v", i, card.openFile.Visible(), card.open.Visible())
		}
	}
}

// xdgOpen reports what xdg-open says when nothing opens a file (it exits with an error),
// not when a program it started keeps running, and a missing xdg-open.
func TestXDGOpenReadsTheExitStatus(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("xdg-open is for Linux and the BSDs; on Windows Fyne opens files itself")
	}
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := xdgOpen(script("ok", "exit 0"), "file:///tmp/x", time.Minute); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	if err := xdgOpen(script("none", "exit 3"), "file:///tmp/x", time.Minute); err == nil || !strings.Contains(err.Error(), "status 3") {
		t.Errorf("exit 3: %v", err)
	}
	if err := xdgOpen(script("runs", "sleep 5"), "file:///tmp/x", 50*time.Millisecond); err != nil {
		t.Errorf("still running: %v", err)
	}
	if err := xdgOpen(filepath.Join(dir, "missing"), "file:///tmp/x", time.Minute); err == nil {
		t.Error("a missing opener: no error")
	}
}

// An offer of several files lists them with a check box each, all ticked; Accept takes the
// ticked ones (by the names xfer matches), cannot be tapped with none ticked, and the boxes
// are locked once the offer is answered.
func TestOfferAcceptsTheTickedFiles(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "R&D", bobAddr))
	offer := xfer.Transfer{ID: 9, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr,
		Files: []xfer.TransferFile{
			{FileInfo: ipmsg.FileInfo{Name: "a.pdf", Size: 1, Attr: ipmsg.FileRegular}},
			{FileInfo: ipmsg.FileInfo{Name: "b.pdf", Size: 2, Attr: ipmsg.FileRegular}},
			{FileInfo: ipmsg.FileInfo{Name: "pics", Size: 3, Attr: ipmsg.FileDir}},
		}}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	card := u.offers[9]
	if len(card.picks) != 3 {
		t.Fatalf("check boxes %d, card %q", len(card.picks), texts(card.box))
	}
	for _, ch := range card.picks {
		if !ch.Checked {
			t.Fatalf("%q not ticked at first", ch.Text)
		}
	}
	if card.picks[2].Text != "pics/ (3 B)" {
		t.Errorf("folder's box %q", card.picks[2].Text)
	}
	for _, ch := range card.picks {
		test.Tap(ch)
	}
	if !card.accept.Disabled() || !card.saveAs.Disabled() {
		t.Fatal("Accept or Save as can be tapped with no file ticked")
	}
	test.Tap(card.picks[1])
	test.Tap(card.picks[2])
	if card.accept.Disabled() {
		t.Fatal("Accept disabled with files ticked")
	}
	test.Tap(card.accept)
	u.settle()
	if len(core.acceptedOnly) != 1 || strings.Join(core.acceptedOnly[0], "|") != "b.pdf|pics" {
		t.Fatalf("accepted only %q", core.acceptedOnly)
	}
	offer.State = xfer.StateActive
	u.HandleEvent(lan.Event{Type: event.TransferStarted, Transfer: &offer})
	if !card.picks[0].Disabled() {
		t.Error("check boxes still change an answered offer")
	}
}
