package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"feigo/event"
	"feigo/history"
	"feigo/trust"
)

// Bounds of what members may make a node hold and do.
const (
	// MaxRooms is the most rooms a profile keeps; a creation beyond it is refused. Of them,
	// MaxRoomsPerCreator may be created by any one colleague, so that one cannot fill them.
	MaxRooms           = 256
	MaxRoomsPerCreator = 32
	// MaxHeld is the most events held per room waiting for an earlier one of their author's.
	MaxHeld = 512
	// MaxProvisional is the most rooms held in memory that this node is not (yet) a member
	// of (their events come before the one that adds it), and MaxProvisionalEvents their
	// events each.
	MaxProvisional       = 8
	MaxProvisionalEvents = 4096
	// MaxBatch is the most events in one request or answer, and MaxBatchBytes their bodies'.
	MaxBatch      = 64
	MaxBatchBytes = 40 << 10 // base64 in JSON, with 64 headers, under lan's 96 KiB frame
	// pullBurst and pullEvery rate-limit the catch-up requests one peer may make.
	pullBurst = 32
	pullEvery = 500 * time.Millisecond
	// pushBurst and pushEvery rate-limit the events one peer may push.
	pushBurst = 2048
	pushEvery = 20 * time.Millisecond
	// syncEvery is how often members who are online and known to lack events are offered them.
	syncEvery = 30 * time.Second
	// ackFlushEvery is how often acknowledgements are written to the history.
	ackFlushEvery = time.Second
	// requestTimeout bounds one request to a member.
	requestTimeout = 10 * time.Second
	// maxSyncers bounds the catch-ups running at once.
	maxSyncers = 8
)

// Errors callers branch on.
var (
	ErrNoRoom     = errors.New("no such room")
	ErrNotMember  = errors.New("not a member of this room")
	ErrNotCreator = errors.New("only the room's creator may do that")
	ErrTooMany    = errors.New("too many rooms")
)

// Transport reaches members over their encrypted channels.
type Transport interface {
	// Request sends body to the member whose key has fingerprint id over its TLS channel and
	// returns the answer; it fails at once when the member has no channel now.
	Request(ctx context.Context, id string, body []byte) ([]byte, error)
	// Online returns the members reachable now (by fingerprint) with their nicknames.
	Online() map[string]string
}

// Config is what a Manager needs.
type Config struct {
	Identity  *trust.Identity
	Store     *history.Store
	Transport Transport
	// Emit reports room_message, room_changed and room_delivered; it must not block.
	Emit func(event.Type, Report)
	Log  *slog.Logger
	// Nick is this node's nickname now (the hint members see).
	Nick func() string
}

// Report is what a room event tells the window and scripts.
type Report struct {
	Room   string `json:"room"`
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Author string `json:"author"`
	Nick   string `json:"nick,omitempty"`
	Seq    uint64 `json:"seq"`
	Text   string `json:"text,omitempty"`
	// Members: those added (add, create) or removed (remove).
	Members []Member  `json:"members,omitempty"`
	Files   []string  `json:"files,omitempty"`
	Time    time.Time `json:"time"`
	// Encrypted: every room event crosses the LAN only over members' TLS channels.
	Encrypted bool `json:"encrypted"`
	// DeliveredTo and Queued (room_delivered): the members who acknowledged the event, and
	// those who were not reachable and get it when they are back (from any member).
	DeliveredTo []string `json:"delivered_to,omitempty"`
	Queued      []string `json:"queued,omitempty"`
	HistoryID   int64    `json:"history_id,omitempty"`
}

// Event types of rooms.
const (
	TypeMessage   event.Type = "room_message"
	TypeChanged   event.Type = "room_changed"
	TypeDelivered event.Type = "room_delivered"
)

// state is one room as this node holds it.
type state struct {
	id       string
	stored   bool    // this node is or was a member: kept in the history
	controls []Event // its changes
	tl       *Timeline
	heads    map[string]uint64 // per author: the last event held, with none missing before it
	clocks   map[string]uint64 // that event's clock
	clock    uint64            // the highest clock seen
	held     map[key]Event     // events waiting for an earlier one of their author's
	acks     map[string]map[string]uint64
	mem      []Event // a provisional room's events (not stored)
	born     time.Time
}

// Manager keeps this node's rooms. Its methods are safe for concurrent use.
type Manager struct {
	cfg Config
	me  string
	log *slog.Logger

	mu    sync.Mutex
	rooms map[string]*state
	// dirtyAcks are the acknowledgements not in the history yet (FlushAcks).
	dirtyAcks map[ackKey]uint64
	wmu       sync.Mutex // one event of this node's written at a time: sequence numbers in order

	limMu  sync.Mutex
	pulls  map[string]*bucket
	pushes map[string]*bucket

	wake    chan struct{}
	syncMu  sync.Mutex
	pending map[string]bool // peers to sync with
	syncing map[string]bool

	badSigs, refused atomic.Uint64
}

// New loads the rooms kept in cfg.Store.
func New(cfg Config) (*Manager, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Emit == nil {
		cfg.Emit = func(event.Type, Report) {}
	}
	if cfg.Nick == nil {
		cfg.Nick = func() string { return "" }
	}
	m := &Manager{cfg: cfg, me: cfg.Identity.Fingerprint().String(), log: cfg.Log, rooms: map[string]*state{},
		dirtyAcks: map[ackKey]uint64{}, pulls: map[string]*bucket{}, pushes: map[string]*bucket{}, wake: make(chan struct{}, 1),
		pending: map[string]bool{}, syncing: map[string]bool{}}
	ids, err := cfg.Store.Rooms()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		st := newState(id)
		st.stored = true
		rows, err := cfg.Store.RoomEvents(id, true)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if len(st.controls) < MaxControls {
				st.controls = append(st.controls, fromRow(r))
			}
		}
		st.tl = Fold(st.controls)
		if st.heads, st.clocks, err = cfg.Store.RoomHeads(id); err != nil {
			return nil, err
		}
		for _, c := range st.clocks {
			st.clock = max(st.clock, c)
		}
		if st.acks, err = cfg.Store.RoomAcks(id); err != nil {
			return nil, err
		}
		m.rooms[id] = st
	}
	return m, nil
}

func newState(id string) *state {
	return &state{id: id, tl: Fold(nil), heads: map[string]uint64{}, clocks: map[string]uint64{}, held: map[key]Event{},
		acks: map[string]map[string]uint64{}, born: time.Now()}
}

func fromRow(r history.RoomEvent) Event {
	return Event{Room: r.Room, Author: r.Author, Key: r.Key, Seq: r.Seq, Clock: r.Clock, Kind: Kind(r.Kind), Time: r.Time,
		Hash: r.Hash, Sig: r.Sig, Body: r.Body}
}

func toRow(e Event, valid bool) history.RoomEvent {
	return history.RoomEvent{Room: e.Room, Author: e.Author, Seq: e.Seq, Clock: e.Clock, Kind: string(e.Kind), Time: e.Time,
		Key: e.Key, Hash: e.Hash, Sig: e.Sig, Body: e.Body, Valid: valid}
}

// Stats counts what was refused: events with bad signatures or forms, and events whose
// author had no right to them.
func (m *Manager) Stats() (badSignatures, refused uint64) { return m.badSigs.Load(), m.refused.Load() }

// ---- Applying events -------------------------------------------------------------------

// ingest takes events from a member (or from this node itself) and applies each, in its
// author's order, once. It returns the rooms whose heads moved.
func (m *Manager) ingest(from string, evs []Event) map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	moved := map[string]bool{}
	touched := map[*state]bool{}
	for _, e := range evs {
		if err := e.Verify(); err != nil {
			m.badSigs.Add(1)
			m.log.Warn("room event refused", "from", from, "err", err)
			continue
		}
		st := m.rooms[e.Room]
		if st == nil {
			if st = m.provisional(e.Room); st == nil {
				continue
			}
		}
		if e.Seq <= st.heads[e.Author] {
			continue // held already: exactly once
		}
		if len(st.held) >= MaxHeld && m.drain(st) {
			moved[st.id] = true
		}
		if len(st.held) >= MaxHeld {
			m.refused.Add(1)
			continue // fetched again by a later catch-up
		}
		st.held[key{e.Author, e.Seq}] = e
		touched[st] = true
	}
	for st := range touched {
		if m.rooms[st.id] == st && m.drain(st) {
			moved[st.id] = true
		}
	}
	return moved
}

// drain applies the held events of st that are ready: the next of their author's, by an
// author who is or was a member (or the creation). Events of colleagues who were never
// members wait (bounded) instead of being kept, so keys made up by the thousand cost no disk.
func (m *Manager) drain(st *state) (moved bool) {
	for {
		progress := false
		for k, e := range st.held {
			if e.Seq != st.heads[e.Author]+1 {
				if e.Seq <= st.heads[e.Author] {
					delete(st.held, k)
				}
				continue
			}
			creation := e.Kind == KindCreate && e.Seq == 1
			if !creation && !st.tl.Ever(e.Author) {
				continue
			}
			delete(st.held, k)
			if !creation && e.Author != m.me && !st.tl.IsMember(e.Author) && !wouldStand(st, e) {
				// A former member writing past their membership: dropped, so that one who
				// was removed cannot fill the disk. Were it only early (their return not
				// here yet), a later catch-up brings it again.
				m.refused.Add(1)
				continue
			}
			if m.apply(st, e) {
				moved, progress = true, true
			}
		}
		if !progress {
			return moved
		}
	}
}

// provisional returns a new in-memory room, or nil when there are too many.
func (m *Manager) provisional(id string) *state {
	var prov []*state
	for _, st := range m.rooms {
		if !st.stored {
			prov = append(prov, st)
		}
	}
	if len(m.rooms)-len(prov) >= MaxRooms {
		return nil
	}
	if len(prov) >= MaxProvisional {
		oldest := slices.MinFunc(prov, func(a, b *state) int { return a.born.Compare(b.born) })
		delete(m.rooms, oldest.id)
	}
	st := newState(id)
	m.rooms[id] = st
	return st
}

// apply applies e, the next event of its author's in st; it reports false if e is refused
// (its clock does not move forward), which holds up its author's later events too.
func (m *Manager) apply(st *state, e Event) bool {
	if e.Clock <= st.clocks[e.Author] {
		m.refused.Add(1)
		m.log.Warn("room event refused: its clock goes back", "room", e.Room, "author", e.Author, "seq", e.Seq)
		return false
	}
	st.heads[e.Author], st.clocks[e.Author] = e.Seq, e.Clock
	st.clock = max(st.clock, e.Clock)
	if !st.stored {
		if len(st.mem) >= MaxProvisionalEvents {
			delete(m.rooms, st.id)
			return false
		}
		st.mem = append(st.mem, e)
	}
	if e.Kind.Control() {
		before := st.tl
		st.controls = append(st.controls, e)
		if len(st.controls) > MaxControls {
			// Kept and counted (its author's later events follow it) but not applied: the
			// room holds all the changes it may.
			m.refused.Add(1)
			st.controls = st.controls[:len(st.controls)-1]
			m.store(st, e, false)
			return true
		}
		st.tl = Fold(st.controls)
		valid := st.tl.Valid(&e)
		if !valid {
			m.refused.Add(1)
		}
		if !st.stored && st.tl.Ever(m.me) {
			if m.adopt(st); !st.stored {
				return false
			}
		} else {
			m.store(st, e, valid)
		}
		m.revalidate(st, before)
		if valid && st.stored {
			m.reportChange(st, e) // not for rooms this node is not in
		}
		return true
	}
	if !st.tl.Valid(&e) {
		m.refused.Add(1)
	}
	valid := m.visible(st, &e)
	id := m.store(st, e, valid)
	if valid && e.Body != nil && e.Author != m.me {
		b, _ := e.Decode()
		m.cfg.Emit(TypeMessage, Report{Room: st.id, Name: st.tl.Name, Kind: e.Kind, Author: e.Author, Nick: m.nickOf(st, e.Author),
			Seq: e.Seq, Text: b.Text, Files: b.Files, Time: time.UnixMilli(e.Time), Encrypted: true, HistoryID: id})
	}
	return true
}

// wouldStand reports whether e, not applied yet, stands with the changes held now.
func wouldStand(st *state, e Event) bool {
	if !e.Kind.Control() {
		return st.tl.Valid(&e)
	}
	if len(st.controls) >= MaxControls {
		return false
	}
	return Fold(append(slices.Clip(st.controls), e)).Valid(&e)
}

// visible reports whether e stands and is for this node: a message placed where this node
// was not in the room (before it was added, after it left or was removed) is kept, so that
// it can be handed on and counted, but never shown nor searchable here.
func (m *Manager) visible(st *state, e *Event) bool {
	return st.tl.Valid(e) && (e.Kind.Control() || st.tl.MemberAt(m.me, e.Pos()))
}

// adopt keeps a provisional room in the history: this node has just been added to it.
func (m *Manager) adopt(st *state) {
	mine := 0
	for _, o := range m.rooms {
		if o.stored && o.tl.Creator == st.tl.Creator {
			mine++
		}
	}
	if mine >= MaxRoomsPerCreator && st.tl.Creator != m.me {
		m.refused.Add(1)
		m.log.Warn("a room refused: its creator made too many rooms with this node", "creator", st.tl.Creator)
		delete(m.rooms, st.id)
		return
	}
	if err := m.cfg.Store.AddRoom(st.id); err != nil {
		m.log.Error("storing a room", "err", err)
		return
	}
	st.stored = true
	for _, e := range st.mem {
		m.store(st, e, m.visible(st, &e))
	}
	st.mem = nil
}

// store keeps e (if st is kept) and returns its messages row.
func (m *Manager) store(st *state, e Event, valid bool) int64 {
	if !st.stored {
		return 0
	}
	_, msg, err := m.cfg.Store.PutRoomEvent(toRow(e, valid), m.record(st, e))
	if err != nil {
		m.log.Error("storing a room event", "err", err)
		return 0
	}
	return msg
}

// record is the messages row of a message event (its text searchable), nil for others.
func (m *Manager) record(st *state, e Event) *history.Record {
	if e.Kind.Control() || e.Body == nil {
		return nil
	}
	b, err := e.Decode()
	if err != nil {
		return nil
	}
	r := &history.Record{Time: time.UnixMilli(e.Time), PeerID: e.Author, Nick: m.nickOf(st, e.Author), Text: b.Text,
		Direction: event.In, State: history.StateReceived, Encrypted: true}
	if e.Kind == KindFiles {
		r.Kind = history.KindFile
		r.Text = strings.TrimSpace(b.Text + "\n" + strings.Join(b.Files, ", "))
	}
	if e.Author == m.me {
		r.Direction, r.State = event.Out, history.StateDelivered
	}
	return r
}

// revalidate brings the validity of st's kept events in line with a new timeline: a change
// that came late (a removal placed before a message) may undo messages held already.
func (m *Manager) revalidate(st *state, before *Timeline) {
	if !st.stored {
		return
	}
	for i := range st.controls {
		e := &st.controls[i]
		if was, now := before.Valid(e), st.tl.Valid(e); was != now {
			m.cfg.Store.SetRoomEventValid(e.Room, e.Author, e.Seq, now, nil)
		}
	}
	msgs, err := m.cfg.Store.RoomMessages(st.id, false)
	if err != nil {
		m.log.Error("reading a room", "err", err)
		return
	}
	for _, r := range msgs {
		e := fromRow(r)
		now := m.visible(st, &e)
		if now == r.Valid {
			continue
		}
		var rec *history.Record
		if now {
			if full, err := m.cfg.Store.RoomEvent(e.Room, e.Author, e.Seq); err == nil {
				rec = m.record(st, fromRow(full))
			}
		} else {
			m.log.Info("a room message no longer stands: a change placed before it came late", "room", st.id, "author", e.Author, "seq", e.Seq)
		}
		if err := m.cfg.Store.SetRoomEventValid(e.Room, e.Author, e.Seq, now, rec); err != nil {
			m.log.Error("storing a room event", "err", err)
		}
	}
}

func (m *Manager) reportChange(st *state, e Event) {
	b, _ := e.Decode()
	r := Report{Room: st.id, Name: st.tl.Name, Kind: e.Kind, Author: e.Author, Nick: m.nickOf(st, e.Author), Seq: e.Seq,
		Time: time.UnixMilli(e.Time), Encrypted: true, Members: b.Members}
	switch e.Kind {
	case KindRemove:
		r.Members = []Member{{ID: b.Member, Nick: m.nickOf(st, b.Member)}}
	case KindRename, KindCreate:
		r.Text = b.Name
	}
	m.cfg.Emit(TypeChanged, r)
}

// nickOf names a member: their nickname online, else the hint they were added with.
func (m *Manager) nickOf(st *state, id string) string {
	if id == m.me {
		return m.cfg.Nick()
	}
	for _, mb := range st.tl.Members {
		if mb.ID == id && mb.Nick != "" {
			return mb.Nick
		}
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// ---- Writing -----------------------------------------------------------------------------

// Delivery is the outcome of an event for one member.
type Delivery struct {
	Member    string `json:"member"`
	Nick      string `json:"nick,omitempty"`
	Delivered bool   `json:"delivered"`
	// Queued: not reachable now; the member gets it from any member when back.
	Queued bool   `json:"queued,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Sent is what writing to a room did.
type Sent struct {
	Room       Info       `json:"room"`
	Seq        uint64     `json:"seq"`
	HistoryID  int64      `json:"history_id,omitempty"`
	Deliveries []Delivery `json:"deliveries"`
}

// write signs a new event of this node's in room, applies it and sends it to every member
// who should have it, waiting for their acknowledgements (or for ctx).
func (m *Manager) write(ctx context.Context, roomID string, kind Kind, b Body, create bool) (Sent, error) {
	m.wmu.Lock()
	locked := true
	unlockW := func() {
		if locked {
			locked = false
			m.wmu.Unlock()
		}
	}
	defer unlockW()
	m.mu.Lock()
	st := m.rooms[roomID]
	if create {
		if len(m.rooms) >= MaxRooms {
			m.mu.Unlock()
			return Sent{}, ErrTooMany
		}
		st = newState(roomID)
		st.stored = true
		if err := m.cfg.Store.AddRoom(roomID); err != nil {
			m.mu.Unlock()
			return Sent{}, err
		}
		m.rooms[roomID] = st
	}
	if st == nil || !st.stored {
		m.mu.Unlock()
		return Sent{}, ErrNoRoom
	}
	if !create && !st.tl.IsMember(m.me) {
		m.mu.Unlock()
		return Sent{}, ErrNotMember
	}
	if (kind == KindRemove || kind == KindRename) && st.tl.Creator != m.me {
		m.mu.Unlock()
		return Sent{}, ErrNotCreator
	}
	if kind == KindRemove {
		b.Cutoff = st.heads[b.Member]
	}
	e := Event{Room: roomID, Seq: st.heads[m.me] + 1, Clock: st.clock + 1, Kind: kind, Time: time.Now().UnixMilli(), Body: NewBody(b)}
	Sign(m.cfg.Identity, &e)
	before := st.tl
	m.mu.Unlock()
	if _, err := e.Decode(); err != nil {
		return Sent{}, err
	}
	m.ingest(m.me, []Event{e})
	unlockW()

	m.mu.Lock()
	if st.heads[m.me] < e.Seq {
		m.mu.Unlock()
		return Sent{}, errors.New("the room refused the event")
	}
	// Everyone who is a member before or after a change hears of it (a removed member, of
	// their removal); a message goes to the members where it is placed.
	var to []string
	seen := map[string]bool{m.me: true}
	for _, tl := range []*Timeline{before, st.tl} {
		for _, mb := range tl.Members {
			if !seen[mb.ID] && (kind.Control() || st.tl.MemberAt(mb.ID, e.Pos())) {
				seen[mb.ID] = true
				to = append(to, mb.ID)
			}
		}
	}
	info := m.info(st)
	var hid int64
	if r, err := m.cfg.Store.RoomEvent(roomID, m.me, e.Seq); err == nil {
		hid = r.Message
	}
	m.mu.Unlock()

	out := Sent{Room: info, Seq: e.Seq, HistoryID: hid, Deliveries: make([]Delivery, len(to))}
	body := pushRequest(roomID, []Event{e}) // the same bytes for every member
	online := m.cfg.Transport.Online()
	var wg sync.WaitGroup
	for i, id := range to {
		out.Deliveries[i] = Delivery{Member: id, Nick: m.nick(roomID, id, online)}
		if _, ok := online[id]; !ok {
			out.Deliveries[i].Queued = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := m.push(ctx, id, roomID, body)
			d := &out.Deliveries[i]
			d.Delivered = m.has(roomID, id, m.me, e.Seq)
			if !d.Delivered {
				d.Queued = true
				if err != nil {
					d.Error = err.Error()
				}
			}
		}()
	}
	wg.Wait()
	r := Report{Room: roomID, Name: info.Name, Kind: kind, Author: m.me, Nick: m.cfg.Nick(), Seq: e.Seq, Text: b.Text,
		Files: b.Files, Time: time.UnixMilli(e.Time), Encrypted: true, HistoryID: hid}
	for _, d := range out.Deliveries {
		if d.Delivered {
			r.DeliveredTo = append(r.DeliveredTo, d.Member)
		} else {
			r.Queued = append(r.Queued, d.Member)
		}
	}
	m.cfg.Emit(TypeDelivered, r)
	return out, nil
}

func (m *Manager) nick(roomID, id string, online map[string]string) string {
	if n := online[id]; n != "" {
		return n
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.rooms[roomID]; st != nil {
		return m.nickOf(st, id)
	}
	return ""
}

// has reports whether member is known to hold author's event seq in room.
func (m *Manager) has(roomID, member, author string, seq uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.rooms[roomID]
	return st != nil && st.acks[member][author] >= seq
}

// Create makes a room named name with the members given (fingerprints and nickname hints)
// and this node, and tells them.
func (m *Manager) Create(ctx context.Context, name string, members []Member) (Sent, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Sent{}, errors.New("a room needs a name")
	}
	ms := []Member{{ID: m.me, Nick: m.cfg.Nick()}}
	for _, mb := range members {
		if mb.ID != m.me && !slices.ContainsFunc(ms, func(x Member) bool { return x.ID == mb.ID }) {
			ms = append(ms, mb)
		}
	}
	if err := checkMembers(ms); err != nil {
		return Sent{}, err
	}
	if utf8.RuneCountInString(name) > MaxName {
		return Sent{}, fmt.Errorf("a room's name takes %d characters at most", MaxName)
	}
	id, nonce := NewRoomID(m.cfg.Identity.Pub)
	return m.write(ctx, id, KindCreate, Body{Name: name, Nonce: nonce, Members: ms}, true)
}

// Add adds members to room.
func (m *Manager) Add(ctx context.Context, room string, members []Member) (Sent, error) {
	if len(members) == 0 {
		return Sent{}, errors.New("name the colleagues to add")
	}
	if err := checkMembers(members); err != nil {
		return Sent{}, err
	}
	return m.write(ctx, room, KindAdd, Body{Members: members}, false)
}

func checkMembers(ms []Member) error {
	if len(ms) > MaxMembers {
		return fmt.Errorf("a room takes %d members at most", MaxMembers)
	}
	for i := range ms {
		if len(ms[i].ID) != 52 {
			return fmt.Errorf("%q is not a FeiGo colleague's key fingerprint", ms[i].ID)
		}
		if r := []rune(ms[i].Nick); len(r) > MaxNick {
			ms[i].Nick = string(r[:MaxNick])
		}
	}
	return nil
}

// Remove removes member from room (the creator only).
func (m *Manager) Remove(ctx context.Context, room, member string) (Sent, error) {
	m.mu.Lock()
	st := m.rooms[room]
	isMember := st != nil && st.tl.IsMember(member)
	m.mu.Unlock()
	if !isMember {
		return Sent{}, fmt.Errorf("%s is not a member of the room", member)
	}
	if member == m.me {
		return Sent{}, errors.New("to leave a room, leave it")
	}
	return m.write(ctx, room, KindRemove, Body{Member: member}, false)
}

// Leave leaves room.
func (m *Manager) Leave(ctx context.Context, room string) (Sent, error) {
	return m.write(ctx, room, KindLeave, Body{}, false)
}

// Rename renames room (the creator only).
func (m *Manager) Rename(ctx context.Context, room, name string) (Sent, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Sent{}, errors.New("a room needs a name")
	}
	if utf8.RuneCountInString(name) > MaxName {
		return Sent{}, fmt.Errorf("a room's name takes %d characters at most", MaxName)
	}
	return m.write(ctx, room, KindRename, Body{Name: name}, false)
}

// Send writes text to room.
func (m *Manager) Send(ctx context.Context, room, text string) (Sent, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return Sent{}, errors.New("empty message")
	}
	if len(text) > MaxText {
		return Sent{}, fmt.Errorf("message too long: a room takes %d bytes at most; send it as a file instead", MaxText)
	}
	return m.write(ctx, room, KindMsg, Body{Text: text}, false)
}

// Files records in room that this node offered files (names, with an optional note); the
// offers themselves go to each member apart (package xfer), and each accepts on their own.
func (m *Manager) Files(ctx context.Context, room, note string, names []string) (Sent, error) {
	if len(names) > MaxFiles {
		names = names[:MaxFiles]
	}
	return m.write(ctx, room, KindFiles, Body{Text: note, Files: names}, false)
}

// ---- Reading -----------------------------------------------------------------------------

// Info describes a room.
type Info struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Creator string       `json:"creator"`
	Members []MemberInfo `json:"members"`
	// Member: this node is a member (false once it left or was removed).
	Member bool `json:"member"`
}

// MemberInfo is a member as a room's list shows them.
type MemberInfo struct {
	ID     string `json:"id"`
	Nick   string `json:"nick"`
	Online bool   `json:"online"`
	Me     bool   `json:"me,omitempty"`
}

func (m *Manager) info(st *state) Info {
	in := Info{ID: st.id, Name: st.tl.Name, Creator: st.tl.Creator, Member: st.tl.IsMember(m.me)}
	for _, mb := range st.tl.Members {
		in.Members = append(in.Members, MemberInfo{ID: mb.ID, Nick: m.nickOf(st, mb.ID), Me: mb.ID == m.me})
	}
	return in
}

// Rooms lists the rooms this node keeps, with who of their members is online.
func (m *Manager) Rooms() []Info {
	online := m.cfg.Transport.Online()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Info
	for _, st := range m.rooms {
		if !st.stored || !st.tl.Created {
			continue
		}
		in := m.info(st)
		for i := range in.Members {
			if n, ok := online[in.Members[i].ID]; ok {
				in.Members[i].Online = true
				if n != "" {
					in.Members[i].Nick = n
				}
			}
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return out
}

// Find resolves what a user typed to one room: its ID, a prefix of it of 6 digits or more,
// or its name.
func (m *Manager) Find(q string) (Info, error) {
	q = strings.TrimSpace(q)
	var hits []Info
	for _, in := range m.Rooms() {
		if in.ID == q || (len(q) >= 6 && strings.HasPrefix(in.ID, strings.ToLower(q))) || in.Name == q {
			hits = append(hits, in)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Info{}, fmt.Errorf("%w: %q (see `feigo room list`)", ErrNoRoom, q)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%q matches %d rooms; name one by its ID:", q, len(hits))
	for _, h := range hits {
		fmt.Fprintf(&b, "\n  %s  %s", h.ID, h.Name)
	}
	return Info{}, errors.New(b.String())
}

// Line is one entry of a room's history: a change or a message, with, for this node's own
// messages, the members known to hold it.
type Line struct {
	Time        time.Time `json:"time"`
	Kind        Kind      `json:"kind"`
	Author      string    `json:"author"`
	Nick        string    `json:"nick,omitempty"`
	Seq         uint64    `json:"seq"`
	Text        string    `json:"text,omitempty"`
	Name        string    `json:"name,omitempty"`
	Members     []Member  `json:"members,omitempty"`
	Files       []string  `json:"files,omitempty"`
	Redacted    bool      `json:"redacted,omitempty"` // kept without its text (older than the history's retention)
	DeliveredTo []string  `json:"delivered_to,omitempty"`
	// HistoryID is a message's row in the history's messages (what a search finds), 0 for
	// changes.
	HistoryID int64 `json:"history_id,omitempty"`
}

// History returns room's changes and messages in the room's order (the same on every
// member's machine), those that stand only, and of the messages those written while this
// node was in the room; limit > 0 keeps the newest limit.
func (m *Manager) History(room string, limit int) ([]Line, error) {
	rows, err := m.cfg.Store.RoomEvents(room, false)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.rooms[room]
	if st == nil || !st.stored {
		return nil, ErrNoRoom
	}
	var out []Line
	for _, r := range rows {
		if !r.Valid {
			continue
		}
		e := fromRow(r)
		b, _ := e.Decode()
		l := Line{Time: time.UnixMilli(e.Time), Kind: e.Kind, Author: e.Author, Nick: m.nickOf(st, e.Author), Seq: e.Seq,
			Text: b.Text, Members: b.Members, Files: b.Files, Redacted: e.Body == nil, HistoryID: r.Message}
		switch e.Kind {
		case KindCreate, KindRename:
			l.Name, l.Text = b.Name, ""
		case KindRemove:
			l.Members = []Member{{ID: b.Member, Nick: m.nickOf(st, b.Member)}}
		}
		if e.Author == m.me && !e.Kind.Control() {
			for mb, vv := range st.acks {
				if mb != m.me && vv[m.me] >= e.Seq {
					l.DeliveredTo = append(l.DeliveredTo, mb)
				}
			}
			slices.Sort(l.DeliveredTo)
		}
		out = append(out, l)
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// ---- Wire --------------------------------------------------------------------------------

// request is what one member asks another, over their channel.
type request struct {
	// Op is "push" (Events for one room, answered with the receiver's heads there) or
	// "pull" (Heads: what the asker holds, per room; answered with events it lacks).
	Op     string                       `json:"op"`
	Room   string                       `json:"room,omitempty"`
	Events []Event                      `json:"events,omitempty"`
	Heads  map[string]map[string]uint64 `json:"heads,omitempty"`
}

type answer struct {
	Heads  map[string]map[string]uint64 `json:"heads,omitempty"`
	Events []Event                      `json:"events,omitempty"`
	More   bool                         `json:"more,omitempty"`
	Error  string                       `json:"error,omitempty"`
}

func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Handle answers a room request from the member whose key has fingerprint from (proved on
// the channel it came over). It stores before answering and never waits on the network.
func (m *Manager) Handle(from string, body []byte) []byte {
	var req request
	if err := json.Unmarshal(body, &req); err != nil || len(req.Events) > MaxBatch || len(req.Heads) > MaxRooms {
		m.refused.Add(1)
		return encode(answer{Error: "bad request"})
	}
	switch req.Op {
	case "push":
		if !m.allow(m.pushes, from, pushBurst, pushEvery, max(1, len(req.Events))) {
			return encode(answer{Error: "slow down"})
		}
		for i := range req.Events {
			req.Events[i].Room = req.Room
		}
		m.ingest(from, req.Events)
		m.mu.Lock()
		defer m.mu.Unlock()
		ans := answer{Heads: map[string]map[string]uint64{}}
		if st := m.rooms[req.Room]; st != nil {
			ans.Heads[req.Room] = maps(st.heads)
			sent := map[string]uint64{} // what it pushed, it holds
			for _, e := range req.Events {
				sent[e.Author] = max(sent[e.Author], e.Seq)
			}
			m.setAcks(st, from, sent)
		}
		return encode(ans)
	case "pull":
		if !m.allow(m.pulls, from, pullBurst, pullEvery, 1) {
			return encode(answer{Error: "slow down"})
		}
		ans, theyHaveMore := m.serve(from, req.Heads)
		if theyHaveMore {
			m.Sync(from)
		}
		return encode(ans)
	}
	m.refused.Add(1)
	return encode(answer{Error: "unknown op"})
}

func maps(h map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// setAcks records that member holds at least vv in st: in memory at once, in the history at
// the next flush (FlushAcks). An acknowledgement lost in a crash costs only events sent
// again, which their receiver holds already and ignores.
func (m *Manager) setAcks(st *state, member string, vv map[string]uint64) {
	if member == m.me || !st.tl.Ever(member) {
		return
	}
	a := st.acks[member]
	if a == nil {
		a = map[string]uint64{}
		st.acks[member] = a
	}
	for au, sq := range vv {
		if sq > a[au] && sq <= st.heads[au] {
			a[au] = sq
			if st.stored {
				m.dirtyAcks[ackKey{st.id, member, au}] = sq
			}
		}
	}
}

// ackKey names one acknowledgement: how far member has got with author's events in room.
type ackKey struct{ room, member, author string }

// FlushAcks writes the acknowledgements recorded since the last flush to the history in one
// transaction (Run does every ackFlushEvery and when it ends): one write per room message on
// every member instead of one per member on the sender and one more on each receiver.
func (m *Manager) FlushAcks() {
	m.mu.Lock()
	if len(m.dirtyAcks) == 0 {
		m.mu.Unlock()
		return
	}
	acks := make([]history.RoomAck, 0, len(m.dirtyAcks))
	for k, sq := range m.dirtyAcks {
		acks = append(acks, history.RoomAck{Room: k.room, Member: k.member, Author: k.author, Seq: sq})
	}
	clear(m.dirtyAcks)
	m.mu.Unlock()
	if err := m.cfg.Store.SetRoomAcks(acks); err != nil {
		m.log.Error("storing room acknowledgements", "err", err)
	}
}

// serve answers a pull: the events member lacks in the rooms it is a member of now (its
// heads say what it holds; a room it does not name, it holds nothing of), messages written
// while it was not a member without their bodies. It also reports whether member holds
// events this node lacks.
func (m *Manager) serve(member string, heads map[string]map[string]uint64) (answer, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ans answer
	more := false
	size := 0
	for _, st := range m.rooms {
		if !st.stored || !st.tl.IsMember(member) || !st.tl.IsMember(m.me) {
			continue
		}
		theirs := heads[st.id]
		m.setAcks(st, member, theirs)
		for au, sq := range theirs {
			if sq > st.heads[au] {
				more = true
			}
		}
		if len(ans.Events) >= MaxBatch || size >= MaxBatchBytes {
			ans.More = true
			continue
		}
		evs, full := m.missing(st, member, theirs, MaxBatch-len(ans.Events), MaxBatchBytes-size)
		for _, e := range evs {
			size += len(e.Body)
		}
		ans.Events = append(ans.Events, evs...)
		ans.More = ans.More || full
	}
	return ans, more
}

// missing returns, in the room's order, up to limit events (and about bytes of bodies) that
// member lacks in st given the heads it holds, ready to send to it; full is set when more remain.
func (m *Manager) missing(st *state, member string, theirs map[string]uint64, limit, bytes int) (evs []Event, full bool) {
	for au, mine := range st.heads {
		if mine <= theirs[au] {
			continue
		}
		rows, err := m.cfg.Store.RoomEventsAfter(st.id, au, theirs[au], limit+1)
		if err != nil {
			m.log.Error("reading a room", "err", err)
			return nil, false
		}
		for _, r := range rows {
			evs = append(evs, fromRow(r))
		}
	}
	slices.SortFunc(evs, func(a, b Event) int {
		if a.Pos().Less(b.Pos()) {
			return -1
		}
		return 1
	})
	out := evs[:0]
	size := 0
	for _, e := range evs {
		if len(out) >= limit || size+len(e.Body) > bytes && len(out) > 0 {
			return out, true
		}
		if !e.Kind.Control() && !st.tl.MemberAt(member, e.Pos()) {
			e = e.Redacted() // written while member was not in the room
		}
		size += len(e.Body)
		out = append(out, e)
	}
	return out, false
}

// push sends member first (a push request, encoded once for every member, or nil), then
// whatever its answers show it lacks, until it holds all this node holds of room or stops
// taking them.
func (m *Manager) push(ctx context.Context, member, roomID string, first []byte) error {
	body := first
	for round := 0; round < 64; round++ {
		catchUp := body == nil
		if body == nil {
			m.mu.Lock()
			st := m.rooms[roomID]
			if st == nil {
				m.mu.Unlock()
				return ErrNoRoom
			}
			if !st.tl.IsMember(member) {
				m.mu.Unlock()
				return nil // nothing more goes to a member who left or was removed
			}
			evs, _ := m.missing(st, member, st.acks[member], MaxBatch, MaxBatchBytes)
			m.mu.Unlock()
			if len(evs) == 0 {
				return nil
			}
			body = pushRequest(roomID, evs)
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		raw, err := m.cfg.Transport.Request(rctx, member, body)
		cancel()
		if err != nil {
			return err
		}
		var ans answer
		if err := json.Unmarshal(raw, &ans); err != nil {
			return err
		}
		if ans.Error != "" {
			return errors.New(ans.Error)
		}
		m.mu.Lock()
		st := m.rooms[roomID]
		progress := false
		if st != nil {
			before := maps(st.acks[member])
			m.setAcks(st, member, ans.Heads[roomID])
			for au, sq := range st.acks[member] {
				if sq > before[au] {
					progress = true
				}
			}
		}
		m.mu.Unlock()
		if catchUp && !progress {
			return nil // it takes no more (it holds them already, or holds none back)
		}
		body = nil
	}
	return nil
}

// pushRequest encodes a push of evs, events of room.
func pushRequest(room string, evs []Event) []byte {
	for i := range evs {
		evs[i].Room = "" // said once, in the request
	}
	return encode(request{Op: "push", Room: room, Events: evs})
}

// pull asks member for what this node lacks in every room, batch by batch.
func (m *Manager) pull(ctx context.Context, member string) error {
	for round := 0; round < 64; round++ {
		m.mu.Lock()
		heads := map[string]map[string]uint64{}
		for _, st := range m.rooms {
			if st.stored {
				heads[st.id] = maps(st.heads)
			}
		}
		m.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		raw, err := m.cfg.Transport.Request(rctx, member, encode(request{Op: "pull", Heads: heads}))
		cancel()
		if err != nil {
			return err
		}
		var ans answer
		if err := json.Unmarshal(raw, &ans); err != nil {
			return err
		}
		if ans.Error != "" {
			return errors.New(ans.Error)
		}
		if len(ans.Events) > MaxBatch {
			ans.Events = ans.Events[:MaxBatch]
		}
		moved := m.ingest(member, ans.Events)
		if !ans.More || len(moved) == 0 {
			return nil
		}
	}
	return nil
}

// ---- Catch-up ------------------------------------------------------------------------------

// Sync has the background catch-up exchange with member soon: pull what this node lacks, and
// push what the member lacks. The node calls it when a colleague comes online or proves its
// key again; it never blocks.
func (m *Manager) Sync(member string) {
	if member == m.me {
		return
	}
	m.syncMu.Lock()
	if len(m.pending) < 4096 {
		m.pending[member] = true
	}
	m.syncMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// PeerSeen catches up with a colleague who came online or proved their key again, if they
// share a room with this node (a room they were added to while this node was away, they
// learn of when this node pushes to them, or when they pull). It never blocks.
func (m *Manager) PeerSeen(id string) {
	if m.shares(id) {
		m.Sync(id)
	}
}

// Run does the catch-ups and writes the acknowledgements until ctx is cancelled, and returns
// once the catch-ups have ended and the last acknowledgements are written.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer m.FlushAcks()
	defer wg.Wait()
	slots := make(chan struct{}, maxSyncers)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	flush := time.NewTicker(ackFlushEvery)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-flush.C:
			m.FlushAcks()
			continue
		case <-t.C:
			for id := range m.cfg.Transport.Online() {
				if m.behind(id) {
					m.Sync(id)
				}
			}
			continue
		case <-m.wake:
		}
		m.syncMu.Lock()
		var todo []string
		for id := range m.pending {
			if !m.syncing[id] {
				todo = append(todo, id)
				delete(m.pending, id)
				m.syncing[id] = true
			}
		}
		m.syncMu.Unlock()
		for _, id := range todo {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				m.syncWith(ctx, id)
				m.syncMu.Lock()
				delete(m.syncing, id)
				again := m.pending[id]
				m.syncMu.Unlock()
				if again {
					select {
					case m.wake <- struct{}{}:
					default:
					}
				}
			}()
		}
	}
}

// behind reports whether member is known to lack events of a room they are in.
func (m *Manager) behind(member string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.rooms {
		if !st.stored || !st.tl.IsMember(member) {
			continue
		}
		for au, sq := range st.heads {
			if st.acks[member][au] < sq {
				return true
			}
		}
	}
	return false
}

// shares reports whether member is in a room with this node.
func (m *Manager) shares(member string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.rooms {
		if st.stored && st.tl.IsMember(member) && st.tl.IsMember(m.me) {
			return true
		}
	}
	return false
}

func (m *Manager) syncWith(ctx context.Context, member string) {
	if err := m.pull(ctx, member); err != nil {
		m.log.Debug("room catch-up from a member", "member", member, "err", err)
	}
	m.mu.Lock()
	var rooms []string
	for _, st := range m.rooms {
		if st.stored && st.tl.IsMember(member) && st.tl.IsMember(m.me) {
			rooms = append(rooms, st.id)
		}
	}
	m.mu.Unlock()
	for _, r := range rooms {
		if err := m.push(ctx, member, r, nil); err != nil {
			m.log.Debug("room catch-up to a member", "member", member, "err", err)
		}
	}
}

// ---- Limits ------------------------------------------------------------------------------

// bucket is a token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the peers rate limits are kept for.
const maxBuckets = 4096

func (m *Manager) allow(in map[string]*bucket, who string, burst int, every time.Duration, cost int) bool {
	m.limMu.Lock()
	defer m.limMu.Unlock()
	now := time.Now()
	b := in[who]
	if b == nil {
		if len(in) >= maxBuckets {
			clear(in)
		}
		b = &bucket{tokens: float64(burst), at: now}
		in[who] = b
	}
	b.tokens = min(float64(burst), b.tokens+float64(now.Sub(b.at))/float64(every))
	b.at = now
	if b.tokens < float64(cost) {
		m.refused.Add(1)
		return false
	}
	b.tokens -= float64(cost)
	return true
}
