package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Day separators (issue 15): a conversation shows the day above its first message of each
// day ("Today", "Yesterday", else the date). Pages of history come oldest last, so a day's
// separator moves up when an earlier page holds more of that day.

// dayOf is the calendar day of t, in local time.
func dayOf(t time.Time) string { return t.Local().Format("2006-01-02") }

// dayText is what a separator for the day of t says.
func (u *UI) dayText(t time.Time) string {
	now := time.Now()
	switch dayOf(t) {
	case dayOf(now):
		return u.t("Today")
	case dayOf(now.AddDate(0, 0, -1)):
		return u.t("Yesterday")
	}
	return dayOf(t)
}

// daySeparator is the separator for the day of t.
func (u *UI) daySeparator(t time.Time) fyne.CanvasObject {
	l := widget.NewLabelWithStyle(u.dayText(t), fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	l.Importance = widget.LowImportance
	return container.NewCenter(l)
}

// withDays returns its (the rows of ms, its[i] is ms[i]'s) with a separator before each
// message that starts a day, oldest first; a day already shown lower down loses its separator
// there, since its start is now in these rows. If after is set, it is the message just before
// the rows (for a message added at the end), and no separator comes where it is of the same day.
func (c *conv) withDays(ms []*chatMsg, its []*rowItem, after *chatMsg) []*rowItem {
	if c.days == nil {
		c.days = map[string]*rowItem{}
	}
	out := make([]*rowItem, 0, len(its)+2)
	prev := ""
	if after != nil {
		prev = dayOf(after.time)
	}
	for i, m := range ms {
		if d := dayOf(m.time); d != prev && !m.time.IsZero() {
			if old := c.days[d]; old != nil {
				c.list.remove(old)
			}
			sep := &rowItem{day: m.time}
			c.days[d] = sep
			out = append(out, sep)
			prev = d
		}
		out = append(out, its[i])
	}
	return out
}
