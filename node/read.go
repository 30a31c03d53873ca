package node

import (
	"context"
	"net/netip"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
)

// This file is the node's side of read notices and sealed messages: what was read is kept in
// the history (read_at), read notices from colleagues mark our messages, and opening a
// conversation or a sealed message tells its sender, unless the user turned receipts off.

// SendWith is SendAs with options (a sealed message). The record keeps whether it is sealed
// and asked for a read notice.
func (n *Node) SendWith(ctx context.Context, sendID, text string, opts lan.SendOpts, to ...netip.AddrPort) ([]lan.Delivery, error) {
	return n.send(ctx, sendID, text, opts, to)
}

// SetReadReceipts turns sending read notices for ordinary messages on or off (FeiGo peers
// ask for one with every message). Opening a sealed message tells its sender whatever this
// says, as IP Messenger does: the sender sealed it to know.
func (n *Node) SetReadReceipts(on bool) { n.noReceipts.Store(!on) }

// readJob is a read notice to store: the colleague's history key and our message's number.
type readJob struct {
	peer string
	msg  lan.Message
}

// storeRead files a read notice and reports it, with the message's record.
func (n *Node) storeRead(j readJob) {
	id, err := n.History.SetReadOut(j.peer, j.msg.PacketNo, j.msg.Time)
	if err != nil {
		n.log.Error("storing a read notice", "err", err)
		return
	}
	if id == 0 {
		return // not a message the history holds, or known read already
	}
	m := j.msg
	n.emit(lan.Event{Type: event.MessageRead, Time: time.Now(), Message: &m, HistoryID: id})
}

// senderAddr is where the sender of a received record is now: its address in the table
// when it is online, else the one the record has.
func (n *Node) senderAddr(r history.Record) (netip.AddrPort, bool) {
	if r.PeerID != "" {
		if p, ok := n.Table().Get(r.PeerID); ok {
			return p.Addr, true
		}
	}
	a, err := netip.ParseAddrPort(r.Addr)
	return a, err == nil
}

// OpenConversation records that the user has seen peer's conversation: its messages that
// are not sealed are read, and their senders that asked are told (unless receipts are off).
// It returns how many messages it marked.
func (n *Node) OpenConversation(peer string) (int, error) {
	rs, err := n.History.MarkRead(peer, 0, time.Now())
	if err != nil {
		return 0, err
	}
	if !n.noReceipts.Load() {
		for _, r := range rs {
			if r.ReadCheck && r.PacketNo != 0 {
				if a, ok := n.senderAddr(r); ok {
					n.Node.SendRead(a, r.PacketNo, true)
				}
			}
		}
	}
	return len(rs), nil
}

// OpenSealed records that the user opened the sealed message id from peer, and tells its
// sender (READMSG, with READCHECKOPT when it asked). It returns the record as it was.
func (n *Node) OpenSealed(peer string, id int64) (history.Record, error) {
	rs, err := n.History.MarkRead(peer, id, time.Now())
	if err != nil || len(rs) == 0 {
		return history.Record{}, err
	}
	r := rs[0]
	if (r.Sealed || (r.ReadCheck && !n.noReceipts.Load())) && r.PacketNo != 0 {
		if a, ok := n.senderAddr(r); ok {
			n.Node.SendRead(a, r.PacketNo, r.ReadCheck)
		}
	}
	return r, nil
}

// readCheckFor reports whether a message to addr asks for a read notice (what lan does).
func (n *Node) readCheckFor(addr netip.AddrPort, opts lan.SendOpts) bool {
	if opts.Sealed {
		return true
	}
	p, ok := n.Table().ByAddr(addr)
	return ok && p.Client == string(ipmsg.ClientFeiGo)
}
