// Package history keeps every message in and out in an SQLite database in the profile
// directory (pure Go driver, WAL mode), with full-text search that finds Chinese words inside
// sentences (FTS5's trigram tokenizer, and a plain scan for words under three characters).
package history

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// Record is one message in the history.
type Record struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Peer      string    `json:"peer"` // the peer's key: FeiGo ID, or user@host for others
	PeerID    string    `json:"peer_id,omitempty"`
	User      string    `json:"user,omitempty"`
	Host      string    `json:"host,omitempty"`
	Addr      string    `json:"addr,omitempty"`
	Nick      string    `json:"nick,omitempty"` // at the time
	Direction string    `json:"direction"`      // "in" or "out"
	Text      string    `json:"text"`
	State     string    `json:"state"` // in: "received"; out: "delivered", "failed"
	PacketNo  uint32    `json:"packet_no,omitempty"`
}

// PeerKey names a peer in the history: its FeiGo ID, else user@host.
func PeerKey(id, user, host string) string {
	if id != "" {
		return id
	}
	return user + "@" + host
}

// Store is an open history database.
type Store struct {
	db *sql.DB
}

// migrations bring the schema from version i to i+1.
var migrations = []string{
	`CREATE TABLE messages (
		id INTEGER PRIMARY KEY,
		time INTEGER NOT NULL,
		peer TEXT NOT NULL,
		peer_id TEXT NOT NULL DEFAULT '',
		user TEXT NOT NULL DEFAULT '',
		host TEXT NOT NULL DEFAULT '',
		addr TEXT NOT NULL DEFAULT '',
		nick TEXT NOT NULL DEFAULT '',
		direction TEXT NOT NULL,
		text TEXT NOT NULL,
		state TEXT NOT NULL,
		packet_no INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX messages_peer_time ON messages(peer, time);
	CREATE INDEX messages_time ON messages(time);
	CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram');
	CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
		INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
	END;
	CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
	END;`,
}

// Open opens (creating and migrating) the history database at path.
func Open(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("opening history: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate() error {
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("history: reading the schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("history: the database is from a newer FeiGo (schema %d, this one knows %d)", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := s.db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("history: migrating to schema %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Add stores a record and returns its ID. When it returns, the record is committed: a crash
// of the process afterwards does not lose it.
func (s *Store) Add(r Record) (int64, error) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if r.Peer == "" {
		r.Peer = PeerKey(r.PeerID, r.User, r.Host)
	}
	res, err := s.db.Exec(`INSERT INTO messages(time, peer, peer_id, user, host, addr, nick, direction, text, state, packet_no)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Time.UnixMilli(), r.Peer, r.PeerID, r.User, r.Host, r.Addr, r.Nick, r.Direction, r.Text, r.State, r.PacketNo)
	if err != nil {
		return 0, fmt.Errorf("storing a message: %w", err)
	}
	return res.LastInsertId()
}

// Filter selects records. Zero fields select everything.
type Filter struct {
	Peer   string    // a peer key
	Search string    // words that must all occur in the text
	Since  time.Time // at or after
	Limit  int       // the most recent Limit records (all when 0)
}

// Query returns the records that match f, oldest first.
func (s *Store) Query(f Filter) ([]Record, error) {
	var where []string
	var args []any
	if f.Peer != "" {
		where = append(where, "m.peer = ?")
		args = append(args, f.Peer)
	}
	if !f.Since.IsZero() {
		where = append(where, "m.time >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	var match []string
	for _, w := range strings.Fields(f.Search) {
		if utf8.RuneCountInString(w) >= 3 {
			match = append(match, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		} else {
			// Trigrams cannot find shorter words (two-character Chinese words are common).
			where = append(where, "m.text LIKE ? ESCAPE '\\'")
			args = append(args, "%"+likeEscape(w)+"%")
		}
	}
	q := "SELECT m.id, m.time, m.peer, m.peer_id, m.user, m.host, m.addr, m.nick, m.direction, m.text, m.state, m.packet_no FROM messages m"
	if len(match) > 0 {
		q += " JOIN messages_fts ON messages_fts.rowid = m.id"
		where = append(where, "messages_fts MATCH ?")
		args = append(args, strings.Join(match, " AND "))
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY m.time DESC, m.id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("searching the history: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var ms int64
		if err := rows.Scan(&r.ID, &ms, &r.Peer, &r.PeerID, &r.User, &r.Host, &r.Addr, &r.Nick, &r.Direction, &r.Text, &r.State, &r.PacketNo); err != nil {
			return nil, err
		}
		r.Time = time.UnixMilli(ms)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("history closed")
