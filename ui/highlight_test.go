package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// marked renders segments as text with the highlighted parts in [brackets].
func marked(segs []widget.RichTextSegment) string {
	var b strings.Builder
	for _, s := range segs {
		ts := s.(*widget.TextSegment)
		if ts.Style.TextStyle.Bold && ts.Style.ColorName == theme.ColorNamePrimary {
			b.WriteString("[" + ts.Text + "]")
		} else {
			b.WriteString(ts.Text)
		}
		if !ts.Style.Inline {
			b.WriteString("¶") // a segment that breaks the line
		}
	}
	return b.String()
}

func TestHighlight(t *testing.T) {
	for _, c := range []struct {
		text  string
		words []string
		want  string
	}{
		{"Weekly REPORT and report.pdf", []string{"report"}, "Weekly [REPORT] and [report].pdf"},
		{"第3周的周报放在共享盘了", []string{"周报"}, "第3周的[周报]放在共享盘了"},
		{"Été à Paris, l'ÉTÉ", []string{"été"}, "[Été] à Paris, l'[ÉTÉ]"},
		{"周报 report 周报", []string{"Report", "周报"}, "[周报] [report] [周报]"},
		{"aaa", []string{"aa"}, "[aaa]"}, // overlapping matches
		{"no match here", []string{"周报"}, "no match here"},
		{"", []string{"x"}, ""},
		{"x", nil, "x"},
	} {
		if got := marked(highlight(c.text, c.words)); got != c.want {
			t.Errorf("highlight(%q, %q) = %q, want %q", c.text, c.words, got, c.want)
		}
	}
}

// TestHistoryResultsHighlighted (issue 18): a History result shows the words searched for
// highlighted, whatever their case, Chinese too.
func TestHistoryResultsHighlighted(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 3, func(i int) string {
		return []string{"lunch?", "The weekly Report: 第3周的周报", "周报 sent, see REPORT.pdf"}[i]
	})
	u.showHistory()
	u.histEntry.SetText("report 周报")
	u.histEntry.OnSubmitted(u.histEntry.Text)
	u.settle()
	if len(u.histResults) != 2 {
		t.Fatalf("found %d", len(u.histResults))
	}
	want := []string{"[周报] sent, see [REPORT].pdf", "The weekly [Report]: 第3周的[周报]"} // newest first
	for i, w := range want {
		item := u.histList.CreateItem()
		u.histList.UpdateItem(i, item)
		var body *widget.RichText
		for _, o := range test.LaidOutObjects(item) {
			if rt, ok := o.(*widget.RichText); ok {
				body = rt
			}
		}
		if body == nil {
			t.Fatalf("result %d has no rich text", i)
		}
		if got := marked(body.Segments); got != w {
			t.Errorf("result %d shows %q, want %q", i, got, w)
		}
	}
}
