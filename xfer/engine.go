// Package xfer is FeiGo's file transfer engine: offers of files and folders in both
// directions, the TCP side of IPMsg (GETFILEDATA, GETDIRFILES) that serves them only to the
// peers they were offered to, downloads that resume and are checked with SHA-256 between
// FeiGo peers, and the table of transfers persisted in the profile. It talks to the LAN only
// through a Messenger (package lan implements it) and owns its state and its lock.
package xfer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
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
}

// Config is what the engine is told by its owner.
type Config struct {
	// StateDir keeps transfers.json, so that offers survive a restart of the sender and
	// downloads resume after a restart of the receiver; "" keeps them in memory only.
	StateDir string
	// DownloadDir is where Accept saves when it is given no folder.
	DownloadDir string
	// AcceptDir, when set, accepts every file offer into this folder at once.
	AcceptDir string
	// NoVerify fetches from FeiGo peers without the SHA-256 check, as from legacy clients.
	NoVerify bool
	// OfferTTL is how long an outgoing offer is served (DefaultOfferTTL when 0);
	// FetchPatience how long a download keeps retrying without progress.
	OfferTTL, FetchPatience time.Duration
	// Emit receives every transfer event; it must not block.
	Emit func(event.Type, Transfer)
	Log  *slog.Logger
	Now  func() time.Time
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
	if cfg.Emit == nil {
		cfg.Emit = func(event.Type, Transfer) {}
	}
	xs, err := loadTransfers(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, m: m, table: table, log: cfg.Log, now: cfg.Now, xfers: xs}, nil
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
	e.runMu.Unlock()

	var loops sync.WaitGroup
	loops.Go(func() { e.serveTCP(ln) })
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
	e.wg.Wait()
	return nil
}

func (e *Engine) emit(typ event.Type, t Transfer) { e.cfg.Emit(typ, t) }
