package ui

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
)

// searchLimit is how many records a history search shows (the newest that match).
const searchLimit = 500

// showHistory opens the history tab: a search over every conversation, whose results open
// the conversation they come from.
func (u *UI) showHistory() {
	u.panes.showTalk()
	if u.histTab != nil {
		u.tabs.Select(u.histTab)
		return
	}
	entry := widget.NewEntry()
	entry.SetPlaceHolder(u.t("Search all conversations (words, Chinese too, file names)"))
	u.histEntry = entry
	u.histInfo = widget.NewLabel("")
	u.histResults = nil
	u.histList = widget.NewList(func() int { return len(u.histResults) }, func() fyne.CanvasObject {
		head := widget.NewLabelWithStyle("", fyne.TextAlign(0), fyne.TextStyle{Bold: true})
		body := widget.NewRichText()
		body.Truncation = fyne.TextTruncateEllipsis
		// The direction is an icon, not an arrow in the text: see xferCreate.
		return container.NewVBox(container.NewBorder(nil, nil, widget.NewIcon(theme.NavigateBackIcon()), nil, head), body)
	}, func(i widget.ListItemID, o fyne.CanvasObject) {
		r := u.histResults[i]
		box := o.(*fyne.Container)
		line := box.Objects[0].(*fyne.Container)
		head, icon := line.Objects[0].(*widget.Label), line.Objects[1].(*widget.Icon)
		if r.Direction == event.Out {
			icon.SetResource(theme.NavigateNextIcon())
		} else {
			icon.SetResource(theme.NavigateBackIcon())
		}
		nick := r.Nick
		if nick == "" {
			nick = r.Peer
		}
		if name := u.roomName(r.Peer); name != "" {
			nick += "  · " + u.t("room %s", name)
		}
		head.SetText(fmt.Sprintf("%s  %s  · %s", r.Time.Format("2006-01-02 15:04"), nick, u.t(r.State)))
		body := box.Objects[1].(*widget.RichText)
		body.Segments = highlight(strings.ReplaceAll(r.Text, "\n", " ⏎ "), u.histWords)
		body.Refresh()
	})
	u.histList.OnSelected = func(i widget.ListItemID) {
		u.histList.Unselect(i)
		if i < len(u.histResults) {
			u.openRecord(u.histResults[i])
		}
	}
	entry.OnSubmitted = u.searchHistory
	find := widget.NewButton(u.t("Search"), func() { u.searchHistory(entry.Text) })
	top := container.NewBorder(nil, u.histInfo, nil, find, entry)
	u.histTab = container.NewTabItem(u.t("History"), container.NewBorder(top, nil, nil, nil, u.histList))
	u.tabs.Append(u.histTab)
	u.tabs.Select(u.histTab)
	u.Win.Canvas().Focus(entry)
}

// searchHistory searches every conversation for words, in the background, and lists what it
// finds in the history tab.
func (u *UI) searchHistory(words string) {
	words = strings.TrimSpace(words)
	if words == "" {
		u.histResults = nil
		u.histInfo.SetText("")
		u.histList.Refresh()
		return
	}
	u.histInfo.SetText(u.t("Searching…"))
	u.histSeq++
	seq := u.histSeq
	u.work(func(context.Context) func() {
		rs, err := u.core.SearchHistory(words, searchLimit)
		rs = safeRecords(rs)
		return func() {
			if seq != u.histSeq {
				return // a newer search, or the tab was closed
			}
			if err != nil {
				u.histInfo.SetText(err.Error())
				return
			}
			// Newest first: what people look for is usually recent.
			slices.Reverse(rs)
			u.histResults, u.histWords = rs, strings.Fields(words)
			switch {
			case len(rs) >= searchLimit:
				u.histInfo.SetText(u.t("The newest %d matches; add words to narrow it.", len(rs)))
			default:
				u.histInfo.SetText(u.t("%d found", len(rs)))
			}
			u.histList.Refresh()
			u.histList.ScrollToTop()
		}
	})
}

// openRecord opens the conversation a history record belongs to.
func (u *UI) openRecord(r history.Record) {
	if u.openRoomRecord(r) {
		return
	}
	addr, _ := netip.ParseAddrPort(r.Addr)
	w := who{id: r.PeerID, addr: addr, nick: r.Nick, user: r.User, host: r.Host, hkey: r.Peer}
	if p, ok := u.peers[r.PeerID]; ok {
		w.addr, w.nick = p.Addr, p.Nick // where the colleague is now
	}
	if w.id == "" && !w.addr.IsValid() {
		dialog.ShowInformation(u.t("History"), u.t("This colleague's address is unknown."), u.Win)
		return
	}
	u.openConv(w, true).reveal(r)
}

// highlight cuts text into segments in which each occurrence of one of words stands out (bold,
// in the theme's primary colour), found as the history search finds them but regardless of
// case: "report" in "Weekly Report", 周报 in 第3周的周报.
func highlight(text string, words []string) []widget.RichTextSegment {
	runes := []rune(text)
	folded := make([]rune, len(runes)) // one rune for one: the positions stay those of text
	for i, r := range runes {
		folded[i] = unicode.ToLower(r)
	}
	marked := make([]bool, len(runes))
	for _, w := range words {
		fw := []rune(strings.Map(unicode.ToLower, w))
		if len(fw) == 0 {
			continue
		}
		for i := 0; i+len(fw) <= len(folded); i++ {
			if slices.Equal(folded[i:i+len(fw)], fw) {
				for j := i; j < i+len(fw); j++ {
					marked[j] = true
				}
			}
		}
	}
	plain := widget.RichTextStyleInline
	found := widget.RichTextStyle{Inline: true, ColorName: theme.ColorNamePrimary, TextStyle: fyne.TextStyle{Bold: true}}
	var segs []widget.RichTextSegment
	for start := 0; start < len(runes); {
		end := start
		for end < len(runes) && marked[end] == marked[start] {
			end++
		}
		st := plain
		if marked[start] {
			st = found
		}
		segs = append(segs, &widget.TextSegment{Text: string(runes[start:end]), Style: st})
		start = end
	}
	if len(segs) == 0 {
		segs = append(segs, &widget.TextSegment{Style: plain})
	}
	return segs
}
