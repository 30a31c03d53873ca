package history

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RoomEvent is one signed group-room event as the store keeps it (package room gives it
// meaning; here it is a row). Body is nil for an event kept without its text.
type RoomEvent struct {
	Room, Author string
	Seq, Clock   uint64
	Kind         string
	Time         int64 // Unix milliseconds
	Key, Hash    []byte
	Sig, Body    []byte
	Valid        bool
	Message      int64 // the messages row of a valid message, 0 if none
}

// RoomPeer is the history key of a room's conversation: its messages are kept under it.
func RoomPeer(room string) string { return "room:" + room }

// GroupPeer is the history key of a legacy group chat's conversation (a FeiQ room, an iptux
// group window: package legacygroup's room IDs).
func GroupPeer(room string) string { return "group:" + room }

// AddRoom records that this profile is in room (again).
func (s *Store) AddRoom(room string) error {
	_, err := s.db.Exec(`INSERT OR IGNORE INTO rooms(id, joined) VALUES (?, ?)`, room, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("storing a room: %w", err)
	}
	return nil
}

// Rooms lists the rooms this profile keeps.
func (s *Store) Rooms() ([]string, error) {
	rows, err := s.db.Query(`SELECT id FROM rooms ORDER BY joined, id`)
	if err != nil {
		return nil, fmt.Errorf("reading rooms: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const roomEventCols = `room, author, seq, clock, kind, time, key, hash, sig, body, valid, message`

func scanRoomEvents(rows *sql.Rows) ([]RoomEvent, error) {
	defer rows.Close()
	var out []RoomEvent
	for rows.Next() {
		var e RoomEvent
		if err := rows.Scan(&e.Room, &e.Author, &e.Seq, &e.Clock, &e.Kind, &e.Time, &e.Key, &e.Hash, &e.Sig, &e.Body, &e.Valid, &e.Message); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutRoomEvent stores e unless an event of its author with its sequence number is kept
// already (inserted false), and with it, when rec is set and e is valid, rec as the
// messages row that makes e searchable (msg, its ID; 0 if none). It is one transaction.
func (s *Store) PutRoomEvent(e RoomEvent, rec *Record) (inserted bool, msg int64, err error) {
	insMsg, err := s.prepared(insertRoomMessageSQL)
	if err != nil {
		return false, 0, fmt.Errorf("storing a room message: %w", err)
	}
	insEv, err := s.prepared(`INSERT OR IGNORE INTO room_events(` + roomEventCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return false, 0, fmt.Errorf("storing a room event: %w", err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		return false, 0, err
	}
	defer tx.Rollback()
	if rec != nil && e.Valid {
		if msg, err = insertRoomMessage(tx.Stmt(insMsg), e.Room, *rec); err != nil {
			return false, 0, fmt.Errorf("storing a room message: %w", err)
		}
	}
	res, err := tx.Stmt(insEv).Exec(e.Room, e.Author, e.Seq, e.Clock, e.Kind, e.Time, e.Key, e.Hash, e.Sig, e.Body, e.Valid, msg)
	if err != nil {
		return false, 0, fmt.Errorf("storing a room event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, 0, nil // the message row goes with the rollback
	}
	return true, msg, tx.Commit()
}

const insertRoomMessageSQL = `INSERT INTO messages(time, peer, peer_id, user, host, addr, nick, direction, kind, text, state, error, packet_no, files, folder, encrypted)
		VALUES (?, ?, ?, '', '', '', ?, ?, ?, ?, ?, '', 0, '', '', 1)`

func insertRoomMessage(ins *sql.Stmt, room string, r Record) (int64, error) {
	if r.Kind == "" {
		r.Kind = KindText
	}
	res, err := ins.Exec(r.Time.UnixMilli(), RoomPeer(room), r.PeerID, r.Nick, r.Direction, r.Kind, r.Text, r.State)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// SetRoomEventValid records whether a kept event stands (a change that came later may undo
// a message: its author had been removed before it). A message that stops standing loses
// its messages row; one that starts standing gets rec as its row.
func (s *Store) SetRoomEventValid(room, author string, seq uint64, valid bool, rec *Record) error {
	insMsg, err := s.prepared(insertRoomMessageSQL)
	if err != nil {
		return err
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var msg int64
	if err := tx.QueryRow(`SELECT message FROM room_events WHERE room = ? AND author = ? AND seq = ?`, room, author, seq).Scan(&msg); err != nil {
		return fmt.Errorf("room event: %w", err)
	}
	switch {
	case !valid && msg != 0:
		if _, err := tx.Exec(`DELETE FROM messages WHERE id = ?`, msg); err != nil {
			return err
		}
		msg = 0
	case valid && msg == 0 && rec != nil:
		if msg, err = insertRoomMessage(tx.Stmt(insMsg), room, *rec); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`UPDATE room_events SET valid = ?, message = ? WHERE room = ? AND author = ? AND seq = ?`, valid, msg, room, author, seq); err != nil {
		return err
	}
	return tx.Commit()
}

// RoomEvents returns room's events in the room's order (clock, author, sequence): only its
// changes when controlOnly, else everything.
func (s *Store) RoomEvents(room string, controlOnly bool) ([]RoomEvent, error) {
	q := `SELECT ` + roomEventCols + ` FROM room_events WHERE room = ?`
	if controlOnly {
		q += ` AND kind NOT IN ('msg', 'files')`
	}
	rows, err := s.db.Query(q+` ORDER BY clock, author, seq`, room)
	if err != nil {
		return nil, fmt.Errorf("reading a room: %w", err)
	}
	return scanRoomEvents(rows)
}

// RoomEventsAfter returns up to limit of author's events in room after seq, in order.
func (s *Store) RoomEventsAfter(room, author string, seq uint64, limit int) ([]RoomEvent, error) {
	rows, err := s.db.Query(`SELECT `+roomEventCols+` FROM room_events WHERE room = ? AND author = ? AND seq > ? ORDER BY seq LIMIT ?`,
		room, author, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("reading a room: %w", err)
	}
	return scanRoomEvents(rows)
}

// RoomHeads returns, per author, the highest sequence number kept for room and the clock of
// that event. The store keeps each author's events without gaps, so that is everything up to it.
func (s *Store) RoomHeads(room string) (seqs, clocks map[string]uint64, err error) {
	rows, err := s.db.Query(`SELECT author, MAX(seq), clock FROM room_events WHERE room = ? GROUP BY author`, room)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a room: %w", err)
	}
	defer rows.Close()
	seqs, clocks = map[string]uint64{}, map[string]uint64{}
	for rows.Next() {
		var a string
		var sq, c uint64
		if err := rows.Scan(&a, &sq, &c); err != nil {
			return nil, nil, err
		}
		seqs[a], clocks[a] = sq, c
	}
	return seqs, clocks, rows.Err()
}

// RoomAck is how far a member is known to have got in a room: the last sequence number of
// an author's they hold.
type RoomAck struct {
	Room, Member, Author string
	Seq                  uint64
}

// SetRoomAcks records acks (never lowering one), in one transaction.
func (s *Store) SetRoomAcks(acks []RoomAck) error {
	if len(acks) == 0 {
		return nil
	}
	up, err := s.prepared(`INSERT INTO room_acks(room, member, author, seq) VALUES (?, ?, ?, ?)
			ON CONFLICT(room, member, author) DO UPDATE SET seq = MAX(seq, excluded.seq)`)
	if err != nil {
		return fmt.Errorf("storing a room acknowledgement: %w", err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	up = tx.Stmt(up)
	for _, a := range acks {
		if _, err := up.Exec(a.Room, a.Member, a.Author, a.Seq); err != nil {
			return fmt.Errorf("storing a room acknowledgement: %w", err)
		}
	}
	return tx.Commit()
}

// RoomAcks returns, per member, per author, the last sequence number the member holds.
func (s *Store) RoomAcks(room string) (map[string]map[string]uint64, error) {
	rows, err := s.db.Query(`SELECT member, author, seq FROM room_acks WHERE room = ?`, room)
	if err != nil {
		return nil, fmt.Errorf("reading room acknowledgements: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]uint64{}
	for rows.Next() {
		var m, a string
		var sq uint64
		if err := rows.Scan(&m, &a, &sq); err != nil {
			return nil, err
		}
		if out[m] == nil {
			out[m] = map[string]uint64{}
		}
		out[m][a] = sq
	}
	return out, rows.Err()
}

// ErrNoRoomEvent is returned for an event the store does not keep.
var ErrNoRoomEvent = errors.New("no such room event")

// RoomEvent returns one kept event.
func (s *Store) RoomEvent(room, author string, seq uint64) (RoomEvent, error) {
	q, err := s.prepared(`SELECT ` + roomEventCols + ` FROM room_events WHERE room = ? AND author = ? AND seq = ?`)
	if err != nil {
		return RoomEvent{}, err
	}
	rows, err := q.Query(room, author, seq)
	if err != nil {
		return RoomEvent{}, err
	}
	es, err := scanRoomEvents(rows)
	if err != nil {
		return RoomEvent{}, err
	}
	if len(es) == 0 {
		return RoomEvent{}, ErrNoRoomEvent
	}
	return es[0], nil
}

// roomKinds lists the kinds a query of room messages returns.
var roomKinds = strings.Join([]string{"'msg'", "'files'"}, ", ")

// RoomMessages returns room's messages (kinds msg and files), in order, without bodies
// unless withBody.
func (s *Store) RoomMessages(room string, withBody bool) ([]RoomEvent, error) {
	cols := roomEventCols
	if !withBody {
		cols = strings.Replace(cols, "body", "NULL", 1)
	}
	rows, err := s.db.Query(`SELECT `+cols+` FROM room_events WHERE room = ? AND kind IN (`+roomKinds+`) ORDER BY clock, author, seq`, room)
	if err != nil {
		return nil, fmt.Errorf("reading a room: %w", err)
	}
	return scanRoomEvents(rows)
}
