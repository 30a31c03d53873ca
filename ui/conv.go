package ui

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// conv is one conversation tab.
type conv struct {
	u      *UI
	key    string
	peerID string
	addr   netip.AddrPort
	nick   string
	tab    *container.TabItem
	box    *fyne.Container // the messages, oldest first
	scroll *container.Scroll
	input  *chatEntry
	unread int
	msgs   []*chatMsg
}

// chatMsg is one message line in a conversation.
type chatMsg struct {
	time  time.Time
	from  string
	text  string
	out   bool
	state string // sending, delivered, failed (outgoing only)
	head  *widget.Label
	retry *widget.Button
}

func (u *UI) newConv(key, id string, addr netip.AddrPort, nick string) *conv {
	c := &conv{u: u, key: key, peerID: id, addr: addr, nick: nick, box: container.NewVBox()}
	c.scroll = container.NewVScroll(c.box)
	c.input = newChatEntry(u.opt.Settings.EnterMode == "ctrl-enter", func() { c.submit() })
	send := widget.NewButton(u.t("Send"), c.submit)
	file := widget.NewButton(u.t("Send file…"), func() {
		dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			path := r.URI().Path()
			r.Close()
			u.sendFiles(c, []string{path})
		}, u.Win).Show()
	})
	folder := widget.NewButton(u.t("Send folder…"), func() {
		dialog.NewFolderOpen(func(d fyne.ListableURI, err error) {
			if err == nil && d != nil {
				u.sendFiles(c, []string{d.Path()})
			}
		}, u.Win).Show()
	})
	bottom := container.NewBorder(nil, container.NewHBox(file, folder), nil, send, c.input)
	c.tab = container.NewTabItem(nick, container.NewBorder(nil, bottom, nil, nil, c.scroll))
	return c
}

func (c *conv) submit() {
	text := strings.TrimRight(c.input.Text, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	c.input.SetText("")
	c.u.sendText(c, text)
}

// add shows a message and scrolls to it.
func (c *conv) add(m *chatMsg) {
	c.msgs = append(c.msgs, m)
	m.head = widget.NewLabelWithStyle("", fyne.TextAlign(0), fyne.TextStyle{Bold: true})
	body := widget.NewLabel(m.text)
	body.Wrapping = fyne.TextWrapWord
	body.Selectable = true
	row := container.NewVBox(m.head, body)
	if m.out {
		m.retry = widget.NewButton(c.u.t("Retry"), func() { c.u.resend(c, m) })
		m.retry.Hide()
		row.Add(container.NewHBox(m.retry))
	}
	c.box.Add(row)
	c.refresh(m)
	c.scrollDown()
}

func (c *conv) refresh(m *chatMsg) {
	head := m.from + "  " + m.time.Format("15:04:05")
	if m.out {
		head += "  · " + c.u.t(m.state)
		if m.state == "failed" {
			m.retry.Show()
		} else {
			m.retry.Hide()
		}
	}
	m.head.SetText(head)
}

func (c *conv) scrollDown() { c.scroll.ScrollToBottom() }

// sendText sends text in conversation c, showing it at once as sending, then delivered or
// failed (with a retry).
func (u *UI) sendText(c *conv, text string) {
	m := &chatMsg{time: time.Now(), from: u.t("Me"), text: text, out: true, state: "sending"}
	c.add(m)
	u.deliver(c, m)
}

func (u *UI) resend(c *conv, m *chatMsg) {
	m.state = "sending"
	c.refresh(m)
	u.deliver(c, m)
}

func (u *UI) deliver(c *conv, m *chatMsg) {
	addr, text := c.addr, m.text
	now := time.Now()
	for k, t := range u.mine {
		if now.Sub(t) > time.Minute {
			delete(u.mine, k)
		}
	}
	u.mine[addr.String()+"\x00"+text] = now
	u.async(func() {
		ds, err := u.core.Send(context.Background(), text, addr)
		state := "delivered"
		if err != nil || len(ds) == 0 || ds[0].Err != nil {
			state = "failed"
		}
		u.do(func() {
			m.state = state
			c.refresh(m)
		})
	})
}

// chatEntry is the message input: Enter sends and Shift+Enter breaks the line, or, in FeiQ's
// way, Enter breaks the line and Ctrl+Enter sends.
type chatEntry struct {
	widget.Entry
	ctrlEnter bool
	shift     bool
	onSend    func()
}

func newChatEntry(ctrlEnter bool, onSend func()) *chatEntry {
	e := &chatEntry{ctrlEnter: ctrlEnter, onSend: onSend}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	e.SetMinRowsVisible(3)
	return e
}

func (e *chatEntry) KeyDown(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = true
	}
	e.Entry.KeyDown(k)
}

func (e *chatEntry) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = false
	}
	e.Entry.KeyUp(k)
}

func (e *chatEntry) TypedKey(k *fyne.KeyEvent) {
	if (k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter) && !e.ctrlEnter && !e.shift {
		e.onSend()
		return
	}
	e.Entry.TypedKey(k)
}

func (e *chatEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShortcutDefault && e.ctrlEnter {
		e.onSend()
		return
	}
	e.Entry.TypedShortcut(s)
}
