// Package history keeps every message in and out in an SQLite database in the profile
// directory (pure Go driver, WAL mode), with full-text search that finds Chinese words inside
// sentences (FTS5's trigram tokenizer, and a plain scan for words under three characters).
package history

import (
	"database/sql"
	"encoding/json"
	"errors"
	"feigo/event"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// Record kinds.
const (
	KindText = "text" // a message
	KindFile = "file" // a file transfer: Files, Folder, State and Error say what became of it
)

// Message states. A transfer's state is the lan package's (done, failed, declined, cancelled).
const (
	StateReceived  = "received"  // in
	StateSending   = "sending"   // out, waiting for the acknowledgement
	StateDelivered = "delivered" // out, acknowledged
	StateFailed    = "failed"    // out, not acknowledged; Error says why
	StateQueued    = "queued"    // out, waiting for the peer to come back
)

// Record is one message or file transfer in the history.
type Record struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Peer      string          `json:"peer"` // the peer's key (see PeerKey)
	PeerID    string          `json:"peer_id,omitempty"`
	User      string          `json:"user,omitempty"`
	Host      string          `json:"host,omitempty"`
	Addr      string          `json:"addr,omitempty"`
	Nick      string          `json:"nick,omitempty"` // at the time
	Direction event.Direction `json:"direction"`
	Kind      string          `json:"kind"` // KindText or KindFile
	Text      string          `json:"text"` // a transfer's: its note and file names
	State     string          `json:"state"`
	Error     string          `json:"error,omitempty"`
	PacketNo  uint32          `json:"packet_no,omitempty"`
	Files     []File          `json:"files,omitempty"`
	Folder    string          `json:"folder,omitempty"` // where an incoming transfer was saved
	// Encrypted: the message went or came over the colleague's TLS channel, bound to their
	// proved key; false for clients that cannot encrypt.
	Encrypted bool `json:"encrypted"`
	// Images are the pictures shown inline in the message, in the order of their places.
	Images []Image `json:"images,omitempty"`
	// Sealed: shown behind a click until opened (IPMsg's sealed messages). ReadCheck: the
	// sender asked to be told when it is read. ReadAt: when it was read (out: the colleague
	// said so; in: the user opened it); zero while unread.
	Sealed    bool      `json:"sealed,omitempty"`
	ReadCheck bool      `json:"read_check,omitempty"`
	ReadAt    time.Time `json:"read_at,omitzero"`
}

// Image is a picture shown inline in a message: an image of the profile's store (package
// imgstore), named by its SHA-256, at byte offset Pos of the message's text.
type Image struct {
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Size   int64  `json:"size"`
	Pos    int    `json:"pos"`
	// Name is the name it was sent under (a file's name, IPMsg's "ipmsgclip_…png").
	Name string `json:"name,omitempty"`
	// Path is where the store keeps it: filled in by the node for its callers, never stored.
	Path string `json:"path,omitempty"`
}

// MaxImages bounds the images of one message.
const MaxImages = 20

func imagesJSON(ims []Image) string {
	if len(ims) == 0 {
		return ""
	}
	ims = slices.Clone(ims[:min(len(ims), MaxImages)])
	for i := range ims {
		ims[i].Path = ""
	}
	b, _ := json.Marshal(ims)
	return string(b)
}

// File is one file or folder of a recorded transfer.
type File struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	Dir   bool   `json:"dir,omitempty"`
	State string `json:"state,omitempty"`
}

// PeerKey names a peer in the history so that it stays the same across restarts and
// address changes: the table ID of FeiGo peers (their key's fingerprint) and FeiQ's "mac:…"
// ID; for other clients, whose table ID is their address, user@host.
func PeerKey(id, user, host string) string {
	if id != "" {
		if _, err := netip.ParseAddrPort(id); err != nil || user == "" {
			return id
		}
	}
	return user + "@" + host
}

// Store is an open history database.
type Store struct {
	db *sql.DB

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// prepared returns q prepared once on the store's connection: the statements a room message
// runs on every member, which SQLite otherwise parses anew each time (a sixth of the work a
// room message costs the members, measured by BenchmarkRoomSend50). Call it outside a
// transaction: the store has one connection, which a transaction holds.
func (s *Store) prepared(q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[q]; st != nil {
		return st, nil
	}
	st, err := s.db.Prepare(q)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
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
	// 2: file transfers, queued messages, and the peers the history knows (to write to one
	// who is offline). Legacy peers were keyed by address; they become user@host.
	`ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
	ALTER TABLE messages ADD COLUMN error TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN files TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN folder TEXT NOT NULL DEFAULT '';
	UPDATE messages SET peer = user || '@' || host WHERE user != '' AND peer = addr;
	DROP INDEX messages_peer_time;
	CREATE INDEX messages_peer ON messages(peer); -- ordered by (peer, id): a page is a range scan
	CREATE INDEX messages_queued ON messages(peer, id) WHERE state = 'queued';
	CREATE INDEX messages_sending ON messages(id) WHERE state = 'sending';
	CREATE INDEX messages_files ON messages(peer, packet_no) WHERE kind = 'file';
	CREATE TABLE peers (
		peer TEXT PRIMARY KEY,
		peer_id TEXT NOT NULL DEFAULT '',
		user TEXT NOT NULL DEFAULT '',
		host TEXT NOT NULL DEFAULT '',
		addr TEXT NOT NULL DEFAULT '',
		nick TEXT NOT NULL DEFAULT '',
		last INTEGER NOT NULL
	) WITHOUT ROWID;
	INSERT OR REPLACE INTO peers(peer, peer_id, user, host, addr, nick, last)
		SELECT peer, peer_id, user, host, addr, nick, MAX(time) FROM messages GROUP BY peer;`,
	// 3: contacts are looked up by user@host (a message from a colleague before their
	// announcement, on the LAN's read loop) and by address, as searches, not scans.
	`CREATE INDEX peers_name ON peers(user, host);
	CREATE INDEX peers_addr ON peers(addr, last);`,
	// 4: whether a message crossed the network encrypted.
	`ALTER TABLE messages ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;`,
	// 5: group rooms (package room): the rooms this profile is in, every signed event of
	// theirs, and how far each member is known to have got. A room's valid messages are also
	// rows of messages (peer "room:ID"), so they are searched like conversations.
	`CREATE TABLE rooms (
		id TEXT PRIMARY KEY,
		joined INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE room_events (
		room TEXT NOT NULL,
		author TEXT NOT NULL,
		seq INTEGER NOT NULL,
		clock INTEGER NOT NULL,
		kind TEXT NOT NULL,
		time INTEGER NOT NULL,
		key BLOB NOT NULL,
		hash BLOB NOT NULL,
		sig BLOB NOT NULL,
		body BLOB,
		valid INTEGER NOT NULL DEFAULT 0,
		message INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (room, author, seq)
	) WITHOUT ROWID;
	CREATE INDEX room_events_order ON room_events(room, clock, author, seq);
	CREATE TABLE room_acks (
		room TEXT NOT NULL,
		member TEXT NOT NULL,
		author TEXT NOT NULL,
		seq INTEGER NOT NULL,
		PRIMARY KEY (room, member, author)
	) WITHOUT ROWID;`,
	// 6: the images shown inline in a message (JSON, see Image), found by the message's
	// packet number when they arrive after its text; sealed messages, read notices asked
	// for, and when a message was read (by the colleague, or by the user).
	`ALTER TABLE messages ADD COLUMN images TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE messages ADD COLUMN read_check INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE messages ADD COLUMN read_at INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX messages_packet ON messages(peer, packet_no) WHERE kind = 'text';
	CREATE INDEX messages_unread ON messages(peer, id) WHERE direction = 'in' AND kind = 'text' AND read_at = 0;`,
}

// Open opens (creating and migrating) the history database at path. The database and the
// -wal and -shm files SQLite keeps beside it are readable and writable by the user alone.
func Open(path string) (*Store, error) {
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("opening history: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
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

// OpenReadOnly opens the history database at path for reading only, as `feigo history` does
// when no FeiGo runs: it creates, migrates and changes nothing, and a FeiGo that starts
// meanwhile writes on undisturbed (SQLite's WAL lets readers and the writer go on together).
// A database that is missing is an error wrapping fs.ErrNotExist; one of another schema than
// this FeiGo's is an error too (start FeiGo once to bring an older one up to date).
func OpenReadOnly(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("opening history: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("opening history: %w", err)
	}
	db.SetMaxOpenConns(1)
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening history: %w", err)
	}
	switch {
	case v > len(migrations):
		db.Close()
		return nil, fmt.Errorf("history: the database is from a newer FeiGo (schema %d, this one knows %d)", v, len(migrations))
	case v < len(migrations):
		db.Close()
		return nil, fmt.Errorf("history: the database is from an older FeiGo (schema %d); start FeiGo once with this profile to update it", v)
	}
	return &Store{db: db}, nil
}

// ownerOnly creates the database file with mode 0600 if it is missing and makes it and its
// companions 0600 if an older FeiGo left them readable. SQLite creates its -wal, -shm and
// -journal files with the database file's mode (never more, whatever the umask), so they
// stay 0600 too; without this the database would be 0644, SQLite's default.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
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

// Check verifies the database file and the full-text index against the messages (SQLite's
// integrity_check and FTS5's integrity-check); it reads everything, so it is for tests and
// repair tools, not for every start.
func (s *Store) Check() error {
	var res string
	if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("history check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("history check: %s", res)
	}
	if _, err := s.db.Exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		return fmt.Errorf("history check: the search index: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Add stores a record and returns its ID. When it returns, the record is committed: a crash
// of the process afterwards does not lose it. The peer's nick, address and identity are
// remembered for Contacts.
func (s *Store) Add(r Record) (int64, error) {
	ids, err := s.insert([]Record{r})
	if err != nil {
		return 0, fmt.Errorf("storing a message: %w", err)
	}
	return ids[0], nil
}

// AddAll stores many records in one transaction (an import; benchmarks fill a store with
// it). It is all or nothing.
func (s *Store) AddAll(rs []Record) error {
	if _, err := s.insert(rs); err != nil {
		return fmt.Errorf("importing: %w", err)
	}
	return nil
}

// insert stores rs in one transaction, with their peers' rows, and returns their IDs.
func (s *Store) insert(rs []Record) ([]int64, error) {
	tx, err := s.db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO messages(time, peer, peer_id, user, host, addr, nick, direction, kind, text, state, error, packet_no, files, folder, encrypted, images, sealed, read_check, read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	// The peers row keeps the newest non-empty identity of each peer.
	peer, err := tx.Prepare(`INSERT INTO peers(peer, peer_id, user, host, addr, nick, last) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(peer) DO UPDATE SET
			peer_id = CASE WHEN excluded.peer_id != '' THEN excluded.peer_id ELSE peer_id END,
			user = CASE WHEN excluded.user != '' THEN excluded.user ELSE user END,
			host = CASE WHEN excluded.host != '' THEN excluded.host ELSE host END,
			addr = CASE WHEN excluded.addr != '' THEN excluded.addr ELSE addr END,
			nick = CASE WHEN excluded.nick != '' THEN excluded.nick ELSE nick END,
			last = MAX(last, excluded.last)`)
	if err != nil {
		return nil, err
	}
	defer peer.Close()
	ids := make([]int64, len(rs))
	for i, r := range rs {
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		if r.Peer == "" {
			r.Peer = PeerKey(r.PeerID, r.User, r.Host)
		}
		if r.Kind == "" {
			r.Kind = KindText
		}
		var files []byte
		if len(r.Files) > 0 {
			files, _ = json.Marshal(r.Files)
		}
		res, err := ins.Exec(r.Time.UnixMilli(), r.Peer, r.PeerID, r.User, r.Host, r.Addr, r.Nick, r.Direction, r.Kind,
			r.Text, r.State, r.Error, r.PacketNo, string(files), r.Folder, r.Encrypted, imagesJSON(r.Images), r.Sealed, r.ReadCheck, milli(r.ReadAt))
		if err != nil {
			return nil, err
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, err
		}
		if _, err := peer.Exec(r.Peer, r.PeerID, r.User, r.Host, r.Addr, r.Nick, r.Time.UnixMilli()); err != nil {
			return nil, err
		}
	}
	return ids, tx.Commit()
}

// PutTransfer stores a file transfer's record, or updates the one stored for the same offer
// (peer, direction and packet number): a failed download that is accepted again and
// completes is one record that ends "done".
func (s *Store) PutTransfer(r Record) (int64, error) {
	r.Kind = KindFile
	if r.Peer == "" {
		r.Peer = PeerKey(r.PeerID, r.User, r.Host)
	}
	var id int64
	err := s.db.QueryRow(`SELECT id FROM messages WHERE kind = 'file' AND peer = ? AND packet_no = ? AND direction = ?`,
		r.Peer, r.PacketNo, r.Direction).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return s.Add(r)
	}
	if err != nil {
		return 0, fmt.Errorf("storing a transfer: %w", err)
	}
	files, _ := json.Marshal(r.Files)
	if _, err := s.db.Exec(`UPDATE messages SET state = ?, error = ?, files = ?, folder = ? WHERE id = ?`,
		r.State, r.Error, string(files), r.Folder, id); err != nil {
		return 0, fmt.Errorf("storing a transfer: %w", err)
	}
	return id, nil
}

// AddImages adds images to the newest message of peer in direction dir with packet number
// packetNo (the text they came with), and returns its ID; found bool is false when there is
// no such message (an image sent without text): then nothing is stored. A message keeps at
// most MaxImages.
func (s *Store) AddImages(peer string, dir event.Direction, packetNo uint32, ims []Image) (id int64, found bool, err error) {
	tx, err := s.db.Begin()
	if err != nil {
		return 0, false, fmt.Errorf("storing images: %w", err)
	}
	defer tx.Rollback()
	var old string
	err = tx.QueryRow(`SELECT id, images FROM messages WHERE peer = ? AND packet_no = ? AND kind = 'text' AND direction = ? ORDER BY id DESC LIMIT 1`,
		peer, packetNo, dir).Scan(&id, &old)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storing images: %w", err)
	}
	var have []Image
	if old != "" {
		json.Unmarshal([]byte(old), &have)
	}
	for _, im := range ims {
		if !slices.ContainsFunc(have, func(h Image) bool { return h.SHA256 == im.SHA256 && h.Pos == im.Pos }) {
			have = append(have, im)
		}
	}
	slices.SortStableFunc(have, func(a, b Image) int { return a.Pos - b.Pos })
	if _, err := tx.Exec(`UPDATE messages SET images = ? WHERE id = ?`, imagesJSON(have), id); err != nil {
		return 0, false, fmt.Errorf("storing images: %w", err)
	}
	return id, true, tx.Commit()
}

func milli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// SetReadOut records that the colleague peer read our message packetNo (at), and returns
// its ID; 0 when there is no such message, or it was known read already.
func (s *Store) SetReadOut(peer string, packetNo uint32, at time.Time) (int64, error) {
	var id int64
	err := s.db.QueryRow(`UPDATE messages SET read_at = ? WHERE id = (SELECT id FROM messages WHERE peer = ? AND packet_no = ?
		AND direction = 'out' AND kind = 'text' ORDER BY id DESC LIMIT 1) AND read_at = 0 RETURNING id`, at.UnixMilli(), peer, packetNo).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storing a read notice: %w", err)
	}
	return id, nil
}

// MarkRead records that the user read the messages from peer: the one numbered id when id
// is not 0 (a sealed message opened), else every unread one that is not sealed (the
// conversation was opened). It returns the messages it marked, as they were.
func (s *Store) MarkRead(peer string, id int64, at time.Time) ([]Record, error) {
	where := "m.peer = ? AND m.direction = 'in' AND m.kind = 'text' AND m.read_at = 0 AND m.sealed = 0"
	args := []any{peer}
	if id != 0 {
		where, args = "m.peer = ? AND m.id = ? AND m.direction = 'in' AND m.read_at = 0", []any{peer, id}
	}
	rows, err := s.db.Query("SELECT "+columns+" FROM messages m WHERE "+where+" ORDER BY m.id LIMIT 1000", args...)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	var out []Record
	for rows.Next() {
		var r Record
		var ms, readAt int64
		var files, images string
		if err := rows.Scan(&r.ID, &ms, &r.Peer, &r.PeerID, &r.User, &r.Host, &r.Addr, &r.Nick, &r.Direction, &r.Kind, &r.Text, &r.State, &r.Error, &r.PacketNo, &files, &r.Folder, &r.Encrypted, &images, &r.Sealed, &r.ReadCheck, &readAt); err != nil {
			rows.Close()
			return nil, err
		}
		r.Time = time.UnixMilli(ms)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		if _, err := s.db.Exec(`UPDATE messages SET read_at = ? WHERE id = ?`, at.UnixMilli(), r.ID); err != nil {
			return nil, fmt.Errorf("marking read: %w", err)
		}
	}
	return out, nil
}

// ImagesInUse returns the SHA-256 of every image the history references: what the image
// store keeps when it is pruned.
func (s *Store) ImagesInUse() (map[string]bool, error) {
	rows, err := s.db.Query(`SELECT images FROM messages WHERE images != ''`)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, fmt.Errorf("reading the history: %w", err)
		}
		var ims []Image
		json.Unmarshal([]byte(js), &ims)
		for _, im := range ims {
			out[im.SHA256] = true
		}
	}
	return out, rows.Err()
}

// SetDelivered records that an outgoing message was delivered, with the packet number it
// went out with (0 keeps the stored one) and whether it went encrypted (a message queued
// for a colleague who has proved their key since goes over their channel).
func (s *Store) SetDelivered(id int64, packetNo uint32, encrypted bool) error {
	_, err := s.db.Exec(`UPDATE messages SET state = ?, error = '', encrypted = ?, packet_no = CASE WHEN ? != 0 THEN ? ELSE packet_no END WHERE id = ?`,
		StateDelivered, encrypted, packetNo, packetNo, id)
	if err != nil {
		return fmt.Errorf("storing a message's outcome: %w", err)
	}
	return nil
}

// SetState records what became of an outgoing message: its state, why it failed (errText),
// and the packet number it went out with (0 keeps the stored one).
func (s *Store) SetState(id int64, state, errText string, packetNo uint32) error {
	_, err := s.db.Exec(`UPDATE messages SET state = ?, error = ?, packet_no = CASE WHEN ? != 0 THEN ? ELSE packet_no END WHERE id = ?`,
		state, errText, packetNo, packetNo, id)
	if err != nil {
		return fmt.Errorf("updating a message: %w", err)
	}
	return nil
}

// Interrupted marks messages left "sending" by a node that stopped (or was killed) before
// their outcome was known as failed, and returns how many there were.
func (s *Store) Interrupted() (int64, error) {
	res, err := s.db.Exec(`UPDATE messages SET state = ?, error = ? WHERE state = ?`,
		StateFailed, "FeiGo stopped before the peer acknowledged", StateSending)
	if err != nil {
		return 0, fmt.Errorf("history: %w", err)
	}
	return res.RowsAffected()
}

// Filter selects records. Zero fields select everything.
type Filter struct {
	Peer   string    // a peer key
	Search string    // words that must all occur in the text
	Since  time.Time // at or after
	Before int64     // records stored before the one with this ID (paging back)
	State  string    // only records in this state
	Limit  int       // the most recent Limit records (all when 0)
}

const columns = "m.id, m.time, m.peer, m.peer_id, m.user, m.host, m.addr, m.nick, m.direction, m.kind, m.text, m.state, m.error, m.packet_no, m.files, m.folder, m.encrypted, m.images, m.sealed, m.read_check, m.read_at"

// Query returns the records that match f, oldest first. Records are ordered by when they
// were stored, which is the order they happened in.
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
	if f.Before > 0 {
		where = append(where, "m.id < ?")
		args = append(args, f.Before)
	}
	if f.State != "" {
		where = append(where, "m.state = ?")
		args = append(args, f.State)
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
	q := "SELECT " + columns + " FROM messages m"
	order := " ORDER BY m.id DESC"
	if len(match) > 0 {
		// The full-text index drives, newest first (FTS5 walks its rowids backwards), so
		// a common word stops after Limit matches instead of sorting every one.
		q = "SELECT " + columns + " FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid"
		where = append([]string{"f.messages_fts MATCH ?"}, where...)
		args = append([]any{strings.Join(match, " AND ")}, args...)
		order = " ORDER BY f.rowid DESC"
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += order
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
		var files, images string
		var readAt int64
		if err := rows.Scan(&r.ID, &ms, &r.Peer, &r.PeerID, &r.User, &r.Host, &r.Addr, &r.Nick, &r.Direction, &r.Kind, &r.Text, &r.State, &r.Error, &r.PacketNo, &files, &r.Folder, &r.Encrypted, &images, &r.Sealed, &r.ReadCheck, &readAt); err != nil {
			return nil, err
		}
		if readAt != 0 {
			r.ReadAt = time.UnixMilli(readAt)
		}
		if images != "" {
			json.Unmarshal([]byte(images), &r.Images) // written by Add; a damaged list shows none
		}
		r.Time = time.UnixMilli(ms)
		if files != "" {
			json.Unmarshal([]byte(files), &r.Files) // written by Add; a damaged list shows no files
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// QueuedPeers returns the keys of the peers that messages are queued for.
func (s *Store) QueuedPeers() ([]string, error) {
	rows, err := s.db.Query(`SELECT DISTINCT peer FROM messages WHERE state = ?`, StateQueued)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Contact is a peer the history knows, as last seen.
type Contact struct {
	Peer   string    `json:"peer"` // its key
	PeerID string    `json:"peer_id,omitempty"`
	User   string    `json:"user,omitempty"`
	Host   string    `json:"host,omitempty"`
	Addr   string    `json:"addr,omitempty"`
	Nick   string    `json:"nick,omitempty"`
	Last   time.Time `json:"last"`
}

// Contacts returns every peer the history holds a record of, the most recent first.
func (s *Store) Contacts() ([]Contact, error) {
	rows, err := s.db.Query(`SELECT peer, peer_id, user, host, addr, nick, last FROM peers ORDER BY last DESC`)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		var ms int64
		if err := rows.Scan(&c.Peer, &c.PeerID, &c.User, &c.Host, &c.Addr, &c.Nick, &ms); err != nil {
			return nil, err
		}
		c.Last = time.UnixMilli(ms)
		out = append(out, c)
	}
	return out, rows.Err()
}

const contactColumns = "peer, peer_id, user, host, addr, nick, last"

func scanContact(row *sql.Row) (Contact, bool, error) {
	var c Contact
	var ms int64
	err := row.Scan(&c.Peer, &c.PeerID, &c.User, &c.Host, &c.Addr, &c.Nick, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, false, nil
	}
	if err != nil {
		return Contact{}, false, fmt.Errorf("history: %w", err)
	}
	c.Last = time.UnixMilli(ms)
	return c, true, nil
}

// ContactNamed returns the peer the history knows as user@host: of several, the one last
// at addr, else the most recent. It is an index search, however many contacts there are.
func (s *Store) ContactNamed(user, host, addr string) (Contact, bool, error) {
	return scanContact(s.db.QueryRow(`SELECT `+contactColumns+` FROM peers WHERE user = ? AND host = ?
		ORDER BY addr = ? DESC, last DESC LIMIT 1`, user, host, addr))
}

// ContactAt returns the peer the history last saw at addr. It is an index search.
// ContactOf returns the contact kept under the peer key peer.
func (s *Store) ContactOf(peer string) (Contact, bool, error) {
	return scanContact(s.db.QueryRow(`SELECT `+contactColumns+` FROM peers WHERE peer = ?`, peer))
}

func (s *Store) ContactAt(addr string) (Contact, bool, error) {
	return scanContact(s.db.QueryRow(`SELECT `+contactColumns+` FROM peers WHERE addr = ? ORDER BY last DESC LIMIT 1`, addr))
}

// Clear deletes a peer's whole history, except messages still queued for it, and returns
// how many records went.
func (s *Store) Clear(peer string) (int64, error) {
	res, err := s.db.Exec(`DELETE FROM messages WHERE peer = ? AND state != ?`, peer, StateQueued)
	if err != nil {
		return 0, fmt.Errorf("clearing the history: %w", err)
	}
	return res.RowsAffected()
}

// Rename files everything kept under the peer key from under to instead (with peer ID to):
// a colleague known by their FeiGo ID is known by their key's fingerprint once they proved
// it, and keeps their conversation, queue and contact. It returns how many messages moved;
// renaming a key that has nothing is a no-op.
func (s *Store) Rename(from, to string) (int64, error) {
	if from == "" || to == "" || from == to {
		return 0, nil
	}
	// Most colleagues who prove a key have nothing kept under their FeiGo ID (they are new,
	// or moved already): a look is cheaper than a transaction for each of them.
	var kept bool
	if err := s.db.QueryRow(`SELECT EXISTS(SELECT 1 FROM messages WHERE peer = ?) OR EXISTS(SELECT 1 FROM peers WHERE peer = ?)`, from, from).Scan(&kept); err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	if !kept {
		return 0, nil
	}
	tx, err := s.db.Begin()
	if err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.Exec(`UPDATE messages SET peer = ?, peer_id = ? WHERE peer = ?`, to, to, from)
	if err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	moved, _ := res.RowsAffected()
	// The contact: merged into one already under to (the newer wins), else renamed.
	if _, err := tx.Exec(`INSERT INTO peers(peer, peer_id, user, host, addr, nick, last)
		SELECT ?, ?, user, host, addr, nick, last FROM peers WHERE peer = ? AND true
		ON CONFLICT(peer) DO UPDATE SET
			user = CASE WHEN excluded.last > last THEN excluded.user ELSE user END,
			host = CASE WHEN excluded.last > last THEN excluded.host ELSE host END,
			addr = CASE WHEN excluded.last > last THEN excluded.addr ELSE addr END,
			nick = CASE WHEN excluded.last > last THEN excluded.nick ELSE nick END,
			last = MAX(last, excluded.last)`, to, to, from); err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM peers WHERE peer = ?`, from); err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("renaming in the history: %w", err)
	}
	return moved, nil
}

// Prune deletes records older than before (retention), except messages still queued, and
// returns how many went.
func (s *Store) Prune(before time.Time) (int64, error) {
	res, err := s.db.Exec(`DELETE FROM messages WHERE time < ? AND state != ?`, before.UnixMilli(), StateQueued)
	if err != nil {
		return 0, fmt.Errorf("pruning the history: %w", err)
	}
	// A room's old messages keep their signed headers (members still count them) but not
	// their text, nor the link to their messages row, just deleted (its ID may be reused).
	if _, err := s.db.Exec(`UPDATE room_events SET body = NULL, message = 0
		WHERE time < ? AND kind IN ('msg', 'files') AND (body IS NOT NULL OR message != 0)`, before.UnixMilli()); err != nil {
		return 0, fmt.Errorf("pruning the history: %w", err)
	}
	return res.RowsAffected()
}

// Holding returns which of the peer keys have anything in the history (messages or a
// contact): one look for a batch of colleagues coming online.
func (s *Store) Holding(keys []string) (map[string]bool, error) {
	return s.among(keys, `SELECT peer FROM messages WHERE peer IN (%s) UNION SELECT peer FROM peers WHERE peer IN (%[1]s)`, 2)
}

// Queuing returns which of the peer keys have messages queued for them.
func (s *Store) Queuing(keys []string) (map[string]bool, error) {
	return s.among(keys, `SELECT DISTINCT peer FROM messages WHERE state = 'queued' AND peer IN (%s)`, 1)
}

// among runs query, whose %s is a list of placeholders repeated uses times, for the keys
// in batches, and returns the peers it selects.
func (s *Store) among(keys []string, query string, uses int) (map[string]bool, error) {
	const batch = 200
	out := map[string]bool{}
	for len(keys) > 0 {
		part := keys[:min(batch, len(keys))]
		keys = keys[len(part):]
		marks := strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")
		args := make([]any, 0, uses*len(part))
		for range uses {
			for _, k := range part {
				args = append(args, k)
			}
		}
		rows, err := s.db.Query(fmt.Sprintf(query, marks), args...)
		if err != nil {
			return nil, fmt.Errorf("reading the history: %w", err)
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading the history: %w", err)
			}
			out[p] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("reading the history: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading the history: %w", err)
		}
	}
	return out, nil
}
