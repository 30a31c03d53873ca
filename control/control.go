// Package control is the local command channel between a running FeiGo node (the headless
// `feigo serve` or the GUI) and the `feigo` CLI commands: a Unix socket in the profile
// directory, owner-only, carrying one JSON request line and one JSON response line per
// connection.
package control

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"feigo/history"
	"feigo/internal/oserr"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/trust"
	"feigo/xfer"
)

// Node is what the control socket drives; *node.Node implements it.
type Node interface {
	Table() *peers.Table
	// Resolve turns what a user typed into one peer's address.
	Resolve(query string) (netip.AddrPort, error)
	Self() ipmsg.Entry
	Send(ctx context.Context, text string, to ...netip.AddrPort) ([]lan.Delivery, error)
	SetAway(away bool, text string)
	Refresh()
	SendFiles(ctx context.Context, text string, paths []string, to ...netip.AddrPort) (xfer.Transfer, error)
	Transfers() []xfer.Transfer
	Transfer(id int) (xfer.Transfer, error)
	Accept(id int, dir string, only []string) (xfer.Transfer, error)
	Decline(id int) error
	Cancel(id int) error
	AskShared(to netip.AddrPort) error
}

// Request is one command. Cmd is peers, send, away, back, refresh, status, send-file,
// transfers, transfer, accept, decline or cancel.
type Request struct {
	Cmd  string   `json:"cmd"`
	To   []string `json:"to,omitempty"`
	Text string   `json:"text,omitempty"`
	// Paths are absolute paths to send (send-file); the node may run in another directory.
	Paths []string `json:"paths,omitempty"`
	// Images are absolute paths of images to show inline after the text (send).
	Images []string `json:"images,omitempty"`
	// Sealed (send) seals the message: the colleague opens it with a click, and we are told.
	Sealed bool `json:"sealed,omitempty"`
	// ID names a transfer (transfer, accept, decline, cancel).
	ID int `json:"id,omitempty"`
	// Dir is where to save (accept); Only limits accept to these file names.
	Dir  string   `json:"dir,omitempty"`
	Only []string `json:"only,omitempty"`
	// Since and Limit narrow a history query (Text holds its search words).
	Since time.Time `json:"since,omitzero"`
	Limit int       `json:"limit,omitempty"`
	// Queue (send) keeps a message that is not delivered now in the history and delivers it
	// when the peer announces itself; To may name a colleague known only from the history.
	Queue bool `json:"queue,omitempty"`
	// Clear (history) deletes the named peer's history instead of listing it.
	Clear bool `json:"clear,omitempty"`
	// Confirm (verify) marks the colleague verified: the user compared the safety code.
	// Fingerprint, when set, is the key the user saw: another key is refused.
	Confirm     bool   `json:"confirm,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Unencrypted (send, send-file) allows recipients that cannot encrypt, where the
	// profile's policy asks first (see Allower).
	Unencrypted bool `json:"unencrypted,omitempty"`
	// Op and Room name a room command and its room (Cmd "room", see roomCmd).
	Op   string `json:"op,omitempty"`
	Room string `json:"room,omitempty"`
}

// ErrUnencrypted is the error of a message or file to a colleague who cannot encrypt, which
// the profile's policy (Settings.Legacy) does not let go without the user's say.
var ErrUnencrypted = errors.New("not encrypted")

// UnencryptedError names the colleague ErrUnencrypted is about.
type UnencryptedError struct {
	PeerID, Nick, Client string
	Addr                 netip.AddrPort
	// Refused: the policy refuses such clients; else it asks, and AllowUnencrypted allows.
	Refused bool
}

func (e *UnencryptedError) Error() string {
	who := e.Nick
	if who == "" {
		who = e.Addr.String()
	}
	if e.Client != "" {
		who += " (" + e.Client + ")"
	}
	if e.Refused {
		return fmt.Sprintf("%s cannot encrypt, and this profile refuses clients that cannot (settings: legacy)", who)
	}
	return fmt.Sprintf("%s cannot encrypt: what you send crosses the network readable by anyone; allow it with --unencrypted (or in the window), or set legacy to allow", who)
}

func (e *UnencryptedError) Is(target error) bool { return target == ErrUnencrypted }

// Allower is a node whose policy may hold messages to colleagues who cannot encrypt until
// the user allows them.
type Allower interface {
	AllowUnencrypted(to ...netip.AddrPort) []string
}

// allow lets what req sends go to addrs unencrypted, when the user said so.
func allow(node Node, req Request, addrs []netip.AddrPort) {
	if a, ok := node.(Allower); ok && req.Unencrypted {
		a.AllowUnencrypted(addrs...)
	}
}

// Historian is a node that keeps a history (`feigo history`, `feigo send --queue`).
type Historian interface {
	QueryHistory(peer, search string, since time.Time, limit int) ([]history.Record, error)
	// Contact resolves a name among the peers online, then those the history knows.
	Contact(query string) (history.Contact, error)
	Queue(ctx context.Context, sendID, text string, c history.Contact) (history.Record, error)
	ClearHistory(peer string) (int64, error)
}

// Sealer is a node that sends sealed messages (`feigo send --sealed`).
type Sealer interface {
	SendWith(ctx context.Context, sendID, text string, opts lan.SendOpts, to ...netip.AddrPort) ([]lan.Delivery, error)
}

// SealedQueuer is a node that keeps a sealed message sealed in the queue (`feigo send
// --queue --sealed`).
type SealedQueuer interface {
	QueueWith(ctx context.Context, sendID, text string, c history.Contact, opts lan.SendOpts) (history.Record, error)
}

// Imager is a node that sends images inline in messages (`feigo send --image`).
type Imager interface {
	SendImages(ctx context.Context, sendID, text string, images []xfer.OutImage, to netip.AddrPort) (history.Record, error)
}

// sendImages sends req's text with its images after it, to one peer.
func sendImages(ctx context.Context, node Node, req Request) Response {
	im, ok := node.(Imager)
	if !ok {
		return Response{Error: "this node cannot send images"}
	}
	if len(req.To) != 1 || req.Queue {
		return Response{Error: "images go to one colleague who is online: name one peer, without --queue"}
	}
	var out []xfer.OutImage
	for _, p := range req.Images {
		if !filepath.IsAbs(p) {
			return Response{Error: fmt.Sprintf("path %q is not absolute", p)}
		}
		out = append(out, xfer.OutImage{Path: p, At: len(req.Text)})
	}
	addr, err := node.Resolve(req.To[0])
	if err != nil {
		return Response{Error: err.Error()}
	}
	allow(node, req, []netip.AddrPort{addr})
	r, err := im.SendImages(ctx, "", req.Text, out, addr)
	d := Delivery{To: addr.String(), PeerID: r.PeerID, Nick: r.Nick, Delivered: err == nil, HistoryID: r.ID}
	if err != nil {
		d.Error = err.Error()
		return Response{Error: fmt.Sprintf("not delivered to %s: %v", describe(r.Nick, addr), err), Deliveries: []Delivery{d}}
	}
	return Response{OK: true, Deliveries: []Delivery{d}}
}

// Verifier is a node with an identity key (`feigo verify`).
type Verifier interface {
	// Verify shows the safety code shared with the colleague named query and, with
	// confirm, marks their key verified; fingerprint, when not "", must be that key's.
	Verify(query string, confirm bool, fingerprint string) (Verification, error)
}

// Verification is what two colleagues compare, and whether it was confirmed.
type Verification struct {
	PeerID         string `json:"peer_id"`
	Nick           string `json:"nick"`
	Fingerprint    string `json:"fingerprint"`
	MyFingerprint  string `json:"my_fingerprint"`
	SafetyCode     string `json:"safety_code"`
	Verified       bool   `json:"verified"`
	KeyChangedFrom string `json:"key_changed_from,omitempty"`
}

// Response answers a Request. OK is false exactly when Error says what went wrong.
type Response struct {
	OK         bool             `json:"ok"`
	Error      string           `json:"error,omitempty"`
	Peers      []peers.Peer     `json:"peers,omitempty"`
	Deliveries []Delivery       `json:"deliveries,omitempty"`
	Self       *Self            `json:"self,omitempty"`
	History    []history.Record `json:"history,omitempty"`
	Transfers  []xfer.Transfer  `json:"transfers,omitempty"`
	Transfer   *xfer.Transfer   `json:"transfer,omitempty"`
	// Cleared is how many records a history request with Clear deleted.
	Cleared int64 `json:"cleared,omitempty"`
	// Verification answers verify.
	Verification *Verification `json:"verification,omitempty"`
	// Greeting answers greet (the network doctor's question to one address).
	Greeting *lan.Greeting `json:"greeting,omitempty"`
	// RoomAnswer answers a room command.
	*RoomAnswer
}

// greetTimeout is how long greet waits for an answer.
const greetTimeout = 2 * time.Second

// Delivery is a message's outcome for one recipient.
type Delivery struct {
	To        string `json:"to"`
	PeerID    string `json:"peer_id,omitempty"`
	Nick      string `json:"nick,omitempty"`
	Delivered bool   `json:"delivered"`
	// Queued is set for a queued message not delivered yet; HistoryID names its record.
	Queued    bool   `json:"queued,omitempty"`
	HistoryID int64  `json:"history_id,omitempty"`
	Parts     int    `json:"parts,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Self describes the running node.
type Self struct {
	ID       string `json:"id"`
	Nick     string `json:"nick"`
	Group    string `json:"group"`
	User     string `json:"user"`
	Host     string `json:"host"`
	Away     bool   `json:"away"`
	AwayText string `json:"away_text,omitempty"`
	Peers    int    `json:"peers"`
	// Stats are the node's counters of what it refused, dropped and proved (lan.Stats).
	Stats *lan.Stats `json:"stats,omitempty"`
}

// Errors callers branch on.
var (
	ErrNotRunning = errors.New("no FeiGo is running with this profile")
	ErrRunning    = errors.New("another FeiGo is already running with this profile")
)

// maxPath is the longest Unix socket path Linux accepts (sun_path is 108 bytes with a NUL).
const maxPath = 107

// Listen creates the socket at path, owner-only. A socket left behind by a node that died
// is replaced; one that a live node answers on is an ErrRunning error.
func Listen(path string) (net.Listener, error) {
	if len(path) > maxPath {
		return nil, fmt.Errorf("control socket path %s is %d bytes, over the system's limit of %d: use a shorter profile directory", path, len(path), maxPath)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w (%s)", ErrRunning, path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; not touching it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale control socket: %w", err)
		}
	}
	ln, err := listenOwnerOnly(path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// Limits of the control server. Only the profile's owner can connect, but a stuck or
// misbehaving local program must not exhaust the node: each connection holds one of
// maxConns slots, has readRequestTimeout to send its request line, and at most
// maxRequest bytes of it are read.
const (
	maxConns           = 64
	readRequestTimeout = 5 * time.Second
	writeTimeout       = 10 * time.Second
	// maxRequest bounds a request line: the longest message, JSON-escaped, with room to spare.
	maxRequest = 8 * lan.MaxText
)

// Backoff after a failed Accept (out of descriptors, say), as net/http's: 5 ms doubling to 1 s.
const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMax   = time.Second
)

type limits struct {
	conns       int
	readRequest time.Duration
	maxRequest  int
}

var defaultLimits = limits{conns: maxConns, readRequest: readRequestTimeout, maxRequest: maxRequest}

// Serve answers requests on ln until ctx is cancelled or ln is closed, then closes ln and
// returns once every request in progress has been answered. A failing Accept (EMFILE when
// the process is out of descriptors) is retried with a backoff, so the socket outlives it.
// At most 64 connections are served at once; others wait in the listen queue.
func Serve(ctx context.Context, ln net.Listener, node Node) error {
	return serve(ctx, ln, node, defaultLimits)
}

func serve(ctx context.Context, ln net.Listener, node Node, lim limits) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, lim.conns)
	var delay time.Duration
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if delay == 0 {
				slog.Warn("control socket: accepting a connection failed; retrying", "err", err)
			}
			delay = min(max(2*delay, acceptRetryFirst), acceptRetryMax)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		delay = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer c.Close()
			serveConn(ctx, c, node, lim)
		}()
	}
}

func serveConn(ctx context.Context, c net.Conn, node Node, lim limits) {
	c.SetReadDeadline(time.Now().Add(lim.readRequest))
	line, err := bufio.NewReader(io.LimitReader(c, int64(lim.maxRequest)+1)).ReadBytes('\n')
	var resp Response
	switch {
	case len(line) > lim.maxRequest:
		resp = Response{Error: fmt.Sprintf("request too large (over %d bytes)", lim.maxRequest)}
	case err != nil && !errors.Is(err, io.EOF):
		return // too slow, or gone
	case len(line) == 0:
		return
	default:
		var req Request
		if jerr := json.Unmarshal(line, &req); jerr != nil {
			resp = Response{Error: "bad request: " + jerr.Error()}
		} else {
			resp = handle(ctx, node, req)
		}
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

func handle(ctx context.Context, node Node, req Request) Response {
	switch req.Cmd {
	case "peers":
		var ps []peers.Peer
		if pl, ok := node.(interface{ Peers() []peers.Peer }); ok {
			ps = pl.Peers() // with the pictures colleagues set
		} else {
			ps = node.Table().Snapshot()
		}
		if ps == nil {
			ps = []peers.Peer{}
		}
		return Response{OK: true, Peers: ps}
	case "status":
		s := node.Self()
		id := s.ID
		if len(s.Key) == ed25519.PublicKeySize {
			id = trust.FingerprintOf(s.Key).String() // colleagues know this node by its key
		}
		self := &Self{ID: id, Nick: s.Nick, Group: s.Group, User: s.User, Host: s.Host,
			Away: s.Away, AwayText: s.AwayText, Peers: node.Table().Len()}
		if st, ok := node.(interface{ Stats() lan.Stats }); ok {
			stats := st.Stats()
			self.Stats = &stats
		}
		return Response{OK: true, Self: self}
	case "greet":
		g, ok := node.(interface {
			Greet(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (lan.Greeting, error)
		})
		if !ok || len(req.To) != 1 {
			return Response{Error: "greet: one colleague or address"}
		}
		addr, err := node.Resolve(req.To[0])
		if err != nil {
			if ap, perr := lan.ParseTarget(req.To[0], 2425); perr == nil {
				addr, err = ap, nil
			}
		}
		if err != nil {
			return Response{Error: err.Error()}
		}
		greeting, err := g.Greet(ctx, addr, greetTimeout)
		if err != nil {
			return Response{Error: err.Error()}
		}
		return Response{OK: true, Greeting: &greeting}
	case "away":
		node.SetAway(true, req.Text)
		return Response{OK: true}
	case "back":
		node.SetAway(false, "")
		return Response{OK: true}
	case "refresh":
		node.Refresh()
		return Response{OK: true}
	case "send":
		return send(ctx, node, req)
	case "send-file":
		return sendFile(ctx, node, req)
	case "room":
		return roomCmd(ctx, node, req)
	case "history":
		h, ok := node.(Historian)
		if !ok {
			return Response{Error: "this node keeps no history"}
		}
		peer := ""
		if len(req.To) > 0 {
			peer = req.To[0]
		}
		if req.Clear {
			if peer == "" {
				return Response{Error: "name the colleague whose history to clear"}
			}
			c, err := h.Contact(peer)
			if err != nil {
				return Response{Error: err.Error()}
			}
			n, err := h.ClearHistory(c.Peer)
			if err != nil {
				return Response{Error: err.Error()}
			}
			return Response{OK: true, Cleared: n}
		}
		rs, err := h.QueryHistory(peer, req.Text, req.Since, req.Limit)
		if err != nil {
			return Response{Error: err.Error()}
		}
		if rs == nil {
			rs = []history.Record{}
		}
		return Response{OK: true, History: rs}
	case "verify":
		v, ok := node.(Verifier)
		if !ok {
			return Response{Error: "this node has no identity key"}
		}
		if len(req.To) != 1 {
			return Response{Error: "name one colleague"}
		}
		res, err := v.Verify(req.To[0], req.Confirm, req.Fingerprint)
		if err != nil {
			return Response{Error: err.Error()}
		}
		return Response{OK: true, Verification: &res}
	case "ask-shared":
		if len(req.To) != 1 {
			return Response{Error: "name one peer"}
		}
		addr, err := node.Resolve(req.To[0])
		if err != nil {
			return Response{Error: err.Error()}
		}
		if err := node.AskShared(addr); err != nil {
			return Response{Error: err.Error()}
		}
		return Response{OK: true}
	case "transfers":
		ts := node.Transfers()
		if ts == nil {
			ts = []xfer.Transfer{}
		}
		return Response{OK: true, Transfers: ts}
	case "transfer":
		return transferResp(node.Transfer(req.ID))
	case "accept":
		return transferResp(node.Accept(req.ID, req.Dir, req.Only))
	case "decline", "cancel":
		f := node.Decline
		if req.Cmd == "cancel" {
			f = node.Cancel
		}
		if err := f(req.ID); err != nil {
			return Response{Error: err.Error()}
		}
		return transferResp(node.Transfer(req.ID))
	}
	return Response{Error: fmt.Sprintf("unknown command %q", req.Cmd)}
}

func send(ctx context.Context, node Node, req Request) Response {
	if len(req.To) == 0 {
		return Response{Error: "no recipient"}
	}
	if len(req.Images) > 0 {
		return sendImages(ctx, node, req)
	}
	if req.Queue {
		return queue(ctx, node, req)
	}
	addrs, err := resolveAll(node, req.To)
	if err != nil {
		return Response{Error: err.Error()}
	}
	allow(node, req, addrs)
	var ds []lan.Delivery
	if req.Sealed {
		sl, ok := node.(Sealer)
		if !ok {
			return Response{Error: "this node cannot seal messages"}
		}
		ds, err = sl.SendWith(ctx, "", req.Text, lan.SendOpts{Sealed: true}, addrs...)
	} else {
		ds, err = node.Send(ctx, req.Text, addrs...)
	}
	if err != nil {
		return Response{Error: err.Error()}
	}
	resp := Response{OK: true}
	for _, d := range ds {
		out := Delivery{To: d.Addr.String(), PeerID: d.PeerID, Nick: d.Nick, Delivered: d.Err == nil, Parts: d.Parts}
		if d.Err != nil {
			out.Error = d.Err.Error()
			resp.OK = false
			resp.Error = fmt.Sprintf("not delivered to %s: %v", describe(d.Nick, d.Addr), d.Err)
		}
		resp.Deliveries = append(resp.Deliveries, out)
	}
	return resp
}

// queue sends a message to each named colleague or, where it is not delivered now, keeps
// it for when that colleague is back. It fails only if a name resolves to nobody or the
// message cannot be stored.
func queue(ctx context.Context, node Node, req Request) Response {
	h, ok := node.(Historian)
	if !ok {
		return Response{Error: "this node keeps no history, so it cannot queue"}
	}
	cs := make([]history.Contact, len(req.To))
	for i, q := range req.To {
		c, err := h.Contact(q)
		if err != nil {
			return Response{Error: err.Error()}
		}
		cs[i] = c
	}
	resp := Response{OK: true}
	for _, c := range cs {
		if addr, err := netip.ParseAddrPort(c.Addr); err == nil {
			allow(node, req, []netip.AddrPort{addr})
		}
		var r history.Record
		var err error
		if req.Sealed {
			sq, ok := node.(SealedQueuer)
			if !ok {
				return Response{Error: "this node cannot seal messages", Deliveries: resp.Deliveries}
			}
			r, err = sq.QueueWith(ctx, "", req.Text, c, lan.SendOpts{Sealed: true})
		} else {
			r, err = h.Queue(ctx, "", req.Text, c)
		}
		if err != nil {
			return Response{Error: err.Error(), Deliveries: resp.Deliveries}
		}
		resp.Deliveries = append(resp.Deliveries, Delivery{To: c.Addr, PeerID: c.PeerID, Nick: c.Nick,
			Delivered: r.State == history.StateDelivered, Queued: r.State == history.StateQueued, HistoryID: r.ID, Error: r.Error})
	}
	return resp
}

// resolveAll resolves every recipient a user named, or says which one it cannot.
func resolveAll(node Node, to []string) ([]netip.AddrPort, error) {
	var addrs []netip.AddrPort
	for _, q := range to {
		addr, err := node.Resolve(q)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

func transferResp(t xfer.Transfer, err error) Response {
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{OK: true, Transfer: &t}
}

func sendFile(ctx context.Context, node Node, req Request) Response {
	if len(req.To) == 0 {
		return Response{Error: "no recipient"}
	}
	for _, p := range req.Paths {
		if !filepath.IsAbs(p) {
			return Response{Error: fmt.Sprintf("path %q is not absolute", p)}
		}
	}
	addrs, err := resolveAll(node, req.To)
	if err != nil {
		return Response{Error: err.Error()}
	}
	allow(node, req, addrs)
	return transferResp(node.SendFiles(ctx, req.Text, req.Paths, addrs...))
}

func describe(nick string, addr netip.AddrPort) string {
	if nick == "" {
		return addr.String()
	}
	return fmt.Sprintf("%s (%s)", nick, addr)
}

// callTimeout is how long a client waits for the answer to cmd: a send waits for the
// retries (seconds) and, with several long parts, longer; a history search reads the whole
// database; everything else is answered at once by a node that is not stuck.
func callTimeout(cmd string) time.Duration {
	switch cmd {
	case "send", "send-file", "room":
		return 5 * time.Minute
	case "history":
		return time.Minute
	}
	return 15 * time.Second
}

// dialTimeout bounds connecting to the socket.
const dialTimeout = 2 * time.Second

// noSocket reports whether nothing is at path: how a dial failed does not say it on every
// system (Windows' AF_UNIX reports a missing socket file in its own words).
func noSocket(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, os.ErrNotExist)
}

// Call sends req to the node listening at path and returns its answer. A Response with OK
// false is returned as it is, not as an error; errors are for failing to ask at all. The
// wait for the answer is bounded per command (15 s for status, 5 min for a send).
func Call(path string, req Request) (Response, error) {
	return CallContext(context.Background(), path, req)
}

// CallContext is Call whose wait also ends with ctx.
func CallContext(ctx context.Context, path string, req Request) (Response, error) {
	limit := callTimeout(req.Cmd)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, dialTimeout)
	var d net.Dialer
	c, err := d.DialContext(dctx, "unix", path)
	dcancel()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || oserr.ConnRefused(err) || errors.Is(err, syscall.ENOENT) || noSocket(path) {
			return Response{}, fmt.Errorf("%w (no socket at %s): start one with `feigo serve` or the FeiGo app", ErrNotRunning, path)
		}
		return Response{}, fmt.Errorf("connecting to %s: %w", path, err)
	}
	defer c.Close()
	// The deadline ends a blocked write or read; a cancelled ctx ends it at once.
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	stuck := func(what string, err error) error {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the node at %s did not answer the %s request in time; it may be stuck: restart it (%s: %w)", path, req.Cmd, what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Response{}, stuck("sending the request", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return Response{}, stuck("reading the answer from the node", err)
	}
	return resp, nil
}
