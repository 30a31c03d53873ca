package lan

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"feigo/event"
	"feigo/internal/oserr"
	"feigo/ipmsg"
	"feigo/legacygroup"
	"feigo/peers"
	"feigo/trust"
	"feigo/xfer"
)

// Version is FeiGo's version, sent in SENDINFO and in the packet version field.
const Version = "0.1.0"

// versionField starts with "1_" so IPMsg's atoi() reads protocol version 1, as iptux does.
const versionField = "1_feigo " + Version

// DefaultPort is IPMsg's UDP and TCP port.
const DefaultPort = 2425

// ErrPortInUse is returned by Run when another program holds the UDP port.
var ErrPortInUse = errors.New("port in use")

// Timing of liveness checks and retransmission. The zero Config uses these.
const (
	// At rest a FeiGo node sends one datagram every DefaultBeatEvery (a BR_ABSENCE, which
	// no IPMsg client answers), whatever the size of the LAN: colleagues that beat are not
	// asked anything while they beat. A peer quiet for DefaultProbeAfter (a FeiGo that
	// missed a beat, a legacy client, which never speaks unasked) is asked, every
	// DefaultProbeEvery, and dropped once quiet DefaultExpiry: a crashed colleague leaves
	// every list within a minute.
	DefaultBeatEvery   = 20 * time.Second
	DefaultProbeAfter  = 40 * time.Second
	DefaultProbeEvery  = 5 * time.Second
	DefaultExpiry      = 55 * time.Second
	DefaultRetryFirst  = 200 * time.Millisecond
	DefaultRetryMax    = 600 * time.Millisecond
	DefaultRetryBudget = 8 * time.Second
	// DefaultChannelMaxAge is how long a TLS channel's keys are used.
	DefaultChannelMaxAge = 10 * time.Minute
	DefaultHelloWait     = time.Second
)

// Config says who this node is and how it reaches the LAN.
type Config struct {
	// ID is this installation's stable FeiGo ID (a UUID); required.
	ID          string
	Nick, Group string
	// User and Host go into every packet header; ':' is replaced by ';'.
	User, Host string
	// Port is the UDP port to bind and announce to (DefaultPort when 0).
	Port int
	// Interfaces limits announcements to these interface names; empty means all but the
	// virtual ones (containers, virtual machines, VPN tunnels: VirtualInterface), unless
	// VirtualInterfaces is set.
	Interfaces        []string
	VirtualInterfaces bool
	// NoInterfaces turns off announcements to interface broadcast addresses, leaving only
	// Extra (tests on loopback, or a user who lists every host by hand).
	NoInterfaces bool
	// Extra are more addresses to announce to: other subnets' broadcast addresses or
	// single hosts, as accepted by ParseTarget.
	Extra []string
	// Remembered are the addresses colleagues were last seen at (the node's owner keeps
	// them): at start each one the broadcasts do not reach (another subnet, a host that
	// roamed) gets a unicast BR_ENTRY, so a restart finds them with no configuration.
	// At most MaxRemembered are greeted, RememberedEvery apart.
	Remembered []netip.AddrPort
	// NoExchange turns off peer exchanges (reach.go): the node neither asks its colleagues
	// on other subnets whom they list nor tells them whom it lists.
	NoExchange bool
	// ReachRanges are address ranges, besides the private and link-local ones, from which
	// addresses learnt in peer exchanges may be greeted (an office on public addresses).
	ReachRanges []netip.Prefix
	// NoHostList turns off answering IP Messenger's host-list requests (hostlist.go): by
	// default FeiGo serves its list, as an IP Messenger that allows it does.
	NoHostList bool
	// Legacy is the code page of clients that do not say theirs (GBK unless set).
	Legacy ipmsg.Charset
	// Conn, when set, is used instead of binding Port (package node binds it first, tests
	// bind loopback or a lab host's port); Conn6 then is the IPv6 socket (Listen6), or nil
	// for none. With Conn nil, Run binds both (the IPv6 one unless NoIPv6).
	Conn, Conn6 *net.UDPConn
	// NoIPv6 keeps the node on IPv4: no IPv6 socket, group or TCP listener. Without it the
	// node also listens on [::]:Port and announces to IP Messenger's group ff15::979 on each
	// interface (netif6.go); a host without IPv6 runs on IPv4 alone, without an error.
	NoIPv6 bool
	// Deliver, when set, is called with each new message before it is acknowledged; an
	// error withholds the ack so the sender retries (a history store that cannot write).
	Deliver func(Message) error
	// OnEvent receives every event; it must not block.
	OnEvent func(Event)
	// Announced, when set, is called with the peer each time a peer announces itself
	// (BR_ENTRY: it started, or refreshed), changed or not; it must not block. The history
	// delivers its queue then.
	Announced func(peers.Peer)
	Log       *slog.Logger
	Now       func() time.Time

	ProbeAfter, ProbeEvery, Expiry time.Duration
	// BeatEvery is how often the node says it is still there (DefaultBeatEvery when 0;
	// each beat comes up to a fifth later at random, so that nodes started together do not
	// beat together).
	BeatEvery                         time.Duration
	RetryFirst, RetryMax, RetryBudget time.Duration

	// StateDir keeps the transfers (in its folder "transfers"), so that offers survive a
	// restart of the sender and downloads resume after a restart of the receiver; "" keeps
	// them in memory only.
	StateDir string
	// DownloadDir is where Accept saves when it is given no folder.
	DownloadDir string
	// AcceptDir, when set, accepts every file offer into this folder at once.
	AcceptDir string
	// ImageDir, when set, is where images embedded in incoming messages are fetched at once
	// (xfer.Config.ImageDir); the node then advertises CLIPBOARDOPT, so that IP Messenger
	// and FeiGo send pasted images inline.
	ImageDir string
	// TCP, when set, is used instead of binding TCP Port for file transfers (tests).
	TCP net.Listener
	// NoVerify fetches from FeiGo peers without the SHA-256 check, as from legacy clients:
	// for links faster than the CPU can hash (it roughly halves the cost per byte).
	NoVerify bool
	// NoFiles turns off the TCP side: no file transfers, and FILEATTACHOPT not advertised.
	NoFiles bool
	// OfferTTL is how long an outgoing offer is served (xfer.DefaultOfferTTL when 0);
	// FetchPatience how long a download keeps retrying without progress.
	OfferTTL, FetchPatience time.Duration
	// FileLimits bound what the transfer engine accepts (zero fields: xfer's defaults).
	FileLimits xfer.Limits
	// Identity, when set, is this node's key: its announcements carry it, and a FeiGo
	// peer's announcement is believed only once the peer has proved its own key over TLS
	// at the announced address (see secure.go). Pins keeps the keys seen, by FeiGo ID.
	Identity *trust.Identity
	Pins     *trust.Pins
	// NoKey tells the node's owner (package node) to load no identity key: the node then
	// speaks IPMsg as FeiGo before keys did, unencrypted (serve --no-key, for benchmarks).
	NoKey bool
	// PlaintextFallback lists a FeiGo peer whose key cannot be proved because nothing answers
	// on its TCP port (a firewall) by its address, unencrypted and with a warning, instead
	// of not at all: the "encryption preferred" policy. By default a FeiGo peer is listed,
	// and spoken to, only over its TLS channel.
	PlaintextFallback bool
	// RefuseLegacy ignores clients that cannot encrypt (IP Messenger, FeiQ, iptux, FeiGo
	// without a key): they are not listed nor answered, and their datagrams are dropped.
	RefuseLegacy bool
	// ChannelMaxAge is how long a channel to a peer is used before it is replaced by a new
	// one, with new keys (DefaultChannelMaxAge when 0).
	ChannelMaxAge time.Duration
	// ReproveQuiet is how long a colleague's unchanged beats are believed without a new
	// proof (DefaultReproveQuiet when 0).
	ReproveQuiet time.Duration
	// HelloWait is how long the announcement of a new colleague waits for the colleague to
	// dial this node (which proves its key: see helloProof) before this node dials it
	// (DefaultHelloWait when 0; the housekeeping looks once a second).
	HelloWait time.Duration
	// oldHello makes the channel hello what FeiGo sent before helloProof (tests).
	oldHello bool
	// dialer, when set, opens the node's TCP connections (tests: a node in a lab host's
	// network namespace).
	dialer func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// subnets, when set, are the node's subnets in place of its interfaces' (tests).
	subnets []netip.Prefix
	// Rooms, when set, answers group-room requests that come over channels (rooms.go).
	Rooms RoomHandler
	// LegacyGroups joins FeiQ's room multicast group and takes iptux's group chat (announcing
	// us to iptux as one of its own, so that it sends it): see LegacyGroups. Both are
	// unencrypted. OnLegacyGroup receives their events; it must not block. LegacyMAC is the
	// MAC address our FeiQ room packets carry (their key); "" takes the first interface's.
	LegacyGroups  bool
	OnLegacyGroup func(legacygroup.Event)
	LegacyMAC     string
}

// Event is something the node wants its UI to know; Type says which of the fields are set.
type Event struct {
	Type    event.Type     `json:"type"`
	Time    time.Time      `json:"time"`
	Peer    *peers.Peer    `json:"peer,omitempty"`
	Message *Message       `json:"message,omitempty"`
	Error   string         `json:"error,omitempty"`
	Addr    netip.AddrPort `json:"addr,omitzero"`
	// Transfer is set on transfer_offered, transfer_started, transfer_progress,
	// transfer_done and transfer_failed (which also covers declined and cancelled).
	Transfer *xfer.Transfer `json:"transfer,omitempty"`
	// HistoryID is the history record a message event is about. The lan package never sets
	// it; the node's owner (package cli) does when it keeps a history.
	HistoryID int64 `json:"history_id,omitempty"`
	// Typing is set on typing events: the colleague (Peer) is typing, or stopped.
	Typing bool `json:"typing,omitempty"`
	// SendID is the ID the caller of SendAs chose for a message, on its
	// message_delivered, message_failed and message_queued events.
	SendID string `json:"send_id,omitempty"`
	// Room is set on room events (room_message, room_changed, room_delivered) by the node's
	// owner (package node): what package room reports, as JSON.
	Room json.RawMessage `json:"room,omitempty"`
	// Self is set on self_updated: this node's status and names as they are now.
	Self *SelfState `json:"self,omitempty"`
	// Icon is set on peer_icon: the picture iptux sent as Peer's icon, unchecked (at most
	// MaxIconBytes). The node's owner stores it; it is not told further.
	Icon []byte `json:"-"`
}

// SelfState is what self_updated says of this node.
type SelfState struct {
	Nick     string `json:"nick"`
	Group    string `json:"group"`
	Away     bool   `json:"away"`
	AwayText string `json:"away_text,omitempty"`
}

// Node is one FeiGo presence on the LAN: it announces itself, keeps the peer table and sends
// and receives acknowledged messages. Its methods are safe for concurrent use once Run has
// started; Send waits for Run to have bound its socket.
type Node struct {
	spread spreader // answers to announcements waiting (large LANs)
	greet  greeters // the network doctor's greetings waiting for an answer
	// refreshedAt is when Refresh last announced; refreshPending, that one was asked for
	// since, within refreshEvery.
	refreshMu      sync.Mutex
	refreshedAt    time.Time
	refreshPending bool
	cfg            Config
	table          *peers.Table
	log            *slog.Logger
	now            func() time.Time

	conn  *net.UDPConn
	conn6 *net.UDPConn // the IPv6 socket, or nil (set before ready is closed)
	port  int          // conn's port, set before ready is closed
	// announceMu makes each announcement's reading of the node's state and its sending one
	// step (announceTo): an announcement built before SetAway could otherwise go out after
	// SetAway's own, and leave colleagues with the old state until the next beat.
	announceMu sync.Mutex
	// stateMu orders what entry packets say with changes of it: every entry (an
	// announcement, an answer, a probe, a greeting) is built from the node's state and sent
	// holding it for reading (sayState), and SetAway and SetName change the state holding it
	// for writing. An answer built before a change can then never reach a colleague after
	// the change's own announcement and leave them with the old state until the next beat.
	stateMu  sync.RWMutex
	stateGen uint64 // changed with the state, under stateMu
	// sendMu4 and sendMu6 let one datagram at a time be written to conn and conn6 (send).
	sendMu4, sendMu6 sync.Mutex
	mcast6Mu         sync.Mutex    // conn6's multicast interface, set per datagram; joined6
	joined6          map[int]bool  // interfaces (by index) where conn6 joined Group6
	ready            chan struct{} // closed once conn is bound
	stopping         chan struct{} // closed when Run begins to shut down
	nos              *packetNos

	// The trust policy (Config.PlaintextFallback, Config.RefuseLegacy; SetPolicy).
	plaintextFallback, refuseLegacy atomic.Bool

	selfMu sync.Mutex
	self   ipmsg.Entry

	locals    atomic.Pointer[map[netip.Addr]bool]
	dedup     *dedup
	reads     readWaits              // messages sent that wait for a read notice
	notices   notices                // typing and nudges: when last taken and sent
	iconLimit icons                  // iptux's icons taken (under notices.mu)
	myIcon    atomic.Pointer[[]byte] // this user's picture, sent to iptux and FeiGo colleagues
	pendMu    sync.Mutex
	pending   map[ackKey]chan struct{}
	// broadcastAt is when (n.now, in Unix nanoseconds) we last broadcast a BR_ENTRY.
	broadcastAt atomic.Int64
	// sends counts sends in flight; closing is set under sendsMu before Run waits on it,
	// so no send starts after that.
	sendsMu sync.Mutex
	closing bool
	sends   sync.WaitGroup

	files *xfer.Engine // nil with Config.NoFiles
	tcp   net.Listener

	chans   clients         // channels to peers that proved their keys
	stopCtx context.Context // cancelled when stopping is closed
	stopNow context.CancelFunc
	proofs  proofs

	logLimit       *limiter[logKey]     // warnOnce
	strangerLimit  *limiter[netip.Addr] // messages from strangers, per source
	strangersLimit *limiter[struct{}]   // messages from strangers, all together
	peerLimit      *limiter[string]     // messages from each colleague in the table
	peerBytes      *limiter[string]     // bytes of messages from each colleague
	replyBudget    *limiter[netip.Addr] // bytes of replies and probes, per destination
	controlLimit   *limiter[netip.Addr] // replies other than acknowledgements, per destination
	iconSendLimit  *limiter[netip.Addr] // my picture sent to iptux, per destination
	iconSendAll    *limiter[struct{}]   // my picture sent to iptux, to everyone
	stats          stats

	groups *LegacyGroups // nil unless Config.LegacyGroups

	far           reach              // peer exchanges, learnt and remembered colleagues (reach.go)
	learnLimit    *limiter[struct{}] // greetings of learnt addresses, all together
	exchangeLimit *limiter[string]   // lists taken from each colleague
	lists         hostLists          // IP Messenger host lists asked for (hostlist.go)
	listBytes     *limiter[netip.Addr]
	listAll       *limiter[struct{}]
}

// startSend registers a send in flight, or reports that the node is stopping.
func (n *Node) startSend() bool {
	n.sendsMu.Lock()
	defer n.sendsMu.Unlock()
	if n.closing {
		return false
	}
	n.sends.Add(1)
	return true
}

// NewNode checks cfg and returns a node that records peers in table.
func NewNode(cfg Config, table *peers.Table) (*Node, error) {
	if cfg.ID == "" {
		return nil, errors.New("lan: Config.ID is required")
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("lan: port %d out of range", cfg.Port)
	}
	for _, x := range cfg.Extra {
		if _, err := CheckTarget(x, cfg.Port, cfg.NoIPv6); err != nil {
			return nil, fmt.Errorf("--broadcast address: %w", err)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ProbeAfter, DefaultProbeAfter)
	def(&cfg.ProbeEvery, DefaultProbeEvery)
	def(&cfg.Expiry, DefaultExpiry)
	def(&cfg.BeatEvery, DefaultBeatEvery)
	def(&cfg.HelloWait, DefaultHelloWait)
	def(&cfg.ReproveQuiet, DefaultReproveQuiet)
	def(&cfg.RetryFirst, DefaultRetryFirst)
	def(&cfg.RetryMax, DefaultRetryMax)
	def(&cfg.RetryBudget, DefaultRetryBudget)
	def(&cfg.ChannelMaxAge, DefaultChannelMaxAge)
	n := &Node{
		cfg:            cfg,
		table:          table,
		log:            cfg.Log,
		now:            cfg.Now,
		ready:          make(chan struct{}),
		spread:         spreader{wake: make(chan struct{}, 1)},
		stopping:       make(chan struct{}),
		dedup:          newDedup(4096),
		nos:            newPacketNos(),
		pending:        map[ackKey]chan struct{}{},
		logLimit:       newLimiter[logKey](1, logEvery),
		strangerLimit:  newAddrLimiter(StrangerBurst, StrangerEvery),
		strangersLimit: newLimiter[struct{}](StrangersBurst, StrangersEvery),
		peerLimit:      newLimiter[string](PeerBurst, PeerEvery),
		peerBytes:      newLimiter[string](PeerBytes, time.Second/PeerByteRate),
		replyBudget:    newAddrLimiter(ReplyAllowance, time.Second/ReplyRefill),
		controlLimit:   newAddrLimiter(ControlBurst, ControlEvery),
		iconSendLimit:  newAddrLimiter(iconSendBurst, IconEvery),
		iconSendAll:    newLimiter[struct{}](iconSendAllBurst, time.Second),
		far:            newReach(),
		learnLimit:     newLimiter[struct{}](learnBurst, learnEvery),
		exchangeLimit:  newLimiter[string](exchangeAskBurst, exchangeAskEvery),
		listBytes:      newAddrLimiter(listBytesBurst, listBytesEvery/listBytesBurst),
		listAll:        newLimiter[struct{}](listAllBurst, listBytesEvery/listAllBurst),
		self: ipmsg.Entry{
			ID: cfg.ID, Nick: cfg.Nick, Group: cfg.Group,
			User: headerName(cfg.User), Host: headerName(cfg.Host),
			Client: ipmsg.ClientFeiGo, Charset: ipmsg.UTF8, UTF8: true,
		},
	}
	n.replyBudget.ceil = ReplyCredit
	n.logLimit.key = func(k logKey) logKey { return logKey{limitKey(k.src), k.what} }
	n.self.Caps = []string{CapBeat}
	if !cfg.NoFiles {
		n.self.Caps = append(n.self.Caps, xfer.CapFiles, xfer.CapSHA256, xfer.CapDirResume)
		files, err := xfer.New(xfer.Config{
			StateDir: cfg.StateDir, DownloadDir: cfg.DownloadDir, AcceptDir: cfg.AcceptDir, NoVerify: cfg.NoVerify,
			ImageDir: cfg.ImageDir, OfferTTL: cfg.OfferTTL, FetchPatience: cfg.FetchPatience, Log: cfg.Log, Now: cfg.Now, Limits: cfg.FileLimits,
			Emit: func(typ event.Type, t xfer.Transfer) { n.emit(Event{Type: typ, Transfer: &t}) },
		}, messenger{n}, table)
		if err != nil {
			return nil, err
		}
		n.files = files
	}
	n.plaintextFallback.Store(cfg.PlaintextFallback)
	n.refuseLegacy.Store(cfg.RefuseLegacy)
	n.stopCtx, n.stopNow = context.WithCancel(context.Background())
	n.proofs = proofs{inFlight: map[string]bool{}, last: map[string]time.Time{}}
	if cfg.Identity != nil {
		if cfg.Pins == nil {
			return nil, errors.New("lan: Config.Identity needs Config.Pins")
		}
		n.self.Key = cfg.Identity.Pub
	}
	if cfg.LegacyGroups {
		n.groups = newLegacyGroups(n)
		n.self.IptuxGroups = true
	}
	locals := localAddrs()
	n.locals.Store(&locals)
	n.loadReach()
	return n, nil
}

func headerName(s string) string {
	b := []byte(ipmsg.OneLine(s))
	for i := range b {
		if b[i] == ':' {
			b[i] = ';'
		}
	}
	if len(b) == 0 {
		return "feigo"
	}
	return string(b)
}

// Files returns the node's transfer engine, or nil when Config.NoFiles is set.
func (n *Node) Files() *xfer.Engine { return n.files }

// Table returns the node's peer table.
func (n *Node) Table() *peers.Table { return n.table }

// Self returns this node's own entry (nick, group, away state).
func (n *Node) Self() ipmsg.Entry {
	n.selfMu.Lock()
	defer n.selfMu.Unlock()
	e := n.self
	return e
}

// Port returns the UDP port the node is bound to, once Run has bound it; 0 if Run failed.
func (n *Node) Port() int {
	select {
	case <-n.ready:
		return n.port
	case <-n.stopping:
		select {
		case <-n.ready:
			return n.port
		default:
			return 0
		}
	}
}

// awaitReady waits until Run has bound the socket; ErrNodeClosed if the node stops first.
func (n *Node) awaitReady(ctx context.Context) error {
	select {
	case <-n.ready:
		return nil
	case <-n.stopping:
		return ErrNodeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginStop marks the node stopping: sends, proofs and offers in flight end.
func (n *Node) beginStop() {
	close(n.stopping)
	n.stopNow()
}

// bound reports whether Run has bound the socket (conn may be used).
func (n *Node) bound() bool {
	select {
	case <-n.ready:
		return true
	default:
		return false
	}
}

// nextNo returns the number of a new packet: unpredictable, and distinct from the recent ones
// (packetNos).
func (n *Node) nextNo() uint32 { return n.nos.draw() }

func (n *Node) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = n.now()
	}
	if n.cfg.OnEvent != nil {
		n.cfg.OnEvent(ev)
	}
}

// Listen binds the UDP port. Run calls it when Config.Conn is nil; a caller that wants to
// report a busy port before doing anything else may call it first.
func Listen(port int) (*net.UDPConn, error) {
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("port %d out of range 1–65535", port)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error { return control(c, setBroadcast) }}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		if oserr.AddrInUse(err) {
			return nil, fmt.Errorf("UDP port %d is in use — is another IP Messenger, FeiQ, iptux or FeiGo running? (%w)", port, ErrPortInUse)
		}
		if oserr.AccessDenied(err) {
			return nil, fmt.Errorf("UDP port %d: permission denied: %w", port, err)
		}
		return nil, fmt.Errorf("binding UDP port %d: %w", port, err)
	}
	uc := pc.(*net.UDPConn)
	_ = uc.SetReadBuffer(4 << 20)
	return uc, nil
}

// Run announces the node, serves the LAN until ctx is cancelled, then says goodbye
// (BR_EXIT) and returns after its goroutines have ended. It returns nil after a cancel.
func (n *Node) Run(ctx context.Context) error {
	conn := n.cfg.Conn
	if conn == nil {
		c, err := Listen(n.cfg.Port)
		if err != nil {
			n.beginStop()
			return err
		}
		conn = c
	}
	n.port = conn.LocalAddr().(*net.UDPAddr).Port
	n.conn6 = n.cfg.Conn6
	if n.cfg.Conn == nil && !n.cfg.NoIPv6 {
		if c6, err := Listen6(n.port); err != nil {
			n.log.Info("IPv6 off: running on IPv4 alone", "err", err)
		} else {
			n.conn6 = c6
		}
	}
	if !n.cfg.NoFiles || n.cfg.Identity != nil {
		ln := n.cfg.TCP
		if ln == nil {
			ip := netip.IPv4Unspecified()
			if a, ok := netip.AddrFromSlice(conn.LocalAddr().(*net.UDPAddr).IP); ok && !a.Unmap().IsUnspecified() {
				ip = a.Unmap() // a socket bound to one address (tests): files on that address too
			}
			tl, err := ListenTCP(ip, n.port)
			if err != nil {
				if n.cfg.Conn == nil {
					conn.Close()
				}
				if n.conn6 != nil {
					n.conn6.Close()
				}
				n.beginStop()
				return err
			}
			ln = tl
			if n.conn6 != nil {
				if tl6, err := ListenTCP(netip.IPv6Unspecified(), n.port); err != nil {
					n.log.Info("no TCP on IPv6: files and channels on IPv4 alone", "err", err)
				} else {
					ln = newDualListener(tl, tl6)
				}
			}
		}
		n.tcp = ln
	}
	n.conn = conn
	close(n.ready)
	n.log.Info("listening", "addr", conn.LocalAddr().String(), "id", n.cfg.ID)
	n.emit(Event{Type: event.Ready, Addr: netip.MustParseAddrPort(conn.LocalAddr().String())})

	cancelSub := n.table.Subscribe(func(e peers.Event) {
		p := e.Peer
		if e.Change == peers.Joined {
			n.far.joined()
		}
		n.emit(Event{Type: peerEvent[e.Change], Peer: &p})
	})
	defer cancelSub()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var loops sync.WaitGroup
	filesDone := make(chan struct{})
	var d *demux
	fileLn := n.tcp
	if n.tcp != nil && n.cfg.Identity != nil {
		// Channels (TLS) are served here; the rest goes to the transfer engine.
		d = newDemux(n.tcp, n.serveChannel, n.files != nil)
		fileLn = d
		loops.Go(d.run)
	}
	if n.files != nil && fileLn != nil {
		go func() {
			defer close(filesDone)
			n.files.Run(ctx, fileLn)
		}()
	} else {
		close(filesDone)
	}
	loops.Add(3)
	go func() {
		defer loops.Done()
		n.runSpread(ctx)
	}()
	readErr := make(chan error, 1)
	go func() {
		defer loops.Done()
		readErr <- n.readLoop(n.conn)
	}()
	if n.conn6 != nil {
		loops.Go(func() {
			// A failing IPv6 socket leaves the node on IPv4, as if it had none.
			if err := n.readLoop(n.conn6); err != nil {
				n.log.Warn("reading UDP on IPv6 failed: IPv4 goes on", "err", err)
			}
		})
	}
	go func() {
		defer loops.Done()
		n.housekeeping(ctx)
	}()
	if n.groups != nil {
		loops.Go(func() { n.groups.run(ctx) })
	}

	loops.Go(func() { n.runReach(ctx) })
	loops.Go(func() { n.runLearnt(ctx) })
	n.announce(ipmsg.BrEntry, nil)
	loops.Go(func() { n.greetRemembered(ctx) })
	var err error
	select {
	case <-ctx.Done():
	case err = <-readErr:
		if err == nil {
			err = errors.New("the UDP socket was closed under the node")
		}
		err = fmt.Errorf("reading UDP: %w", err)
	}
	cancel()
	n.sendsMu.Lock()
	n.closing = true
	n.sendsMu.Unlock()
	n.beginStop() // sends in flight end with ErrNodeClosed, offers being made too
	<-filesDone   // transfers are cut (and resume at the next start)
	if d != nil {
		d.Close() // and channels: a peer proving us now finds us gone
	}
	n.sends.Wait()
	n.closeClients()
	if err == nil {
		n.sayGoodbye()
	}
	conn.Close()
	if n.conn6 != nil {
		n.conn6.Close()
	}
	loops.Wait()
	return err
}

// peerEvent is the event for each change of the peer table.
var peerEvent = map[peers.Change]event.Type{
	peers.Joined: event.PeerOnline, peers.Left: event.PeerOffline, peers.Updated: event.PeerUpdated,
}

func (n *Node) readLoop(conn *net.UDPConn) error {
	buf := make([]byte, 65536)
	for {
		nr, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		n.handle(buf[:nr], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// reannounceAt are the seconds after start at which the BR_ENTRY is sent again: one lost
// broadcast (or its answers lost) must not leave a node unseen on a lossy network until the
// peers' next announcement, which may never come. Each copy is answered with ANSENTRY.
var reannounceAt = []int{1, 3}

func (n *Node) housekeeping(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	beat := time.NewTimer(n.beatDelay())
	defer beat.Stop()
	for seconds := 1; ; seconds++ {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			n.beat()
			beat.Reset(n.beatDelay())
			seconds-- // not a tick
			continue
		case <-tick.C:
		}
		if slices.Contains(reannounceAt, seconds) {
			n.announce(ipmsg.BrEntry, nil)
		}
		if seconds == askListsAt {
			n.askLists()
		}
		n.checkLiveness()
		n.proveAgain()
		n.refreshIfPending()
		now := n.now()
		n.logLimit.prune(now)
		n.strangerLimit.prune(now)
		n.replyBudget.prune(now)
		n.controlLimit.prune(now)
		n.iconSendLimit.prune(now)
		n.watchAddrs()
	}
}

// dial opens a TCP connection to addr.
func (n *Node) dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	if n.cfg.dialer != nil {
		return n.cfg.dialer(ctx, addr)
	}
	return (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
}

// dialTLS opens a channel to the holder of key at addr.
func (n *Node) dialTLS(ctx context.Context, addr netip.AddrPort, key ed25519.PublicKey) (net.Conn, error) {
	raw, err := n.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, n.cfg.Identity.ClientConfig(key))
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// CapBeat is the capability of a FeiGo that says it is there every Config.BeatEvery.
const CapBeat = "beat"

// beatDelay is the time until the next beat: BeatEvery and up to a fifth more, at random
// (never less, so that a minute holds at most three beats of 20 s).
func (n *Node) beatDelay() time.Duration {
	d := n.cfg.BeatEvery
	return d + rand.N(d/5+1)
}

// write sends one packet. A failure is logged, not returned: UDP delivery is best effort and
// the retransmission and liveness logic deal with losses. Replies go through reply instead.
func (n *Node) write(to netip.AddrPort, p ipmsg.Packet) {
	if b := n.marshal(p); b != nil {
		n.send(to, b)
	}
}

// marshal encodes p, or logs why it cannot go and returns nil.
func (n *Node) marshal(p ipmsg.Packet) []byte {
	if !n.bound() {
		return nil // not running (yet, or Run failed): nothing can be sent
	}
	b, err := p.Marshal()
	if err != nil {
		n.log.Error("building packet", "err", err)
		return nil
	}
	if len(b) > ipmsg.MaxPacket {
		n.log.Error("packet over the size limit not sent", "size", len(b), "cmd", p.Cmd)
		return nil
	}
	return b
}

func (n *Node) send(to netip.AddrPort, b []byte) {
	// Datagrams to an address nobody answers ARP for wait in the kernel and fill the
	// socket's send buffer (forged sources make that cheap): a datagram that cannot leave
	// within sendWait is dropped, so no send, and never the read loop, blocks on it.
	// A socket's write deadline is the socket's, not the write's: two writers at once would
	// each push the other's deadline back, and one waiting for room (the read loop's answer)
	// could wait as long as the other kept writing (a whole announcement, seconds). One
	// write at a time per socket, each with its own sendWait.
	conn, mu := n.conn, &n.sendMu4
	if a := to.Addr(); a.Is6() && !a.Is4In6() {
		if conn, mu = n.conn6, &n.sendMu6; conn == nil {
			return // no IPv6 here
		}
	}
	n.stats.datagramsSent.Add(1)
	write := func() error {
		mu.Lock()
		defer mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(sendWait))
		began := time.Now()
		var err error
		if conn == n.conn6 && to.Addr().IsMulticast() {
			err = n.sendMulticast6(to, b)
		} else {
			_, err = conn.WriteToUDPAddrPort(b, to)
		}
		// A write that timed out at once did not wait for room: the deadline had passed
		// before it began (this goroutine was descheduled for sendWait on a loaded machine).
		// Not a full buffer: worth one more try, or a state change (SetAway's one
		// BR_ABSENCE) is lost until the next beat.
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(began) < sendWait/2 {
			return errRetrySend
		}
		return err
	}
	err := write()
	if err == errRetrySend {
		if err = write(); err == errRetrySend {
			err = os.ErrDeadlineExceeded
		}
	}
	if err != nil {
		n.log.Debug("send failed", "to", to, "err", err)
	}
}

// errRetrySend is send's own: a write that timed out without waiting.
var errRetrySend = errors.New("the write's deadline had passed before it began")

// sendWait is how long a datagram may wait for room in the socket's send buffer.
const sendWait = 50 * time.Millisecond

// encodingFor says how to write to addr: the charset and whether to set UTF8OPT.
func (n *Node) encodingFor(addr netip.AddrPort) (ipmsg.Charset, bool) {
	if p, ok := n.table.ByAddr(addr); ok {
		return peerEncoding(p)
	}
	return ipmsg.UTF8, true
}

func peerEncoding(p peers.Peer) (ipmsg.Charset, bool) {
	cs, err := ipmsg.ParseCharset(p.Encoding)
	if err != nil {
		cs = ipmsg.UTF8
	}
	if p.UTF8 {
		// FeiGo and CAPUTF8OPT IPMsg read UTF8OPT; iptux reads UTF-8 and ignores the flag.
		return ipmsg.UTF8, p.Client != string(ipmsg.ClientIptux)
	}
	return cs, false
}

// packet builds a packet to a peer whose encoding is cs, with our names in that encoding.
func (n *Node) packet(cs ipmsg.Charset, utf8Flag bool, cmd ipmsg.Command, body []byte) ipmsg.Packet {
	var no uint32
	if cmd.Mode() == ipmsg.SendMsg {
		no = n.nos.drawRising() // messages, automatic replies, offers: see drawRising
	} else {
		no = n.nextNo()
	}
	return n.packetNo(no, cs, utf8Flag, cmd, body)
}

// packetNo is packet with the number given (the parts of a message drew theirs before).
func (n *Node) packetNo(no uint32, cs ipmsg.Charset, utf8Flag bool, cmd ipmsg.Command, body []byte) ipmsg.Packet {
	self := n.Self()
	if utf8Flag && cs == ipmsg.UTF8 {
		cmd |= ipmsg.UTF8Opt
	}
	return ipmsg.Packet{
		Version: versionField, No: no,
		User: []byte(headerName(string(cs.Encode(self.User)))), Host: cs.Encode(self.Host),
		Cmd: cmd, Body: body,
	}
}

// isSelf reports whether a packet is our own echo.
func (n *Node) isSelf(from netip.AddrPort, e *ipmsg.Entry) bool {
	if e != nil && e.Client == ipmsg.ClientFeiGo {
		return e.ID == n.cfg.ID
	}
	return int(from.Port()) == n.Port() && (*n.locals.Load())[from.Addr().WithZone("")]
}

func (n *Node) handle(b []byte, from netip.AddrPort) {
	n.replyBudget.earn(from.Addr(), n.now(), float64(len(b))) // what it sent pays for answers
	p, err := ipmsg.Decode(b)
	if err != nil {
		n.log.Debug("dropped datagram", "from", from, "size", len(b), "err", err)
		return
	}
	if n.groups != nil && n.groups.wants(p.Cmd) {
		if !n.isSelf(from, nil) && !n.refuseLegacy.Load() {
			n.groups.offer(b, from)
		}
		return
	}
	switch p.Cmd.Mode() {
	case ipmsg.BrEntry, ipmsg.AnsEntry, ipmsg.BrAbsence:
		if p.Cmd.Mode() == ipmsg.AnsEntry {
			n.heard(from) // an answer to the doctor's greeting, maybe
		}
		n.onEntry(p, from)
		return
	case ipmsg.BrExit:
		if n.isSelf(from, nil) {
			return
		}
		if e := ipmsg.ParseEntry(p, n.cfg.Legacy); e.Client == ipmsg.ClientFeiGo && e.ID == n.cfg.ID {
			return
		}
		if q, ok := n.table.ByAddr(from); ok && q.Secure {
			// Anyone can send this datagram: the peer leaves when it no longer answers.
			n.scheduleProof(proofJob{addr: from, name: q.PinName, key: q.Key, exit: true, peerID: q.ID})
			return
		}
		if peer, ok := n.table.Remove(from); ok {
			n.log.Info("peer left", "nick", peer.Nick, "addr", from)
		}
		return
	}
	if n.isSelf(from, nil) {
		return
	}
	n.table.Touch(from)
	q, listed := n.table.ByAddr(from)
	if n.refuseLegacy.Load() && (!listed || !q.Secure) {
		// Only FeiGo peers that proved a key are listed: anything else cannot encrypt.
		n.stats.legacyRefused.Add(1)
		return
	}
	if listed && q.Secure {
		// A peer that proved its key speaks to us only over TLS: a datagram in its name
		// is someone else's (a forged acknowledgement, RELEASEFILES, message…).
		n.stats.notProved.Add(1)
		n.log.Debug("datagram in the name of a peer that uses TLS dropped", "from", from, "mode", fmt.Sprintf("%#x", uint32(p.Cmd.Mode())))
		return
	}
	udp := func(r ipmsg.Packet, control bool) { n.reply(from, r, control) }
	switch p.Cmd.Mode() {
	case ipmsg.SendMsg:
		n.onSendMsg(p, from, len(b))
	case ipmsg.RecvMsg:
		n.onRecvMsg(p, from)
	case ipmsg.BrIsGetList, ipmsg.BrIsGetList2, ipmsg.OkGetList, ipmsg.GetList, ipmsg.AnsList:
		n.onHostList(p, from)
	default:
		n.onRequest(p, from, nil, udp)
	}
}

// onRequest answers the packets that are the same over UDP and over a channel: RELEASEFILES,
// GETINFO and GETABSENCEINFO; others are ignored. key is the key the sender proved on its
// channel, nil for a datagram.
func (n *Node) onRequest(p ipmsg.Packet, from netip.AddrPort, key []byte, reply func(ipmsg.Packet, bool)) {
	switch p.Cmd.Mode() {
	case ipmsg.ReleaseFiles:
		if n.files != nil {
			n.files.OnRelease(p, from, key)
		}
	case ipmsg.ReadMsg:
		n.onReadMsg(p, from, key, reply)
	case ipmsg.FeiQInputing, ipmsg.FeiQInputEnd, ipmsg.FeiQKnock:
		n.onFeiQNotice(p, from, key)
	case ipmsg.IptuxSendIcon:
		n.onIptuxIcon(p, from, key)
	case ipmsg.GetInfo:
		cs, f := n.encodingFor(from)
		reply(n.packet(cs, f, ipmsg.SendInfo, append([]byte("FeiGo "+Version), 0)), true)
	case ipmsg.GetAbsenceInfo:
		self := n.Self()
		text := "Not absence mode"
		if self.Away {
			text = self.AwayText
		}
		cs, f := n.encodingFor(from)
		reply(n.packet(cs, f, ipmsg.SendAbsenceInfo, append(cs.Encode(text), 0)), true)
	default:
		// FeiQ's typing and knock notices, iptux's signatures, sealed-message
		// receipts and encryption requests are not for us: ignored without a reply.
		n.log.Debug("ignored", "from", from, "mode", fmt.Sprintf("%#x", uint32(p.Cmd.Mode())))
	}
}

// ListenTCP binds the TCP port files are fetched from, next to the UDP port.
func ListenTCP(addr netip.Addr, port int) (*net.TCPListener, error) {
	ap := netip.AddrPortFrom(addr, uint16(port))
	network := "tcp4"
	if addr.Is6() {
		network = "tcp6"
	}
	ln, err := net.ListenTCP(network, net.TCPAddrFromAddrPort(ap))
	if err != nil {
		if oserr.AddrInUse(err) {
			return nil, fmt.Errorf("TCP port %d (file transfers) is in use — is another IP Messenger, FeiQ, iptux or FeiGo running? (%w)", port, ErrPortInUse)
		}
		return nil, fmt.Errorf("binding TCP port %d: %w", port, err)
	}
	return ln, nil
}

// messenger is the node as the transfer engine sees it.
type messenger struct{ n *Node }

func (m messenger) Encoding(addr netip.AddrPort) (ipmsg.Charset, bool) { return m.n.encodingFor(addr) }

func (m messenger) ReadCharset(p ipmsg.Packet, from netip.AddrPort) ipmsg.Charset {
	return m.n.readCharset(p, from)
}

func (m messenger) Packet(cs ipmsg.Charset, utf8 bool, cmd ipmsg.Command, body []byte) ipmsg.Packet {
	return m.n.packet(cs, utf8, cmd, body)
}

// DialFiles connects for one file request: with key, a fresh TLS connection bound to that
// key and nothing else; without, bound to the peer's key when it proved one (the request
// framed as on a channel), else plain TCP as IPMsg does.
func (m messenger) DialFiles(ctx context.Context, to netip.AddrPort, key, req []byte) (net.Conn, error) {
	var c net.Conn
	var err error
	secure := len(key) > 0
	if !secure {
		q, ok := m.n.table.ByAddr(to)
		secure, key = ok && q.Secure && m.n.cfg.Identity != nil, q.Key
	}
	if secure {
		if m.n.cfg.Identity == nil {
			return nil, errors.New("no identity key to fetch over TLS with")
		}
		c, err = m.n.dialTLS(ctx, to, ed25519.PublicKey(key))
	} else {
		c, err = m.n.dial(ctx, to)
	}
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	if secure {
		err = writeFrame(c, req)
	} else {
		_, err = c.Write(req)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("sending the request: %w", err)
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// Write sends p to to: over the peer's channel if it proved a key, else as a datagram.
func (m messenger) Write(to netip.AddrPort, p ipmsg.Packet) {
	if q, ok := m.n.table.ByAddr(to); ok && q.Secure {
		m.n.postChannel(q, p)
		return
	}
	m.n.write(to, p)
}

// SendSealed sends p over the channel of the peer at to, only if that peer proved key.
func (m messenger) SendSealed(ctx context.Context, to netip.AddrPort, key []byte, p ipmsg.Packet) error {
	q, ok := m.n.table.ByAddr(to)
	if !ok || !q.Secure || !bytes.Equal(q.Key, key) {
		return errors.New("the recipient's encrypted channel is gone")
	}
	return m.SendReliable(ctx, to, p) // over q's channel, as the table says
}

// SendReliable waits for the socket, then sends as Send does; it fails with ErrNodeClosed
// once the node stops.
func (m messenger) SendReliable(ctx context.Context, to netip.AddrPort, p ipmsg.Packet) error {
	select {
	case <-m.n.ready:
	case <-m.n.stopping:
		return ErrNodeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	if !m.n.startSend() {
		return ErrNodeClosed
	}
	defer m.n.sends.Done()
	return m.n.sendReliable(ctx, to, p)
}
