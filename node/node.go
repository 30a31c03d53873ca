// Package node is the FeiGo application service that `feigo serve` and the window both run:
// it opens the profile's control socket, history, peer table and network, and keeps the
// offline queue, transfer records, retention and name resolution in one place.
package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/imgstore"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
	"feigo/room"
	"feigo/trust"
	"feigo/xfer"
)

// Node is a LAN node with its control socket and history: what `feigo serve` and the desktop
// app run. Its Send keeps the history; Queue holds messages for colleagues who are away.
type Node struct {
	*lan.Node
	*xfer.Engine // the node's transfers: SendFiles, Accept, Transfers, …
	ctl          net.Listener
	History      *history.Store
	log          *slog.Logger
	emit         func(lan.Event)
	id           *trust.Identity // this profile's key
	pins         *trust.Pins     // the colleagues' keys, pinned on first sight

	qmu        sync.Mutex
	qlocks     map[string]*sync.Mutex // per peer key: one delivery of its queue at a time
	bgCtx      context.Context        // cancelled when Run stops
	bgStop     context.CancelFunc
	bg         sync.WaitGroup
	retention  atomic.Int64 // days; 0 keeps everything
	stored     sync.Map     // inboxKey → history ID of a message stored and not yet reported
	renamed    sync.Map     // history keys already filed under a fingerprint (renames)
	later      later
	policy     atomic.Pointer[legacyPolicy]
	rooms      *room.Manager // nil without a key
	roomSyncs  roomSyncs
	images     *imgstore.Store // the profile's images shown inline (nil if it cannot be opened)
	incoming   string          // where incoming images are fetched before they are stored
	imgMu      sync.Mutex      // adding an image and referencing it, against pruning
	noReceipts atomic.Bool     // no read notices for ordinary messages
	icons      icons           // colleagues' pictures (icons.go)
	profileDir string
	sentIcon   sync.Map // peer ID → this user's picture was sent to them
}

// later is the history work that events ask for: the LAN's read loop and the event
// callbacks never wait for the history (only storing a message before its acknowledgement
// does). Announced peers are coalesced by key; both lists are bounded, and what a flood
// pushes out is caught up by the minute's queue retry (peers) or lost with a log line
// (transfer records).
type later struct {
	mu      sync.Mutex
	peers   map[string]bool      // peer keys whose queue to look at
	records []xfer.Transfer      // ended transfers to record
	images  []xfer.Transfer      // ended incoming inline transfers whose images to store
	reads   []readJob            // read notices to store
	icons   []iconJob            // colleagues' pictures to take or forget
	renames map[string]renameJob // history keys to file under a colleague's fingerprint, by old key
	wake    chan struct{}        // one token: there is work
}

// maxLater bounds each list of later work.
const maxLater = 4096

func (n *Node) doLater(what func(l *later) bool) {
	n.later.mu.Lock()
	ok := what(&n.later)
	n.later.mu.Unlock()
	if !ok {
		n.log.Warn("history work dropped: too much waiting")
		return
	}
	select {
	case n.later.wake <- struct{}{}:
	default:
	}
}

// runLater does the waiting history work, on the node's background goroutine; queues is
// false when the node is stopping (only the records are kept then).
func (n *Node) runLater(queues bool) {
	n.later.mu.Lock()
	keys, recs, renames, imgs, reads, icons := n.later.peers, n.later.records, n.later.renames, n.later.images, n.later.reads, n.later.icons
	n.later.peers, n.later.records, n.later.renames, n.later.images, n.later.reads, n.later.icons = map[string]bool{}, nil, map[string]renameJob{}, nil, nil, nil
	n.later.mu.Unlock()
	for _, j := range icons {
		if j.pic == nil {
			n.forgetIcon(j.peer.ID)
		} else if queues { // not while stopping
			n.takeIcon(j.peer, j.pic)
		}
	}
	for _, j := range reads {
		n.storeRead(j)
	}
	for _, t := range recs {
		n.recordTransfer(t)
	}
	for _, t := range imgs {
		n.takeImages(t)
	}
	if len(renames) > 0 {
		// Thirty colleagues coming online at once cost one look, not thirty.
		held, err := n.History.Holding(slices.Collect(maps.Keys(renames)))
		for from, r := range renames {
			if err == nil && !held[from] {
				n.renamed.Store(from, true) // nothing kept under it: nothing to move
				continue
			}
			if n.mayRename(from, r) {
				n.rename(from, r.to)
			}
		}
	}
	if !queues || len(keys) == 0 {
		return
	}
	queued, err := n.History.Queuing(slices.Collect(maps.Keys(keys)))
	for key := range keys {
		if err != nil || queued[key] {
			n.deliverQueue(key)
		}
	}
}

func inboxKey(m lan.Message) string { return fmt.Sprint(m.Addr, "/", m.PacketNo) }

// storedMsg is what the history made of a received message: its record and who sent it.
type storedMsg struct {
	id           int64
	peerID, nick string
}

// Start takes the profile's control socket and the UDP port, in that order, so that a
// second node on the same profile is refused before it touches the network. It opens the
// profile's history, where messages that a killed node left "sending" are marked failed.
func Start(p *profile.Profile, cfg lan.Config) (*Node, error) {
	ln, err := control.Listen(p.SocketPath())
	if err != nil {
		return nil, err
	}
	conn := cfg.Conn // tests bind loopback themselves
	if conn == nil {
		if conn, err = lan.Listen(cfg.Port); err != nil {
			ln.Close()
			return nil, err
		}
		if !cfg.NoIPv6 {
			// A host without IPv6 runs on IPv4 alone: not an error.
			if c6, err := lan.Listen6(cfg.Port); err != nil {
				if cfg.Log != nil {
					cfg.Log.Info("IPv6 off: running on IPv4 alone", "err", err)
				}
			} else {
				cfg.Conn6 = c6
			}
		}
	}
	closeConns := func() {
		conn.Close()
		if cfg.Conn6 != nil {
			cfg.Conn6.Close()
		}
	}
	if !cfg.NoKey {
		id, err := trust.LoadOrCreate(p.Dir)
		if err == nil && cfg.Identity == nil {
			cfg.Identity = id
		}
		var pins *trust.Pins
		if err == nil {
			pins, err = trust.OpenPins(p.Dir, nil)
		}
		if err != nil {
			closeConns()
			ln.Close()
			return nil, err
		}
		if cfg.Pins == nil {
			cfg.Pins = pins
		}
	}
	hist, err := history.Open(filepath.Join(p.Dir, "history.db"))
	if err != nil {
		closeConns()
		ln.Close()
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if k, err := hist.Interrupted(); err != nil {
		cfg.Log.Error("history", "err", err)
	} else if k > 0 {
		cfg.Log.Warn("messages being sent when FeiGo last stopped are marked failed", "count", k)
	}
	if cfg.Remembered == nil {
		cfg.Remembered = remembered(hist, cfg.Log)
	}
	n := &Node{ctl: ln, History: hist, log: cfg.Log, qlocks: map[string]*sync.Mutex{}, id: cfg.Identity, pins: cfg.Pins}
	n.profileDir = p.Dir
	n.openIcons(p.Dir)
	if store, incoming := imageDirs(p.Dir); !cfg.NoFiles {
		if n.images, err = imgstore.Open(store); err != nil {
			cfg.Log.Error("images shown inline are off", "err", err)
		} else {
			n.incoming = incoming
			if cfg.ImageDir == "" {
				cfg.ImageDir = incoming
			} else {
				n.incoming = cfg.ImageDir
			}
		}
	}
	n.bgCtx, n.bgStop = context.WithCancel(context.Background())
	cfg.Conn = conn
	// A message is acknowledged only once it is in the history (Deliver runs before the ack).
	cfg.Deliver = func(m lan.Message) error {
		if strings.TrimSpace(m.Text) == "" {
			return nil // a file offer without a note: the transfer is recorded when it ends
		}
		r := history.Record{Time: m.Time, PeerID: m.PeerID, User: m.User, Host: m.Host,
			Addr: m.Addr.String(), Nick: m.Nick, Direction: event.In, Text: m.Text, State: history.StateReceived, PacketNo: m.PacketNo,
			Encrypted: m.Encrypted, Sealed: m.Sealed, ReadCheck: m.ReadCheck}
		if m.PeerID == "" {
			if c, ok := n.knownContact(m.User, m.Host, r.Addr); ok {
				r.Peer, r.PeerID, r.Nick = c.Peer, c.PeerID, c.Nick
			}
		}
		id, err := hist.Add(r)
		if err == nil {
			n.stored.Store(inboxKey(m), storedMsg{id, r.PeerID, r.Nick}) // for the message event that follows
		}
		return err
	}
	n.later = later{peers: map[string]bool{}, renames: map[string]renameJob{}, wake: make(chan struct{}, 1)}
	cfg.Announced = func(p peers.Peer) { // a peer that restarted before it expired changes nothing
		n.peerAnnounced(p)
		n.roomPeerSeen(p)
	}
	n.startLegacyGroups(&cfg)
	if err := n.startRooms(&cfg); err != nil {
		hist.Close()
		closeConns()
		ln.Close()
		return nil, err
	}
	onEvent := cfg.OnEvent
	n.emit = func(ev lan.Event) {
		if onEvent != nil {
			onEvent(ev)
		}
	}
	cfg.OnEvent = func(ev lan.Event) {
		switch ev.Type {
		case event.MessageDelivered, event.MessageFailed:
			return // Node.Send reports these itself, with the history record
		case event.MessageRead:
			j := readJob{peer: history.PeerKey(ev.Message.PeerID, ev.Message.User, ev.Message.Host), msg: *ev.Message}
			if ev.Message.PeerID == "" {
				if c, ok := n.knownContact(ev.Message.User, ev.Message.Host, ev.Message.Addr.String()); ok {
					j.peer = c.Peer
				}
			}
			n.doLater(func(l *later) bool {
				if len(l.reads) >= maxLater {
					return false
				}
				l.reads = append(l.reads, j)
				return true
			})
			return // reported once stored, with the message's record
		case event.Message:
			if v, ok := n.stored.LoadAndDelete(inboxKey(*ev.Message)); ok {
				sm := v.(storedMsg)
				ev.HistoryID = sm.id
				if ev.Message.PeerID == "" && sm.peerID != "" {
					// From a colleague the history knows, before their announcement.
					m := *ev.Message
					m.PeerID, m.Nick = sm.peerID, sm.nick
					ev.Message = &m
				}
			}
		case event.PeerIcon:
			j := iconJob{peer: *ev.Peer, pic: ev.Icon}
			n.doLater(func(l *later) bool {
				if len(l.icons) >= maxLater {
					return false
				}
				l.icons = append(l.icons, j)
				return true
			})
			return // the window hears of it as peer_updated, once stored
		case event.PeerOffline:
			n.sentIcon.Delete(ev.Peer.ID)
			j := iconJob{peer: *ev.Peer}
			n.doLater(func(l *later) bool {
				if len(l.icons) >= maxLater {
					return false
				}
				l.icons = append(l.icons, j)
				return true
			})
		case event.PeerOnline, event.PeerUpdated:
			n.peerAnnounced(*ev.Peer)
			n.roomPeerSeen(*ev.Peer)
			n.sendIconTo(*ev.Peer, ev.Type == event.PeerOnline)
			if n.icons.store != nil {
				p := n.withIcon(*ev.Peer)
				ev.Peer = &p
			}
		case event.TransferDone, event.TransferFailed:
			t := *ev.Transfer
			if t.Inline {
				if t.Direction == event.In && n.images != nil {
					n.doLater(func(l *later) bool {
						if len(l.images) >= maxLater {
							return false
						}
						l.images = append(l.images, t)
						return true
					})
				}
				break // a message's images: stored with the message, not as a transfer
			}
			n.doLater(func(l *later) bool {
				if len(l.records) >= maxLater {
					return false
				}
				l.records = append(l.records, t)
				return true
			})
		}
		n.emit(ev)
	}
	node, err := lan.NewNode(cfg, peers.New(nil))
	if err != nil {
		n.bgStop()
		hist.Close()
		closeConns()
		ln.Close()
		return nil, err
	}
	n.Node = node
	n.Engine = node.Files()
	n.loadPicture()
	return n, nil
}

// QueryHistory answers `feigo history`: PEER may be a peer of the table or a key in the
// history (a FeiGo ID or user@host).
func (n *Node) QueryHistory(peer, search string, since time.Time, limit int) ([]history.Record, error) {
	rs, err := queryHistory(n.History, n.Contact, peer, search, since, limit)
	fillImagePaths(n.images, rs)
	return rs, err
}

// ReadHistory answers `feigo history` when no FeiGo runs with profile p: it reads the
// profile's history itself, read-only, and PEER is a colleague the history knows (a name,
// user@host, an address, an ID). A profile without a history has none to show.
func ReadHistory(p *profile.Profile, peer, search string, since time.Time, limit int) ([]history.Record, error) {
	h, err := history.OpenReadOnly(filepath.Join(p.Dir, "history.db"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rs, err := queryHistory(h, func(q string) (history.Contact, error) { return contactIn(h, q) }, peer, search, since, limit)
	store, _ := imageDirs(p.Dir)
	fillImagePaths(imgstore.At(store), rs)
	return rs, err
}

// queryHistory queries h for `feigo history`, resolving PEER with contact.
func queryHistory(h *history.Store, contact func(string) (history.Contact, error), peer, search string, since time.Time, limit int) ([]history.Record, error) {
	f := history.Filter{Search: search, Since: since, Limit: limit}
	if peer != "" {
		c, err := contact(peer)
		if err != nil && !errors.Is(err, ErrNoContact) {
			return nil, err
		}
		f.Peer = peer // a key the history may hold even if no name resolves to it
		if err == nil {
			f.Peer = c.Peer
		}
	}
	return h.Query(f)
}

// Run serves the LAN and the control socket until ctx is cancelled, then says goodbye.
func (n *Node) Run(ctx context.Context) error {
	defer n.ctl.Close()
	defer n.History.Close()
	ctx, stop := context.WithCancel(ctx)
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- control.Serve(ctx, n.ctl, n) }()
	if n.rooms != nil {
		n.bg.Add(1)
		go func() {
			defer n.bg.Done()
			n.rooms.Run(n.bgCtx)
		}()
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		retry := time.NewTicker(queueRetry)
		defer retry.Stop()
		for {
			select {
			case <-n.bgCtx.Done():
				return
			case <-t.C:
				n.prune()
			case <-retry.C:
				n.retryQueues()
			case <-n.later.wake:
				n.runLater(true)
			}
		}
	}()
	runErr := n.Node.Run(ctx)
	n.bgStop()
	n.bg.Wait()
	n.runLater(false) // the transfers that the stop cut are recorded too
	if n.pins != nil {
		if err := n.pins.Flush(true); err != nil {
			n.log.Error("pinned keys", "err", err)
		}
	}
	stop()
	if err := <-ctlDone; err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// remembered are the addresses the history last saw its colleagues at, the most recent
// first: the node greets those its broadcasts do not reach when it starts (lan.Config.Remembered).
func remembered(hist *history.Store, log *slog.Logger) []netip.AddrPort {
	cs, err := hist.Contacts()
	if err != nil {
		log.Error("history", "err", err)
		return nil
	}
	var out []netip.AddrPort
	for _, c := range cs {
		if a, err := netip.ParseAddrPort(c.Addr); err == nil && len(out) < lan.MaxRemembered {
			out = append(out, a)
		}
	}
	return out
}

// LANConfig turns a profile's settings into a node configuration.
func LANConfig(p *profile.Profile, st profile.Settings) (lan.Config, error) {
	return lanConfig(p, st, systemCodePage)
}

// lanConfig is LANConfig on a system whose ANSI code page acp tells (see defaultLegacy).
func lanConfig(p *profile.Profile, st profile.Settings, acp func() uint32) (lan.Config, error) {
	login, host := profile.DefaultNames()
	cfg := lan.Config{
		ID: p.ID, Nick: st.Nick, Group: st.Group, User: login, Host: host,
		Port: st.Port, Extra: st.Broadcast, NoIPv6: st.NoIPv6, Legacy: defaultLegacy(acp),
		StateDir: p.Dir, DownloadDir: st.DownloadDir,
	}
	if cfg.DownloadDir == "" {
		cfg.DownloadDir = profile.DefaultDownloads()
	}
	if cfg.Nick == "" {
		cfg.Nick = login
	}
	if cfg.Port == 0 {
		cfg.Port = lan.DefaultPort
	}
	for _, name := range st.Interfaces {
		if name == "none" {
			cfg.NoInterfaces = true
		} else {
			cfg.Interfaces = append(cfg.Interfaces, name)
		}
	}
	if err := st.CheckPolicy(); err != nil {
		return cfg, err
	}
	for _, x := range cfg.Extra { // before any socket is bound
		if _, err := lan.CheckTarget(x, cfg.Port, cfg.NoIPv6); err != nil {
			return cfg, fmt.Errorf("broadcast address: %w", err)
		}
	}
	cfg.NoHostList, cfg.NoExchange, cfg.VirtualInterfaces = st.NoHostList, st.NoPeerExchange, st.VirtualInterfaces
	for _, r := range st.ReachRanges {
		pf, err := netip.ParsePrefix(r)
		if err != nil {
			return cfg, fmt.Errorf("reach range %q: want a range like 203.0.113.0/24 or 2001:db8:1::/48", r)
		}
		cfg.ReachRanges = append(cfg.ReachRanges, pf.Masked())
	}
	cfg.PlaintextFallback, cfg.RefuseLegacy = lanPolicy(st)
	switch st.LegacyGroups {
	case "", "on", "off":
		cfg.LegacyGroups = st.LegacyGroups == "on" || st.LegacyGroups == "" && st.Legacy != profile.LegacyRefuse
	default:
		return cfg, fmt.Errorf("legacy_groups is %q: it is \"on\", \"off\" or empty (on unless legacy is \"refuse\")", st.LegacyGroups)
	}
	if st.LegacyEncoding != "" {
		cs, err := ipmsg.ParseCharset(st.LegacyEncoding)
		if err != nil {
			return cfg, err
		}
		cfg.Legacy = cs
	}
	return cfg, nil // the port and the --broadcast addresses are checked by lan.NewNode
}
