// Package legacygroup is what FeiGo knows of the group chats of the clients it speaks to
// without encryption: FeiQ's rooms (群, multicast) and iptux's group windows. It holds the
// rooms joined and seen, their members, and turns decoded packets (package ipmsg) into typed
// events; it has no sockets and no clock of its own (package lan sends and receives, and
// calls it). Everything it keeps is bounded: MaxRooms rooms joined or kept, as many iptux
// windows opened by messages (the quietest pushed out), MaxSeen rooms seen but not joined,
// MaxMembers members a room, a window of recent packets against duplicates.
//
// These rooms are not private: FeiQ's key travels in every packet and iptux's are plain
// text, so anyone on the LAN reads them. Every Room says so (Unencrypted).
//
// Rooms are named by a RoomID, the same on every FeiGo that hears them:
//
//	feiq:3b199b07          FeiQ's room number, hex
//	iptux:group:研发部      iptux's window for a group (the sender's announced group)
//	iptux:segment          iptux's window for the network segment
//	iptux:broadcast        iptux's broadcast window
//	iptux:regular:10.0.0.5 iptux's one-to-one window with that sender
package legacygroup

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"feigo/ipmsg"
)

// Bounds.
const (
	MaxRooms   = 64  // rooms joined (FeiQ) or kept (iptux) by the user; as many iptux windows opened by messages
	MaxSeen    = 256 // FeiQ rooms announced on the LAN but not joined
	MaxMembers = 256 // members remembered per room; the longest silent go first
	dedupSize  = 1024
)

// Kind is the client whose group chat a room is.
type Kind string

const (
	FeiQ  Kind = "feiq"
	Iptux Kind = "iptux"
)

// RoomID names a room; see the package doc.
type RoomID string

// FeiQRoomID is the ID of FeiQ's room number n.
func FeiQRoomID(n uint64) RoomID { return RoomID("feiq:" + strconv.FormatUint(n, 16)) }

// IptuxRoomID is the ID of the iptux window a message of kind k from sender lands in: for
// IptuxGroup, group is the sender's announced group ("" reads as iptux's "Others").
func IptuxRoomID(k ipmsg.IptuxGroupKind, group string, sender netip.Addr) RoomID {
	switch k {
	case ipmsg.IptuxGroup:
		return RoomID("iptux:group:" + group)
	case ipmsg.IptuxSegment:
		return "iptux:segment"
	case ipmsg.IptuxBroadcast:
		return "iptux:broadcast"
	}
	return RoomID("iptux:regular:" + sender.String())
}

// ErrBadRoom is returned for a RoomID that is none of the forms above.
var ErrBadRoom = errors.New("not a FeiQ or iptux room ID")

// ErrTooManyRooms is returned by Join when MaxRooms rooms are joined.
var ErrTooManyRooms = fmt.Errorf("too many group rooms (the limit is %d): leave one first", MaxRooms)

// Spec is a RoomID taken apart.
type Spec struct {
	Kind Kind
	// FeiQ is FeiQ's room number (Kind FeiQ).
	FeiQ uint64
	// IptuxKind and IptuxGroup say which iptux window (Kind Iptux); IptuxPeer is the sender
	// of a "regular" one.
	IptuxKind  ipmsg.IptuxGroupKind
	IptuxGroup string
	IptuxPeer  netip.Addr
}

// Parse takes id apart, or says why it is not a room ID.
func (id RoomID) Parse() (Spec, error) {
	s := string(id)
	switch {
	case strings.HasPrefix(s, "feiq:"):
		h := s[len("feiq:"):]
		n, err := strconv.ParseUint(h, 16, 64)
		if err != nil || h == "" || len(h) > 16 {
			return Spec{}, fmt.Errorf("%w: %q", ErrBadRoom, s)
		}
		return Spec{Kind: FeiQ, FeiQ: n}, nil
	case strings.HasPrefix(s, "iptux:group:"):
		g := s[len("iptux:group:"):]
		if len(g) > 4*ipmsg.MaxName {
			return Spec{}, fmt.Errorf("%w: group name too long", ErrBadRoom)
		}
		return Spec{Kind: Iptux, IptuxKind: ipmsg.IptuxGroup, IptuxGroup: g}, nil
	case s == "iptux:segment":
		return Spec{Kind: Iptux, IptuxKind: ipmsg.IptuxSegment}, nil
	case s == "iptux:broadcast":
		return Spec{Kind: Iptux, IptuxKind: ipmsg.IptuxBroadcast}, nil
	case strings.HasPrefix(s, "iptux:regular:"):
		a, err := netip.ParseAddr(s[len("iptux:regular:"):])
		if err != nil || !a.Is4() {
			return Spec{}, fmt.Errorf("%w: %q", ErrBadRoom, s)
		}
		return Spec{Kind: Iptux, IptuxKind: ipmsg.IptuxRegular, IptuxPeer: a}, nil
	}
	return Spec{}, fmt.Errorf("%w: %q", ErrBadRoom, s)
}

// Member is someone heard in a room.
type Member struct {
	Addr netip.AddrPort `json:"addr"`
	// Nick is the colleague's name as the peer table knows it ("" when not listed).
	Nick     string    `json:"nick,omitempty"`
	User     string    `json:"user,omitempty"`
	Host     string    `json:"host,omitempty"`
	MAC      string    `json:"mac,omitempty"` // FeiQ's members
	LastSeen time.Time `json:"last_seen"`
	PeerID   string    `json:"peer_id,omitempty"` // the peer table's ID, when listed
}

// Room is a snapshot of one room.
type Room struct {
	ID   RoomID `json:"id"`
	Kind Kind   `json:"kind"`
	// Name is the room's name as announced (FeiQ) or as iptux shows it; "" when unknown.
	Name string `json:"name,omitempty"`
	// Unencrypted is always true: anyone on the LAN can read these rooms.
	Unencrypted bool     `json:"unencrypted"`
	Joined      bool     `json:"joined"`
	Members     []Member `json:"members,omitempty"`
}

// EventType says what an Event is about.
type EventType string

const (
	// RoomMessage is a message in a room joined (FeiQ) or kept (iptux).
	RoomMessage EventType = "legacy_room_message"
	// RoomSeen is a FeiQ room announced on the LAN that we have not joined (once a room,
	// until MaxSeen others push it out).
	RoomSeen EventType = "legacy_room_seen"
	// MemberJoined is a new member of a joined room: its first announcement or message.
	MemberJoined EventType = "legacy_room_member"
)

// Event is delivered to the node for each thing that happened in a room.
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"`
	// Room is the room, without its member list (Rooms.Room has it).
	Room Room   `json:"room"`
	From Member `json:"from"`
	// Text is a RoomMessage's text (FeiQ's format block removed).
	Text string `json:"text,omitempty"`
	// Unencrypted is always true, as Room.Unencrypted: the message crossed the LAN readable.
	Unencrypted bool `json:"unencrypted"`
}

// Rooms holds the rooms. It is safe for concurrent use.
type Rooms struct {
	mu     sync.Mutex
	rooms  map[RoomID]*room // joined FeiQ rooms and kept iptux rooms
	seen   map[RoomID]time.Time
	recent map[dedupKey]struct{}
	ring   []dedupKey
	next   int
}

type room struct {
	id      RoomID
	kind    Kind
	name    string
	joined  bool
	members map[netip.AddrPort]*Member
	// opened: an iptux window a message opened, not one the user joined or kept; such
	// windows are bounded apart (MaxRooms), the one quiet the longest pushed out, so that
	// messages from forged senders can neither fill the user's rooms nor push them out.
	opened bool
	last   time.Time // the last message, of an opened window
}

type dedupKey struct {
	who string
	no  uint32
}

// New returns an empty set of rooms.
func New() *Rooms {
	return &Rooms{rooms: map[RoomID]*room{}, seen: map[RoomID]time.Time{},
		recent: map[dedupKey]struct{}{}, ring: make([]dedupKey, dedupSize)}
}

// Join joins the FeiQ room id under name ("" keeps a name heard before), or keeps the
// iptux room id (replies can go there before anyone wrote). Joining twice is no error.
func (r *Rooms) Join(id RoomID, name string) error {
	spec, err := id.Parse()
	if err != nil {
		return err
	}
	name = ipmsg.ClipRunes(ipmsg.OneLine(name), ipmsg.MaxName)
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm, ok := r.rooms[id]; ok {
		if rm.opened && r.countLocked(false) >= MaxRooms {
			return ErrTooManyRooms
		}
		rm.joined, rm.opened = true, false
		if name != "" {
			rm.name = name
		}
		return nil
	}
	if r.countLocked(false) >= MaxRooms {
		return ErrTooManyRooms
	}
	delete(r.seen, id)
	r.rooms[id] = &room{id: id, kind: spec.Kind, name: name, joined: true, members: map[netip.AddrPort]*Member{}}
	return nil
}

// countLocked counts the windows opened by messages (opened) or the rooms joined or kept by
// the user (!opened). The caller holds mu.
func (r *Rooms) countLocked(opened bool) int {
	k := 0
	for _, rm := range r.rooms {
		if rm.opened == opened {
			k++
		}
	}
	return k
}

// Leave forgets room id and its members.
func (r *Rooms) Leave(id RoomID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rooms, id)
}

// Joined lists the rooms joined or kept, members included, sorted by ID.
func (r *Rooms) Joined() []Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		out = append(out, rm.snapshot(true))
	}
	slices.SortFunc(out, func(a, b Room) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Room returns room id with its members.
func (r *Rooms) Room(id RoomID) (Room, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[id]
	if !ok {
		return Room{}, false
	}
	return rm.snapshot(true), true
}

// IsJoined reports whether id is joined (FeiQ) or kept (iptux).
func (r *Rooms) IsJoined(id RoomID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.rooms[id]
	return ok
}

func (rm *room) snapshot(members bool) Room {
	out := Room{ID: rm.id, Kind: rm.kind, Name: rm.name, Unencrypted: true, Joined: rm.joined}
	if members {
		for _, m := range rm.members {
			out.Members = append(out.Members, *m)
		}
		slices.SortFunc(out.Members, func(a, b Member) int { return a.Addr.Compare(b.Addr) })
	}
	return out
}

// duplicate reports whether who's packet no was seen lately, and remembers it.
func (r *Rooms) duplicate(who string, no uint32) bool {
	k := dedupKey{who, no}
	if _, ok := r.recent[k]; ok {
		return true
	}
	if old := r.ring[r.next]; old != (dedupKey{}) {
		delete(r.recent, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % len(r.ring)
	r.recent[k] = struct{}{}
	return false
}

// member records m in rm and reports whether it is new there.
func (rm *room) member(m Member) bool {
	if old, ok := rm.members[m.Addr]; ok {
		*old = m
		return false
	}
	if len(rm.members) >= MaxMembers {
		var oldest *Member
		for _, x := range rm.members {
			if oldest == nil || x.LastSeen.Before(oldest.LastSeen) {
				oldest = x
			}
		}
		delete(rm.members, oldest.Addr)
	}
	rm.members[m.Addr] = &m
	return true
}

// OnFeiQ takes a decoded FeiQ room packet from sender (its table entry's Nick and PeerID
// filled in by the caller when listed) at now, and returns the event it makes, if any: a
// message or a new member in a joined room, or a room seen for the first time. Control
// strings, duplicates (the same MAC and packet number again) and messages of rooms not
// joined make none.
func (r *Rooms) OnFeiQ(f ipmsg.FeiQRoom, sender Member, now time.Time) (Event, bool) {
	id := FeiQRoomID(f.Room)
	sender.MAC, sender.User, sender.Host, sender.LastSeen = f.MAC, f.User, f.Host, now
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.duplicate("feiq:"+f.MAC, f.No) {
		return Event{}, false
	}
	rm, joined := r.rooms[id]
	if !joined {
		if _, ok := r.seen[id]; ok || !f.Join {
			return Event{}, false
		}
		if len(r.seen) >= MaxSeen {
			var oldID RoomID
			var oldT time.Time
			for k, t := range r.seen {
				if oldID == "" || t.Before(oldT) {
					oldID, oldT = k, t
				}
			}
			delete(r.seen, oldID)
		}
		r.seen[id] = now
		return Event{Type: RoomSeen, Time: now, Room: Room{ID: id, Kind: FeiQ, Name: f.Name, Unencrypted: true},
			From: sender, Unencrypted: true}, true
	}
	if f.Join && f.Name != "" && rm.name == "" {
		rm.name = f.Name
	}
	isNew := rm.member(sender)
	ev := Event{Time: now, Room: rm.snapshot(false), From: sender, Unencrypted: true}
	switch {
	case !f.Join && !f.Control && f.Text != "":
		ev.Type, ev.Text = RoomMessage, f.Text
	case isNew:
		ev.Type = MemberJoined
	default:
		return Event{}, false
	}
	return ev, true
}

// OnIptux takes a decoded IPTUX_SENDMSG from sender, whose announced group is group (the
// peer table's), and returns the message event. The room is kept from then on (an iptux
// window has no join); when MaxRooms are kept, messages of new rooms are dropped.
func (r *Rooms) OnIptux(m ipmsg.IptuxGroupMsg, group string, sender Member, now time.Time) (Event, bool) {
	id := IptuxRoomID(m.Kind, group, sender.Addr.Addr())
	sender.User, sender.Host, sender.LastSeen = m.User, m.Host, now
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.duplicate("iptux:"+sender.Addr.String(), m.No) {
		return Event{}, false
	}
	rm, ok := r.rooms[id]
	if !ok {
		if r.countLocked(true) >= MaxRooms {
			var quiet *room
			for _, x := range r.rooms {
				if x.opened && (quiet == nil || x.last.Before(quiet.last)) {
					quiet = x
				}
			}
			delete(r.rooms, quiet.id)
		}
		spec, _ := id.Parse()
		rm = &room{id: id, kind: Iptux, name: iptuxName(spec), joined: true, members: map[netip.AddrPort]*Member{}, opened: true}
		r.rooms[id] = rm
	}
	rm.last = now
	rm.member(sender)
	return Event{Type: RoomMessage, Time: now, Room: rm.snapshot(false), From: sender, Text: m.Text, Unencrypted: true}, true
}

// iptuxName is what iptux calls the window.
func iptuxName(s Spec) string {
	switch s.IptuxKind {
	case ipmsg.IptuxGroup:
		if s.IptuxGroup == "" {
			return "Others"
		}
		return s.IptuxGroup
	case ipmsg.IptuxSegment:
		return "segment"
	case ipmsg.IptuxBroadcast:
		return "broadcast"
	}
	return s.IptuxPeer.String()
}
