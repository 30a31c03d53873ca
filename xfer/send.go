package xfer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"feigo/event"
	"feigo/imgstore"
	"feigo/ipmsg"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// sendChunk is how much one sendfile call moves between deadline and progress updates.
const sendChunk = 4 << 20

// smallFile is the size below which a folder's file is read into memory and written with its
// header in one go instead of through sendfile.
const smallFile = 64 << 10

// ioTimeout is how long a transfer connection may stall before it is given up.
const ioTimeout = 60 * time.Second

// SendFiles offers the files and folders at paths (with text, which may be empty) to each
// address, and returns the new outgoing transfer once every recipient has acknowledged the
// offer or the retries are spent. The files are then served to those recipients until they
// have fetched them, declined, or the offer expires; WaitTransfer waits for that.
func (e *Engine) SendFiles(ctx context.Context, text string, paths []string, to ...netip.AddrPort) (Transfer, error) {
	if len(paths) == 0 {
		return Transfer{}, errors.New("no files to send")
	}
	if len(to) == 0 {
		return Transfer{}, errors.New("no recipient")
	}
	var files []TransferFile
	for i, p := range paths {
		f, err := offerFile(p)
		if err != nil {
			return Transfer{}, err
		}
		f.ID = uint32(i)
		files = append(files, f)
	}
	return e.offer(ctx, text, files, false, to)
}

// MaxInline bounds the images of one message, going out and coming in.
const MaxInline = 20

// MaxInlineBytes bounds one image shown inline (imgstore's bound).
const MaxInlineBytes = imgstore.MaxBytes

// Embedded images are fetched without the user's word and kept: what they may bring is
// bounded, by the sizes their messages state, per sender address (InlineSenderBytes) and
// from all senders together (InlineAllBytes), each regained over InlineRefill. Images over
// it are dropped (logged); their message is still shown.
const (
	InlineSenderBytes = 64 << 20
	InlineAllBytes    = 256 << 20
	InlineRefill      = time.Hour
)

// OutImage is an image to show inline in a message: the PNG, JPEG or GIF file at Path, at
// byte offset At of the message's text.
type OutImage struct {
	Path string
	At   int
	// Name is the name the recipients see; "" is Path's base name.
	Name string
}

// SendImages sends text with images shown inline, as IP Messenger sends pasted pictures: an
// offer whose entries are clipboard attachments (FileClipboard) at their places in the text,
// fetched by the recipients over TCP like any file (over TLS and verified between FeiGo
// peers). A recipient that does not show images inline (no CLIPBOARDOPT: iptux, FeiQ; IPMsg
// for anything but PNG) gets them as ordinary files, with a note in the text naming them.
// It returns as SendFiles does; the transfer is Inline.
func (e *Engine) SendImages(ctx context.Context, text string, images []OutImage, to ...netip.AddrPort) (Transfer, error) {
	if len(images) == 0 {
		return Transfer{}, errors.New("no images to send")
	}
	if len(images) > MaxInline {
		return Transfer{}, fmt.Errorf("%d images in one message: at most %d", len(images), MaxInline)
	}
	if len(to) == 0 {
		return Transfer{}, errors.New("no recipient")
	}
	var files []TransferFile
	for i, im := range images {
		f, err := offerFile(im.Path)
		if err != nil {
			return Transfer{}, err
		}
		if f.IsDir() {
			return Transfer{}, fmt.Errorf("%s is a folder, not an image", im.Path)
		}
		if f.Size > MaxInlineBytes {
			return Transfer{}, fmt.Errorf("%s: %w", im.Path, imgstore.ErrTooLarge)
		}
		r, err := os.Open(f.Path)
		if err != nil {
			return Transfer{}, err
		}
		info, err := imgstore.Check(r)
		r.Close()
		if err != nil {
			return Transfer{}, fmt.Errorf("%s: %w", im.Path, err)
		}
		at := min(max(im.At, 0), len(text))
		for at > 0 && at < len(text) && !utf8.RuneStart(text[at]) {
			at--
		}
		f.ID, f.Attr, f.At, f.Format = uint32(i), ipmsg.FileClipboard, at, info.Format
		if im.Name != "" {
			f.Name = im.Name
		}
		files = append(files, f)
	}
	slices.SortStableFunc(files, func(a, b TransferFile) int { return a.At - b.At })
	return e.offer(ctx, text, files, true, to)
}

// inlineFor is what an offer of images says to one recipient: to one that shows them, the
// clipboard entries at their positions as IPMsg counts them; to others, ordinary files and a
// note in the text naming them.
func inlineFor(text string, files []TransferFile, r Recipient) (string, []ipmsg.FileInfo) {
	infos := make([]ipmsg.FileInfo, len(files))
	var asFiles []string
	clips := 0
	for j, f := range files {
		infos[j] = f.FileInfo
		if !f.IsClip() {
			continue
		}
		if r.Clip && (r.FeiGo || f.Format == "png") { // IP Messenger shows PNG only
			infos[j].Pos = ipmsg.ClipPos(text, f.At, clips)
			clips++
			continue
		}
		infos[j].Attr, infos[j].Pos = ipmsg.FileRegular, 0
		asFiles = append(asFiles, f.Name)
	}
	if len(asFiles) > 0 {
		note := "[image sent as a file: " + strings.Join(asFiles, ", ") + "]"
		if strings.TrimSpace(text) != "" {
			note = "\n" + note
		}
		text += note
	}
	return text, infos
}

// offer offers files with text to each address (see SendFiles); inline marks the images of
// a message (SendImages).
func (e *Engine) offer(ctx context.Context, text string, files []TransferFile, inline bool, to []netip.AddrPort) (Transfer, error) {
	t := Transfer{
		Direction: event.Out, State: StateOffered, Text: text, Files: files, Inline: inline,
		Created: e.now(), Updated: e.now(), Expires: e.now().Add(e.cfg.OfferTTL),
	}
	for _, f := range files {
		t.Total += f.Size
	}
	t.Total *= int64(len(to))
	for _, addr := range to {
		r := Recipient{Addr: addr, State: StateOffered}
		if p, ok := e.table.ByAddr(addr); ok {
			r.PeerID, r.Nick, r.User, r.Host = p.ID, p.Nick, p.User, p.Host
			r.FeiGo = p.Client == string(ipmsg.ClientFeiGo) && slices.Contains(p.Caps, CapSHA256)
			r.Iptux = p.Client == string(ipmsg.ClientIptux)
			r.Clip = slices.Contains(p.Caps, ipmsg.CapClipboard)
			if p.Secure {
				r.Key = slices.Clone(p.Key)
				r.Token = newToken()
			}
		}
		t.Recipients = append(t.Recipients, r)
	}
	if len(to) == 1 {
		t.PeerID, t.Nick, t.Addr = t.Recipients[0].PeerID, t.Recipients[0].Nick, to[0]
	}
	cmd := ipmsg.SendMsg | ipmsg.SendCheckOpt | ipmsg.FileAttachOpt
	if len(to) > 1 {
		cmd |= ipmsg.MulticastOpt // one packet number for all recipients, as IPMsg does
	}
	// Build the offer for each recipient, in its encoding, and check that it fits in a
	// datagram before saying anything.
	infos := make([]ipmsg.FileInfo, len(files))
	for j := range files {
		infos[j] = files[j].FileInfo
	}
	pkts := make([]ipmsg.Packet, len(to))
	for i, addr := range to {
		cs, flag := e.m.Encoding(addr)
		rtext, rinfos := text, infos
		if inline {
			rtext, rinfos = inlineFor(text, files, t.Recipients[i])
		}
		body := append(append(cs.Encode(rtext), 0), ipmsg.EncodeFileList(cs, rinfos, t.Recipients[i].Iptux)...)
		body = append(body, 0)
		if tok := t.Recipients[i].Token; tok != "" {
			body = ipmsg.AppendOfferToken(body, tok) // sent only over the recipient's channel
		}
		pkts[i] = e.m.Packet(cs, flag, cmd, body)
		pkts[i].No = pkts[0].No
		if b, err := pkts[i].Marshal(); err != nil || len(b) > ipmsg.MaxPacket {
			if inline {
				return Transfer{}, errors.New("the message and its images do not fit in one datagram: shorten the text")
			}
			return Transfer{}, fmt.Errorf("the list of %d files does not fit in one offer; put them in a folder and send that", len(files))
		}
	}
	t.PacketNo = pkts[0].No
	x := e.xfers.add(t)
	e.update(x, event.TransferOffered, func(*Transfer) {})
	done := make(chan struct{}, len(to))
	for i, addr := range to {
		if !e.start() {
			e.update(x, "", func(t *Transfer) {
				t.Recipients[i].State, t.Recipients[i].Error = StateFailed, ErrClosed.Error()
				settleOut(t)
			})
			done <- struct{}{}
			continue
		}
		go func() {
			defer e.wg.Done()
			defer func() { done <- struct{}{} }()
			var err error
			if key := t.Recipients[i].Key; len(key) > 0 {
				err = e.m.SendSealed(ctx, addr, key, pkts[i])
			} else {
				err = e.m.SendReliable(ctx, addr, pkts[i])
			}
			if err != nil {
				e.update(x, "", func(t *Transfer) {
					if t.Recipients[i].State == StateOffered {
						t.Recipients[i].State, t.Recipients[i].Error = StateFailed, "offer not acknowledged: "+err.Error()
					}
					settleOut(t)
				})
			}
		}()
	}
	for range to {
		<-done
	}
	return e.Transfer(x.t.ID)
}

// FGCAP capabilities: file transfers, and SHA-256 trailers served and checked.
const (
	CapFiles  = "files"
	CapSHA256 = "sha256"
	// CapDirResume: a folder download resumes from where it stopped (FileRequest.Skip).
	CapDirResume = "dirresume"
)

// offerFile describes the file or folder at p for an offer.
func offerFile(p string) (TransferFile, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return TransferFile{}, err
	}
	// The user chose this path: a symlink they name is followed. Inside a folder, none are.
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return TransferFile{}, fmt.Errorf("cannot send %s: %w", p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return TransferFile{}, fmt.Errorf("cannot send %s: %w", p, err)
	}
	f := TransferFile{Path: abs, State: FilePending}
	f.Name, f.MTime = filepath.Base(abs), fi.ModTime().Unix()
	switch {
	case fi.Mode().IsRegular():
		r, err := os.Open(abs)
		if err != nil {
			return TransferFile{}, fmt.Errorf("cannot send %s: %w", p, err)
		}
		r.Close()
		f.Size, f.Attr = fi.Size(), ipmsg.FileRegular
		f.Stamp = stampOf(fi)
	case fi.IsDir():
		f.Attr = ipmsg.FileDir
		root, err := os.OpenRoot(abs)
		if err != nil {
			return TransferFile{}, fmt.Errorf("cannot send %s: %w", p, err)
		}
		defer root.Close()
		if top, err := root.Stat("."); err == nil {
			f.Stamp = stampOf(top)
			f.Stamp.Size, f.Stamp.ModNs = 0, 0 // a folder's own size and time change as it is used
		}
		err = fs.WalkDir(root.FS(), ".", func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					f.Size += info.Size()
				}
			}
			return nil
		})
		if err != nil {
			return TransferFile{}, fmt.Errorf("cannot send %s: %w", p, err)
		}
	default:
		return TransferFile{}, fmt.Errorf("cannot send %s: not a regular file or a folder", p)
	}
	return f, nil
}

// Backoff of the accept loop after an error (out of file descriptors, say): doubling from
// acceptBackoffMin to acceptBackoffMax while errors follow one another.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// serveTCP answers file requests until ln is closed. It admits at most Limits.MaxConns
// connections at once, Limits.MaxConnsPerAddr from one IP address, closing any other at
// once, and after an accept error it backs off instead of spinning or giving up.
func (e *Engine) serveTCP(ctx context.Context, ln net.Listener) {
	var delay time.Duration
	var logged time.Time
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			if now := time.Now(); now.Sub(logged) >= refusalLogEvery {
				logged = now
				e.log.Warn("accepting a file connection; backing off", "err", err, "wait", delay)
			}
			if !e.pause(ctx, delay) {
				return
			}
			continue
		}
		delay = 0
		from, ok := remoteAddr(c)
		if !ok {
			c.Close()
			continue
		}
		if why := e.admit(c, from.Addr()); why != "" {
			c.Close()
			e.logRefusal(from.Addr(), "refused file connection", "why", why)
			continue
		}
		if !e.start() {
			e.dismiss(c)
			c.Close()
			return
		}
		go func() {
			defer e.wg.Done()
			defer c.Close()
			defer e.dismiss(c) // the slot is free before the peer sees the connection end
			e.serveFileConn(c, from)
		}()
	}
}

// remoteAddr is the peer's address of a file connection.
func remoteAddr(c net.Conn) (netip.AddrPort, bool) {
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// admit counts c, from ip, among the open file connections, unless the limits are reached;
// why then says which.
func (e *Engine) admit(c net.Conn, ip netip.Addr) (why string) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	switch lim := e.cfg.Limits; {
	case len(e.connOpen) >= lim.MaxConns:
		return fmt.Sprintf("%d connections open, the limit", len(e.connOpen))
	case e.connPer[ip] >= lim.MaxConnsPerAddr:
		return fmt.Sprintf("%d connections open from this address, the limit", e.connPer[ip])
	}
	e.connOpen[c] = ip
	e.connPer[ip]++
	return ""
}

// dismiss forgets an admitted connection.
func (e *Engine) dismiss(c net.Conn) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	ip, ok := e.connOpen[c]
	if !ok {
		return
	}
	delete(e.connOpen, c)
	if e.connPer[ip]--; e.connPer[ip] <= 0 {
		delete(e.connPer, ip)
	}
}

// closeConns closes every admitted connection, those still waiting for their request too.
func (e *Engine) closeConns() {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	for c := range e.connOpen {
		c.Close()
	}
}

// ReadRequest reads one IPMsg packet from a fresh connection: clients send it in one write,
// but it may arrive in pieces. It gives the connection DefaultRequestTimeout in all.
func ReadRequest(c net.Conn) (ipmsg.Packet, error) {
	return readRequest(c, DefaultRequestTimeout)
}

// readRequest is ReadRequest with timeout as the deadline for the whole request, so a
// sender that trickles it byte by byte is cut then too.
func readRequest(c net.Conn, timeout time.Duration) (ipmsg.Packet, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 1024)
	for len(buf) < ipmsg.MaxPacket {
		k, err := c.Read(tmp)
		buf = append(buf, tmp[:k]...)
		if p, derr := ipmsg.Decode(buf); derr == nil && bytes.Count(ipmsg.FirstSection(p.Body), []byte{':'}) >= 1 {
			return p, nil
		}
		if err != nil {
			return ipmsg.Packet{}, err
		}
	}
	return ipmsg.Packet{}, errors.New("request too long")
}

// serveFileConn answers one GETFILEDATA or GETDIRFILES request. Anything that is not a
// request for a live offer's file, from a recipient of that offer, gets the connection
// closed without a byte.
func (e *Engine) serveFileConn(c net.Conn, from netip.AddrPort) {
	p, err := readRequest(c, e.cfg.Limits.RequestTimeout)
	if err != nil {
		e.log.Debug("no file request", "from", from, "err", err)
		return
	}
	e.serveRequest(c, p, from, nil)
}

// ServeRequest answers a file request p that came over a TLS channel on c from a peer that
// proved key, and returns when the file has been sent or refused. The caller closes c.
func (e *Engine) ServeRequest(c net.Conn, p ipmsg.Packet, from netip.AddrPort, key []byte) {
	if !e.start() {
		return
	}
	defer e.wg.Done()
	stop := context.AfterFunc(e.runContext(), func() { c.Close() })
	defer stop()
	e.serveRequest(c, p, from, key)
}

// serveRequest answers the file request p from from (with key, if it proved one).
func (e *Engine) serveRequest(c net.Conn, p ipmsg.Packet, from netip.AddrPort, key []byte) {
	var err error
	mode := p.Cmd.Mode()
	if mode != ipmsg.GetFileData && mode != ipmsg.GetDirFiles {
		e.log.Info("refused file connection: not a request", "from", from, "cmd", fmt.Sprintf("%#x", uint32(p.Cmd)))
		return
	}
	req, err := ipmsg.ParseFileRequest(p.Body, mode == ipmsg.GetFileData)
	if err != nil {
		e.log.Info("refused file request", "from", from, "err", err)
		return
	}
	rcs := e.m.ReadCharset(p, from)
	x, ri, fi, why := e.findOffered(req, from.Addr(), ipmsg.DecodeName(rcs, p.User), ipmsg.DecodeName(rcs, p.Host), mode, key)
	if why != "" {
		e.log.Info("refused file request", "from", from, "packet", req.PacketNo, "file", req.FileID, "why", why)
		return
	}
	e.xfers.mu.Lock()
	x.conns[c] = ri
	file := x.t.Files[fi]
	r := x.t.Recipients[ri]
	if x.t.Recipients[ri].State == StateOffered {
		x.t.Recipients[ri].State = StateActive
	}
	if x.t.State == StateOffered {
		x.t.State = StateActive
	}
	e.xfers.mu.Unlock()
	cs, _ := e.m.Encoding(from)
	if p.Cmd.Has(ipmsg.UTF8Opt) {
		cs = ipmsg.UTF8
	}
	// A FeiGo receiver answers with a verdict, so the sender learns the file was saved; it
	// also wants SHA-256 trailers unless the bytes come over TLS, whose AEAD already
	// authenticates each of them.
	verdict := req.FeiGo && !r.Iptux
	sum := verdict && !req.NoSum
	var counted int64
	progress := func(k int64) {
		counted += k
		x.rcptDone[ri].Add(k)
	}
	if mode == ipmsg.GetFileData {
		// A resumed fetch counts what the receiver already had.
		progress(req.Offset)
		err = e.sendFile(c, file, req.Offset, verdict, sum, progress)
	} else {
		skip := int64(0)
		if verdict {
			skip = req.Skip
		}
		err = e.sendDir(c, file, cs, verdict, sum, r.Iptux, skip, progress)
	}
	if err != nil {
		x.rcptDone[ri].Add(-counted)
		e.log.Warn("file not sent", "to", from, "name", file.Name, "skip", req.Skip, "err", err)
	} else {
		e.log.Info("file sent", "to", from, "name", file.Name, "offset", req.Offset, "skip", req.Skip, "bytes", counted-req.Offset)
	}
	e.xfers.mu.Lock()
	delete(x.conns, c)
	released := x.released[ri]
	delete(x.released, ri)
	e.xfers.mu.Unlock()
	if err != nil && !errors.Is(err, errPeerRejected) && !released {
		return // the receiver may retry
	}
	e.update(x, "", func(t *Transfer) {
		rc := &t.Recipients[ri]
		switch {
		case err != nil && !released:
			rc.State, rc.Error = StateFailed, err.Error()
		case err == nil && !slices.Contains(rc.Fetched, file.ID):
			rc.Fetched = append(rc.Fetched, file.ID)
		}
		if len(rc.Fetched) == len(t.Files) && !recipientFinal(rc.State) {
			rc.State = StateDone
		}
		if released {
			releaseRecipient(t, ri)
		}
		settleOut(t)
	})
}

// releaseRecipient ends recipient ri after its RELEASEFILES.
func releaseRecipient(t *Transfer, ri int) {
	r := &t.Recipients[ri]
	switch {
	case recipientFinal(r.State):
	case len(r.Fetched) == 0:
		r.State, r.Error = StateDeclined, "declined"
	default:
		r.State, r.Error = StateFailed, fmt.Sprintf("took %d of %d files", len(r.Fetched), len(t.Files))
	}
}

// findOffered finds the live offer, recipient and file a request names; why says why not.
//
// key is the identity key the requester proved over TLS (nil for a plain TCP request): a
// recipient that proved a key when the offer was made is served only to that key, so
// another program or user on its machine, or a host that took its address, gets nothing;
// and only with the token its offer carried (see Recipient.Token). A plain request (a legacy
// client) must come from the recipient's address with, where the offer knew them, its user
// and host names. Nobody is served a file it already fetched whole.
func (e *Engine) findOffered(req ipmsg.FileRequest, from netip.Addr, user, host string, mode ipmsg.Command, key []byte) (x *xfer, ri, fi int, why string) {
	e.xfers.mu.Lock()
	defer e.xfers.mu.Unlock()
	for _, cand := range e.xfers.all {
		if cand.t.Direction == event.Out && cand.t.PacketNo == req.PacketNo {
			x = cand
			break
		}
	}
	if x == nil {
		return nil, 0, 0, "no such offer"
	}
	if x.t.Final() {
		return nil, 0, 0, "offer " + x.t.State
	}
	ri = -1
	badToken := false
	for i, r := range x.t.Recipients {
		addr := r.Addr.Addr()
		if r.PeerID != "" {
			if p, ok := e.table.Get(r.PeerID); ok {
				addr = p.Addr.Addr()
			}
		}
		// A recipient with a key is known by it, wherever it fetches from (a colleague on
		// IPv4 and IPv6 may list us at the other family's address than we list it at); one
		// without, by its address.
		if len(r.Key) == 0 && addr != from && r.Addr.Addr() != from {
			continue
		}
		if (len(r.Key) > 0 || len(key) > 0) && !bytes.Equal(r.Key, key) {
			continue // a recipient with a key is served only over TLS, to that key
		}
		if len(key) > 0 && r.Token != "" && subtle.ConstantTimeCompare([]byte(r.Token), []byte(req.Token)) != 1 {
			badToken = true
			continue
		}
		if len(key) == 0 && r.User != "" && (r.User != user || r.Host != host) {
			continue // a legacy request names the recipient, as IPMsg checks
		}
		// Where several recipients share an address (loopback, NAT), one still waiting.
		if ri < 0 || recipientFinal(x.t.Recipients[ri].State) {
			ri = i
		}
	}
	if ri < 0 && badToken {
		e.badTokens.Add(1)
		return nil, 0, 0, "wrong or missing token"
	}
	if ri < 0 {
		return nil, 0, 0, "not a recipient of this offer"
	}
	if s := x.t.Recipients[ri].State; recipientFinal(s) {
		return nil, 0, 0, "recipient " + s
	}
	fi = slices.IndexFunc(x.t.Files, func(f TransferFile) bool { return f.ID == req.FileID })
	if fi < 0 {
		return nil, 0, 0, "no such file in the offer"
	}
	f := x.t.Files[fi]
	if f.IsDir() != (mode == ipmsg.GetDirFiles) {
		return nil, 0, 0, "wrong request kind for this file"
	}
	if mode == ipmsg.GetFileData && req.Offset > f.Size {
		return nil, 0, 0, "offset past the end"
	}
	if slices.Contains(x.t.Recipients[ri].Fetched, f.ID) {
		return nil, 0, 0, "already fetched whole by this recipient"
	}
	return x, ri, fi, ""
}

// newToken is a fresh offer token: 128 random bits in hex.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// errPeerRejected is a receiver's verdict: it got the bytes but will not keep them.
var errPeerRejected = errors.New("the receiver rejected the file")

// errNotOffered is a file that is no longer the one offered: replaced, or changed.
var errNotOffered = errors.New("no longer the file that was offered")

// FileStamp is what identifies an offered file on its disk: a file replaced by another (or
// by a symlink), or changed in size or time, after the offer is not served. Folders keep
// their device and inode only (their own size and time change as they are used).
type FileStamp struct {
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	Size  int64  `json:"size,omitempty"`
	ModNs int64  `json:"mod_ns,omitempty"`
}

// checkStamp reports whether fi is still what the stamp describes (an offer kept by a FeiGo
// that made no stamps is checked for its size only).
func checkStamp(want FileStamp, fi fs.FileInfo, size int64, dir bool) error {
	if want == (FileStamp{}) {
		if !dir && fi.Size() < size {
			return fmt.Errorf("%w: it shrank from %d to %d bytes", errNotOffered, size, fi.Size())
		}
		return nil
	}
	got := stampOf(fi)
	if dir {
		got.Size, got.ModNs = 0, 0
	}
	if got != want {
		return fmt.Errorf("%w: it was replaced or changed since the offer", errNotOffered)
	}
	return nil
}

// hashFile computes the SHA-256 of f's first size bytes without moving its offset.
func hashFile(f *os.File, size int64) <-chan []byte {
	out := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		buf := make([]byte, 256<<10)
		if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), buf); err != nil {
			out <- nil
			return
		}
		out <- h.Sum(nil)
	}()
	return out
}

// copyBufs are copyOut's buffers for connections without sendfile (TLS).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBuf); return &b }}

// copyBuf is how much copyOut reads from the file at once into a TLS connection: many
// 16 KiB records per write, few reads.
const copyBuf = 256 << 10

// copyOut writes size bytes of f from its current offset to c, in chunks so that a stalled
// receiver times out and progress is counted: with sendfile on a plain TCP connection, else
// (TLS) through a large buffer.
func copyOut(c net.Conn, f *os.File, size int64, progress func(int64)) error {
	if _, ok := c.(*net.TCPConn); !ok {
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		buf := *bp
		var since int64 // bytes since the deadline was set
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		for size > 0 {
			k, err := io.ReadFull(f, buf[:min(size, int64(len(buf)))])
			if k > 0 {
				if since += int64(k); since >= sendChunk {
					c.SetWriteDeadline(time.Now().Add(ioTimeout))
					since = 0
				}
				w, werr := c.Write(buf[:k])
				progress(int64(w))
				size -= int64(w)
				if werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if size > 0 {
					return errors.New("the file got shorter since it was offered")
				}
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for size > 0 {
		k := min(size, sendChunk)
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		w, err := io.CopyN(c, f, k)
		progress(w)
		size -= w
		if err == io.EOF {
			return errors.New("the file got shorter since it was offered")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readVerdict waits for a FeiGo receiver's "OK" or "ERR reason" line.
func readVerdict(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, 512)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no verdict from the receiver: %w", err)
	}
	line = strings.TrimSpace(line)
	if line == "OK" {
		return nil
	}
	return fmt.Errorf("%w: %s", errPeerRejected, strings.TrimPrefix(line, "ERR "))
}

// openOffered opens an offered file for reading, as it was offered: a symlink put in its
// place is not followed, a FIFO does not block, and another file, or this one changed, is
// refused.
func openOffered(tf TransferFile) (*os.File, error) {
	f, err := os.OpenFile(tf.Path, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		if isLink(err) {
			return nil, fmt.Errorf("%w: it is a symlink now", errNotOffered)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		err = fmt.Errorf("%w: it is a symlink now", errNotOffered) // opened as itself (Windows)
	}
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w: no longer a regular file", errNotOffered)
	}
	if err == nil {
		err = checkStamp(tf.Stamp, fi, tf.Size, false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sendFile streams one offered file from offset; a FeiGo receiver then sends its verdict,
// and when sum is set it first gets the file's SHA-256.
func (e *Engine) sendFile(c net.Conn, tf TransferFile, offset int64, verdict, sum bool, progress func(int64)) error {
	f, err := openOffered(tf)
	if err != nil {
		return err
	}
	defer f.Close()
	var digest <-chan []byte
	if sum {
		digest = hashFile(f, tf.Size)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	if err := copyOut(c, f, tf.Size-offset, progress); err != nil {
		return err
	}
	if !verdict {
		halfCloseAndWait(c)
		return nil
	}
	if sum {
		d := <-digest
		if d == nil {
			return errors.New("reading the file for its checksum failed")
		}
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(d); err != nil {
			return err
		}
	}
	return readVerdict(c)
}

// halfCloseAndWait tells a legacy receiver we are done and gives it a moment to read the
// rest and close its end. Over TLS the half-close is a close_notify alert: without it each
// end would wait out the other's deadline.
func halfCloseAndWait(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, io.LimitReader(c, 1<<16))
}

// sendDir streams an offered folder as GETDIRFILES records. Symlinks inside it are never
// followed (they are left out), and every file is opened through an os.Root on the folder,
// so nothing outside it is read even if the tree changes underneath; the folder itself must
// still be the one offered. A FeiGo receiver sends its verdict at the end, and when sum is
// set gets each file's SHA-256 after it.
//
// A FeiGo receiver resuming the folder (skip > 0) holds the first skip bytes of the files'
// content, in the stream's order (names sorted in each folder, files and folders as they
// come). Every record is sent as before, but a file it holds whole is sent without its
// content, and one it holds in part from where it stopped; each of them is followed by its
// SHA-256, which the receiver checks against what it holds: a folder that changed here since,
// or a partial file that differs there, makes it start again from the beginning.
func (e *Engine) sendDir(c net.Conn, tf TransferFile, cs ipmsg.Charset, verdict, sum, iptux bool, skip int64, progress func(int64)) error {
	if fi, err := os.Lstat(tf.Path); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%w: no longer a folder", errNotOffered)
	}
	root, err := os.OpenRoot(tf.Path)
	if err != nil {
		return err
	}
	defer root.Close()
	if tf.Stamp != (FileStamp{}) {
		top, err := root.Stat(".")
		if err != nil {
			return err
		}
		if err := checkStamp(tf.Stamp, top, 0, true); err != nil {
			return err
		}
	}
	w := bufio.NewWriterSize(c, 256<<10)
	buf := make([]byte, smallFile)
	var done int64 // content bytes the stream has come past
	header := func(h ipmsg.DirHeader) error {
		b, err := ipmsg.EncodeDirHeader(cs, h, iptux)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	// One os.Root per folder level: every open is one name inside that folder.
	var walk func(dir *os.Root, name string, mtime int64) error
	walk = func(dir *os.Root, name string, mtime int64) error {
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if err := header(ipmsg.DirHeader{Name: name, Attr: ipmsg.FileDir, MTime: mtime}); err != nil {
			return err
		}
		d, err := dir.Open(".")
		if err != nil {
			return err
		}
		ents, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, de := range ents {
			switch {
			case de.Type().IsDir():
				info, err := de.Info()
				if err != nil {
					continue // vanished
				}
				sub, err := dir.OpenRoot(de.Name())
				if err != nil {
					continue // vanished or replaced by a symlink
				}
				err = walk(sub, de.Name(), info.ModTime().Unix())
				sub.Close()
				if err != nil {
					return err
				}
			case de.Type().IsRegular():
				if err := e.sendDirFile(w, c, dir, de.Name(), cs, sum, iptux, skip, &done, buf, progress); err != nil {
					return err
				}
			}
		}
		return header(ipmsg.DirHeader{Name: ".", Attr: ipmsg.FileRetParent})
	}
	if err := walk(root, tf.Name, tf.MTime); err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := w.Flush(); err != nil {
		return err
	}
	if !verdict {
		halfCloseAndWait(c)
		return nil
	}
	return readVerdict(c)
}

// sendDirFile writes one file record of a folder stream, followed by the file's SHA-256
// when sum is set. done is the content the stream came past before it (moved past it here);
// of the file, the receiver holds what lies before skip (see sendDir).
func (e *Engine) sendDirFile(w *bufio.Writer, c net.Conn, root *os.Root, name string, cs ipmsg.Charset, sum, iptux bool, skip int64, done *int64, buf []byte, progress func(int64)) error {
	f, err := root.OpenFile(name, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isLink(err) {
			return nil // vanished since the listing
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	size := fi.Size()
	b, err := ipmsg.EncodeDirHeader(cs, ipmsg.DirHeader{Name: name, Size: size, Attr: ipmsg.FileRegular, MTime: fi.ModTime().Unix()}, iptux)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	held := HeldOf(skip, *done, size)
	*done += size
	// A file the receiver holds in part or whole (resumed) comes from where it stopped, and
	// with its SHA-256 whatever sum says: the receiver checks what it held.
	withSum := sum || held > 0
	progress(held)
	if size <= smallFile {
		if _, err := io.ReadFull(f, buf[:size]); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		w.Write(buf[held:size])
		progress(size - held)
		if withSum {
			d := sha256.Sum256(buf[:size])
			w.Write(d[:])
		}
		return nil
	}
	var digest <-chan []byte
	if withSum {
		digest = hashFile(f, size) // on another core, while what is buffered (the record) goes out
	}
	if held > 0 {
		c.SetWriteDeadline(time.Now().Add(ioTimeout)) // a held file may follow other held files' hashing
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if held < size {
		if _, err := f.Seek(held, io.SeekStart); err != nil {
			return err
		}
		if err := copyOut(c, f, size-held, progress); err != nil {
			return err
		}
	}
	if withSum {
		d := <-digest
		if d == nil {
			return fmt.Errorf("reading %s for its checksum failed", name)
		}
		w.Write(d)
	}
	return nil
}

// HeldOf is how much of a file of size bytes, which a folder stream reaches after done bytes
// of content, a receiver holding the stream's first skip bytes holds.
func HeldOf(skip, done, size int64) int64 {
	return min(max(skip-done, 0), size)
}

// OnRelease handles RELEASEFILES from from: a recipient discarded an offer.
//
// key is the identity key the sender proved over TLS (nil for a datagram): a recipient that
// proved a key when the offer was made is released only by that key.
func (e *Engine) OnRelease(p ipmsg.Packet, from netip.AddrPort, key []byte) {
	no, err := strconv.ParseUint(strings.TrimSpace(string(ipmsg.FirstSection(p.Body))), 10, 32)
	if err != nil {
		return
	}
	var x *xfer
	ri := -1
	e.xfers.mu.Lock()
	for _, cand := range e.xfers.all {
		if cand.t.Direction == event.Out && cand.t.PacketNo == uint32(no) && !cand.t.Final() {
			// The recipient at exactly this address; failing that, a live one at this IP
			// (a peer that answers from another port).
			mine := func(r Recipient) bool { return bytes.Equal(r.Key, key) }
			exact := slices.IndexFunc(cand.t.Recipients, func(r Recipient) bool { return r.Addr == from && mine(r) })
			if exact < 0 {
				exact = slices.IndexFunc(cand.t.Recipients, func(r Recipient) bool {
					return r.Addr.Addr() == from.Addr() && !recipientFinal(r.State) && mine(r)
				})
			}
			if exact >= 0 && !recipientFinal(cand.t.Recipients[exact].State) {
				x, ri = cand, exact
			}
		}
	}
	e.xfers.mu.Unlock()
	if x == nil {
		return
	}
	// A fetch still open for this recipient settles the release when it ends: the
	// RELEASEFILES that follows a partial download may overtake the last file's verdict.
	e.xfers.mu.Lock()
	busy := slices.Contains(slices.Collect(maps.Values(x.conns)), ri)
	if busy {
		x.released[ri] = true
	}
	e.xfers.mu.Unlock()
	if busy {
		return
	}
	e.update(x, "", func(t *Transfer) {
		releaseRecipient(t, ri)
		settleOut(t)
	})
	e.log.Info("offer released", "by", from, "packet", no)
}

// cancelOut withdraws an outgoing offer and cuts its connections.
func (e *Engine) cancelOut(x *xfer) {
	e.update(x, "", func(t *Transfer) {
		for i := range t.Recipients {
			if r := &t.Recipients[i]; !recipientFinal(r.State) {
				r.State, r.Error = StateCancelled, "cancelled by the sender"
			}
		}
		t.State, t.Error = StateCancelled, "cancelled"
	})
	e.xfers.mu.Lock()
	for c := range x.conns {
		c.Close()
	}
	e.xfers.mu.Unlock()
}
