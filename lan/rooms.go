package lan

import (
	"context"
	"errors"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// The group rooms' hook (package room gives it meaning). A room request is a FeiGo-only
// command that travels only over a TLS channel to a peer that proved its key: over UDP it is
// ignored like any unknown command, it is never written as a datagram, and clients that
// cannot encrypt (IPMsg, FeiQ, iptux, FeiGo with --no-key) never receive one. Its body is
// the room layer's bytes; the answer, a frame of the same command, is too.

// CmdRoom is the command of a room request and its answer. IPMsg, FeiQ and iptux do not use
// it; it is never sent over UDP.
const CmdRoom ipmsg.Command = 0xE7

// RoomHandler answers a room request from a peer that proved its key; it runs on the
// channel's goroutine (one per connection), so it may store before answering but must not
// wait on the network.
type RoomHandler func(from peers.Peer, body []byte) []byte

// ErrNotSecure is the error of a room request to a peer that has no encrypted channel.
var ErrNotSecure = errors.New("no encrypted channel to this peer")

// RoomRequest sends body to peer over its TLS channel and returns the answer's body. The
// peer must be listed as having proved its key (its table entry, looked up by ID now, not
// the copy the caller holds), and this node must have a key.
func (n *Node) RoomRequest(ctx context.Context, peerID string, body []byte) ([]byte, error) {
	q, ok := n.table.Get(peerID)
	if !ok || !q.Secure || n.cfg.Identity == nil || len(q.Key) == 0 {
		return nil, ErrNotSecure
	}
	if err := n.awaitReady(ctx); err != nil {
		return nil, err
	}
	if !n.startSend() {
		return nil, ErrNodeClosed
	}
	defer n.sends.Done()
	ctx, stop := context.WithTimeout(ctx, n.cfg.RetryBudget)
	defer stop()
	defer context.AfterFunc(n.stopCtx, stop)()
	p := n.packet(ipmsg.UTF8, true, CmdRoom, body)
	wait := n.cfg.RetryFirst
	for {
		ans, err := n.request(ctx, q, p)
		if err != nil {
			return nil, err
		}
		if ans.Cmd.Mode() == CmdRoom {
			return ans.Body, nil
		}
		// No answer of its kind: the peer has not proved our key yet (it just started, or
		// we did), or it takes no room requests. Asked again, as a message would be.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.New("the peer did not take the room request (it may not have proved our key yet)")
		case <-t.C:
		}
		wait = min(wait*3/2, n.cfg.RetryMax)
	}
}

// onRoom answers a room request that came over peer's channel.
func (n *Node) onRoom(p ipmsg.Packet, peer peers.Peer) ipmsg.Packet {
	if n.cfg.Rooms == nil {
		return n.packet(ipmsg.UTF8, true, ipmsg.NoOperation, nil)
	}
	return n.packet(ipmsg.UTF8, true, CmdRoom, n.cfg.Rooms(peer, p.Body))
}
