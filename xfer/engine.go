// Package xfer is FeiGo's file transfer engine: offers of files and folders in both
// directions, the TCP side of IPMsg (GETFILEDATA, GETDIRFILES) that serves them only to the
// peers they were offered to (between FeiGo peers over TLS, to the recipient's key with its
// offer token), downloads that resume and are authenticated between FeiGo peers (by the TLS
// channel, or by SHA-256 without one), and the table of transfers persisted in the profile. It talks to the LAN only
// through a Messenger (package lan implements it) and owns its state and its lock.
package xfer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/peers"
)

// Messenger is what the engine needs of the messaging layer.
type Messenger interface {
	// Encoding says how to write to addr: the charset, and whether to set UTF8OPT.
	Encoding(addr netip.AddrPort) (ipmsg.Charset, bool)
	// ReadCharset says what a packet from from is written in.
	ReadCharset(p ipmsg.Packet, from netip.AddrPort) ipmsg.Charset
	// Packet builds a packet from this node, with a new packet number.
	Packet(cs ipmsg.Charset, utf8 bool, cmd ipmsg.Command, body []byte) ipmsg.Packet
	// Write sends one datagram, best effort.
	Write(to netip.AddrPort, p ipmsg.Packet)
	// SendReliable sends p until to acknowledges it (RECVMSG) or the retries are spent.
	SendReliable(ctx context.Context, to netip.AddrPort, p ipmsg.Packet) error
	// SendSealed sends p as SendReliable does, but only over the encrypted channel of the
	// peer at to that proved key: it fails rather than send p in clear (p carries a secret).
	SendSealed(ctx context.Context, to netip.AddrPort, key []byte, p ipmsg.Packet) error
	// DialFiles connects to to's file port and sends the request req (an IPMsg packet):
	// with key, over TLS bound to that key and nothing else; without, over TLS bound to the
	// peer's key when it proved one, else over plain TCP.
	DialFiles(ctx context.Context, to netip.AddrPort, key, req []byte) (net.Conn, error)
}

// Config is what the engine is told by its owner.
type Config struct {
	// StateDir keeps the transfers (a folder "transfers", one file each), so that offers
	// survive a restart of the sender and downloads resume after a restart of the receiver;
	// "" keeps them in memory only.
	StateDir string
	// DownloadDir is where Accept saves when it is given no folder.
	DownloadDir string
	// AcceptDir, when set, accepts every file offer into this folder at once.
	AcceptDir string
	// ImageDir, when set, is where the images embedded in incoming messages (clipboard
	// attachments) are fetched at once, as inline transfers; the owner takes them from
	// there when the transfer ends. Without it they are offered as ordinary files.
	ImageDir string
	// NoVerify fetches from FeiGo peers without the SHA-256 check, as from legacy clients.
	NoVerify bool
	// OfferTTL is how long an outgoing offer is served and how long an incoming one waits
	// to be accepted (DefaultOfferTTL when 0); FetchPatience how long a download keeps
	// retrying without progress.
	OfferTTL, FetchPatience time.Duration
	// Limits bound what other hosts on the LAN can make the engine hold; zero fields take
	// the defaults.
	Limits Limits
	// Emit receives every transfer event; it must not block.
	Emit func(event.Type, Transfer)
	Log  *slog.Logger
	Now  func() time.Time
}

// Limits bound what peers, or anyone who can reach UDP and TCP port 2425, can make the
// engine hold in memory, on disk and in file descriptors. A zero field takes its default
// (the Default… constant of the same name).
type Limits struct {
	// MaxOffersPerPeer bounds the incoming offers not yet ended (waiting for a decision or
	// being fetched) from one sender, counted both by its IP address and by its FeiGo ID;
	// MaxOffers bounds them all together. An offer beyond either is refused, with a log
	// line at most once a minute per sender.
	MaxOffersPerPeer, MaxOffers int
	// MaxOfferFiles bounds the entries of one offer's list: a longer offer is refused.
	// MaxOfferText bounds the note kept with an incoming offer, in bytes (it is clipped).
	MaxOfferFiles, MaxOfferText int
	// MaxOfferBytes bounds the stored size (about their JSON in the state folder) of the
	// incoming offers not yet ended together. One sender may hold an eighth of it, one offer
	// a thirty-second, and the ended transfers kept for `feigo transfers` half of it.
	MaxOfferBytes int64
	// MaxFolderBytes bounds the content of an incoming folder that was offered with size 0
	// (legacy clients may announce folders so); a folder offered with a size is held to
	// that size. MaxFolderEntries bounds the files and folders of any incoming folder.
	MaxFolderBytes   int64
	MaxFolderEntries int
	// MaxConns bounds the connections to the file port open at once; MaxConnsPerAddr those
	// from one IP address. A connection beyond either is closed at once.
	MaxConns, MaxConnsPerAddr int
	// RequestTimeout is how long a new connection has, in all, to send its request.
	RequestTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxOffersPerPeer = 64
	DefaultMaxOffers        = 1000
	DefaultMaxOfferFiles    = 1000
	DefaultMaxOfferText     = 4 << 10
	DefaultMaxOfferBytes    = 8 << 20
	DefaultMaxFolderBytes   = 4 << 30
	DefaultMaxFolderEntries = 100_000
	DefaultMaxConns         = 256
	DefaultMaxConnsPerAddr  = 16
	DefaultRequestTimeout   = 10 * time.Second
)

// withDefaults fills the zero fields of l.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxOffersPerPeer, DefaultMaxOffersPerPeer)
	def(&l.MaxOffers, DefaultMaxOffers)
	def(&l.MaxOfferFiles, DefaultMaxOfferFiles)
	def(&l.MaxOfferText, DefaultMaxOfferText)
	def(&l.MaxFolderEntries, DefaultMaxFolderEntries)
	def(&l.MaxConns, DefaultMaxConns)
	def(&l.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	if l.MaxOfferBytes <= 0 {
		l.MaxOfferBytes = DefaultMaxOfferBytes
	}
	if l.MaxFolderBytes <= 0 {
		l.MaxFolderBytes = DefaultMaxFolderBytes
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	return l
}

// ErrClosed is returned for work asked of an engine that has stopped.
var ErrClosed = errors.New("node stopped")

// Engine runs the transfers of one node. Its methods are safe for concurrent use. Offers
// may be made and accepted before Run; downloads start when Run does.
type Engine struct {
	cfg   Config
	m     Messenger
	table *peers.Table
	log   *slog.Logger
	now   func() time.Time
	xfers *transfers

	runMu   sync.Mutex
	ctx     context.Context // Run's; nil until Run starts
	closing bool            // set when Run stops: no goroutine starts after that
	wg      sync.WaitGroup  // the engine's goroutines: fetches, served connections, offers
	up      chan struct{}   // closed once Run has started

	// pause waits d or until ctx ends, and reports whether d passed (a test sees the waits).
	pause func(ctx context.Context, d time.Duration) bool

	connMu   sync.Mutex
	connOpen map[net.Conn]netip.Addr // admitted file connections → the address they came from
	connPer  map[netip.Addr]int      // how many of them came from each address

	badTokens atomic.Int64 // file requests over TLS refused for a wrong or missing token

	inline inlineBudget // what embedded images may still bring (InlineSenderBytes, InlineAllBytes)

	refusedMu sync.Mutex
	refusals  map[refusal]time.Time // when each kind of refusal of each sender was last logged
}

// refusal is a kind of refusal (its log message) of a sender.
type refusal struct {
	ip  netip.Addr
	msg string
}

// refusalLogEvery is how often a sender's refused offers or connections are logged.
const refusalLogEvery = time.Minute

// logRefusal logs a refusal of something from ip, at most once per refusalLogEvery per
// sender and message: a flood must not flood the log too. The table of senders stays small.
func (e *Engine) logRefusal(ip netip.Addr, msg string, args ...any) {
	now := e.now()
	key := refusal{ip, msg}
	e.refusedMu.Lock()
	last, seen := e.refusals[key]
	if seen && now.Sub(last) < refusalLogEvery {
		e.refusedMu.Unlock()
		return
	}
	if len(e.refusals) >= 1024 {
		for k, t := range e.refusals {
			if now.Sub(t) >= refusalLogEvery {
				delete(e.refusals, k)
			}
		}
		if len(e.refusals) >= 1024 {
			clear(e.refusals)
		}
	}
	e.refusals[key] = now
	e.refusedMu.Unlock()
	e.log.Warn(msg, append([]any{"from", ip}, args...)...)
}

// New loads the transfers kept in cfg.StateDir and returns an engine that reaches peers
// through m and looks them up in table.
func New(cfg Config, m Messenger, table *peers.Table) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OfferTTL == 0 {
		cfg.OfferTTL = DefaultOfferTTL
	}
	if cfg.FetchPatience == 0 {
		cfg.FetchPatience = DefaultFetchPatience
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Emit == nil {
		cfg.Emit = func(event.Type, Transfer) {}
	}
	xs, err := loadTransfers(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	xs.pruneFinal(cfg.Limits.MaxOfferBytes / 2)
	return &Engine{cfg: cfg, m: m, table: table, log: cfg.Log, now: cfg.Now, xfers: xs,
		up: make(chan struct{}), refusals: map[refusal]time.Time{}, pause: pause,
		connOpen: map[net.Conn]netip.Addr{}, connPer: map[netip.Addr]int{}}, nil
}

// pause waits d, or until ctx ends; it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runContext is Run's context, or a cancelled one when Run has not started or has ended.
func (e *Engine) runContext() context.Context {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.ctx == nil || e.closing {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	return e.ctx
}

// start registers a goroutine of the engine, or reports that the engine has stopped.
func (e *Engine) start() bool {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.closing {
		return false
	}
	e.wg.Add(1)
	return true
}

// Run serves file requests on ln, runs the downloads (resuming those a previous run left
// active), meters progress and expires offers until ctx is cancelled. Then it closes ln, cuts
// every transfer connection (downloads resume at the next start) and returns once all its
// goroutines have ended. The messenger must stop accepting sends no later than ctx ends, so
// that offers being announced end too.
func (e *Engine) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.runMu.Lock()
	if e.closing || e.ctx != nil {
		e.runMu.Unlock()
		return errors.New("xfer: Run called twice")
	}
	e.ctx = ctx
	kick := e.xfers.startSaver()
	e.runMu.Unlock()
	close(e.up)

	var loops sync.WaitGroup
	loops.Go(func() {
		e.xfers.saveLoop(ctx, kick, func(err error) { e.log.Error("saving transfers", "err", err) })
	})
	loops.Go(func() { e.serveTCP(ctx, ln) })
	loops.Go(func() { e.progressLoop(ctx) })
	loops.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.expireOffers()
			}
		}
	})
	e.resumeIncoming()

	<-ctx.Done()
	e.runMu.Lock()
	e.closing = true
	e.runMu.Unlock()
	ln.Close()
	e.xfers.mu.Lock()
	for _, x := range e.xfers.all {
		for c := range x.conns {
			c.Close()
		}
	}
	e.xfers.mu.Unlock()
	loops.Wait()
	e.closeConns() // those still waiting for their request; no new one comes now
	e.wg.Wait()
	if err := e.xfers.stopSaver(); err != nil {
		e.log.Error("saving transfers", "err", err)
	}
	return nil
}

func (e *Engine) emit(typ event.Type, t Transfer) { e.cfg.Emit(typ, t) }

// BadTokens is how many file requests from a proved key were refused because they did not
// carry the token their offer gave that recipient.
func (e *Engine) BadTokens() int64 { return e.badTokens.Load() }
