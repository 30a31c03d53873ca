package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/trust"
	"feigo/xfer"
)

// This file is the node's side of the history: every message out is stored before it is
// sent and its outcome after; transfers are stored when they end; queued messages wait in
// the history for their peer to announce itself; old records go after the retention period.

// recordFor describes the peer at addr for a history record, from the peer table.
func (n *Node) recordFor(addr netip.AddrPort) history.Record {
	r := history.Record{Addr: addr.String()}
	if p, ok := n.Table().ByAddr(addr); ok {
		r.PeerID, r.Nick, r.User, r.Host, r.Encrypted = p.ID, p.Nick, p.User, p.Host, p.Secure
		return r
	}
	// Gone offline: the colleague the history last saw at this address.
	if c, ok, err := n.History.ContactAt(r.Addr); err == nil && ok {
		r.Peer, r.PeerID, r.Nick, r.User, r.Host = c.Peer, c.PeerID, c.Nick, c.User, c.Host
		return r
	}
	r.Peer = addr.String() // a stranger: all we know is its address
	return r
}

// knownContact returns the colleague the history knows as user@host (the one last at addr
// if several are). A message can come before its sender's announcement (a colleague who
// just restarted, whose BR_ENTRY answer was lost): it still belongs to that colleague's
// conversation, not a stranger's. It runs on the LAN's read loop, so it is one indexed
// lookup, however many colleagues the history knows.
func (n *Node) knownContact(user, host, addr string) (history.Contact, bool) {
	c, ok, err := n.History.ContactNamed(user, host, addr)
	if err != nil {
		n.log.Error("history", "err", err)
	}
	return c, ok
}

// Send sends text as lan.Node.Send does. Each message to each recipient is in the history,
// as "sending", before the first datagram leaves, and ends delivered or failed there; the
// message_delivered and message_failed events carry its record's ID.
func (n *Node) Send(ctx context.Context, text string, to ...netip.AddrPort) ([]lan.Delivery, error) {
	return n.SendAs(ctx, "", text, to...)
}

// SendAs is Send with an ID of the caller's choosing, which the message's events carry as
// SendID (the window matches its own messages by it).
func (n *Node) SendAs(ctx context.Context, sendID, text string, to ...netip.AddrPort) ([]lan.Delivery, error) {
	return n.send(ctx, sendID, text, lan.SendOpts{}, to)
}

func (n *Node) send(ctx context.Context, sendID, text string, opts lan.SendOpts, to []netip.AddrPort) ([]lan.Delivery, error) {
	text, err := lan.CheckText(text)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, lan.ErrNoTarget
	}
	if err := n.checkEncrypted(to); err != nil {
		return nil, err
	}
	ids := make([]int64, len(to))
	for i, addr := range to {
		r := n.recordFor(addr)
		r.Direction, r.Text, r.State = event.Out, text, history.StateSending
		r.Sealed, r.ReadCheck = opts.Sealed, n.readCheckFor(addr, opts)
		if ids[i], err = n.History.Add(r); err != nil {
			// The message still goes: a full disk should not silence the user.
			n.log.Error("the history cannot store a message being sent", "err", err)
		}
	}
	ds, err := n.Node.SendWith(ctx, sendID, text, opts, to...)
	if err != nil {
		for _, id := range ids {
			n.settle(id, lan.Delivery{Err: err}, false, "")
		}
		return nil, err
	}
	for i, d := range ds {
		n.settle(ids[i], d, true, sendID)
	}
	return ds, nil
}

// settle stores a message's outcome and, when emit is set, reports it (with the caller's
// sendID, if it chose one).
func (n *Node) settle(id int64, d lan.Delivery, emit bool, sendID string) {
	state, errText, typ := history.StateDelivered, "", event.MessageDelivered
	if d.Err != nil {
		state, errText, typ = history.StateFailed, d.Err.Error(), event.MessageFailed
	}
	if id != 0 {
		var err error
		if d.Err == nil {
			err = n.History.SetDelivered(id, d.PacketNo, d.Encrypted)
		} else {
			err = n.History.SetState(id, state, errText, d.PacketNo)
		}
		if err != nil {
			n.log.Error("storing a message's outcome", "err", err)
		}
	}
	if emit {
		m := d.Message
		n.emit(lan.Event{Type: typ, Time: time.Now(), Message: &m, Error: errText, HistoryID: id, SendID: sendID})
	}
}

// Resolve turns what a user typed into one peer's address. An IP address that no peer has
// is used as it is (port 2425 unless given), so a colleague outside the table can still be
// written to. No match and several matches are errors that say what to type instead.
func (n *Node) Resolve(query string) (netip.AddrPort, error) {
	m := peers.Find(n.Table().Snapshot(), query)
	switch len(m) {
	case 1:
		return m[0].Addr, nil
	case 0:
		if ap, err := lan.ParseTarget(query, lan.DefaultPort); err == nil {
			return ap, nil
		}
		return netip.AddrPort{}, fmt.Errorf("no peer matches %q (see `feigo peers`)", query)
	}
	return netip.AddrPort{}, ambiguous(query, m)
}

// ambiguous is the error for a name that matches several peers: it lists them with what to
// type instead.
func ambiguous(query string, m []peers.Peer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%q matches %d peers; name one by user@host, address or ID:", query, len(m))
	for _, p := range m {
		fmt.Fprintf(&b, "\n  %s  %s@%s  %s  %s", p.Nick, p.User, p.Host, p.Addr, p.ID)
	}
	return errors.New(b.String())
}

// ErrNoContact is returned by Queue for a name that neither the peer table nor the history
// knows.
var ErrNoContact = errors.New("no colleague by that name, online or in the history")

// Contact resolves what a user typed to one peer: first among the peers online, then among
// the peers the history knows (so an offline colleague can be named).
func (n *Node) Contact(query string) (history.Contact, error) {
	switch m := peers.Find(n.Table().Snapshot(), query); len(m) {
	case 1:
		p := m[0]
		return history.Contact{Peer: history.PeerKey(p.ID, p.User, p.Host), PeerID: p.ID, User: p.User, Host: p.Host,
			Addr: p.Addr.String(), Nick: p.Nick}, nil
	case 0:
	default:
		return history.Contact{}, ambiguous(query, m)
	}
	return contactIn(n.History, query)
}

// contactIn resolves what a user typed to one of the peers the history h knows.
func contactIn(h *history.Store, query string) (history.Contact, error) {
	cs, err := h.Contacts()
	if err != nil {
		return history.Contact{}, err
	}
	known := make([]peers.Peer, len(cs))
	for i, c := range cs {
		known[i] = peers.Peer{ID: c.Peer, User: c.User, Host: c.Host, Nick: c.Nick}
		known[i].Addr, _ = netip.ParseAddrPort(c.Addr)
	}
	m := peers.Find(known, query)
	if len(m) == 0 {
		// Its FeiGo ID, when the key is user@host.
		for i, c := range cs {
			if c.PeerID == strings.TrimSpace(query) {
				m = append(m, known[i])
			}
		}
	}
	switch len(m) {
	case 0:
		return history.Contact{}, fmt.Errorf("%w: %q (see `feigo peers` and `feigo history`)", ErrNoContact, query)
	case 1:
		for _, c := range cs {
			if c.Peer == m[0].ID {
				return c, nil
			}
		}
	}
	return history.Contact{}, ambiguous(query, m)
}

// Queue stores text for the colleague c as queued, then delivers it at once if c is online
// and acknowledges, and otherwise when c next announces itself. It returns the record as it
// stands when Queue returns: delivered, or queued. A queued message reports message_queued
// now (with sendID, the caller's ID for it, which may be "") and message_delivered (with the
// same HistoryID) when it arrives.
func (n *Node) Queue(ctx context.Context, sendID, text string, c history.Contact) (history.Record, error) {
	return n.QueueWith(ctx, sendID, text, c, lan.SendOpts{})
}

// QueueWith is Queue with options: a message sealed when queued is kept sealed, and goes
// sealed whenever it is delivered.
func (n *Node) QueueWith(ctx context.Context, sendID, text string, c history.Contact, opts lan.SendOpts) (history.Record, error) {
	text, err := lan.CheckText(text)
	if err != nil {
		return history.Record{}, err
	}
	if err := n.queueAllowed(c); err != nil {
		return history.Record{}, err
	}
	r := history.Record{Peer: c.Peer, PeerID: c.PeerID, User: c.User, Host: c.Host, Addr: c.Addr, Nick: c.Nick,
		Direction: event.Out, Text: text, State: history.StateQueued, Time: time.Now(), Sealed: opts.Sealed, ReadCheck: opts.Sealed}
	if r.ID, err = n.History.Add(r); err != nil {
		return history.Record{}, fmt.Errorf("queueing the message: %w", err)
	}
	addr, _ := netip.ParseAddrPort(c.Addr)
	n.emit(lan.Event{Type: event.MessageQueued, Time: r.Time, HistoryID: r.ID, SendID: sendID,
		Message: &lan.Message{PeerID: c.PeerID, Nick: c.Nick, User: c.User, Host: c.Host, Addr: addr, Text: text, Time: r.Time, Sealed: opts.Sealed}})
	n.flush(ctx, c.Peer)
	rs, err := n.History.Query(history.Filter{Peer: c.Peer, Before: r.ID + 1, Limit: 1})
	if err == nil && len(rs) == 1 && rs[0].ID == r.ID {
		return rs[0], nil
	}
	return r, err
}

// queueLock returns the lock that keeps one delivery of key's queue at a time, so queued
// messages go out once and in order.
func (n *Node) queueLock(key string) *sync.Mutex {
	n.qmu.Lock()
	defer n.qmu.Unlock()
	l, ok := n.qlocks[key]
	if !ok {
		l = new(sync.Mutex)
		n.qlocks[key] = l
	}
	return l
}

// flush delivers key's queued messages, oldest first, if that peer is online. It stops at
// the first one not acknowledged: the rest wait, in order, for the next announcement.
func (n *Node) flush(ctx context.Context, key string) {
	l := n.queueLock(key)
	l.Lock()
	defer l.Unlock()
	var peer peers.Peer
	found := false
	for _, p := range n.Table().Snapshot() {
		if history.PeerKey(p.ID, p.User, p.Host) == key {
			peer, found = p, true
			break
		}
	}
	if !found {
		return
	}
	if err := n.checkEncrypted([]netip.AddrPort{peer.Addr}); err != nil {
		n.log.Info("queued messages wait: the policy holds them", "peer", key, "err", err)
		return
	}
	rs, err := n.History.Query(history.Filter{Peer: key, State: history.StateQueued})
	if err != nil {
		n.log.Error("reading the queue", "peer", key, "err", err)
		return
	}
	if len(rs) > 0 && !n.queueGoesTo(peer) { // looked at only when there is a queue: it reads every pin
		n.log.Info("queued messages wait: the colleague has not proved their pinned key", "peer", key, "addr", peer.Addr)
		return
	}
	for _, r := range rs {
		// As it was queued: sealed stays sealed (it went unsealed once, bug of issue 15).
		ds, err := n.Node.SendWith(ctx, "", r.Text, lan.SendOpts{Sealed: r.Sealed}, peer.Addr)
		if err != nil {
			if errors.Is(err, lan.ErrNodeClosed) || ctx.Err() != nil {
				return
			}
			n.settle(r.ID, lan.Delivery{Message: lan.Message{Addr: peer.Addr, Text: r.Text}, Err: err}, true, "")
			continue
		}
		d := ds[0]
		if d.Err != nil {
			n.log.Info("a queued message is still waiting", "peer", key, "err", d.Err)
			return
		}
		n.log.Info("delivered a queued message", "peer", key, "id", r.ID)
		n.settle(r.ID, d, true, "")
	}
}

// queueGoesTo reports whether the queue may go to p, the peer listed under its key. Anyone
// can claim a FeiGo colleague's ID in a datagram, even the fingerprint a colleague who proved
// their key is listed (and their history kept) under, and be listed under it without a key:
// a colleague whose key is pinned gets the queue only once they proved that key on their
// channel, which lists them again (peer_updated) and flushes the queue then.
func (n *Node) queueGoesTo(p peers.Peer) bool {
	if n.pins == nil || p.Client != string(ipmsg.ClientFeiGo) {
		return true
	}
	if p.Secure {
		return trust.FingerprintOf(p.Key).String() == p.ID
	}
	if _, ok := n.pins.Get(p.ID); ok {
		return false
	}
	for _, pin := range n.pins.All() {
		if trust.FingerprintOf(pin.Key).String() == p.ID {
			return false
		}
	}
	return true
}

// peerAnnounced has the background goroutine look at p's queue: it is called on the LAN's
// read loop, which must not wait for the history.
func (n *Node) peerAnnounced(p peers.Peer) {
	key := history.PeerKey(p.ID, p.User, p.Host)
	from := n.renameFrom(p)
	n.doLater(func(l *later) bool {
		if !l.peers[key] && len(l.peers) >= maxLater {
			return false
		}
		l.peers[key] = true
		if from != "" && len(l.renames) < maxLater {
			l.renames[from] = renameJob{to: p.ID, addr: p.Addr, verified: p.Verified}
		}
		return true
	})
}

// renameFrom is the history key a colleague was known by before they proved their key: the
// FeiGo ID their key is pinned under (never one it only claims), "" when there is none or it
// was moved already.
func (n *Node) renameFrom(p peers.Peer) string {
	if !p.Secure || p.PinName == "" || p.PinName == p.ID || n.pins == nil {
		return ""
	}
	if _, done := n.renamed.Load(p.PinName); done {
		return ""
	}
	pin, ok := n.pins.Get(p.PinName)
	if !ok || !ed25519.PublicKey(pin.Key).Equal(ed25519.PublicKey(p.Key)) {
		return ""
	}
	return p.PinName
}

// renameJob is a history to move to the key that proved the FeiGo ID it was kept under.
type renameJob struct {
	to       string         // the key's fingerprint
	addr     netip.AddrPort // where the key proved itself
	verified bool           // the user verified the key
}

// mayRename decides whether the history kept under the FeiGo ID from goes to the key in r.
// The first key to prove a FeiGo ID is pinned under it, but anyone can announce a colleague's
// FeiGo ID before the colleague does: the history (and the messages queued for them) moves
// only to a key the user verified, or one that proved itself at the very address the
// colleague was last seen at. Otherwise it waits: verifying the key moves it.
func (n *Node) mayRename(from string, r renameJob) bool {
	if r.verified {
		return true
	}
	c, ok, err := n.History.ContactOf(from)
	if err != nil || !ok {
		return err == nil // nothing kept under it: nothing to move
	}
	if c.Addr == r.addr.String() {
		return true
	}
	n.log.Warn("a key claims a colleague's FeiGo ID from another address than the colleague was last seen at: their history and queue stay apart until you verify the key",
		"id", from, "fingerprint", r.to, "addr", r.addr, "last seen at", c.Addr)
	return false
}

// rename files the history kept under from (a FeiGo ID, or an old key's fingerprint) under
// to, the colleague's key's fingerprint, before their queue is delivered.
func (n *Node) rename(from, to string) {
	moved, err := n.History.Rename(from, to)
	if err != nil {
		n.log.Error("moving a colleague's history to their key", "from", from, "err", err)
		return
	}
	n.renamed.Store(from, true)
	if moved > 0 {
		n.log.Info("a colleague's history is now under their key", "from", from, "to", to, "messages", moved)
		n.deliverQueue(to)
	}
}

// deliverQueue starts delivering key's queue in the background if anything waits for it.
func (n *Node) deliverQueue(key string) {
	if rs, err := n.History.Query(history.Filter{Peer: key, State: history.StateQueued, Limit: 1}); err != nil || len(rs) == 0 {
		return
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.flush(n.bgCtx, key)
	}()
}

// queueRetry is how often queued messages are tried again for peers that are in the table
// (online, but they did not acknowledge last time).
const queueRetry = time.Minute

// retryQueues tries every queue whose peer is online again.
func (n *Node) retryQueues() {
	keys, err := n.History.QueuedPeers()
	if err != nil {
		n.log.Error("reading the queue", "err", err)
		return
	}
	online := map[string]bool{}
	for _, p := range n.Table().Snapshot() {
		online[history.PeerKey(p.ID, p.User, p.Host)] = true
	}
	for _, k := range keys {
		if online[k] {
			n.flush(n.bgCtx, k)
		}
	}
}

// recordTransfer stores an ended transfer: one record per peer (an offer to several peers
// is one per recipient, with what that one fetched).
func (n *Node) recordTransfer(t xfer.Transfer) {
	var names []string
	files := make([]history.File, len(t.Files))
	for i, f := range t.Files {
		names = append(names, f.Name)
		files[i] = history.File{Name: f.Name, Size: f.Size, Dir: f.IsDir(), State: f.State}
	}
	text := strings.Join(names, ", ")
	put := func(r history.Record) {
		r.PacketNo, r.Time, r.Text = t.PacketNo, t.Created, text
		if _, err := n.History.PutTransfer(r); err != nil {
			n.log.Error("storing a transfer in the history", "id", t.ID, "err", err)
		}
	}
	if t.Direction == event.In {
		put(history.Record{PeerID: t.PeerID, User: t.User, Host: t.Host, Addr: t.Addr.String(), Nick: t.Nick,
			Direction: event.In, State: t.State, Error: t.Error, Files: files, Folder: t.Dest})
		return
	}
	if t.Text != "" {
		text = t.Text + "\n" + text
	}
	for _, rc := range t.Recipients {
		fs := make([]history.File, len(t.Files))
		for i, f := range t.Files {
			fs[i] = history.File{Name: f.Name, Size: f.Size, Dir: f.IsDir(), State: "not fetched"}
			for _, id := range rc.Fetched {
				if id == f.ID {
					fs[i].State = xfer.StateDone
				}
			}
		}
		put(history.Record{PeerID: rc.PeerID, User: rc.User, Host: rc.Host, Addr: rc.Addr.String(), Nick: rc.Nick,
			Direction: event.Out, State: rc.State, Error: rc.Error, Files: fs, Encrypted: len(rc.Key) > 0})
	}
}

// SetRetention keeps the history for days days (0: forever) and prunes what is older now;
// the node prunes again every hour while it runs.
func (n *Node) SetRetention(days int) {
	n.retention.Store(int64(days))
	n.prune()
}

func (n *Node) prune() {
	days := n.retention.Load()
	if days <= 0 {
		return
	}
	gone, err := n.History.Prune(time.Now().AddDate(0, 0, -int(days)))
	if err != nil {
		n.log.Error("pruning the history", "err", err)
	} else if gone > 0 {
		n.log.Info("history pruned", "records", gone, "older than days", days)
		n.pruneImages()
	}
}

// ClearHistory deletes one peer's history (messages still queued for it stay), and the
// images no message references any more.
func (n *Node) ClearHistory(peer string) (int64, error) {
	gone, err := n.History.Clear(peer)
	if err == nil {
		n.pruneImages()
	}
	return gone, err
}

// HistoryPage returns up to limit records of peer's conversation stored before the record
// before (0: the newest), oldest first: how a window pages back through a conversation.
func (n *Node) HistoryPage(peer string, before int64, limit int) ([]history.Record, error) {
	rs, err := n.History.Query(history.Filter{Peer: peer, Before: before, Limit: limit})
	fillImagePaths(n.images, rs)
	return rs, err
}

// SearchHistory searches every conversation for words, returning up to limit records,
// oldest first.
func (n *Node) SearchHistory(words string, limit int) ([]history.Record, error) {
	rs, err := n.History.Query(history.Filter{Search: words, Limit: limit})
	fillImagePaths(n.images, rs)
	return rs, err
}
