package ui

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/profile"
)

func TestLinksFound(t *testing.T) {
	for text, want := range map[string]string{
		"看这个 https://example.com/report?q=1，谢谢":  "https://example.com/report?q=1",
		"(see http://intranet.local/wiki).":      "http://intranet.local/wiki",
		"file:///etc/passwd javascript:alert(1)": "",
		"ftp://x.y/z and https:// alone":         "",
		"https://a.b/1 https://a.b/1 http://c.d": "https://a.b/1 http://c.d",
	} {
		var got []string
		for _, u := range links(text) {
			got = append(got, u.String())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("links(%q) = %q, want %q", text, got, want)
		}
	}
	many := strings.Repeat("https://x.y/a ", 50)
	if n := len(links(many + "https://x.y/b https://x.y/c https://x.y/d https://x.y/e https://x.y/f https://x.y/g")); n != maxLinks {
		t.Errorf("%d links from a message full of them, want %d", n, maxLinks)
	}
	if n := len(links("https://x.y/" + strings.Repeat("a", maxLinkLen))); n != 0 {
		t.Errorf("an address of %d bytes was linked", maxLinkLen+12)
	}
}

// TestLinkOpensInTheBrowser: a web address in a colleague's message is a link under its text,
// and tapping it hands that address to the desktop's opener.
func TestLinkOpensInTheBrowser(t *testing.T) {
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{Settings: profile.Settings{Language: "en"}})
	opened := make(chan string, 1)
	u.opener = func(l *url.URL) error { opened <- l.String(); return nil }
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.HandleEvent(message("b", "Bob", bobAddr, "the report: https://intranet.example/q3?x=1, page 3", 11))
	u.settle()
	var link *widget.Hyperlink
	walk(u.convs["b"].msgs[0].row, func(o fyne.CanvasObject) {
		if h, ok := o.(*widget.Hyperlink); ok {
			link = h
		}
	})
	if link == nil {
		t.Fatal("no link under the message")
	}
	test.TapAt(link, fyne.NewPos(8, link.Size().Height/2)) // on its text
	u.settle()
	select {
	case got := <-opened:
		if got != "https://intranet.example/q3?x=1" {
			t.Fatalf("opened %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tapping the link opened nothing")
	}
}
