// Package room is FeiGo's group rooms without a server: a room is a log of signed events
// (its creation, members added, removed or leaving, renames, messages) that every member
// keeps and hands on to the others.
//
// An event is signed by its author's Ed25519 identity key (the key FeiGo colleagues prove
// over TLS, package trust) and names that key, whose fingerprint is the author's ID, so a
// member can pass any event on and the receiver still knows who wrote it. The signature
// covers a SHA-256 of the body, so an event can also travel without its body (redacted: to a
// member who was not in the room when it was written) and still be checked and counted.
//
// Every member folds the same events into the same room (Fold): events are ordered by
// Lamport clock, then author, then the author's sequence number; the author of each must be
// a member at that point; anyone may add, anyone may leave, only the creator may remove and
// rename. Events between members travel only over their TLS channels (package lan's
// FeiGo-only room request); clients that cannot encrypt never see any of it.
package room

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"feigo/trust"
)

// Kind is what an event does.
type Kind string

// The kinds of events.
const (
	KindCreate Kind = "create" // the room's first event, by its creator: name, first members
	KindAdd    Kind = "add"    // members added (any member may)
	KindRemove Kind = "remove" // a member removed (the creator only)
	KindLeave  Kind = "leave"  // the author leaves
	KindRename Kind = "rename" // a new name (the creator only)
	KindMsg    Kind = "msg"    // a message
	KindFiles  Kind = "files"  // files offered to the room (each member gets their own offer)
)

// Control reports whether events of kind k change the room (and not only its conversation).
func (k Kind) Control() bool { return k != KindMsg && k != KindFiles }

// Bounds: what one event may carry and how big a room may get. What exceeds them is refused.
const (
	MaxBody     = 24 << 10 // an event's body, bytes
	MaxText     = 16 << 10 // a message's text, bytes
	MaxName     = 80       // a room's name, characters
	MaxNick     = 80       // a member's nickname hint, characters
	MaxMembers  = 256      // members of one room
	MaxFiles    = 100      // file names in a files event
	MaxControls = 2048     // change events (create, add, remove, leave, rename) in one room
	// MaxClock bounds Lamport clocks, so a hostile member cannot push every clock to the end
	// of its range.
	MaxClock = 1 << 48
)

// Event is one signed room event as it travels and is kept.
type Event struct {
	Room   string `json:"room"`   // 32 hex digits
	Author string `json:"author"` // the author's key's fingerprint
	Key    []byte `json:"key"`    // the author's Ed25519 public key
	Seq    uint64 `json:"seq"`    // the author's events in this room: 1, 2, 3…
	Clock  uint64 `json:"clock"`  // Lamport clock
	Kind   Kind   `json:"kind"`
	Time   int64  `json:"time"` // Unix milliseconds, as the author's clock says
	Hash   []byte `json:"hash"` // SHA-256 of Body
	Sig    []byte `json:"sig"`  // Ed25519 over Signed()
	// Body is the event's JSON (see Body); nil when the event is redacted.
	Body []byte `json:"body,omitempty"`
}

// Body is what an event says, by kind.
type Body struct {
	Name    string   `json:"name,omitempty"`    // create, rename
	Nonce   []byte   `json:"nonce,omitempty"`   // create: the room ID is derived from it and the creator's key
	Members []Member `json:"members,omitempty"` // create, add
	Member  string   `json:"member,omitempty"`  // remove: the member removed
	// Cutoff (remove) is the removed member's last event the creator had when removing
	// them: their events after it are refused wherever their clocks put them, so a removed
	// member cannot write into the room by backdating.
	Cutoff uint64   `json:"cutoff,omitempty"`
	Text   string   `json:"text,omitempty"`  // msg; files: the note
	Files  []string `json:"files,omitempty"` // files: the names offered
	// Salt makes the hash of a short body (a "yes") impossible to guess from a redacted event.
	Salt []byte `json:"salt"`
}

// Member is a room member: their key's fingerprint and the nickname they had when added (a
// hint for members who never saw them online).
type Member struct {
	ID   string `json:"id"`
	Nick string `json:"nick,omitempty"`
}

// Errors of events that are refused.
var (
	ErrBadSignature = errors.New("room event: bad signature")
	ErrMalformed    = errors.New("room event: malformed")
)

// ID derives a room's ID from its creator's key and the creation's nonce: 128 bits, and
// nobody but the key's holder can sign a creation for it.
func ID(creator ed25519.PublicKey, nonce []byte) string {
	h := sha256.New()
	h.Write([]byte("feigo room id 1\x00"))
	h.Write(creator)
	h.Write(nonce)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Signed is the bytes the author signs: a fixed layout of every field but the body, whose
// hash stands for it.
func (e *Event) Signed() []byte {
	b := make([]byte, 0, 160)
	b = append(b, "feigo room event 1\x00"...)
	str := func(s string) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	str(e.Room)
	str(e.Author)
	str(string(e.Key))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, e.Clock)
	str(string(e.Kind))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	str(string(e.Hash))
	return b
}

// Sign completes e (its key, author, hash) and signs it with id.
func Sign(id *trust.Identity, e *Event) {
	e.Key = append([]byte(nil), id.Pub...)
	e.Author = id.Fingerprint().String()
	h := sha256.Sum256(e.Body)
	e.Hash = h[:]
	e.Sig = id.Sign(e.Signed())
}

// Verify checks e's form, that its key is its author's (the fingerprint is the key's
// SHA-256), its signature, and that its body, if present, is the one signed.
func (e *Event) Verify() error {
	if len(e.Room) != 32 || !isHex(e.Room) || len(e.Key) != ed25519.PublicKeySize || len(e.Hash) != sha256.Size ||
		len(e.Sig) != ed25519.SignatureSize || e.Seq == 0 || e.Clock == 0 || e.Clock > MaxClock || len(e.Body) > MaxBody {
		return ErrMalformed
	}
	switch e.Kind {
	case KindCreate, KindAdd, KindRemove, KindLeave, KindRename, KindMsg, KindFiles:
	default:
		return ErrMalformed
	}
	if trust.FingerprintOf(e.Key).String() != e.Author {
		return ErrBadSignature
	}
	if !ed25519.Verify(e.Key, e.Signed(), e.Sig) {
		return ErrBadSignature
	}
	if e.Body != nil {
		if h := sha256.Sum256(e.Body); string(h[:]) != string(e.Hash) {
			return ErrBadSignature
		}
	}
	if e.Kind.Control() && e.Body == nil {
		return ErrMalformed // changes are never redacted: every member folds them
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// Redacted returns e without its body.
func (e Event) Redacted() Event {
	e.Body = nil
	return e
}

// Decode reads e's body and checks it against what its kind allows. A redacted event has
// none: its zero Body is returned.
func (e *Event) Decode() (Body, error) {
	var b Body
	if e.Body == nil {
		return b, nil
	}
	if err := json.Unmarshal(e.Body, &b); err != nil {
		return b, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	bad := len(b.Members) > MaxMembers || len(b.Files) > MaxFiles || len(b.Text) > MaxText ||
		utf8.RuneCountInString(b.Name) > MaxName || !utf8.ValidString(b.Text) || !utf8.ValidString(b.Name)
	for _, m := range b.Members {
		if len(m.ID) != 52 || utf8.RuneCountInString(m.Nick) > MaxNick {
			bad = true
		}
	}
	switch e.Kind {
	case KindCreate:
		bad = bad || len(b.Nonce) != 16 || ID(e.Key, b.Nonce) != e.Room || b.Name == ""
	case KindAdd:
		bad = bad || len(b.Members) == 0
	case KindRemove:
		bad = bad || len(b.Member) != 52
	case KindRename:
		bad = bad || b.Name == ""
	case KindMsg:
		bad = bad || b.Text == ""
	case KindFiles:
		bad = bad || len(b.Files) == 0
	}
	if bad {
		return b, ErrMalformed
	}
	return b, nil
}

// NewBody encodes b with a fresh salt.
func NewBody(b Body) []byte {
	b.Salt = make([]byte, 12)
	rand.Read(b.Salt)
	out, _ := json.Marshal(b)
	return out
}

// NewRoomID returns a fresh nonce and the ID of the room creator would create with it.
func NewRoomID(creator ed25519.PublicKey) (id string, nonce []byte) {
	nonce = make([]byte, 16)
	rand.Read(nonce)
	return ID(creator, nonce), nonce
}

// Pos is an event's place in a room's order: Lamport clock, then author, then sequence.
type Pos struct {
	Clock  uint64
	Author string
	Seq    uint64
}

// Pos returns e's place in the order.
func (e *Event) Pos() Pos { return Pos{e.Clock, e.Author, e.Seq} }

// Less orders positions.
func (p Pos) Less(q Pos) bool {
	if p.Clock != q.Clock {
		return p.Clock < q.Clock
	}
	if p.Author != q.Author {
		return p.Author < q.Author
	}
	return p.Seq < q.Seq
}
