package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/xfer"
)

// bundledFonts is the first faces Fyne draws text with, in its order (painter.CachedFontFace):
// the theme's text font, the emoji font, then the symbol font; system fonts come after.
type bundledFonts []*font.Face

func loadBundledFonts(t *testing.T, text fyne.Resource) bundledFonts {
	var fs bundledFonts
	for _, r := range []fyne.Resource{text, theme.DefaultEmojiFont(), theme.DefaultSymbolFont()} {
		if r == nil {
			continue
		}
		f, err := font.ParseTTF(bytes.NewReader(r.Content()))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

func (fs bundledFonts) ResolveFace(r rune) *font.Face {
	for _, f := range fs {
		if _, ok := f.NominalGlyph(r); ok {
			return f
		}
	}
	return fs[0] // Fyne would look among the system's fonts: not the question here
}

// blanksWithoutGlyph returns the blanks in s that Fyne would draw as "�": go-text's segmenter
// keeps a space in the run before it, assuming every font has one, and Fyne's symbol font
// (InterSymbols, which draws the arrows the text font lacks) has none.
func (fs bundledFonts) blanksWithoutGlyph(s string) []string {
	runes := []rune(s)
	in := shaping.Input{Text: runes, RunEnd: len(runes), Direction: di.DirectionLTR, Face: fs[0], Size: fixed.I(14)}
	var seg shaping.Segmenter
	var bad []string
	for _, run := range seg.Split(in, fs) {
		for i := run.RunStart; i < run.RunEnd; i++ {
			if !unicode.IsSpace(runes[i]) {
				continue
			}
			if _, ok := run.Face.NominalGlyph(runes[i]); !ok {
				bad = append(bad, fmt.Sprintf("%q before %q", string(runes[max(i-1, 0):i]), string(runes[i:min(i+4, len(runes))])))
			}
		}
	}
	return bad
}

// TestBundledSymbolFontHasNoSpace pins down the cause of the "↓�" in Transfers and History
// (the arrows are in Fyne's symbol font only, which has no space, and the space after an
// arrow is shaped in the arrow's font), and so that TestNoMissingGlyphs can fail: its check
// sees the case the window used to show.
func TestBundledSymbolFontHasNoSpace(t *testing.T) {
	fs := loadBundledFonts(t, theme.DefaultTextFont())
	if got := fs.blanksWithoutGlyph("↓ Bob — a.txt"); len(got) != 1 {
		t.Fatalf("the check misses the known case (or Fyne's fonts changed and the cause is gone): %q", got)
	}
}

// Bug 9: what the Transfers and History tabs and the conversations show draws no "�".
func TestNoMissingGlyphs(t *testing.T) {
	u, core := newTestUI(t, "zh")
	seed(t, core, 4, func(i int) string { return fmt.Sprintf("周报 %d", i) })
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	in := offerFrom(1, 10, "a.txt")
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &in})
	out := sentOffer(2, 20, u.peers["b"])
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &out})
	var shown []fyne.CanvasObject
	for i := range u.xferIDs {
		row := u.xferCreate()
		u.xferUpdate(i, row)
		shown = append(shown, row)
	}
	u.showHistory()
	u.searchHistory("周报")
	u.settle()
	for i := range u.histResults {
		row := u.histList.CreateItem()
		u.histList.UpdateItem(i, row)
		shown = append(shown, row)
	}
	if len(shown) != 6 {
		t.Fatalf("%d rows", len(shown))
	}
	shown = append(shown, allRows(u.convs["b"]))
	regular, bold := loadBundledFonts(t, theme.DefaultTextFont()), loadBundledFonts(t, theme.DefaultTextBoldFont())
	for _, o := range shown {
		for _, s := range deepTexts(o) {
			if bad := append(regular.blanksWithoutGlyph(s), bold.blanksWithoutGlyph(s)...); len(bad) > 0 {
				t.Errorf("%q draws a missing glyph: %q", s, bad)
			}
		}
	}
}

// Bug 9: a declined offer says so once, in the window's language.
func TestDeclinedSaysItOnce(t *testing.T) {
	u, core := newTestUI(t, "zh")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	offer := offerFrom(3, 30, "a.txt")
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	offer.State, offer.Error = xfer.StateDeclined, "declined"
	u.HandleEvent(lan.Event{Type: event.TransferFailed, Transfer: &offer})
	row := u.xferCreate()
	u.xferUpdate(0, row)
	for _, got := range []string{u.offers[3].info.Text, strings.Join(deepTexts(row), "|")} {
		if strings.Count(got, "已拒绝") != 1 || strings.Contains(got, "declined") {
			t.Errorf("a declined offer reads %q", got)
		}
	}
	// As a record of the history, in a conversation.
	core.hist.PutTransfer(history.Record{Peer: "c", PeerID: "c", Nick: "Carol", Direction: event.Out, PacketNo: 31, State: xfer.StateDeclined,
		Error: "declined", Files: []history.File{{Name: "b.txt", Size: 1}}})
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	u.tree.OnSelected("p:c")
	u.settle()
	c := u.convs["c"]
	if got := c.msgs[0].head.Text; strings.Count(got, "已拒绝") != 1 || strings.Contains(got, "declined") {
		t.Errorf("the record reads %q", got)
	}
	// Other reasons stay, translated where the window knows them.
	offer.ID, offer.PacketNo, offer.State, offer.Error = 4, 40, xfer.StateCancelled, "cancelled by the sender"
	if got := progressText(Chinese, offer); !strings.HasSuffix(got, "已取消 · 发送方已取消") {
		t.Errorf("a cancelled offer reads %q", got)
	}
}

// Bug 9: clearing the history takes away the cards of transfers that ended (they were
// history) and keeps those still open.
func TestClearHistoryTakesEndedTransfers(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	done, open := offerFrom(1, 10, "done.txt"), offerFrom(2, 20, "open.txt")
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &done})
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &open})
	done.State, done.Done, done.Dest = xfer.StateDone, done.Total, "/tmp"
	u.HandleEvent(lan.Event{Type: event.TransferDone, Transfer: &done})
	c := u.convs["b"]
	c.clearHistory()
	u.settle()
	got := strings.Join(deepTexts(allRows(c)), "|")
	if strings.Contains(got, "done.txt") || !strings.Contains(got, "open.txt") {
		t.Fatalf("after clearing: %q", got)
	}
	// A rebuild (language switch) does not bring it back.
	st := u.opt.Settings
	st.Language = "zh"
	u.applySettings(st)
	u.settle()
	if got := strings.Join(deepTexts(allRows(u.convs["b"])), "|"); strings.Contains(got, "done.txt") || !strings.Contains(got, "open.txt") {
		t.Fatalf("after the rebuild: %q", got)
	}
}

// Bug 9: switching the language keeps the tabs as they were: the History tab with its search,
// the conversations in their order, the one in front.
func TestLanguageSwitchKeepsTheTabs(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 4, func(i int) string { return fmt.Sprintf("report %d", i) })
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.tree.OnSelected("p:c")
	u.tree.OnSelected("p:b")
	u.showHistory()
	test.Type(u.histEntry, "report")
	u.histEntry.OnSubmitted(u.histEntry.Text)
	u.settle()
	u.tabs.Select(u.convs["b"].tab)
	st := u.opt.Settings
	st.Language = "zh"
	u.applySettings(st)
	u.settle()
	var names []string
	for _, ti := range u.tabs.Items {
		names = append(names, ti.Text)
	}
	if strings.Join(names, ",") != "文件传输,Carol,Bob,聊天记录" || u.tabs.Selected() != u.convs["b"].tab {
		t.Fatalf("tabs %q, %q in front", names, u.tabs.Selected().Text)
	}
	if u.histEntry.Text != "report" || len(u.histResults) != 4 {
		t.Fatalf("the history tab searches %q and shows %d", u.histEntry.Text, len(u.histResults))
	}
	// A closed conversation stays closed.
	u.tabs.CloseIntercept(u.convs["c"].tab)
	st.Language = "en"
	u.applySettings(st)
	u.settle()
	names = names[:0]
	for _, ti := range u.tabs.Items {
		names = append(names, ti.Text)
	}
	if strings.Join(names, ",") != "Transfers,Bob,History" {
		t.Fatalf("tabs %q", names)
	}
}
