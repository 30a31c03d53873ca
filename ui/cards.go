package ui

import (
	"context"
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/xfer"
)

// This file is the file transfers shown in conversations: a card for each offer, incoming
// (Accept, Save as…, Decline, then its progress) or outgoing (what the colleague of the
// conversation fetched, and Cancel). A card shows a transfer from when it is offered (or,
// after a restart, from when the window finds it still open) until the conversation is
// cleared; the history shows the transfers that ended before, as records.

// offerCard is one transfer shown in one conversation. An outgoing offer to several
// colleagues has a card in each of their conversations.
type offerCard struct {
	u      *UI
	conv   *conv
	id     int    // the transfer
	out    bool   // an offer this side made
	packet uint32 // its packet number: the history's record of it has the same
	box    *fyne.Container
	bar    *widget.ProgressBar
	info   *widget.Label
	accept *widget.Button
	saveAs *widget.Button
	cancel *widget.Button
	open   *widget.Button
	// openFile opens the one file of a finished download.
	openFile *widget.Button
	// picks are an incoming offer's files, one check box each, when it has several:
	// Accept and Save as take the ticked ones.
	picks []*widget.Check
	names []string // the offered files' names, as picks lists them
}

// picked returns the names of the files ticked on the card, or nil for all of them (or
// a card with no check boxes): what Accept's only takes.
func (card *offerCard) picked() []string {
	var names []string
	for i, ch := range card.picks {
		if ch.Checked {
			names = append(names, card.names[i])
		}
	}
	if len(names) == len(card.picks) {
		return nil
	}
	return names
}

// pickChanged lets Accept and Save as be tapped only while a file is ticked.
func (card *offerCard) pickChanged() {
	none := len(card.picks) > 0
	for _, ch := range card.picks {
		if ch.Checked {
			none = false
		}
	}
	for _, b := range []*widget.Button{card.accept, card.saveAs} {
		if none {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// cardsOf returns the cards that show transfer id.
func (u *UI) cardsOf(id int) []*offerCard {
	if card, ok := u.offers[id]; ok {
		return []*offerCard{card}
	}
	return u.sends[id]
}

// showTransfer takes a transfer event: the Transfers tab and the cards follow it, a new
// incoming offer gets its card (and counts as unread), a new outgoing one a card in each
// recipient's conversation.
func (u *UI) showTransfer(typ event.Type, t xfer.Transfer) {
	if t.Inline {
		return // a message's images: shown in the message (rich.go)
	}
	u.xfers[t.ID] = t
	u.refreshTransfers()
	cards := u.cardsOf(t.ID)
	for _, card := range cards {
		card.update(t)
	}
	switch {
	case typ != event.TransferOffered || len(cards) > 0:
		// An offer the window shows already (the node reports an offer again when it
		// changes) is not new.
	case t.Direction == event.In:
		u.offered(t)
	case t.Direction == event.Out:
		u.sent(t)
	}
}

// autoAccepts reports whether offers from peerID are accepted at once: from the colleagues
// chosen in the settings, by their ID or key fingerprint (never their nickname, which anyone
// can take), and only once their key is verified.
func (u *UI) autoAccepts(peerID string) bool {
	p, ok := u.peers[peerID]
	if !ok || peerID == "" || !p.Secure || !p.Verified || p.Warning != "" {
		return false
	}
	auto := u.opt.Settings.AutoAccept
	// p.PinName: a colleague chosen by their FeiGo ID before IDs were their keys' fingerprints.
	return slices.Contains(auto, p.ID) || (p.Fingerprint != "" && slices.Contains(auto, p.Fingerprint)) ||
		(p.PinName != "" && slices.Contains(auto, p.PinName))
}

// offered shows a new incoming offer in its conversation and counts it unread, once with
// its note (the note, a message of the same packet, may come before or after it), and
// accepts it at once from the colleagues chosen in the settings.
func (u *UI) offered(t xfer.Transfer) {
	if t.Inline {
		return
	}
	c := u.openConv(whoSent(t), false)
	u.addCard(c, t)
	if !c.hasNote(t.PacketNo) {
		u.bumpUnread(c, u.t("%s offers files", c.nick), describeFiles(t))
	}
	if u.autoAccepts(t.PeerID) {
		id := t.ID
		u.work(func(context.Context) func() {
			_, err := u.core.Accept(id, "", nil)
			return u.showErr(err)
		})
	}
}

// sent shows an outgoing offer in the conversation of each colleague it went to.
func (u *UI) sent(t xfer.Transfer) {
	if t.Inline {
		return
	}
	for _, r := range t.Recipients {
		c := u.openConv(who{id: r.PeerID, addr: r.Addr, nick: r.Nick, user: r.User, host: r.Host}, false)
		u.addCard(c, t)
	}
}

// whoSent names the sender of an incoming transfer.
func whoSent(t xfer.Transfer) who {
	return who{id: t.PeerID, addr: t.Addr, nick: t.Nick, user: t.User, host: t.Host}
}

// restoreTransfers shows the transfers the node had open before the window existed (after a
// restart: offers waiting for an answer, files still being sent) in their conversations.
func (u *UI) restoreTransfers() {
	ids := make([]int, 0, len(u.xfers))
	for id := range u.xfers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := u.xfers[id]
		switch {
		case t.Final() || len(u.cardsOf(id)) > 0:
		case t.Direction == event.In:
			u.addCard(u.openConv(whoSent(t), false), t)
		case t.Direction == event.Out:
			u.sent(t)
		}
	}
}

// addCard shows t in conversation c, once: a card it has already is updated.
func (u *UI) addCard(c *conv, t xfer.Transfer) *offerCard {
	for _, card := range c.cards {
		if card.id == t.ID {
			card.update(t)
			return card
		}
	}
	card := &offerCard{u: u, conv: c, id: t.ID, out: t.Direction == event.Out, packet: t.PacketNo,
		bar: widget.NewProgressBar(), info: widget.NewLabel("")}
	card.info.Wrapping = fyne.TextWrapWord
	id := t.ID
	accept := func(dir string) {
		only := card.picked()
		u.work(func(context.Context) func() {
			_, err := u.core.Accept(id, dir, only)
			return u.showErr(err)
		})
	}
	card.accept = widget.NewButton(u.t("Accept"), func() { accept("") })
	card.accept.Importance = widget.HighImportance // what an offer is answered with, most of the time
	card.saveAs = widget.NewButton(u.t("Save as…"), func() {
		u.chooseFolder(u.t("Save as"), u.opt.Settings.DownloadDir, accept)
	})
	card.cancel = widget.NewButton(u.t("Decline"), func() { u.stopTransfer(id) })
	card.open = widget.NewButton(u.t("Open folder"), nil)
	card.openFile = widget.NewButton(u.t("Open file"), nil)
	var head string
	files := describeFiles(t)
	if card.out {
		head = u.t("You offered %d file(s), %s", len(t.Files), xfer.FormatSize(filesSize(t)))
		if t.Text != "" {
			files = t.Text + "\n" + files
		}
	} else {
		head = fmt.Sprintf("%s  %s", t.Nick, u.t("offers you %d file(s), %s", len(t.Files), xfer.FormatSize(t.Total)))
	}
	filesLabel := widget.NewLabel(files)
	filesLabel.Wrapping = fyne.TextWrapWord
	var filesObj fyne.CanvasObject = filesLabel
	if !card.out && len(t.Files) > 1 && t.State == xfer.StateOffered {
		list := container.NewVBox()
		for _, f := range t.Files {
			ch := widget.NewCheck(fileText(f), func(bool) { card.pickChanged() })
			ch.Checked = true
			card.picks = append(card.picks, ch)
			card.names = append(card.names, f.Name)
			list.Add(ch)
		}
		filesObj = list
	}
	card.box = container.NewVBox(widget.NewLabelWithStyle(head, fyne.TextAlign(0), fyne.TextStyle{Bold: true}), filesObj,
		card.bar, card.info, container.NewHBox(card.accept, card.saveAs, card.cancel, card.openFile, card.open))
	if card.out {
		u.sends[id] = append(u.sends[id], card)
	} else {
		u.offers[id] = card
	}
	c.cards = append(c.cards, card)
	c.list.add(&rowItem{card: card})
	card.update(t)
	c.scrollDown()
	return card
}

// stopTransfer declines an incoming offer not answered yet, or cancels a transfer; which,
// it decides from the transfer as the window knows it now, on Fyne's goroutine.
func (u *UI) stopTransfer(id int) {
	t := u.xfers[id]
	decline := t.Direction == event.In && t.State == xfer.StateOffered
	u.work(func(context.Context) func() {
		if decline {
			u.core.Decline(id)
		} else {
			u.core.Cancel(id)
		}
		return nil
	})
}

// filesSize is what one recipient of t fetches in full.
func filesSize(t xfer.Transfer) int64 {
	var n int64
	for _, f := range t.Files {
		n += f.Size
	}
	return n
}

// view returns what the card shows of t: an outgoing offer as it stands for the card's
// colleague (what they fetched, whether they declined).
func (card *offerCard) view(t xfer.Transfer) xfer.Transfer {
	if !card.out {
		return t
	}
	for _, r := range t.Recipients {
		if convKey(r.PeerID, r.Addr) != card.conv.key {
			continue
		}
		v := t
		v.State, v.Error, v.Done, v.Total = r.State, r.Error, r.Done, filesSize(t)
		if len(t.Recipients) > 1 { // the rate is the whole offer's
			v.Rate, v.ETA = 0, 0
		}
		return v
	}
	return t
}

func (card *offerCard) update(t xfer.Transfer) {
	u := card.u
	t = card.view(t)
	if t.Total > 0 {
		card.bar.SetValue(float64(t.Done) / float64(t.Total))
	} else if t.State == xfer.StateDone {
		card.bar.SetValue(1)
	}
	card.info.SetText(progressText(u.lang, t))
	offered := t.State == xfer.StateOffered
	// The bar while bytes move, and on a failed transfer that got somewhere (how far it got);
	// not on an offer waiting for its answer, nor once it is done, declined or cancelled.
	if !offered && (!t.Final() || t.State == xfer.StateFailed && t.Done > 0) {
		card.bar.Show()
	} else {
		card.bar.Hide()
	}
	show := func(b *widget.Button, on bool) {
		if on {
			b.Show()
		} else {
			b.Hide()
		}
	}
	show(card.accept, !card.out && (offered || t.State == xfer.StateFailed))
	if !offered { // the choice is made
		for _, ch := range card.picks {
			ch.Disable()
		}
	}
	show(card.saveAs, !card.out && offered)
	show(card.cancel, !t.Final())
	if offered && !card.out {
		card.cancel.SetText(u.t("Decline"))
	} else {
		card.cancel.SetText(u.t("Cancel"))
	}
	show(card.open, !card.out && t.State == xfer.StateDone && t.Dest != "")
	dest := t.Dest
	card.open.OnTapped = func() { u.openFolder(dest) }
	file := savedFile(t)
	show(card.openFile, !card.out && t.State == xfer.StateDone && file != "")
	card.openFile.OnTapped = func() { u.openPath(file) }
}

// savedFile is where the one file of a finished incoming transfer was saved, or "" when
// the transfer is of several files, or of a folder.
func savedFile(t xfer.Transfer) string {
	if len(t.Files) != 1 || t.Files[0].Attr != ipmsg.FileRegular {
		return ""
	}
	return t.Files[0].Path
}

// cardOf returns the card in c that shows the transfer of the history record r, if any.
func (c *conv) cardOf(r history.Record) *offerCard {
	if r.Kind != history.KindFile {
		return nil
	}
	for _, card := range c.cards {
		if card.packet == r.PacketNo && card.out == (r.Direction == event.Out) {
			return card
		}
	}
	return nil
}

// dropCards removes from c the cards of transfers that have ended (the history, which is
// being cleared, holds them), keeping those still open.
func (c *conv) dropCards() {
	u := c.u
	keep := c.cards[:0]
	for _, card := range c.cards {
		if t, ok := u.xfers[card.id]; ok && !t.Final() {
			keep = append(keep, card)
			continue
		}
		if card.out {
			u.sends[card.id] = slices.DeleteFunc(u.sends[card.id], func(o *offerCard) bool { return o == card })
			if len(u.sends[card.id]) == 0 {
				delete(u.sends, card.id)
			}
		} else if u.offers[card.id] == card {
			delete(u.offers, card.id)
		}
	}
	clear(c.cards[len(keep):])
	c.cards = keep
}
