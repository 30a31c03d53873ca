package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"feigo/history"
	"feigo/profile"
)

// TestDaySeparators (issue 15): a conversation shows each day once, above its first message:
// the history's days as dates, today's as "Today"; a message today after them adds no second
// "Today", and a new day after yesterday's last message gets its separator.
func TestDaySeparators(t *testing.T) {
	u := newTestWindow(t, test.NewTempApp(t), newFakeCore(t), Options{Settings: profile.Settings{Language: "en"}})
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.HandleEvent(message("b", "Bob", bobAddr, "hello", 11))
	u.settle()
	c := u.convs["b"]
	day := func(d int, h int) time.Time {
		y, m, dd := time.Now().Date()
		return time.Date(y, m, dd+d, h, 0, 0, 0, time.Local)
	}
	// An earlier page: two messages three days ago, one yesterday, one earlier today.
	var rs []history.Record
	for i, at := range []time.Time{day(-3, 9), day(-3, 10), day(-1, 9), day(0, 0)} {
		rs = append(rs, history.Record{ID: int64(100 + i), Time: at, Text: "old", Nick: "Bob", Direction: "in", State: history.StateDelivered})
	}
	c.showPage(rs)
	u.settle()
	texts := strings.Join(deepTexts(allRows(c)), "|")
	want := []string{dayOf(day(-3, 9)), "Yesterday", "Today"}
	at := 0
	for _, w := range want {
		i := strings.Index(texts[at:], w)
		if i < 0 {
			t.Fatalf("no %q after position %d in %q", w, at, texts)
		}
		at += i + len(w)
	}
	count := func(w string) int { // separators: labels holding just the day
		n := 0
		for _, s := range deepTexts(allRows(c)) {
			if s == w {
				n++
			}
		}
		return n
	}
	for _, w := range want {
		if n := count(w); n != 1 {
			t.Errorf("%q shown %d times: %q", w, n, texts)
		}
	}
	c.input.SetText("and now")
	c.submit()
	u.settle()
	if n := count("Today"); n != 1 {
		t.Errorf("\"Today\" shown %d times after a message today", n)
	}
	c.cleared()
	u.settle()
	if len(c.days) != 0 {
		t.Errorf("separators remembered after clearing: %v", c.days)
	}
}
