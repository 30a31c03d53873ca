package ui

import (
	"feigo/history"
	"feigo/internal/safetext"
	"feigo/lan"
	"feigo/peers"
	"feigo/xfer"
)

// What peers chose (names, texts, file names) is made safe to show where it enters the
// window: control characters and the bidi controls that reorder text (a file name
// "photo\u202egnp.exe" would show as "photoexe.png") are written out visibly. IDs,
// addresses and keys, which the window matches on, are left as they are.

func safePeer(p peers.Peer) peers.Peer {
	p.Nick, p.Group = safetext.Printable(p.Nick), safetext.Printable(p.Group)
	p.User, p.Host = safetext.Printable(p.User), safetext.Printable(p.Host)
	p.AwayText, p.Client = safetext.Printable(p.AwayText), safetext.Printable(p.Client)
	p.Version, p.Warning = safetext.Printable(p.Version), safetext.Printable(p.Warning)
	return p
}

func safeMessage(m lan.Message) lan.Message {
	m.Nick, m.User, m.Host = safetext.Printable(m.Nick), safetext.Printable(m.User), safetext.Printable(m.Host)
	m.Text = safetext.Lines(m.Text)
	return m
}

func safeTransfer(t xfer.Transfer) xfer.Transfer {
	t.Nick, t.User, t.Host = safetext.Printable(t.Nick), safetext.Printable(t.User), safetext.Printable(t.Host)
	t.Text, t.Error = safetext.Lines(t.Text), safetext.Printable(t.Error)
	t.Files = append([]xfer.TransferFile(nil), t.Files...)
	for i := range t.Files {
		t.Files[i].Name, t.Files[i].Error = safetext.Printable(t.Files[i].Name), safetext.Printable(t.Files[i].Error)
	}
	t.Recipients = append([]xfer.Recipient(nil), t.Recipients...)
	for i := range t.Recipients {
		t.Recipients[i].Nick = safetext.Printable(t.Recipients[i].Nick)
		t.Recipients[i].Error = safetext.Printable(t.Recipients[i].Error)
	}
	return t
}

func safeRecords(rs []history.Record) []history.Record {
	out := make([]history.Record, len(rs))
	for i, r := range rs {
		r.Nick, r.User, r.Host = safetext.Printable(r.Nick), safetext.Printable(r.User), safetext.Printable(r.Host)
		r.Text, r.Error = safetext.Lines(r.Text), safetext.Printable(r.Error)
		r.Files = append([]history.File(nil), r.Files...)
		for j := range r.Files {
			r.Files[j].Name = safetext.Printable(r.Files[j].Name)
		}
		out[i] = r
	}
	return out
}

// safeEvent returns ev with everything a peer chose made safe to show.
func safeEvent(ev lan.Event) lan.Event {
	if ev.Peer != nil {
		p := safePeer(*ev.Peer)
		ev.Peer = &p
	}
	if ev.Message != nil {
		m := safeMessage(*ev.Message)
		ev.Message = &m
	}
	if ev.Transfer != nil {
		t := safeTransfer(*ev.Transfer)
		ev.Transfer = &t
	}
	return ev
}
