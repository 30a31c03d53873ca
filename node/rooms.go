package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
	"feigo/room"
	"feigo/trust"
	"feigo/xfer"
)

// This file wires the group rooms (package room) into the node: room requests come in over
// the LAN's TLS channels and go out through lan.Node.RoomRequest; a colleague who comes
// online or proves their key again is caught up with; the control socket's room commands
// resolve colleagues as other commands do.

// ErrNoRooms is the error of a room command on a node without an identity key.
var ErrNoRooms = errors.New("rooms need an identity key (this node runs with --no-key)")

// roomTransport is the LAN as the rooms see it: members are reached by their key's
// fingerprint over their TLS channel, and only over it.
type roomTransport struct{ n *Node }

func (t roomTransport) Request(ctx context.Context, id string, body []byte) ([]byte, error) {
	return t.n.Node.RoomRequest(ctx, id, body)
}

func (t roomTransport) Online() map[string]string {
	out := map[string]string{}
	if t.n.Node == nil {
		return out
	}
	for _, p := range t.n.Table().Snapshot() {
		if p.Secure && p.Fingerprint != "" && p.ID == p.Fingerprint {
			out[p.Fingerprint] = p.Nick
		}
	}
	return out
}

// roomSyncs remembers when each colleague was last caught up with because they appeared, so
// that a colleague whose status flips often is not asked each time.
type roomSyncs struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// roomSyncGap is the least time between two catch-ups a colleague's announcements start.
const roomSyncGap = 10 * time.Second

// startRooms makes the node's room manager, when it has a key, and has cfg answer room
// requests with it.
func (n *Node) startRooms(cfg *lan.Config) error {
	if n.id == nil {
		return nil
	}
	m, err := room.New(room.Config{Identity: n.id, Store: n.History, Transport: roomTransport{n}, Log: n.log,
		Nick: func() string {
			if n.Node == nil {
				return ""
			}
			return n.Self().Nick
		},
		Emit: func(typ event.Type, r room.Report) {
			b, _ := json.Marshal(r)
			n.emit(lan.Event{Type: typ, Time: time.Now(), Room: b, HistoryID: r.HistoryID})
		}})
	if err != nil {
		return fmt.Errorf("opening rooms: %w", err)
	}
	n.rooms = m
	n.roomSyncs.last = map[string]time.Time{}
	cfg.Rooms = func(from peers.Peer, body []byte) []byte { return m.Handle(from.Fingerprint, body) }
	return nil
}

// roomPeerSeen catches up with a colleague who came online or proved their key again, if
// they share a room; it never blocks (the LAN's read loop calls it).
func (n *Node) roomPeerSeen(p peers.Peer) {
	if n.rooms == nil || !p.Secure || p.Fingerprint == "" {
		return
	}
	s := &n.roomSyncs
	s.mu.Lock()
	now := time.Now()
	if now.Sub(s.last[p.Fingerprint]) < roomSyncGap {
		s.mu.Unlock()
		return
	}
	if len(s.last) >= 4096 {
		clear(s.last)
	}
	s.last[p.Fingerprint] = now
	s.mu.Unlock()
	n.rooms.PeerSeen(p.Fingerprint)
}

// RoomSelf is this node's ID in rooms, its key's fingerprint ("" without a key). It does not
// block.
func (n *Node) RoomSelf() string {
	if n.id == nil {
		return ""
	}
	return n.id.Fingerprint().String()
}

// Rooms is the node's room manager (nil without a key).
func (n *Node) Rooms() *room.Manager { return n.rooms }

func (n *Node) roomMgr() (*room.Manager, error) {
	if n.rooms == nil {
		return nil, ErrNoRooms
	}
	return n.rooms, nil
}

// roomMember resolves what a user typed to a FeiGo colleague with a key: a colleague online
// (by nickname, user@host, address or ID), one the history knows, a member of a room this
// node is in, or a key's fingerprint.
func (n *Node) roomMember(q string) (room.Member, error) {
	q = strings.TrimSpace(q)
	if _, err := trust.ParseFingerprint(q); err == nil {
		nick := ""
		if p, ok := n.Table().Get(q); ok {
			nick = p.Nick
		}
		return room.Member{ID: q, Nick: nick}, nil
	}
	m := peers.Find(n.Table().Snapshot(), q)
	switch len(m) {
	case 1:
		p := m[0]
		if !p.Secure || p.Fingerprint == "" {
			return room.Member{}, fmt.Errorf("%s (%s) cannot encrypt: rooms are for FeiGo colleagues with a key", p.Nick, p.Client)
		}
		return room.Member{ID: p.Fingerprint, Nick: p.Nick}, nil
	case 0:
	default:
		return room.Member{}, ambiguous(q, m)
	}
	var hits []room.Member
	for _, in := range n.rooms.Rooms() {
		for _, mb := range in.Members {
			if (mb.Nick == q || strings.HasPrefix(mb.ID, q) && len(q) >= 6) && !containsMember(hits, mb.ID) {
				hits = append(hits, room.Member{ID: mb.ID, Nick: mb.Nick})
			}
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	if len(hits) > 1 {
		return room.Member{}, fmt.Errorf("%q names %d room members; name one by the ID `feigo room list --json` shows", q, len(hits))
	}
	c, err := contactIn(n.History, q)
	if err != nil {
		return room.Member{}, err
	}
	if _, err := trust.ParseFingerprint(c.PeerID); err != nil {
		return room.Member{}, fmt.Errorf("%s has proved no FeiGo key: rooms are for FeiGo colleagues with a key", c.Nick)
	}
	return room.Member{ID: c.PeerID, Nick: c.Nick}, nil
}

func containsMember(ms []room.Member, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

func (n *Node) roomMembers(qs []string) ([]room.Member, error) {
	var out []room.Member
	for _, q := range qs {
		m, err := n.roomMember(q)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// RoomCreate creates a room named name with the colleagues named.
func (n *Node) RoomCreate(ctx context.Context, name string, members []string) (room.Sent, error) {
	m, err := n.roomMgr()
	if err != nil {
		return room.Sent{}, err
	}
	ms, err := n.roomMembers(members)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Create(ctx, name, ms)
}

// RoomList lists the rooms this node keeps.
func (n *Node) RoomList() ([]room.Info, error) {
	m, err := n.roomMgr()
	if err != nil {
		return nil, err
	}
	return m.Rooms(), nil
}

func (n *Node) findRoom(q string) (*room.Manager, room.Info, error) {
	m, err := n.roomMgr()
	if err != nil {
		return nil, room.Info{}, err
	}
	in, err := m.Find(q)
	return m, in, err
}

// RoomAdd adds the colleagues named to a room.
func (n *Node) RoomAdd(ctx context.Context, q string, members []string) (room.Sent, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, err
	}
	ms, err := n.roomMembers(members)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Add(ctx, in.ID, ms)
}

// RoomRemove removes a member from a room (its creator only).
func (n *Node) RoomRemove(ctx context.Context, q, member string) (room.Sent, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, err
	}
	mb, err := n.roomMember(member)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Remove(ctx, in.ID, mb.ID)
}

// RoomLeave leaves a room.
func (n *Node) RoomLeave(ctx context.Context, q string) (room.Sent, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Leave(ctx, in.ID)
}

// RoomRename renames a room (its creator only).
func (n *Node) RoomRename(ctx context.Context, q, name string) (room.Sent, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Rename(ctx, in.ID, name)
}

// RoomSend writes text to a room.
func (n *Node) RoomSend(ctx context.Context, q, text string) (room.Sent, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, err
	}
	return m.Send(ctx, in.ID, text)
}

// RoomInfo describes one room: its name, creator and members, who of them is online.
func (n *Node) RoomInfo(q string) (room.Info, error) {
	_, in, err := n.findRoom(q)
	return in, err
}

// RoomHistory returns a room's changes and messages, the newest limit (0: all).
func (n *Node) RoomHistory(q string, limit int) (room.Info, []room.Line, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Info{}, nil, err
	}
	lines, err := m.History(in.ID, limit)
	return in, lines, err
}

// RoomSendFiles offers files to every member of a room who is online now, one offer per
// member (each accepts on their own, over their own channel), and records the offer in the
// room. Members who are offline get the record, not the offer.
func (n *Node) RoomSendFiles(ctx context.Context, q, text string, paths []string) (room.Sent, xfer.Transfer, error) {
	m, in, err := n.findRoom(q)
	if err != nil {
		return room.Sent{}, xfer.Transfer{}, err
	}
	if !in.Member {
		return room.Sent{}, xfer.Transfer{}, room.ErrNotMember
	}
	var to []netip.AddrPort
	for _, mb := range in.Members {
		if mb.Me {
			continue
		}
		if p, ok := n.Table().Get(mb.ID); ok && p.Secure {
			to = append(to, p.Addr)
		}
	}
	var t xfer.Transfer
	if len(to) > 0 {
		if t, err = n.SendFiles(ctx, text, paths, to...); err != nil {
			return room.Sent{}, t, err
		}
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	s, err := m.Files(ctx, in.ID, text, names)
	return s, t, err
}

// offlineTransport is the LAN of a manager read with no FeiGo running: nobody is reachable.
type offlineTransport struct{}

func (offlineTransport) Request(context.Context, string, []byte) ([]byte, error) {
	return nil, errors.New("FeiGo is not running")
}

func (offlineTransport) Online() map[string]string { return map[string]string{} }

// ReadRooms opens the rooms of profile p for reading, for `feigo room list` and `feigo room
// history` when no FeiGo runs with it: from its history, opened read-only, nothing changed
// (every member shows offline). close must be called when done. A profile with no history or
// no key yet has no rooms (room.ErrNoRoom).
func ReadRooms(p *profile.Profile) (m *room.Manager, close func(), err error) {
	h, err := history.OpenReadOnly(filepath.Join(p.Dir, "history.db"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, room.ErrNoRoom
	}
	if err != nil {
		return nil, nil, err
	}
	id, err := trust.Load(p.Dir)
	if err != nil {
		h.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, room.ErrNoRoom
		}
		return nil, nil, err
	}
	st, _ := p.Load()
	nick := st.Nick
	if nick == "" {
		nick, _ = profile.DefaultNames()
	}
	m, err = room.New(room.Config{Identity: id, Store: h, Transport: offlineTransport{}, Nick: func() string { return nick }})
	if err != nil {
		h.Close()
		return nil, nil, err
	}
	return m, func() { h.Close() }, nil
}
