package xfer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"feigo/event"
	"feigo/internal/oserr"
	"feigo/ipmsg"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxDirDepth bounds how deep a folder stream nests. Each level holds an open os.Root (a
// file descriptor) while the stream is read, and real trees are far shallower.
const maxDirDepth = 32

// ErrTooMuch is a folder stream that holds more than its offer announced or than the
// limits allow. The transfer fails; what arrived before is kept as the partial folder.
var ErrTooMuch = errors.New("the folder is larger than offered or allowed")

// recvBuf is the receive buffer: large, so that a fast link costs few system calls.
const recvBuf = 1 << 20

// retryable marks a fetch error after which trying again may succeed (the link, not the data).
type retryable struct{ err error }

// errUnreachable is a fetch's error when nothing listens at the sender's address.
var errUnreachable = errors.New("the sender does not answer on its file port")

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func isRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// writeErr explains a failed write to the download folder.
func writeErr(name string, err error) error {
	if oserr.DiskFull(err) {
		return fmt.Errorf("writing %s: %w (%v); the partial file is kept, free some space and accept again to resume", name, ErrDiskFull, err)
	}
	return fmt.Errorf("writing %s: %w", name, err)
}

// Sender is who made an incoming offer, as the messaging layer knows them, and the offer's
// note.
type Sender struct {
	PeerID, Nick, User, Host string
	Text                     string
	// Key is the sender's identity key when the offer came over its encrypted channel: the
	// offer's token is then believed, and the files are fetched over TLS bound to that key.
	Key []byte
}

// OnOffer records an incoming offer: p is a new SENDMSG with FILEATTACHOPT from from, its
// strings in cs. It reports whether p held files or images it took (otherwise it is only a
// message). An offer
// beyond Limits (too many files, too many offers from this sender or in all, too large) is
// refused: logged, at most once a minute per sender, and otherwise ignored. An offer not
// accepted within Config.OfferTTL expires.
func (e *Engine) OnOffer(p ipmsg.Packet, from netip.AddrPort, cs ipmsg.Charset, msg Sender) bool {
	i := bytes.IndexByte(p.Body, 0)
	if i < 0 {
		return false
	}
	infos := ipmsg.ParseFileList(ipmsg.CutOfferToken(p.Body)[i+1:], cs)
	inline := false
	if e.cfg.ImageDir != "" {
		var clips []ipmsg.FileInfo
		infos = slices.DeleteFunc(infos, func(f ipmsg.FileInfo) bool {
			if f.IsClip() {
				clips = append(clips, f)
			}
			return f.IsClip()
		})
		if len(clips) > 0 {
			inline = e.takeInline(p, from, cs, msg, clips)
		}
	}
	if len(infos) == 0 {
		// A message; with images only, it is reported with them (the owner's
		// message_images), not as an empty message first.
		return inline
	}
	lim := e.cfg.Limits
	if len(infos) > lim.MaxOfferFiles {
		e.logRefusal(from.Addr(), "refused file offer", "why", fmt.Sprintf("%d files, over the bound of %d", len(infos), lim.MaxOfferFiles))
		return true
	}
	now := e.now()
	t := Transfer{
		Direction: event.In, State: StateOffered, PacketNo: p.No, PeerID: msg.PeerID, Nick: msg.Nick,
		User: msg.User, Host: msg.Host, Addr: from, Text: clipText(msg.Text, lim.MaxOfferText),
		Created: now, Updated: now, Expires: now.Add(e.cfg.OfferTTL),
		UTF8: p.Cmd.Has(ipmsg.UTF8Opt), Charset: cs.String(),
	}
	if len(msg.Key) > 0 {
		t.SenderKey, t.Token = slices.Clone(msg.Key), ipmsg.OfferToken(p.Body)
	}
	if peer, ok := e.table.ByAddr(from); ok {
		t.FeiGo = !e.cfg.NoVerify && peer.Client == string(ipmsg.ClientFeiGo) && slices.Contains(peer.Caps, CapSHA256)
		t.DirResume = t.FeiGo && slices.Contains(peer.Caps, CapDirResume)
		t.Iptux = peer.Client == string(ipmsg.ClientIptux)
	}
	for _, f := range infos {
		t.Files = append(t.Files, TransferFile{FileInfo: f, State: FilePending})
		t.Total += f.Size
	}
	x, why := e.xfers.addIncoming(t, from.Addr(), msg.PeerID, lim)
	if x == nil {
		e.logRefusal(from.Addr(), "refused file offer", "why", why)
		return true
	}
	snap := e.update(x, event.TransferOffered, func(*Transfer) {})
	e.log.Info("file offer", "from", from, "id", snap.ID, "files", len(snap.Files), "bytes", snap.Total)
	if e.cfg.AcceptDir != "" {
		if _, err := e.Accept(snap.ID, e.cfg.AcceptDir, nil); err != nil {
			e.log.Error("accepting automatically", "id", snap.ID, "err", err)
		}
	}
	return true
}

// takeInline fetches the images embedded in an incoming message (clipboard entries, their
// positions as IPMsg counts them) into Config.ImageDir at once, as an Inline transfer: at
// most MaxInline of them, each at most MaxInlineBytes (others are dropped, with a log line),
// within the limits on offers of Limits. Each file's At is its byte offset in msg.Text.
func (e *Engine) takeInline(p ipmsg.Packet, from netip.AddrPort, cs ipmsg.Charset, msg Sender, clips []ipmsg.FileInfo) bool {
	slices.SortStableFunc(clips, func(a, b ipmsg.FileInfo) int { return a.Pos - b.Pos })
	now := e.now()
	t := Transfer{
		Direction: event.In, State: StateOffered, PacketNo: p.No, PeerID: msg.PeerID, Nick: msg.Nick,
		User: msg.User, Host: msg.Host, Addr: from, Inline: true,
		Created: now, Updated: now, Expires: now.Add(e.cfg.OfferTTL),
		UTF8: p.Cmd.Has(ipmsg.UTF8Opt), Charset: cs.String(),
	}
	if len(msg.Key) > 0 {
		t.SenderKey, t.Token = slices.Clone(msg.Key), ipmsg.OfferToken(p.Body)
	}
	if peer, ok := e.table.ByAddr(from); ok {
		t.FeiGo = !e.cfg.NoVerify && peer.Client == string(ipmsg.ClientFeiGo) && slices.Contains(peer.Caps, CapSHA256)
		t.Iptux = peer.Client == string(ipmsg.ClientIptux)
	}
	dropped, over := 0, 0
	for k, f := range clips {
		if len(t.Files) >= MaxInline || f.Size > MaxInlineBytes || f.Size == 0 {
			dropped++
			continue
		}
		if !e.inline.take(from.Addr(), f.Size, now) {
			over++
			continue
		}
		at := ipmsg.ClipOffset(msg.Text, f.Pos, k)
		t.Files = append(t.Files, TransferFile{FileInfo: f, State: FilePending, At: at})
		t.Total += f.Size
	}
	if dropped > 0 {
		e.logRefusal(from.Addr(), "dropped embedded images", "why", fmt.Sprintf("%d over the bounds (%d images of %s each)", dropped, MaxInline, FormatSize(MaxInlineBytes)))
	}
	if over > 0 {
		e.logRefusal(from.Addr(), "dropped embedded images: over the budget of embedded images",
			"why", fmt.Sprintf("%d over %s an hour from one sender, %s from all", over, FormatSize(InlineSenderBytes), FormatSize(InlineAllBytes)))
	}
	if len(t.Files) == 0 {
		return false
	}
	x, why := e.xfers.addIncoming(t, from.Addr(), msg.PeerID, e.cfg.Limits)
	if x == nil {
		e.logRefusal(from.Addr(), "refused embedded images", "why", why)
		return false
	}
	snap := e.update(x, event.TransferOffered, func(*Transfer) {})
	if _, err := e.Accept(snap.ID, e.cfg.ImageDir, nil); err != nil {
		e.log.Error("fetching embedded images", "id", snap.ID, "err", err)
	}
	return true
}

// inlineBudget is what embedded images may still bring, per sender address and from all
// senders together: token buckets of bytes, full at InlineSenderBytes and InlineAllBytes and
// regained at that much per InlineRefill. The senders remembered are bounded: past
// maxInlineSenders, those whose bucket refilled are forgotten, then all (the budget of all
// senders together still holds).
type inlineBudget struct {
	mu  sync.Mutex
	per map[netip.Addr]*byteBucket
	all byteBucket
}

type byteBucket struct {
	used float64 // bytes taken and not yet regained
	at   time.Time
}

const maxInlineSenders = 4096

// regain lowers what b used by what was regained since its last use, at rate bytes an hour.
func (b *byteBucket) regain(now time.Time, full float64) {
	if dt := now.Sub(b.at); dt > 0 {
		b.used = max(0, b.used-full*dt.Seconds()/InlineRefill.Seconds())
	}
	b.at = now
}

// take takes n bytes from ip's budget and all senders', if both have them.
func (g *inlineBudget) take(ip netip.Addr, n int64, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.per == nil {
		g.per = map[netip.Addr]*byteBucket{}
	}
	b := g.per[ip]
	if b == nil {
		if len(g.per) >= maxInlineSenders {
			for k, x := range g.per {
				if x.regain(now, InlineSenderBytes); x.used == 0 {
					delete(g.per, k)
				}
			}
			if len(g.per) >= maxInlineSenders {
				clear(g.per)
			}
		}
		b = &byteBucket{at: now}
		g.per[ip] = b
	}
	b.regain(now, InlineSenderBytes)
	g.all.regain(now, InlineAllBytes)
	if b.used+float64(n) > InlineSenderBytes || g.all.used+float64(n) > InlineAllBytes {
		return false
	}
	b.used += float64(n)
	g.all.used += float64(n)
	return true
}

// clipText cuts s to at most n bytes on a character boundary, marking the cut with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// AskShared asks an iptux peer for the files it shares. Its answer is an offer like any
// other (a transfer_offered event), fetched the same way.
func (e *Engine) AskShared(to netip.AddrPort) error {
	cs, flag := e.m.Encoding(to)
	e.m.Write(to, e.m.Packet(cs, flag, ipmsg.IptuxAskShared, []byte{0}))
	return nil
}

// prepareDest makes sure dir exists and can be written, and returns it absolute.
func prepareDest(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("no download folder given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("cannot save into %s: %w", abs, err)
	}
	probe, err := os.CreateTemp(abs, ".feigo-probe-*")
	if err != nil {
		return "", fmt.Errorf("cannot save into %s: %w", abs, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return abs, nil
}

// Accept starts fetching an incoming offer into dir (the configured download folder when ""),
// only the files named in only when it is not empty. A failed transfer may be accepted again:
// it resumes from what was already received.
func (e *Engine) Accept(id int, dir string, only []string) (Transfer, error) {
	x, ok := e.xfers.get(id)
	if !ok || x.t.Direction != event.In {
		return Transfer{}, fmt.Errorf("%w: %d is not an incoming offer", ErrNoTransfer, id)
	}
	if dir == "" {
		dir = e.cfg.DownloadDir
	}
	e.xfers.mu.Lock()
	state, dest, running, why := x.t.State, x.t.Dest, x.running, x.t.Error
	e.xfers.mu.Unlock()
	if running {
		return Transfer{}, fmt.Errorf("transfer %d is already running", id)
	}
	switch state {
	case StateOffered:
	case StateFailed, StateActive:
		if dest == "" { // ended before it was ever accepted: it expired
			return Transfer{}, fmt.Errorf("transfer %d has ended: %s", id, why)
		}
		if dest != "" {
			dir = dest // resume where the partial files are
		}
	default:
		return Transfer{}, fmt.Errorf("transfer %d is %s", id, state)
	}
	abs, err := prepareDest(dir)
	if err != nil {
		return Transfer{}, err
	}
	var selErr error
	snap := e.update(x, event.TransferStarted, func(t *Transfer) {
		if len(only) > 0 && t.State == StateOffered {
			picked := 0
			for i := range t.Files {
				if slices.Contains(only, t.Files[i].Name) {
					picked++
				} else {
					t.Files[i].State = FileSkipped
				}
			}
			if picked == 0 {
				for i := range t.Files {
					t.Files[i].State = FilePending
				}
				selErr = fmt.Errorf("none of %q is in transfer %d", only, id)
				return
			}
		}
		t.State, t.Dest, t.Error = StateActive, abs, ""
		t.Total = 0
		for _, f := range t.Files {
			if f.State != FileSkipped {
				t.Total += f.Size
			}
		}
	})
	if selErr != nil {
		return Transfer{}, selErr
	}
	e.startIncoming(x)
	return snap, nil
}

// startIncoming runs the fetch of x in the background.
func (e *Engine) startIncoming(x *xfer) {
	e.runMu.Lock()
	if e.closing || e.ctx == nil {
		e.runMu.Unlock()
		return // before Run: Run resumes it; after: the next start does
	}
	e.wg.Add(1)
	ctx, cancel := context.WithCancel(e.ctx)
	e.runMu.Unlock()
	e.xfers.mu.Lock()
	x.cancel, x.running = cancel, true
	e.xfers.mu.Unlock()
	go func() {
		defer e.wg.Done()
		defer cancel()
		e.runIncoming(ctx, x)
		e.xfers.mu.Lock()
		x.running = false
		e.xfers.mu.Unlock()
	}()
}

// Decline refuses an incoming offer and tells the sender (RELEASEFILES). On a transfer that
// is running it is Cancel.
func (e *Engine) Decline(id int) error {
	x, ok := e.xfers.get(id)
	if !ok || x.t.Direction != event.In {
		return fmt.Errorf("%w: %d is not an incoming offer", ErrNoTransfer, id)
	}
	e.xfers.mu.Lock()
	state := x.t.State
	e.xfers.mu.Unlock()
	if state != StateOffered {
		return e.Cancel(id)
	}
	snap := e.update(x, "", func(t *Transfer) { t.State, t.Error = StateDeclined, "declined" })
	e.release(snap)
	return nil
}

// Cancel stops a transfer in either direction. The other side learns it: a sender gets
// RELEASEFILES, a receiver finds the offer withdrawn.
func (e *Engine) Cancel(id int) error {
	x, ok := e.xfers.get(id)
	if !ok {
		return fmt.Errorf("%w: %d", ErrNoTransfer, id)
	}
	e.xfers.mu.Lock()
	final, dir, cancel, running := x.t.Final(), x.t.Direction, x.cancel, x.running
	e.xfers.mu.Unlock()
	if final {
		return fmt.Errorf("transfer %d has already ended", id)
	}
	if dir == event.Out {
		e.cancelOut(x)
		return nil
	}
	snap := e.update(x, "", func(t *Transfer) { t.State, t.Error = StateCancelled, "cancelled" })
	if running {
		cancel() // the fetch removes its partials as it ends
	} else {
		e.removePartials(x)
	}
	e.xfers.mu.Lock()
	for c := range x.conns {
		c.Close()
	}
	e.xfers.mu.Unlock()
	e.release(snap)
	return nil
}

// removePartials deletes what a cancelled incoming transfer left half-received.
func (e *Engine) removePartials(x *xfer) {
	e.xfers.mu.Lock()
	t := x.t.clone()
	e.xfers.mu.Unlock()
	if t.Dest == "" {
		return
	}
	root, err := os.OpenRoot(t.Dest)
	if err != nil {
		return
	}
	defer root.Close()
	for _, f := range t.Files {
		if f.Part != "" && f.State != StateDone {
			if err := root.RemoveAll(f.Part); err != nil {
				e.log.Warn("removing a partial file", "name", f.Part, "err", err)
			}
		}
	}
}

// release sends RELEASEFILES for an incoming offer, three times since it is not acknowledged.
func (e *Engine) release(t Transfer) {
	addr := e.senderAddr(t)
	cs, flag := e.m.Encoding(addr)
	body := []byte(strconv.FormatUint(uint64(t.PacketNo), 10) + "\x00")
	for range 3 {
		e.m.Write(addr, e.m.Packet(cs, flag, ipmsg.ReleaseFiles, body))
	}
}

// senderAddr is where an incoming offer's sender is now: its peer entry's address if it has
// moved, else where the offer came from.
func (e *Engine) senderAddr(t Transfer) netip.AddrPort {
	if t.PeerID != "" {
		if p, ok := e.table.Get(t.PeerID); ok {
			return p.Addr
		}
	}
	return t.Addr
}

// resumeIncoming restarts the incoming transfers that were running when the node stopped.
func (e *Engine) resumeIncoming() {
	var run []*xfer
	e.xfers.mu.Lock()
	for _, x := range e.xfers.all {
		if x.t.Direction == event.In && x.t.State == StateActive && !x.running {
			run = append(run, x)
		}
	}
	e.xfers.mu.Unlock()
	for _, x := range run {
		e.log.Info("resuming transfer", "id", x.t.ID)
		e.startIncoming(x)
	}
}

// maxInlineTries bounds the tries of an embedded image that make no progress.
const maxInlineTries = 3

// runIncoming fetches every pending file of x, retrying each while the link is the problem;
// an inline transfer from which nothing came ends at its first failed image.
func (e *Engine) runIncoming(ctx context.Context, x *xfer) {
	var firstErr error
	e.xfers.mu.Lock()
	count, inline := len(x.t.Files), x.t.Inline
	e.xfers.mu.Unlock()
	for i := range count {
		e.xfers.mu.Lock()
		st := x.t.Files[i].State
		e.xfers.mu.Unlock()
		if st == StateDone || st == FileSkipped {
			continue
		}
		err := e.fetchWithRetry(ctx, x, i)
		if ctx.Err() != nil {
			// Cancelled by the user (already recorded): the partials go. The node stopping
			// leaves them, to resume on the next start.
			e.xfers.mu.Lock()
			cancelled := x.t.State == StateCancelled
			e.xfers.mu.Unlock()
			if cancelled {
				e.removePartials(x)
			}
			return
		}
		if err != nil {
			e.update(x, "", func(t *Transfer) { t.Files[i].State, t.Files[i].Error = StateFailed, err.Error() })
			if firstErr == nil {
				firstErr = err
			}
			if errors.Is(err, ErrDiskFull) || errors.Is(err, errUnreachable) || (inline && x.bytes() == 0) {
				if x.bytes() == 0 {
					e.removePartials(x) // nothing came: leave no empty partial files behind
				}
				break // the other files would fail the same way
			}
		}
	}
	snap := e.update(x, "", func(t *Transfer) {
		if firstErr != nil {
			t.State, t.Error = StateFailed, firstErr.Error()
			return
		}
		t.State = StateDone
	})
	if snap.State == StateDone && slices.ContainsFunc(snap.Files, func(f TransferFile) bool { return f.State == FileSkipped }) {
		e.release(snap) // the sender need not keep the files we did not want
	}
}

func (e *Engine) fetchWithRetry(ctx context.Context, x *xfer, i int) error {
	e.xfers.mu.Lock()
	dir, inline := x.t.Files[i].IsDir(), x.t.Inline
	e.xfers.mu.Unlock()
	lastMoved := time.Now()
	refusals, tries := 0, 0
	wait := 300 * time.Millisecond
	// A folder may start again from its beginning (a sender that cannot resume it, or a
	// resumed one that did not match what was held): only getting further into it than any
	// attempt before is progress, else a sender could keep it fetching forever.
	var best int64
	for {
		moved, err := e.fetchOnce(ctx, x, i)
		if err == nil || ctx.Err() != nil {
			return err
		}
		progressed := moved > 0
		if dir {
			reached := x.fileDone[i].Load() // where in the folder's content the attempt got
			progressed, best = reached > best, max(best, reached)
		}
		if progressed {
			lastMoved, refusals, tries = time.Now(), 0, 0
			wait = 300 * time.Millisecond
		}
		if errors.Is(err, errUnreachable) && x.bytes() == 0 {
			// Nothing listens where the offer came from and nothing ever came from there:
			// a forged offer (retrying would aim connections at a bystander) or a sender
			// gone. Accepting again tries anew.
			return err
		}
		if errors.Is(err, ErrRefused) {
			if refusals++; refusals >= 3 {
				return err
			}
		} else if !isRetryable(err) {
			return err
		}
		if tries++; inline && tries >= maxInlineTries {
			// Fetched without the user's word from an address that may be forged: a
			// bystander is asked a few times, not for FetchPatience.
			return fmt.Errorf("gave up after %d tries: %w", tries, err)
		}
		if time.Since(lastMoved) > e.cfg.FetchPatience {
			return fmt.Errorf("gave up after %v without progress: %w", e.cfg.FetchPatience, err)
		}
		e.log.Info("fetch interrupted; retrying", "id", x.t.ID, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 3*time.Second)
	}
}

// uniqueName returns a candidate name for base such that neither it nor (when withPart) it
// with the partial suffix exists in dir.
func uniqueName(root *os.Root, dir, base string, withPart bool) (string, error) {
	for k := range maxNameTries {
		cand := candidate(base, k, nil)
		_, err1 := root.Lstat(path.Join(dir, cand))
		err2 := fs.ErrNotExist
		if withPart {
			_, err2 = root.Lstat(path.Join(dir, cand+PartSuffix))
		}
		if errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist) {
			return cand, nil
		} else if err1 != nil && !errors.Is(err1, fs.ErrNotExist) {
			return "", err1
		}
	}
	return "", fmt.Errorf("no free name for %s", base)
}

// finalize gives a complete partial file its real name, never replacing an existing file:
// a hard link fails if the name is taken, so the check and the rename cannot race.
func finalize(root *os.Root, part, base string) (string, error) {
	dir := path.Dir(part)
	for k := range maxNameTries {
		cand := path.Join(dir, candidate(base, k, nil))
		err := root.Link(part, cand)
		if err == nil {
			root.Remove(part)
			return cand, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// A file system without hard links: check, then rename.
		if _, serr := root.Lstat(cand); errors.Is(serr, fs.ErrNotExist) {
			if err := root.Rename(part, cand); err != nil {
				return "", err
			}
			return cand, nil
		}
	}
	return "", fmt.Errorf("no free name for %s", base)
}

// hangUp closes c and forgets it.
func (e *Engine) hangUp(x *xfer, c net.Conn) {
	c.Close()
	e.xfers.mu.Lock()
	delete(x.conns, c)
	e.xfers.mu.Unlock()
}

// openFetch connects to the sender and sends one request, with the offer's token when it
// came with one (over TLS bound to the key of the sender whose channel brought the offer; for
// an offer kept by an earlier FeiGo, to a sender that proved its key: the messenger decides);
// the connection closes when ctx ends. done hangs up.
func (e *Engine) openFetch(ctx context.Context, x *xfer, t Transfer, mode ipmsg.Command, r ipmsg.FileRequest) (c net.Conn, done func(), err error) {
	addr := e.senderAddr(t)
	cs, flag := e.m.Encoding(addr)
	if t.UTF8 {
		cs, flag = ipmsg.UTF8, true // an offer with UTF8OPT wants it back
	}
	if len(t.SenderKey) > 0 {
		r.Token = t.Token // only ever inside TLS bound to the sender's key
	}
	req, err := e.m.Packet(cs, flag, mode, ipmsg.EncodeFileRequest(r, mode == ipmsg.GetFileData)).Marshal()
	if err != nil {
		return nil, nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err = e.m.DialFiles(dctx, addr, t.SenderKey, req)
	cancel()
	if err != nil {
		if oserr.ConnRefused(err) {
			err = fmt.Errorf("%w (%w)", errUnreachable, err)
		}
		return nil, nil, retryable{fmt.Errorf("connecting to %s: %w", addr, err)}
	}
	e.xfers.mu.Lock()
	x.conns[c] = -1
	e.xfers.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	done = func() {
		stop()
		e.hangUp(x, c)
	}
	return c, done, nil
}

// deadlineReader refreshes a connection's read deadline as data keeps coming.
type deadlineReader struct {
	c    net.Conn
	last time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		d.c.SetReadDeadline(now.Add(ioTimeout))
		d.last = now
	}
	return d.c.Read(p)
}

// receive copies size bytes from r into w and h, counting progress. A failure to write is
// returned as it is; a failure to read is retryable (or ErrRefused when nothing came).
func receive(w io.Writer, h hash.Hash, r io.Reader, size int64, buf []byte, name string, progress func(int64)) error {
	if h != nil && size > int64(len(buf)) {
		// A big file: hash on another core while this one receives and writes. The buffer is
		// cut into slots that go round between the two.
		const slots = 4
		full, free := make(chan []byte, slots), make(chan []byte, slots)
		for k := range slots {
			lo, hi := k*len(buf)/slots, (k+1)*len(buf)/slots
			free <- buf[lo:hi:hi] // capped, so that b[:cap(b)] below is this slot only
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for b := range full {
				h.Write(b)
				free <- b[:cap(b)]
			}
		}()
		defer func() { close(full); <-done }()
		return receiveInto(w, r, size, name, progress, func() []byte { return <-free }, func(b []byte) { full <- b })
	}
	return receiveInto(w, r, size, name, progress, func() []byte { return buf }, func(b []byte) {
		if h != nil {
			h.Write(b)
		}
	})
}

// receiveInto is receive's loop: next gives a buffer to read into, filled takes it back
// once its bytes are written. Each buffer is filled up to fillTo bytes before it is written:
// a TLS connection gives one 16 KiB record per read, and a write per record would cost the
// receiver as many system calls.
func receiveInto(w io.Writer, r io.Reader, size int64, name string, progress func(int64), next func() []byte, filled func([]byte)) error {
	var got int64
	for got < size {
		buf := next()
		want := int(min(int64(len(buf)), fillTo, size-got))
		k := 0
		var rerr error
		for k < want && rerr == nil {
			var n int
			n, rerr = r.Read(buf[k:want])
			k += n
		}
		if k > 0 {
			if _, err := w.Write(buf[:k]); err != nil {
				return writeErr(name, err)
			}
			filled(buf[:k])
			got += int64(k)
			progress(int64(k))
		} else {
			filled(buf[:0])
		}
		if rerr != nil && got < size {
			if rerr == io.EOF {
				return retryable{fmt.Errorf("the connection closed after %d of %d bytes of %s: %w", got, size, name, io.ErrUnexpectedEOF)}
			}
			return retryable{fmt.Errorf("receiving %s: %w", name, rerr)}
		}
	}
	return nil
}

// fillTo is how much receiveInto gathers before writing.
const fillTo = 256 << 10

// fetchOnce makes one attempt at file i and returns how many bytes it moved.
func (e *Engine) fetchOnce(ctx context.Context, x *xfer, i int) (int64, error) {
	e.xfers.mu.Lock()
	t := x.t.clone()
	e.xfers.mu.Unlock()
	root, err := os.OpenRoot(t.Dest)
	if err != nil {
		return 0, fmt.Errorf("opening the download folder: %w", err)
	}
	defer root.Close()
	if t.Files[i].IsDir() {
		return e.fetchDir(ctx, x, t, i, root)
	}
	return e.fetchFile(ctx, x, t, i, root)
}

// choosePart picks (once, then remembers) the partial name of file i.
func (e *Engine) choosePart(x *xfer, t *Transfer, i int, root *os.Root) (base string, err error) {
	base, err = safeName(t.Files[i].Name)
	if err != nil {
		return "", err
	}
	if t.Files[i].Part != "" {
		return base, nil
	}
	name, err := uniqueName(root, ".", base, true)
	if err != nil {
		return "", err
	}
	t.Files[i].Part = name + PartSuffix
	e.update(x, "", func(tt *Transfer) { tt.Files[i].Part = t.Files[i].Part })
	return base, nil
}

func (e *Engine) fetchFile(ctx context.Context, x *xfer, t Transfer, i int, root *os.Root) (int64, error) {
	tf := t.Files[i]
	base, err := e.choosePart(x, &t, i, root)
	if err != nil {
		return 0, err
	}
	part := t.Files[i].Part
	f, err := root.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, writeErr(part, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", part)
	}
	offset := st.Size()
	if offset > tf.Size || t.Iptux { // iptux sends from byte 0 whatever offset is asked
		if err := f.Truncate(0); err != nil {
			return 0, writeErr(part, err)
		}
		offset = 0
	}
	// Between FeiGo peers each file ends with a verdict; its SHA-256 comes too, unless the
	// bytes come over TLS (whose AEAD authenticates every one) from the start: a resumed
	// file is checked whole, so a damaged partial from an earlier run is caught.
	sum := t.FeiGo && (len(t.SenderKey) == 0 || offset > 0)
	var h hash.Hash
	if sum {
		h = sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, offset)); err != nil {
			return 0, fmt.Errorf("reading the partial %s: %w", part, err)
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	x.fileDone[i].Store(offset)
	c, done, err := e.openFetch(ctx, x, t, ipmsg.GetFileData, ipmsg.FileRequest{PacketNo: t.PacketNo, FileID: tf.ID, Offset: offset, FeiGo: t.FeiGo, NoSum: t.FeiGo && !sum})
	if err != nil {
		return 0, err
	}
	defer done()
	var moved int64
	buf := make([]byte, recvBuf)
	r := &deadlineReader{c: c}
	err = receive(f, h, r, tf.Size-offset, buf, tf.Name, func(k int64) { moved += k; x.fileDone[i].Add(k) })
	if err != nil {
		if moved == 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, ErrRefused // closed without a byte: the sender will not serve it
		}
		return moved, err
	}
	var digest string
	if sum {
		want := make([]byte, sha256.Size)
		if _, err := io.ReadFull(r, want); err != nil {
			if moved == 0 && tf.Size == offset {
				return 0, ErrRefused
			}
			return moved, retryable{fmt.Errorf("reading the checksum of %s: %w", tf.Name, err)}
		}
		got := h.Sum(nil)
		if !bytes.Equal(got, want) {
			c.Write([]byte("ERR sha256 mismatch\n"))
			f.Close()
			root.Remove(part)
			return moved, fmt.Errorf("%s: %w", tf.Name, ErrMismatch)
		}
		digest = hex.EncodeToString(got)
	}
	if err := f.Close(); err != nil {
		return moved, writeErr(part, err)
	}
	if tf.MTime > 0 {
		mt := time.Unix(tf.MTime, 0)
		root.Chtimes(part, mt, mt)
	}
	final, err := finalize(root, part, base)
	if err != nil {
		return moved, fmt.Errorf("saving %s: %w", tf.Name, err)
	}
	endFetch(c, t.FeiGo)
	e.update(x, "", func(tt *Transfer) {
		f := &tt.Files[i]
		f.State, f.Error, f.Path, f.SHA256, f.Part = StateDone, "", filepath.Join(tt.Dest, final), digest, ""
	})
	e.log.Info("file received", "name", final, "bytes", tf.Size)
	return moved, nil
}

// fetchDir receives a folder stream into a partial folder, then gives it its real name.
// The stream is trusted for nothing: every name is made safe, every path is created through
// an os.Root on the download folder, and a RETPARENT past the top ends the stream.
func (e *Engine) fetchDir(ctx context.Context, x *xfer, t Transfer, i int, root *os.Root) (int64, error) {
	tf := t.Files[i]
	base, err := e.choosePart(x, &t, i, root)
	if err != nil {
		return 0, err
	}
	part := t.Files[i].Part
	// A FeiGo sender that resumes folders is asked for what an earlier attempt did not get;
	// from others, folders restart from scratch and what an earlier attempt left is removed
	// first.
	// The stream is held to what was offered: a folder's announced size (FeiGo and iptux
	// announce the total of its files), or for one offered with size 0 (legacy clients may)
	// the configured cap; and a bounded number of entries. A record that would pass either
	// fails the folder before anything of it is created. A partial folder holding more than
	// limit is not resumed.
	limit, sized := tf.Size, tf.Size > 0
	if !sized {
		limit = e.cfg.Limits.MaxFolderBytes
	}
	var skip int64
	var partInfo fs.FileInfo // the partial folder measured or made now (see the top record)
	if t.FeiGo && t.DirResume {
		if skip, partInfo, err = heldContent(root, part, e.cfg.Limits.MaxFolderEntries, limit); err != nil {
			e.log.Info("the folder's partial download cannot be resumed: starting again", "name", tf.Name, "err", err)
			skip = 0
		}
	}
	if skip == 0 {
		if err := root.RemoveAll(part); err != nil {
			return 0, writeErr(part, err)
		}
		if err := root.Mkdir(part, 0o755); err != nil {
			return 0, writeErr(part, err)
		}
		// The stream goes into the partial folder measured or made now only, not into
		// another folder a link put in its place meanwhile.
		if partInfo, err = root.Lstat(part); err != nil {
			return 0, writeErr(part, err)
		}
	}
	resuming := skip > 0
	x.fileDone[i].Store(skip)
	// Names clashing past the numbered ones take random ones, the same each attempt (claim).
	clashes := clashNames(t.PacketNo, tf.ID, part)
	sum := t.FeiGo && len(t.SenderKey) == 0 // over TLS, the verdict only (see fetchFile)
	c, done, err := e.openFetch(ctx, x, t, ipmsg.GetDirFiles, ipmsg.FileRequest{PacketNo: t.PacketNo, FileID: tf.ID, FeiGo: t.FeiGo, NoSum: t.FeiGo && !sum, Skip: skip})
	if err != nil {
		return 0, err
	}
	defer done()
	cs := ipmsg.UTF8
	if c2, err := ipmsg.ParseCharset(t.Charset); err == nil && !t.UTF8 {
		cs = c2
	}
	r := bufio.NewReaderSize(&deadlineReader{c: c}, recvBuf)
	buf := make([]byte, recvBuf)
	var moved int64
	progress := func(k int64) { moved += k; x.fileDone[i].Add(k) }
	type dirTime struct {
		path  string
		mtime int64
	}
	// One os.Root per open folder level: each create is a single-component lookup that
	// cannot leave that folder.
	type level struct {
		root    *os.Root
		path    string          // relative to the download folder
		claimed map[string]bool // resuming: the names the stream's entries took here (claim)
	}
	var stack []level
	defer func() {
		for _, l := range stack {
			l.root.Close()
		}
	}()
	// A resumed stream that does not match what the interrupted attempt left (the folder
	// changed at the sender, or a file here differs) starts again from the beginning.
	mismatch := func(what string) error {
		for _, l := range stack {
			l.root.Close()
		}
		stack = nil
		root.RemoveAll(part)
		return retryable{fmt.Errorf("%w: %s; starting the folder again", errResumeMismatch, what)}
	}
	var times []dirTime
	var topMTime int64
	var content int64 // bytes the stream's records announced so far
	tooMuch := func(what string) error {
		return fmt.Errorf("%w: the stream of %s %s; stopped, what arrived is kept in %s",
			ErrTooMuch, tf.Name, what, filepath.Join(t.Dest, part))
	}
	entries := 0
	hdr := make([]byte, ipmsg.MaxDirHeader)
	for {
		if _, err := io.ReadFull(r, hdr[:4]); err != nil {
			if entries == 0 && moved == 0 {
				return 0, ErrRefused
			}
			return moved, retryable{fmt.Errorf("folder stream cut short: %w", err)}
		}
		hlen, err := strconv.ParseUint(string(hdr[:4]), 16, 16)
		if err != nil || hlen < 10 || hlen > ipmsg.MaxDirHeader {
			return moved, fmt.Errorf("bad folder stream from the sender: header length %q", hdr[:4])
		}
		if _, err := io.ReadFull(r, hdr[4:hlen]); err != nil {
			return moved, retryable{fmt.Errorf("folder stream cut short: %w", err)}
		}
		h, err := ipmsg.ParseDirHeader(hdr[:hlen], cs)
		if err != nil {
			return moved, fmt.Errorf("bad folder stream from the sender: %w", err)
		}
		if h.Attr&0xff != ipmsg.FileRetParent {
			if entries++; entries > e.cfg.Limits.MaxFolderEntries {
				return moved, tooMuch(fmt.Sprintf("holds more than %d entries", e.cfg.Limits.MaxFolderEntries))
			}
		}
		if h.Attr&0xff != ipmsg.FileDir && h.Attr&0xff != ipmsg.FileRetParent {
			if h.Size > limit-content && sized {
				return moved, tooMuch("holds more than the " + FormatSize(limit) + " offered")
			}
			if h.Size > limit-content {
				return moved, tooMuch("holds more than the " + FormatSize(limit) + " limit for folders offered without a size")
			}
			content += h.Size
		}
		if len(stack) == 0 {
			if h.Attr&0xff != ipmsg.FileDir {
				return moved, errors.New("bad folder stream from the sender: it does not start with a folder")
			}
			top, err := root.OpenRoot(part)
			if err != nil {
				return moved, writeErr(part, err)
			}
			if fi, err := top.Stat("."); err != nil || !os.SameFile(fi, partInfo) {
				top.Close()
				return moved, fmt.Errorf("%s was replaced while the folder was being fetched", filepath.Join(t.Dest, part))
			}
			stack, topMTime = []level{{top, part, map[string]bool{}}}, h.MTime
			continue
		}
		cur := stack[len(stack)-1]
		switch h.Attr & 0xff {
		case ipmsg.FileRetParent:
			cur.root.Close()
			stack = stack[:len(stack)-1]
		case ipmsg.FileDir:
			if len(stack) >= maxDirDepth {
				return moved, tooMuch(fmt.Sprintf("nests deeper than %d folders", maxDirDepth))
			}
			var name string
			if resuming {
				if name, err = claim(h.Name, cur.claimed, clashes); err == nil {
					if err = cur.root.Mkdir(name, 0o755); errors.Is(err, fs.ErrExist) {
						// Made by the interrupted attempt, unless the sender's folder changed
						// since (a file there is a folder now) or something else took the name.
						if fi, lerr := cur.root.Lstat(name); lerr != nil || !fi.IsDir() {
							return moved, mismatch(path.Join(cur.path, name) + " is not a folder here")
						}
						err = nil
					}
				}
			} else {
				name, err = makeEntry(h.Name, clashes, func(name string) error { return cur.root.Mkdir(name, 0o755) })
			}
			if err != nil {
				return moved, err
			}
			sub, err := cur.root.OpenRoot(name)
			if err != nil {
				return moved, writeErr(name, err)
			}
			p := path.Join(cur.path, name)
			stack = append(stack, level{sub, p, map[string]bool{}})
			times = append(times, dirTime{p, h.MTime})
		case ipmsg.FileRegular:
			var f *os.File
			var name string
			if resuming {
				held := HeldOf(skip, content-h.Size, h.Size)
				if name, err = claim(h.Name, cur.claimed, clashes); err != nil {
					return moved, err
				}
				ok, err := resumeDirFile(cur.root, name, r, h, held, sum, buf, progress)
				if err != nil {
					return moved, err
				}
				if !ok {
					return moved, mismatch(path.Join(cur.path, name) + " differs from the sender's")
				}
			} else {
				name, err = makeEntry(h.Name, clashes, func(name string) (err error) {
					f, err = cur.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
					return err
				})
				if err != nil {
					return moved, err
				}
				if err := receiveDirFile(f, r, h, sum, buf, progress); err != nil {
					return moved, err
				}
			}
			if h.MTime > 0 {
				mt := time.Unix(h.MTime, 0)
				cur.root.Chtimes(name, mt, mt)
			}
		default:
			// Not a file or folder (IPMsg's other kinds): skip its content.
			if _, err := io.CopyN(io.Discard, r, h.Size); err != nil {
				return moved, retryable{fmt.Errorf("folder stream cut short: %w", err)}
			}
		}
		if len(stack) == 0 {
			break // the RETPARENT that leaves the offered folder: the stream is complete
		}
	}
	if resuming && content < skip {
		return moved, mismatch("it held more than the sender's folder holds now")
	}
	for k := len(times) - 1; k >= 0; k-- {
		if times[k].mtime > 0 {
			mt := time.Unix(times[k].mtime, 0)
			root.Chtimes(times[k].path, mt, mt)
		}
	}
	if topMTime > 0 {
		mt := time.Unix(topMTime, 0)
		root.Chtimes(part, mt, mt)
	}
	final, err := uniqueName(root, ".", base, false)
	if err == nil {
		err = root.Rename(part, final)
	}
	if err != nil {
		return moved, fmt.Errorf("saving %s: %w", tf.Name, err)
	}
	endFetch(c, t.FeiGo)
	e.update(x, "", func(tt *Transfer) {
		f := &tt.Files[i]
		f.State, f.Error, f.Path, f.Part = StateDone, "", filepath.Join(tt.Dest, final), ""
	})
	e.log.Info("folder received", "name", final, "bytes", moved, "entries", entries)
	return moved, nil
}

// errResumeMismatch: a resumed folder stream does not match what the interrupted attempt left.
var errResumeMismatch = errors.New("the folder cannot be resumed")

// heldContent is what an interrupted download of a folder left in part: the sizes of its
// regular files together, which is how far into the stream's content it got (files come one
// after the other, so only the last can be partial), and the folder it measured. It is 0
// when part is missing; an error (more than maxEntries entries or maxBytes bytes, folders
// nested deeper than a stream may, anything but files and folders) means starting again.
func heldContent(root *os.Root, part string, maxEntries int, maxBytes int64) (int64, fs.FileInfo, error) {
	fi, err := root.Lstat(part)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if !fi.IsDir() {
		return 0, nil, fmt.Errorf("%s is not a folder", part)
	}
	pr, err := root.OpenRoot(part)
	if err != nil {
		return 0, nil, err
	}
	defer pr.Close()
	if st, err := pr.Stat("."); err != nil || !os.SameFile(st, fi) {
		return 0, nil, fmt.Errorf("%s was replaced while it was measured", part)
	}
	var total int64
	n := 0
	err = fs.WalkDir(pr.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxEntries+1 {
			return fmt.Errorf("more than %d entries", maxEntries)
		}
		// No stream nests deeper (fetchDir); walking a deeper tree that someone put here
		// would cost time growing with the square of its depth.
		if strings.Count(p, "/") >= maxDirDepth {
			return fmt.Errorf("%s nests deeper than %d folders", p, maxDirDepth)
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Size() > maxBytes-total { // checked before adding: never overflows
				return fmt.Errorf("it holds more than the %s the folder may", FormatSize(maxBytes))
			}
			total += info.Size()
		default:
			return fmt.Errorf("%s is neither a file nor a folder", p)
		}
		return nil
	})
	return total, fi, err
}

// claim is makeEntry for a resumed folder: the name the entry took in the interrupted
// attempt, which is the first candidate no earlier entry of its folder in the stream took
// (makeEntry took the first one free, in a folder holding only the stream's earlier entries).
// Where names are compared without case, so are candidates.
func claim(name string, claimed map[string]bool, rnd *rand.Rand) (string, error) {
	safe, err := safeName(name)
	if err != nil {
		return "", fmt.Errorf("bad folder stream from the sender: %w", err)
	}
	for k := range maxNameTries {
		cand := candidate(safe, k, rnd)
		key := cand
		if foldCase {
			key = strings.ToLower(cand)
		}
		if !claimed[key] {
			claimed[key] = true
			return cand, nil
		}
	}
	return "", fmt.Errorf("no free name for %s", safe)
}

// foldCase: the system's usual file systems compare names without case.
const foldCase = runtime.GOOS == "windows" || runtime.GOOS == "darwin"

// resumeDirFile receives one file of a resumed folder stream into name, of which the
// interrupted attempt wrote held bytes (sendDir): a file held whole is only checked against
// the SHA-256 that follows its record, one held in part is completed and checked, one not
// held at all is received as usual (with its SHA-256 when sum). It reports false when what is
// here does not match (missing, of another length, or another content) or is not only the
// partial folder's (a hard link to a file elsewhere, which completing would write to).
func resumeDirFile(dir *os.Root, name string, r io.Reader, h ipmsg.DirHeader, held int64, sum bool, buf []byte, progress func(int64)) (bool, error) {
	f, err := dir.OpenFile(name, os.O_RDWR|oNoFollow|oNonblock, 0)
	if errors.Is(err, fs.ErrNotExist) && held == 0 {
		if f, err = dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return false, writeErr(name, err)
		}
		return true, receiveDirFile(f, r, h, sum, buf, progress)
	}
	if err != nil {
		return false, nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || linked(st) || st.Size() != held {
		f.Close()
		return false, nil
	}
	if held == 0 {
		return true, receiveDirFile(f, r, h, sum, buf, progress)
	}
	defer f.Close()
	d := sha256.New()
	if _, err := io.CopyBuffer(d, io.LimitReader(f, held), buf); err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	if held < h.Size {
		if err := receive(f, d, r, h.Size-held, buf, h.Name, progress); err != nil {
			return false, err
		}
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, want); err != nil {
		return false, retryable{fmt.Errorf("folder stream cut short: %w", err)}
	}
	return bytes.Equal(d.Sum(nil), want), nil
}

// endFetch closes a fetch that succeeded: a FeiGo sender gets the verdict it waits for, a
// legacy one sees us finish.
func endFetch(c net.Conn, feigo bool) {
	if feigo {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("OK\n"))
		return
	}
	halfCloseAndWait(c)
}

// makeEntry makes a name from a folder stream safe, then creates it with create, taking
// another candidate name while the name exists: nothing already there is ever replaced.
func makeEntry(name string, rnd *rand.Rand, create func(string) error) (string, error) {
	safe, err := safeName(name)
	if err != nil {
		return "", fmt.Errorf("bad folder stream from the sender: %w", err)
	}
	for k := range maxNameTries {
		cand := candidate(safe, k, rnd)
		err := create(cand)
		if err == nil {
			return cand, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", writeErr(cand, err)
		}
	}
	return "", fmt.Errorf("no free name for %s", safe)
}

// receiveDirFile writes one file of a folder stream into f and closes it, verifying the
// SHA-256 that follows it when feigo is set.
func receiveDirFile(f *os.File, r io.Reader, h ipmsg.DirHeader, feigo bool, buf []byte, progress func(int64)) error {
	var sum hash.Hash
	if feigo {
		sum = sha256.New()
	}
	if err := receive(f, sum, r, h.Size, buf, h.Name, progress); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return writeErr(h.Name, err)
	}
	if feigo {
		want := make([]byte, sha256.Size)
		if _, err := io.ReadFull(r, want); err != nil {
			return retryable{fmt.Errorf("folder stream cut short: %w", err)}
		}
		if !bytes.Equal(sum.Sum(nil), want) {
			return fmt.Errorf("%s: %w", h.Name, ErrMismatch)
		}
	}
	return nil
}
