package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/legacygroup"
)

// This file adopts the legacy group chats of package lan (FeiQ's rooms, iptux's group
// windows; lan.Config.LegacyGroups, profile.Settings.LegacyGroups): what arrives is kept in
// the history under the room's key (LegacyRoomPeer) and reported as an event whose Room holds
// the legacygroup.Event; the window and scripts write back through LegacyRoomSend. Nothing
// of it is encrypted, and it is marked so everywhere.

// LegacyRoomPeer is the history key of a legacy group room's conversation.
func LegacyRoomPeer(id legacygroup.RoomID) string { return history.GroupPeer(string(id)) }

// ErrNoLegacyGroups is the error of a legacy group command on a node that does not take them.
var ErrNoLegacyGroups = errors.New("FeiQ rooms and iptux group chats are off (setting legacy_groups)")

// startLegacyGroups has the LAN report legacy group events to the node, when cfg takes them.
func (n *Node) startLegacyGroups(cfg *lan.Config) {
	if !cfg.LegacyGroups {
		return
	}
	cfg.OnLegacyGroup = n.legacyGroupEvent
}

// legacyGroupEvent keeps a legacy room's message and reports the event. It runs on the LAN's
// legacy decoder, whose queue is bounded and rate-limited per sender, never on the read loop.
func (n *Node) legacyGroupEvent(ev legacygroup.Event) {
	out := lan.Event{Type: event.Type(ev.Type), Time: ev.Time}
	if ev.Type == legacygroup.RoomMessage && strings.TrimSpace(ev.Text) != "" {
		nick := ev.From.Nick
		if nick == "" {
			nick = ev.From.User
		}
		id, err := n.History.Add(history.Record{Time: ev.Time, Peer: LegacyRoomPeer(ev.Room.ID), User: ev.From.User,
			Host: ev.From.Host, Nick: nick, Direction: event.In, Text: ev.Text, State: history.StateReceived})
		if err != nil {
			n.log.Error("storing a group message", "err", err)
		}
		out.HistoryID = id
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	out.Room = b
	n.emit(out)
}

func (n *Node) legacyGroups() (*lan.LegacyGroups, error) {
	if n.Node == nil || n.LegacyGroups() == nil {
		return nil, ErrNoLegacyGroups
	}
	return n.LegacyGroups(), nil
}

// LegacyRooms lists the FeiQ rooms joined and the iptux group windows kept, with their
// members (nil when legacy groups are off).
func (n *Node) LegacyRooms() []legacygroup.Room {
	g, err := n.legacyGroups()
	if err != nil {
		return nil
	}
	return g.Rooms()
}

// LegacyRoomJoin joins a FeiQ room seen on the LAN (its ID, "feiq:…") under name.
func (n *Node) LegacyRoomJoin(id legacygroup.RoomID, name string) error {
	g, err := n.legacyGroups()
	if err != nil {
		return err
	}
	s, err := id.Parse()
	if err != nil {
		return err
	}
	if s.Kind != legacygroup.FeiQ {
		return g.Keep(id)
	}
	return g.JoinFeiQRoom(s.FeiQ, name)
}

// LegacyRoomLeave forgets a legacy room (FeiQ has no leave packet: its members stop hearing
// from us).
func (n *Node) LegacyRoomLeave(id legacygroup.RoomID) error {
	g, err := n.legacyGroups()
	if err != nil {
		return err
	}
	g.Leave(id)
	return nil
}

// LegacyRoomSend writes text into a legacy room the legacy way (FeiQ: one multicast datagram
// per interface; iptux: one datagram per member), unacknowledged as there, and keeps it in the
// history as delivered when it went out, failed when it could not.
func (n *Node) LegacyRoomSend(ctx context.Context, id legacygroup.RoomID, text string) (history.Record, error) {
	g, err := n.legacyGroups()
	if err != nil {
		return history.Record{}, err
	}
	sent, err := g.Send(ctx, id, text)
	r := history.Record{Time: time.Now(), Peer: LegacyRoomPeer(id), Nick: n.Self().Nick, Direction: event.Out, Text: text,
		State: history.StateDelivered}
	if err == nil && sent == 0 {
		err = fmt.Errorf("no datagram went out to %s", id)
	}
	if err != nil {
		r.State, r.Error = history.StateFailed, err.Error()
	}
	var herr error
	if r.ID, herr = n.History.Add(r); herr != nil {
		n.log.Error("storing a group message", "err", herr)
	}
	return r, err
}
