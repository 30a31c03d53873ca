package ui

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Links in messages (issue 15): each web address in a message (http and https only: a
// colleague cannot make a click open a file or run anything) is shown under its text as a link
// that opens in the desktop's browser. The link shows the address itself, so what it says is
// where it goes.

// maxLinks bounds the links shown for one message; maxLinkLen one address.
const (
	maxLinks   = 5
	maxLinkLen = 2048
)

var linkRE = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'` + "`" + `，。！？、；：（）【】「」《》]+`)

// links returns the web addresses in text, in order, each once, at most maxLinks.
func links(text string) []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	for _, s := range linkRE.FindAllString(text, -1) {
		s = strings.TrimRight(s, ".,;:!?)]}")
		if len(s) > maxLinkLen || seen[s] {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		seen[s] = true
		out = append(out, u)
		if len(out) == maxLinks {
			break
		}
	}
	return out
}

// linkRow shows the links of text, or nil when it has none.
func (u *UI) linkRow(text string) fyne.CanvasObject {
	ls := links(text)
	if len(ls) == 0 {
		return nil
	}
	var objs []fyne.CanvasObject
	for _, l := range ls {
		shown := l.String()
		if r := []rune(shown); len(r) > 80 {
			shown = string(r[:77]) + "…"
		}
		h := widget.NewHyperlink(shown, l)
		h.Truncation = fyne.TextTruncateEllipsis
		h.OnTapped = func() { u.openLink(l) }
		objs = append(objs, h)
	}
	return container.NewVBox(objs...)
}

// openLink opens a web address in the desktop's browser, in the background.
func (u *UI) openLink(l *url.URL) {
	open := u.opener
	u.work(func(context.Context) func() {
		if err := open(l); err != nil {
			return u.showErr(errors.New(u.t("Nothing could open %s: %v", l.String(), err)))
		}
		return nil
	})
}
