package xfer

import (
	"context"
	"encoding/json"
	"errors"
	"feigo/event"
	"feigo/ipmsg"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Transfer states.
const (
	StateOffered   = "offered"   // in: waiting for the user; out: waiting for the peers
	StateActive    = "active"    // bytes are moving (or about to)
	StateDone      = "done"      // everything accepted arrived whole
	StateFailed    = "failed"    // see Error; an incoming one can be accepted again to resume
	StateDeclined  = "declined"  // the receiver said no
	StateCancelled = "cancelled" // stopped by this side or the other
)

// Per-file and per-recipient states, besides the transfer states above.
const (
	FilePending = "pending"
	FileSkipped = "skipped"
)

// Defaults of the transfer settings.
const (
	DefaultOfferTTL      = 24 * time.Hour
	DefaultFetchPatience = 2 * time.Minute
)

// Errors of the transfer API.
var (
	ErrNoTransfer = errors.New("no such transfer")
	ErrDiskFull   = errors.New("the disk is full")
	ErrRefused    = errors.New("the sender refused: the offer was withdrawn, has expired or was never made to us")
	ErrMismatch   = errors.New("SHA-256 mismatch: the file changed or was damaged on the way")
)

// TransferFile is one file or folder of a transfer.
type TransferFile struct {
	ipmsg.FileInfo
	// Path is, going out, the file to read; coming in, where it was saved once complete.
	Path string `json:"path,omitempty"`
	// Part is the partial file or folder being received, relative to Dest.
	Part  string `json:"part,omitempty"`
	Done  int64  `json:"done"`
	State string `json:"state"`
	// Rate and ETA are set on the file being received while it moves (incoming files are
	// fetched one after another, so the transfer's rate is this file's).
	Rate   float64 `json:"rate,omitempty"`
	ETA    float64 `json:"eta_seconds,omitempty"`
	SHA256 string  `json:"sha256,omitempty"`
	Error  string  `json:"error,omitempty"`
	// Stamp identifies, going out, the file as it was offered (see FileStamp).
	Stamp FileStamp `json:"stamp,omitzero"`
	// At is, for an image shown inline (FileClipboard), its byte offset in the message's
	// text; Format its format (png, jpeg, gif) when sent.
	At     int    `json:"at,omitempty"`
	Format string `json:"format,omitempty"`
}

// Recipient is one peer an outgoing offer went to.
type Recipient struct {
	PeerID  string         `json:"peer_id,omitempty"`
	Nick    string         `json:"nick,omitempty"`
	User    string         `json:"user,omitempty"`
	Host    string         `json:"host,omitempty"`
	Addr    netip.AddrPort `json:"addr"`
	State   string         `json:"state"`
	Done    int64          `json:"done"`
	Fetched []uint32       `json:"fetched,omitempty"` // file IDs received whole
	Error   string         `json:"error,omitempty"`
	FeiGo   bool           `json:"feigo,omitempty"`
	Iptux   bool           `json:"iptux,omitempty"`
	// Clip: the recipient shows images inline (CLIPBOARDOPT); others get them as files.
	Clip bool `json:"clip,omitempty"`
	// Key is the identity key the recipient proved when the offer was made: the files are
	// then served only over TLS, to that key, and only with Token, a random token made for
	// this recipient of this offer and sent to it inside its encrypted channel. (A recipient
	// with a key and no token comes from a FeiGo that made none: the key alone serves it.)
	// The token is kept in the state folder, never shown.
	Key   []byte `json:"key,omitempty"`
	Token string `json:"-"`
}

// Transfer is an offer of files and what became of it, in either direction.
type Transfer struct {
	ID        int             `json:"id"`
	Direction event.Direction `json:"direction"`
	State     string          `json:"state"`
	PacketNo  uint32          `json:"packet_no"`
	PeerID    string          `json:"peer_id,omitempty"` // in: the sender
	Nick      string          `json:"nick,omitempty"`
	User      string          `json:"user,omitempty"` // in: the sender's login and host
	Host      string          `json:"host,omitempty"`
	Addr      netip.AddrPort  `json:"addr,omitzero"`
	Text      string          `json:"text,omitempty"`
	Files     []TransferFile  `json:"files"`
	// Recipients of an outgoing offer.
	Recipients []Recipient `json:"recipients,omitempty"`
	// Dest is the folder an incoming transfer is saved in.
	Dest    string    `json:"dest,omitempty"`
	Total   int64     `json:"total"` // bytes (out: times the recipients)
	Done    int64     `json:"done"`
	Rate    float64   `json:"rate"`                  // bytes per second, smoothed
	ETA     float64   `json:"eta_seconds,omitempty"` // at the current rate
	Error   string    `json:"error,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Expires time.Time `json:"expires,omitzero"`
	// How to talk to the sender of an incoming offer.
	FeiGo bool `json:"feigo,omitempty"` // it verifies with SHA-256
	Iptux bool `json:"iptux,omitempty"` // it ignores offsets: never resume from it
	// DirResume: it resumes folders (CapDirResume); others send a folder from its start.
	DirResume bool   `json:"dir_resume,omitempty"`
	UTF8      bool   `json:"utf8,omitempty"` // its offer had UTF8OPT
	Charset   string `json:"charset,omitempty"`
	// SenderKey is the key of the sender of an incoming offer that came over its encrypted
	// channel: the files are fetched over TLS bound to it, presenting Token (kept in the
	// state folder, never shown).
	SenderKey []byte `json:"sender_key,omitempty"`
	Token     string `json:"-"`
	// Inline marks the images of a message (IPMsg's clipboard attachments): going out, sent
	// with SendImages; coming in, fetched at once into Config.ImageDir, never offered to the
	// user as files.
	Inline bool `json:"inline,omitempty"`
}

// Final reports whether the transfer has ended.
func (t Transfer) Final() bool {
	switch t.State {
	case StateDone, StateFailed, StateDeclined, StateCancelled:
		return true
	}
	return false
}

func (t Transfer) clone() Transfer {
	t.Files = slices.Clone(t.Files)
	t.Recipients = slices.Clone(t.Recipients)
	for i := range t.Recipients {
		t.Recipients[i].Fetched = slices.Clone(t.Recipients[i].Fetched)
	}
	return t
}

// xfer is a transfer with its live counters.
type xfer struct {
	t        Transfer // guarded by transfers.mu
	fileDone []atomic.Int64
	rcptDone []atomic.Int64
	cancel   context.CancelFunc // of the running fetch (in)
	conns    map[net.Conn]int   // open connections → the recipient served (-1 coming in)
	released map[int]bool       // recipients whose RELEASEFILES came while a fetch was open
	final    chan struct{}
	running  bool
	weight   int64 // about the size of t's file, as made (see Limits.MaxOfferBytes)
	// rate meter, touched only by the progress ticker
	lastBytes int64
	lastTime  time.Time
}

func newXfer(t Transfer) *xfer {
	x := &xfer{t: t, fileDone: make([]atomic.Int64, len(t.Files)), rcptDone: make([]atomic.Int64, len(t.Recipients)),
		conns: map[net.Conn]int{}, released: map[int]bool{}, final: make(chan struct{})}
	for i, f := range t.Files {
		x.fileDone[i].Store(f.Done)
	}
	for i, r := range t.Recipients {
		x.rcptDone[i].Store(r.Done)
	}
	if t.Final() {
		close(x.final)
	}
	if b, err := json.Marshal(t); err == nil {
		x.weight = int64(len(b))
	}
	return x
}

func (x *xfer) bytes() int64 {
	var s int64
	if x.t.Direction == event.Out {
		for i := range x.rcptDone {
			s += x.rcptDone[i].Load()
		}
		return s
	}
	for i := range x.fileDone {
		s += x.fileDone[i].Load()
	}
	return s
}

// snapshot returns a copy with the live counters filled in; transfers.mu must be held.
func (x *xfer) snapshot() Transfer {
	t := x.t.clone()
	for i := range t.Files {
		t.Files[i].Done = x.fileDone[i].Load()
	}
	for i := range t.Recipients {
		t.Recipients[i].Done = x.rcptDone[i].Load()
	}
	t.Done = x.bytes()
	if t.State == StateActive && t.Direction == event.In && t.Rate > 0 {
		for i := range t.Files {
			if f := &t.Files[i]; f.State == FilePending && f.Done > 0 && f.Done < f.Size {
				f.Rate, f.ETA = t.Rate, float64(f.Size-f.Done)/t.Rate
			}
		}
	}
	return t
}

// transfers is the node's table of transfers, persisted in Config.StateDir so that offers
// survive a restart of the sender and partial downloads one of the receiver.
//
// Each transfer is one small file in the folder "transfers" of the state directory
// (ID.json, owner-only, written whole to a temporary file and renamed over the old one), so
// a change costs a write of that transfer alone, whatever else the table holds; the file goes
// when the transfer is forgotten. Only transfers that changed are written (progress never
// is: the partial files hold it), at most once per saveEvery while the engine runs, and at
// once when it stops. The table is bounded, and so the folder: incoming transfers not yet
// ended by Limits (offers per sender and in all, their stored size), ended ones to the newest
// keepFinal within half of Limits.MaxOfferBytes; outgoing ones are the user's own.
type transfers struct {
	mu     sync.Mutex
	all    map[int]*xfer
	nextID int
	dir    string        // the folder of transfer files; "" when not persisted
	dirty  map[int]bool  // IDs changed since written; an ID no longer in all: its file goes
	kick   chan struct{} // while Run's saver runs: asks it to write; nil: writes are synchronous
	saveMu sync.Mutex    // one save at a time, so a newer state is never overwritten by an older
	writes atomic.Int64  // transfer files written (tests)
	wrote  atomic.Int64  // bytes of them (tests)
}

// storedTransfer is a transfer's file: the transfer with the secrets that are never shown.
type storedTransfer struct {
	Transfer
	Token  string   `json:"token,omitempty"`  // in: the token to present to the sender
	Tokens []string `json:"tokens,omitempty"` // out: each recipient's token, in order
}

// legacyFile is the transfers.json of FeiGo before the transfers folder: read once, then
// removed.
type legacyFile struct {
	NextID    int        `json:"next_id"`
	Transfers []Transfer `json:"transfers"`
}

// saveEvery is the shortest time between two saves of the changed transfers.
const saveEvery = 500 * time.Millisecond

// keepFinal is how many ended transfers are kept for `feigo transfers`.
const keepFinal = 200

// maxStoredTransfer bounds a transfer file that is read back: an offer of MaxOfferFiles
// files with the longest names is far below it.
const maxStoredTransfer = 16 << 20

func loadTransfers(stateDir string) (*transfers, error) {
	ts := &transfers{all: map[int]*xfer{}, nextID: 1, dirty: map[int]bool{}}
	if stateDir == "" {
		return ts, nil
	}
	ts.dir = filepath.Join(stateDir, "transfers")
	if err := os.MkdirAll(ts.dir, 0o700); err != nil {
		return nil, fmt.Errorf("reading transfers: %w", err)
	}
	ents, err := os.ReadDir(ts.dir)
	if err != nil {
		return nil, fmt.Errorf("reading transfers: %w", err)
	}
	for _, de := range ents {
		name := de.Name()
		p := filepath.Join(ts.dir, name)
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(p) // a write cut short; the file it was to replace is intact
			continue
		}
		idText, ok := strings.CutSuffix(name, ".json")
		if !ok {
			continue // set aside earlier, or not ours
		}
		st, err := readStored(p, de)
		if err != nil || strconv.Itoa(st.ID) != idText || st.ID <= 0 {
			// Do not lose it: keep the damaged file aside and go on without it.
			os.Rename(p, p+".damaged")
			continue
		}
		ts.put(st)
	}
	if err := ts.migrate(filepath.Join(stateDir, "transfers.json")); err != nil {
		return nil, err
	}
	return ts, nil
}

// readStored reads one transfer file, refusing anything but a bounded regular file.
func readStored(p string, de fs.DirEntry) (storedTransfer, error) {
	var st storedTransfer
	if !de.Type().IsRegular() {
		return st, errors.New("not a regular file")
	}
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return st, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return st, errors.New("not a regular file") // a link opened as itself (Windows)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStoredTransfer+1))
	if err != nil {
		return st, err
	}
	if len(b) > maxStoredTransfer {
		return st, errors.New("too large")
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

// put adds a transfer read from the state folder, with its secrets.
func (ts *transfers) put(st storedTransfer) {
	t := st.Transfer
	t.Files = slices.Clone(t.Files)
	t.Token = st.Token
	if t.Direction == event.Out {
		for i := range t.Recipients {
			if i < len(st.Tokens) {
				t.Recipients[i].Token = st.Tokens[i]
			}
		}
	}
	if t.ID >= ts.nextID {
		ts.nextID = t.ID + 1
	}
	ts.all[t.ID] = newXfer(t)
}

// migrate reads the transfers.json of an earlier FeiGo into the folder, then removes it. A
// damaged one is set aside, as before.
func (ts *transfers) migrate(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading transfers: %w", err)
	}
	var f legacyFile
	if err := json.Unmarshal(b, &f); err != nil {
		os.Rename(path, path+".damaged")
		return nil
	}
	ts.nextID = max(ts.nextID, f.NextID)
	for _, t := range f.Transfers {
		if _, ok := ts.all[t.ID]; ok || t.ID <= 0 {
			continue // already migrated by a start that stopped before removing the file
		}
		ts.put(storedTransfer{Transfer: t})
		ts.dirty[t.ID] = true
	}
	if err := ts.save(); err != nil {
		return fmt.Errorf("moving transfers.json into %s: %w", ts.dir, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing transfers.json after moving it: %w", err)
	}
	return nil
}

// changed records that the transfers marked dirty changed: Run's saver writes them soon, or,
// when the engine is not running, they are written now.
func (ts *transfers) changed() error {
	if ts.dir == "" {
		return nil
	}
	ts.mu.Lock()
	kick := ts.kick
	ts.mu.Unlock()
	if kick == nil {
		return ts.save()
	}
	select {
	case kick <- struct{}{}:
	default: // a write is already asked for; it will include this change
	}
	return nil
}

// markLocked records that transfer id changed or went; mu must be held.
func (ts *transfers) markLocked(id int) {
	if ts.dir != "" {
		ts.dirty[id] = true
	}
}

// saveLoop writes the table when asked, at most once per saveEvery, until ctx ends. The
// caller writes what is left after it returns (stopSaver, flush).
func (ts *transfers) saveLoop(ctx context.Context, kick <-chan struct{}, log func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		if err := ts.save(); err != nil {
			log(err)
		}
		pause := time.NewTimer(saveEvery)
		select {
		case <-ctx.Done():
			pause.Stop()
			return
		case <-pause.C:
		}
	}
}

// startSaver makes changes go through a saver; it returns the channel saveLoop must read.
func (ts *transfers) startSaver() <-chan struct{} {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.kick = make(chan struct{}, 1)
	return ts.kick
}

// stopSaver makes changes write synchronously again and writes what the saver left.
func (ts *transfers) stopSaver() error {
	ts.mu.Lock()
	ts.kick = nil
	dirty := len(ts.dirty) > 0
	ts.mu.Unlock()
	if !dirty {
		return nil
	}
	return ts.save()
}

// save writes the files of the transfers that changed and removes those of the transfers
// forgotten; mu must not be held. What fails to be written is tried again at the next save.
func (ts *transfers) save() error {
	if ts.dir == "" {
		return nil
	}
	ts.saveMu.Lock()
	defer ts.saveMu.Unlock()
	type job struct {
		id int
		st *storedTransfer // nil: remove
	}
	ts.mu.Lock()
	jobs := make([]job, 0, len(ts.dirty))
	for id := range ts.dirty {
		x, ok := ts.all[id]
		if !ok {
			jobs = append(jobs, job{id: id})
			continue
		}
		st := storedTransfer{Transfer: x.snapshot(), Token: x.t.Token}
		if x.t.Direction == event.Out && slices.ContainsFunc(x.t.Recipients, func(r Recipient) bool { return r.Token != "" }) {
			for _, r := range x.t.Recipients {
				st.Tokens = append(st.Tokens, r.Token)
			}
		}
		st.Rate, st.ETA = 0, 0
		jobs = append(jobs, job{id: id, st: &st})
	}
	clear(ts.dirty)
	ts.mu.Unlock()
	var firstErr error
	var failed []int
	for _, j := range jobs {
		p := filepath.Join(ts.dir, strconv.Itoa(j.id)+".json")
		var err error
		if j.st == nil {
			if err = os.Remove(p); errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		} else {
			err = ts.write(p, j.st)
		}
		if err != nil {
			failed = append(failed, j.id)
			if firstErr == nil {
				firstErr = fmt.Errorf("saving transfer %d: %w", j.id, err)
			}
		}
	}
	if len(failed) > 0 {
		ts.mu.Lock()
		for _, id := range failed {
			ts.dirty[id] = true
		}
		ts.mu.Unlock()
	}
	return firstErr
}

// write writes one transfer file atomically: a temporary file, synced, renamed over it.
func (ts *transfers) write(p string, st *storedTransfer) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	ts.writes.Add(1)
	ts.wrote.Add(int64(len(b)))
	return nil
}

func (ts *transfers) add(t Transfer) *xfer {
	x := newXfer(t)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.addLocked(x)
	return x
}

// addLocked gives x the next ID and puts it in the table; mu must be held.
func (ts *transfers) addLocked(x *xfer) {
	x.t.ID = ts.nextID
	ts.nextID++
	ts.all[x.t.ID] = x
	ts.markLocked(x.t.ID)
}

// addIncoming adds an incoming offer from the sender at ip (with FeiGo ID peerID, if known)
// unless that would pass lim; why then says which bound.
func (ts *transfers) addIncoming(t Transfer, ip netip.Addr, peerID string, lim Limits) (x *xfer, why string) {
	x = newXfer(t)
	weight := x.weight
	if weight > lim.MaxOfferBytes/32 {
		return nil, fmt.Sprintf("an offer of about %s, over the bound of %s", FormatSize(weight), FormatSize(lim.MaxOfferBytes/32))
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var live, fromPeer int
	var liveBytes, peerBytes int64
	for _, o := range ts.all {
		if o.t.Direction != event.In || o.t.Final() {
			continue
		}
		live++
		liveBytes += o.weight
		if o.t.Addr.Addr() == ip || (peerID != "" && o.t.PeerID == peerID) {
			fromPeer++
			peerBytes += o.weight
		}
	}
	switch {
	case fromPeer >= lim.MaxOffersPerPeer:
		return nil, fmt.Sprintf("%d offers from this sender are not yet ended, the bound", fromPeer)
	case peerBytes+weight > lim.MaxOfferBytes/8:
		return nil, fmt.Sprintf("the offers from this sender not yet ended would take over %s", FormatSize(lim.MaxOfferBytes/8))
	case live >= lim.MaxOffers:
		return nil, fmt.Sprintf("%d incoming offers are not yet ended, the bound", live)
	case liveBytes+weight > lim.MaxOfferBytes:
		return nil, fmt.Sprintf("the incoming offers not yet ended would take over %s", FormatSize(lim.MaxOfferBytes))
	}
	ts.addLocked(x)
	return x, ""
}

// pruneFinal forgets the oldest ended transfers beyond the newest keepFinal, and beyond
// budget bytes of them.
func (ts *transfers) pruneFinal(budget int64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var ended []*xfer
	for _, x := range ts.all {
		if x.t.Final() {
			ended = append(ended, x)
		}
	}
	if len(ended) <= keepFinal {
		var sum int64
		for _, x := range ended {
			sum += x.weight
		}
		if sum <= budget {
			return
		}
	}
	sort.Slice(ended, func(i, j int) bool { return ended[i].t.ID > ended[j].t.ID })
	var sum int64
	for k, x := range ended {
		sum += x.weight
		if k >= keepFinal || sum > budget {
			delete(ts.all, x.t.ID)
			ts.markLocked(x.t.ID)
		}
	}
}

func (ts *transfers) get(id int) (*xfer, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	x, ok := ts.all[id]
	return x, ok
}

// Transfers returns every transfer the node knows, oldest first.
func (e *Engine) Transfers() []Transfer {
	e.xfers.mu.Lock()
	out := make([]Transfer, 0, len(e.xfers.all))
	for _, x := range e.xfers.all {
		out = append(out, x.snapshot())
	}
	e.xfers.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Transfer returns one transfer.
func (e *Engine) Transfer(id int) (Transfer, error) {
	x, ok := e.xfers.get(id)
	if !ok {
		return Transfer{}, fmt.Errorf("%w: %d", ErrNoTransfer, id)
	}
	e.xfers.mu.Lock()
	defer e.xfers.mu.Unlock()
	return x.snapshot(), nil
}

// WaitTransfer waits until the transfer has ended and returns it.
func (e *Engine) WaitTransfer(ctx context.Context, id int) (Transfer, error) {
	x, ok := e.xfers.get(id)
	if !ok {
		return Transfer{}, fmt.Errorf("%w: %d", ErrNoTransfer, id)
	}
	select {
	case <-x.final:
	case <-ctx.Done():
		return Transfer{}, ctx.Err()
	}
	e.xfers.mu.Lock()
	defer e.xfers.mu.Unlock()
	return x.snapshot(), nil // x itself: an ended transfer may have been pruned from the table
}

// update changes a transfer under the lock, has the table saved and emits the event typ
// (if not ""). A transfer that becomes final is marked so, and the oldest ended ones beyond
// the bounds are forgotten.
func (e *Engine) update(x *xfer, typ event.Type, fn func(t *Transfer)) Transfer {
	e.xfers.mu.Lock()
	wasFinal := x.t.Final()
	fn(&x.t)
	x.t.Updated = e.now()
	e.xfers.markLocked(x.t.ID)
	becameFinal := !wasFinal && x.t.Final()
	if becameFinal {
		close(x.final)
		x.t.Rate, x.t.ETA = 0, 0
	}
	snap := x.snapshot()
	e.xfers.mu.Unlock()
	if becameFinal {
		e.xfers.pruneFinal(e.cfg.Limits.MaxOfferBytes / 2)
	}
	if err := e.xfers.changed(); err != nil {
		e.log.Error("saving transfers", "err", err)
	}
	if becameFinal && typ == "" {
		typ = event.TransferFailed
		if snap.State == StateDone {
			typ = event.TransferDone
		}
	}
	if typ != "" {
		e.emit(typ, snap)
	}
	return snap
}

// progressLoop refreshes the rate and ETA of moving transfers twice a second and emits
// transfer_progress for those that moved: the one throttled source of progress events.
func (e *Engine) progressLoop(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := e.now()
		var moved []Transfer
		e.xfers.mu.Lock()
		for _, x := range e.xfers.all {
			if x.t.State != StateActive {
				x.lastTime = time.Time{}
				continue
			}
			b := x.bytes()
			if x.lastTime.IsZero() {
				x.lastBytes, x.lastTime = b, now
				continue
			}
			dt := now.Sub(x.lastTime).Seconds()
			if dt <= 0 {
				continue
			}
			inst := float64(b-x.lastBytes) / dt
			if x.t.Rate == 0 {
				x.t.Rate = inst
			} else {
				x.t.Rate = 0.5*x.t.Rate + 0.5*inst
			}
			total := x.t.Total
			if x.t.Rate > 0 && total > b {
				x.t.ETA = float64(total-b) / x.t.Rate
			} else {
				x.t.ETA = 0
			}
			if b != x.lastBytes {
				moved = append(moved, x.snapshot())
			}
			x.lastBytes, x.lastTime = b, now
		}
		e.xfers.mu.Unlock()
		for i := range moved {
			e.emit(event.TransferProgress, moved[i])
		}
	}
}

// expireOffers ends outgoing offers past their expiry, and incoming ones not accepted by
// theirs; called by housekeeping.
func (e *Engine) expireOffers() {
	now := e.now()
	var expired, unaccepted []*xfer
	e.xfers.mu.Lock()
	for _, x := range e.xfers.all {
		switch {
		case x.t.Direction == event.Out && !x.t.Final() && !x.t.Expires.IsZero() && now.After(x.t.Expires):
			expired = append(expired, x)
		case x.t.Direction == event.In && x.t.State == StateOffered:
			exp := x.t.Expires
			if exp.IsZero() { // kept by a FeiGo that did not expire incoming offers
				exp = x.t.Created.Add(e.cfg.OfferTTL)
			}
			if now.After(exp) {
				unaccepted = append(unaccepted, x)
			}
		}
	}
	e.xfers.mu.Unlock()
	for _, x := range unaccepted {
		e.update(x, "", func(t *Transfer) {
			if t.State == StateOffered { // not accepted meanwhile
				t.State, t.Error = StateFailed, "the offer expired before it was accepted"
			}
		})
	}
	for _, x := range expired {
		e.update(x, "", func(t *Transfer) {
			for i := range t.Recipients {
				if r := &t.Recipients[i]; !recipientFinal(r.State) {
					r.State, r.Error = StateFailed, "the offer expired before it was fetched"
				}
			}
			settleOut(t)
		})
	}
}

func recipientFinal(s string) bool {
	return s == StateDone || s == StateFailed || s == StateDeclined || s == StateCancelled
}

// settleOut sets an outgoing transfer's state from its recipients' once all have ended.
func settleOut(t *Transfer) {
	var done, declined, ended int
	var why string
	for _, r := range t.Recipients {
		if !recipientFinal(r.State) {
			if r.State == StateActive && t.State == StateOffered {
				t.State = StateActive
			}
			continue
		}
		ended++
		switch r.State {
		case StateDone:
			done++
		case StateDeclined:
			declined++
			if why == "" {
				why = describe(r.Nick, r.Addr) + " declined"
			}
		default:
			if why == "" || r.State == StateFailed {
				why = describe(r.Nick, r.Addr) + ": " + r.Error
			}
		}
	}
	if ended < len(t.Recipients) {
		return
	}
	switch {
	case done == len(t.Recipients):
		t.State, t.Error = StateDone, ""
	case declined == len(t.Recipients):
		t.State, t.Error = StateDeclined, why
	default:
		t.State, t.Error = StateFailed, why
	}
}

func describe(nick string, addr netip.AddrPort) string {
	if nick == "" {
		return addr.String()
	}
	return fmt.Sprintf("%s (%s)", nick, addr.Addr())
}

// FormatSize writes a byte count for people, in binary units: "512 B", "3.0 MiB". The CLI and
// the window both show sizes this way.
func FormatSize(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}
