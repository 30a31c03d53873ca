package lan

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
	"feigo/trust"
)

// FeiGo nodes prove their identity keys to each other on the TCP port: a connection whose
// first byte starts a TLS record (0x16; an IPMsg request starts with its version, '1') is a
// FeiGo channel, TLS 1.3 bound to both nodes' keys (package trust); anything else is an
// IPMsg file request for the transfer engine. On a channel, each request is one frame (a
// 4-byte big-endian length, then an IPMsg packet) and gets exactly one frame back.
//
// Today a channel answers one request: BR_ENTRY, with our entry (ANSENTRY). That is how a
// node proves an announcement: a FeiGo announcement over UDP is only a hint, believed once
// its sender has answered at that address, over TLS, with the key the announcement names.

const (
	// maxFrame bounds a frame on a channel.
	maxFrame = 96 << 10
	// sniffTimeout is how long a new TCP connection may take to send its first byte, and
	// handshakeTimeout its TLS handshake; channelIdle how long a channel may stay quiet.
	sniffTimeout     = 10 * time.Second
	handshakeTimeout = 10 * time.Second
	channelIdle      = 60 * time.Second
	// proveTimeout bounds one proof (dial, handshake, hello, answer).
	proveTimeout = 5 * time.Second
	// maxChannels bounds the channels served at once.
	maxChannels = 256
)

// ErrNotProven is a proof's error when the announced address does not answer with the key.
var ErrNotProven = errors.New("the announced address did not prove the key")

// errNoChannel is a proof's error when nothing accepts a TCP connection at the address.
var errNoChannel = errors.New("no channel: nothing answers on its TCP port")

func writeFrame(w io.Writer, p []byte) error {
	if len(p) > maxFrame {
		return fmt.Errorf("frame of %d bytes over the limit", len(p))
	}
	b := make([]byte, 4+len(p))
	binary.BigEndian.PutUint32(b, uint32(len(p)))
	copy(b[4:], p)
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes over the limit", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// demux splits the TCP port's connections: channels it serves itself, the others it hands to
// the transfer engine, which uses it as its listener.
type demux struct {
	ln       net.Listener
	files    chan net.Conn
	hasFiles bool // false: connections that are not channels are closed
	done     chan struct{}
	once     sync.Once
	serve    func(net.Conn) // serves a TLS channel; returns when it has ended
	wg       sync.WaitGroup
	slots    chan struct{} // channels and sniffs in progress
	closed   error

	mu    sync.Mutex
	conns map[net.Conn]bool // being sniffed or served: closed by Close
	perIP map[netip.Addr]int
}

// maxChannelsPerIP bounds the connections one address may have sniffed or served at once.
const maxChannelsPerIP = 16

func newDemux(ln net.Listener, serve func(net.Conn), files bool) *demux {
	return &demux{ln: ln, files: make(chan net.Conn), hasFiles: files, done: make(chan struct{}), serve: serve,
		slots: make(chan struct{}, maxChannels), conns: map[net.Conn]bool{}, perIP: map[netip.Addr]int{}}
}

// track registers c to be closed by Close; it reports false (and closes c) once closed.
func (d *demux) track(c net.Conn, on bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !on {
		if d.conns[c] {
			delete(d.conns, c)
			ip := remoteIP(c)
			if d.perIP[ip]--; d.perIP[ip] <= 0 {
				delete(d.perIP, ip)
			}
		}
		return true
	}
	select {
	case <-d.done:
		c.Close()
		return false
	default:
	}
	ip := remoteIP(c)
	if d.perIP[ip] >= maxChannelsPerIP {
		c.Close()
		return false
	}
	d.perIP[ip]++
	d.conns[c] = true
	return true
}

// remoteIP is the key a connection counts under in the per-address limit: its source's
// address, or /64 for IPv6 (limitKey).
func remoteIP(c net.Conn) netip.Addr {
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return limitKey(ap.Addr())
}

// run accepts until the listener is closed, then waits for the channels it serves.
func (d *demux) run() {
	defer d.wg.Wait()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			select {
			case <-d.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				d.Close()
				return
			}
			time.Sleep(50 * time.Millisecond) // EMFILE and the like: back off, keep serving
			continue
		}
		select {
		case d.slots <- struct{}{}:
		default:
			c.Close() // too many connections being sniffed or served
			continue
		}
		if !d.track(c, true) {
			<-d.slots
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-d.slots }()
			d.route(c)
		}()
	}
}

// route reads the first byte and serves a channel or hands the connection on.
func (d *demux) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 512)
	first, err := br.Peek(1)
	if err != nil {
		d.track(c, false)
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 && d.serve != nil {
		d.serve(pc)
		d.track(c, false) // the slot is free before the peer sees the connection end
		c.Close()
		return
	}
	d.track(c, false) // the engine owns it from here
	if !d.hasFiles {
		c.Close()
		return
	}
	select {
	case d.files <- pc:
	case <-d.done:
		c.Close()
	}
}

// Accept returns the next connection that is not a channel.
func (d *demux) Accept() (net.Conn, error) {
	select {
	case c := <-d.files:
		return c, nil
	case <-d.done:
		return nil, net.ErrClosed
	}
}

// Close stops the demux and closes the listener.
func (d *demux) Close() error {
	d.once.Do(func() {
		d.mu.Lock()
		close(d.done)
		for c := range d.conns {
			c.Close()
		}
		d.mu.Unlock()
		d.closed = d.ln.Close()
	})
	return d.closed
}

func (d *demux) Addr() net.Addr { return d.ln.Addr() }

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// serveChannel answers a FeiGo channel: the TLS handshake (the client proves its key), then
// one answer per request until the client hangs up or stays quiet too long. The caller
// closes c.
func (n *Node) serveChannel(c net.Conn) {
	tc := tls.Server(c, n.cfg.Identity.ServerConfig())
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		n.log.Debug("channel handshake failed", "from", c.RemoteAddr(), "err", err)
		return
	}
	key, err := trust.PeerKey(tc.ConnectionState())
	if err != nil {
		return
	}
	// The peer renews its channel once ChannelMaxAge old; one that keeps it far longer is
	// closed between two requests, so no session key lives on.
	end := time.Now().Add(2 * n.cfg.ChannelMaxAge)
	for {
		if time.Now().After(end) {
			return
		}
		tc.SetReadDeadline(time.Now().Add(min(channelIdle, time.Until(end))))
		b, err := readFrame(tc)
		if err != nil {
			return
		}
		p, err := ipmsg.Decode(b)
		if err != nil {
			return
		}
		if m := p.Cmd.Mode(); m == ipmsg.GetFileData || m == ipmsg.GetDirFiles {
			// A file fetch: the rest of this connection is the file's bytes.
			if n.files != nil {
				tc.SetReadDeadline(time.Time{})
				from, _ := netip.ParseAddrPort(c.RemoteAddr().String())
				n.files.ServeRequest(tc, p, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), key)
			}
			return
		}
		if p.Cmd.Mode() == ipmsg.BrEntry {
			n.helloProof(p, key, c)
		}
		reply := n.onChannel(p, key)
		out, err := reply.Marshal()
		if err != nil {
			return
		}
		tc.SetWriteDeadline(time.Now().Add(handshakeTimeout))
		if err := writeFrame(tc, out); err != nil {
			return
		}
	}
}

// prove dials addr's TCP port, which must answer over TLS with key, says hello and returns
// the entry it answers with: the peer's state as its key holder says it.
func (n *Node) prove(ctx context.Context, addr netip.AddrPort, key ed25519.PublicKey) (ipmsg.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, proveTimeout)
	defer cancel()
	raw, err := n.dial(ctx, addr)
	if err != nil {
		return ipmsg.Entry{}, fmt.Errorf("%w: %w: %v", ErrNotProven, errNoChannel, err)
	}
	c := tls.Client(raw, n.cfg.Identity.ClientConfig(key))
	defer c.Close()
	if err := c.HandshakeContext(ctx); err != nil {
		return ipmsg.Entry{}, fmt.Errorf("%w: %v", ErrNotProven, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	self := n.Self()
	if !n.cfg.oldHello {
		self.Dialed, self.Port = addr.String(), uint16(n.Port())
	}
	hello, err := n.packet(ipmsg.UTF8, true, n.entryCmd(ipmsg.BrEntry), ipmsg.EntryBody(ipmsg.UTF8, self)).Marshal()
	if err != nil {
		return ipmsg.Entry{}, err
	}
	if err := writeFrame(c, hello); err != nil {
		return ipmsg.Entry{}, fmt.Errorf("%w: %v", ErrNotProven, err)
	}
	b, err := readFrame(c)
	if err != nil {
		return ipmsg.Entry{}, fmt.Errorf("%w: %v", ErrNotProven, err)
	}
	p, err := ipmsg.Decode(b)
	if err != nil || p.Cmd.Mode() != ipmsg.AnsEntry {
		return ipmsg.Entry{}, fmt.Errorf("%w: the answer is not an entry", ErrNotProven)
	}
	e := ipmsg.ParseEntry(p, ipmsg.UTF8)
	if e.Client != ipmsg.ClientFeiGo || !ed25519.PublicKey(e.Key).Equal(key) {
		return ipmsg.Entry{}, fmt.Errorf("%w: the answer names another key", ErrNotProven)
	}
	return e, nil
}

// helloProof takes a channel's hello as its sender's proof of its key at its address: the
// client proved the key in the handshake, from the address the connection came from, and
// says (inside TLS) that it dialled this node's address, so the channel was not relayed from
// someone else's. With it, the node that answers an announcement need not dial the
// announcer: the announcer dials it (to prove it in turn), and one handshake serves both.
// It only lists a colleague not listed yet, or refreshes one listed at that address; a
// colleague seen at a new address is proved by dialling it, as before (scheduleProof).
func (n *Node) helloProof(p ipmsg.Packet, key ed25519.PublicKey, c net.Conn) {
	e := ipmsg.ParseEntry(p, ipmsg.UTF8)
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	dialed, derr := netip.ParseAddrPort(e.Dialed)
	if e.Client != ipmsg.ClientFeiGo || e.ID == "" || !ed25519.PublicKey(e.Key).Equal(key) || !lok || !rok ||
		e.Port == 0 || derr != nil {
		return // an older FeiGo, or a hello that is not one: the announcement is proved by dialling
	}
	here := local.AddrPort()
	// Zones are left out: each side names the link by its own interface's name.
	if dialed.Addr().Unmap().WithZone("") != here.Addr().Unmap().WithZone("") || int(dialed.Port()) != n.Port() {
		n.stats.notProved.Add(1)
		n.warnOnce(remote.AddrPort().Addr().Unmap(), "a channel was sent to another address than this node's (relayed?): not taken as a proof", "dialled", e.Dialed)
		return
	}
	from := netip.AddrPortFrom(remote.AddrPort().Addr().Unmap(), e.Port)
	j := proofJob{addr: from, name: e.ID, key: key, entry: e}
	if q, ok := n.table.Get(fingerprint(key)); ok && q.Addr != from {
		return // listed elsewhere: a move is proved by dialling (stillAt and the rest)
	}
	if n.listedAt(e.ID, key, from) {
		n.stats.helloProofs.Add(1)
		n.proved(j, e)
		return
	}
	if q, ok := n.table.ByAddr(from); ok && q.ID != fingerprint(key) {
		// Another colleague holds that address (the UDP port is only what the hello says:
		// another user on that colleague's machine can say it). Its TCP port accepting
		// proves nothing, as the holder accepts: this key is proved by dialling there,
		// where only its holder can answer.
		j.announced = true
		n.scheduleProof(j)
		return
	}
	// Coming online (its queue is looked at once listed). Its own channel must answer
	// too, or this node could not write to it: a TCP connection to its port is enough
	// (the key is proved), and costs no handshake.
	j.announced, j.hello = true, true
	n.scheduleProof(j)
}

// reach checks that addr's TCP port accepts a connection (helloProof).
func (n *Node) reach(ctx context.Context, addr netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, proveTimeout)
	defer cancel()
	c, err := n.dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("%w: %w: %v", ErrNotProven, errNoChannel, err)
	}
	return c.Close()
}

// keyOf returns the identity key an entry announces, if it is a well-formed one.
func keyOf(e ipmsg.Entry) (ed25519.PublicKey, bool) {
	if e.Client != ipmsg.ClientFeiGo || len(e.Key) != ed25519.PublicKeySize {
		return nil, false
	}
	return ed25519.PublicKey(e.Key), true
}

// fingerprint is the table ID of a FeiGo peer that proved its key: a colleague is their key,
// so a key that claims a name pinned to another key is a colleague of its own, never the one
// whose name it claims.
func fingerprint(key ed25519.PublicKey) string { return trust.FingerprintOf(key).String() }

// proofs are the proofs under way and when each identity was last proved, so that a flood
// of announcements costs at most maxProofs handshakes at a time and one per proofEvery per
// identity and address.
type proofs struct {
	mu       sync.Mutex
	again    map[string]proofJob // proofs of listed colleagues skipped as too soon: run later
	inFlight map[string]bool
	perIP    map[netip.Addr]int // proofs in flight per address
	last     map[string]time.Time
	ok       map[string]time.Time // when each announcement was last proved
	// waiting are the announcements of new colleagues whose proof this node leaves to
	// them (they dial it on its answer; helloProof), proved by dialling if that has not
	// happened by the time given.
	waiting map[string]waitingProof
}

type waitingProof struct {
	job proofJob
	due time.Time
}

// waitLocked keeps j under k to be proved by dialling at due, unless it waits already or
// maxProofMemory wait. The caller holds mu.
func (p *proofs) waitLocked(k string, j proofJob, due time.Time) {
	if _, ok := p.waiting[k]; ok || len(p.waiting) >= maxProofMemory {
		return
	}
	if p.waiting == nil {
		p.waiting = map[string]waitingProof{}
	}
	p.waiting[k] = waitingProof{j, due}
}

const (
	maxProofs  = 32
	proofEvery = time.Second
	// maxProofsPerIP bounds the proofs in flight to one address, so that stalled proofs
	// from one host cannot take every slot.
	maxProofsPerIP = 4
	// maxProofMemory bounds the times remembered; older ones are forgotten first.
	maxProofMemory = 4096
)

// proofJob is what a proof is for: the identity (name, key) announced at addr.
type proofJob struct {
	addr netip.AddrPort
	name string
	key  ed25519.PublicKey
	// announced: a BR_ENTRY, after which the node's owner is told (Config.Announced).
	announced bool
	// exit: a BR_EXIT came from the peer's address: remove the peer unless it proves it is
	// still there.
	exit bool
	// force skips the once-per-proofEvery rule (the user asked).
	force bool
	// peerID is the table ID of the peer an exit proof is about.
	peerID string
	// entry is the announcement (Config.PlaintextFallback lists it when the proof fails).
	entry ipmsg.Entry
	// hello: the peer proved its key on a channel it opened (helloProof); what is left to
	// check is that its own channel port answers.
	hello bool
}

func (j proofJob) id() string {
	return fmt.Sprint(j.name, "/", trust.FingerprintOf(j.key), "/", j.addr, "/", j.exit)
}

// slot is the job's key among the proofs under way: a hello's check apart from a proof.
func (j proofJob) slot() string {
	if j.hello {
		return j.id() + "/hello"
	}
	return j.id()
}

// scheduleProof runs j in the background unless the same proof is under way or ran less
// than proofEvery ago, or too many are under way.
func (n *Node) scheduleProof(j proofJob) {
	k := j.slot()
	now := n.now()
	n.proofs.mu.Lock()
	if n.proofs.perIP == nil {
		n.proofs.perIP = map[netip.Addr]int{}
	}
	if n.proofs.inFlight[k] || len(n.proofs.inFlight) >= maxProofs || n.proofs.perIP[j.addr.Addr()] >= maxProofsPerIP ||
		(!j.force && now.Sub(n.proofs.last[k]) < proofEvery) {
		// A listed colleague's announcement (it went away, renamed itself) must not be
		// lost because a proof ran just before: it is proved again a little later.
		if !j.exit && len(n.proofs.again) < maxProofMemory && n.listedAt(j.name, j.key, j.addr) {
			if n.proofs.again == nil {
				n.proofs.again = map[string]proofJob{}
			}
			n.proofs.again[k] = j
		} else if !j.exit && !n.proofs.inFlight[k] &&
			(len(n.proofs.inFlight) >= maxProofs || n.proofs.perIP[j.addr.Addr()] >= maxProofsPerIP) {
			// A new colleague whose proof found every slot taken (a hundred colleagues
			// starting at once): tried again shortly, not lost until its next announcement.
			n.proofs.waitLocked(k, j, now.Add(time.Second))
		}
		n.proofs.mu.Unlock()
		return
	}
	delete(n.proofs.again, k)
	if len(n.proofs.last) >= maxProofMemory {
		clear(n.proofs.last)
	}
	// A proof sends the address a TCP and TLS handshake: for an identity not listed at
	// that address it counts as a reply (8 at once, then one per 5 s), so forged
	// announcements of new identities cannot aim handshakes at a victim.
	if !j.force && !n.listedAt(j.name, j.key, j.addr) && !n.controlLimit.allow(j.addr.Addr(), now, 1) {
		n.proofs.mu.Unlock()
		n.stats.repliesDropped.Add(1)
		return
	}
	n.proofs.inFlight[k], n.proofs.last[k] = true, now
	n.proofs.perIP[j.addr.Addr()]++
	n.proofs.mu.Unlock()
	done := func() {
		n.proofs.mu.Lock()
		delete(n.proofs.inFlight, k)
		if n.proofs.perIP[j.addr.Addr()]--; n.proofs.perIP[j.addr.Addr()] <= 0 {
			delete(n.proofs.perIP, j.addr.Addr())
		}
		n.proofs.mu.Unlock()
	}
	if !n.startSend() {
		done()
		return
	}
	go func() {
		defer n.sends.Done()
		defer done()
		var e ipmsg.Entry
		var err error
		if j.hello {
			e, err = j.entry, n.reach(n.stopCtx, j.addr)
		} else {
			n.stats.proofsDialled.Add(1)
			e, err = n.prove(n.stopCtx, j.addr, j.key)
		}
		switch {
		case j.exit:
			if p, ok := n.table.Get(j.peerID); ok && p.Addr == j.addr && err != nil {
				n.table.Remove(j.addr)
				n.log.Info("peer left", "nick", p.Nick, "addr", j.addr)
			}
		case err != nil:
			n.stats.notProved.Add(1)
			n.log.Debug("announcement not proved", "addr", j.addr, "name", j.name, "err", err)
			if n.plaintextFallback.Load() && errors.Is(err, errNoChannel) && n.stopCtx.Err() == nil && !j.hello {
				n.listUnencrypted(j)
			}
		case e.ID != j.name:
			n.stats.notProved.Add(1)
			n.log.Debug("announcement not proved: another name in the answer", "addr", j.addr)
		case n.heardOverOtherFamily(fingerprint(j.key), j.addr):
			// Both of a dual-stack colleague's announcements were proved at once, at
			// start: it stays at its IPv4 address (listedOverOtherFamily).
			n.stats.otherFamily.Add(1)
		case !n.toIPv4OnLink(j) && n.stillAt(j):
			// The key answers at its listed address too: the new address relays to it
			// (or is a second copy of the profile). The colleague stays where they are.
			n.stats.notProved.Add(1)
			n.warnOnce(j.addr.Addr(), "a colleague's key answers at another address too; not moved", "name", j.name)
		default:
			if j.hello {
				n.stats.helloProofs.Add(1)
			}
			n.proved(j, e)
		}
	}()
}

// toIPv4OnLink reports whether j moves a colleague listed at an IPv6 address to an IPv4
// address on one of this node's own subnets: a dual-stack colleague settling on IPv4 (where
// beats go), which its IPv6 address still answering must not prevent. A relay there could
// take the colleague's place, but only from this LAN, where ARP spoofing gives as much.
func (n *Node) toIPv4OnLink(j proofJob) bool {
	p, ok := n.table.Get(fingerprint(j.key))
	if !ok || p.Addr.Addr().Unmap().Is4() || !j.addr.Addr().Unmap().Is4() {
		return false
	}
	_, covered := n.announceTargets()
	ip := j.addr.Addr().Unmap()
	return slices.ContainsFunc(covered, func(pf netip.Prefix) bool { return pf.Addr().Is4() && pf.Contains(ip) })
}

// stillAtConnect is how long stillAt waits for the old address to accept a connection: on a
// LAN a host that is there answers in milliseconds.
const stillAtConnect = 2 * time.Second

// stillAt reports whether the peer j names is listed, with j's key, at another address where
// it still proves that key.
func (n *Node) stillAt(j proofJob) bool {
	p, ok := n.table.Get(fingerprint(j.key))
	if !ok || !p.Secure || p.Addr == j.addr || !ed25519.PublicKey(p.Key).Equal(j.key) {
		return false
	}
	// A colleague that moved (its address changed under it) leaves nothing at the old
	// address, not even a host that refuses the connection: the connection is given
	// stillAtConnect, not the whole proof's time, so the move is seen within seconds.
	ctx, cancel := context.WithTimeout(n.stopCtx, stillAtConnect)
	c, err := n.dial(ctx, p.Addr)
	cancel()
	if err != nil {
		return false
	}
	c.Close()
	_, err = n.prove(n.stopCtx, p.Addr, j.key)
	return err == nil
}

// listedAt reports whether the peer with name and key is listed at addr already.
func (n *Node) listedAt(name string, key ed25519.PublicKey, addr netip.AddrPort) bool {
	p, ok := n.table.Get(fingerprint(key))
	return ok && p.Addr == addr && p.PinName == name && ed25519.PublicKey(p.Key).Equal(key)
}

// proveAgain runs the proofs put off as too soon (housekeeping calls it every second).
func (n *Node) proveAgain() {
	now := n.now()
	n.proofs.mu.Lock()
	var due []proofJob
	for k, j := range n.proofs.again {
		if !n.proofs.inFlight[k] && now.Sub(n.proofs.last[k]) >= proofEvery {
			due = append(due, j)
		}
	}
	var waited []proofJob
	for k, w := range n.proofs.waiting {
		if !now.Before(w.due) {
			delete(n.proofs.waiting, k)
			waited = append(waited, w.job)
		}
	}
	n.proofs.mu.Unlock()
	for _, j := range waited {
		if !n.listedAt(j.name, j.key, j.addr) {
			due = append(due, j)
		}
	}
	for _, j := range due {
		n.scheduleProof(j)
	}
}

// proved lists the peer whose key answered at j.addr, as its key holder described itself,
// under its key's fingerprint. A key that claims a name (FeiGo ID) pinned to another key is
// listed with a warning, so it can never pass for that colleague.
func (n *Node) proved(j proofJob, e ipmsg.Entry) {
	pin, verdict, err := n.cfg.Pins.See(j.name, j.key, e.Nick)
	if err != nil {
		n.log.Error("pinning a key", "err", err)
	}
	fp := trust.FingerprintOf(j.key).String()
	peer := peers.Peer{
		ID: fp, Nick: e.Nick, User: e.User, Host: e.Host, Group: e.Group,
		Addr: j.addr, Status: peers.Online, Client: string(e.Client), Version: e.Version,
		Encoding: e.Charset.String(), UTF8: e.UTF8, Caps: e.Caps,
		Key: j.key, Fingerprint: fp, Secure: true, Verified: pin.Verified, PinName: j.name,
	}
	if e.Away {
		peer.Status, peer.AwayText = peers.Away, e.AwayText
	}
	switch {
	case verdict == trust.Conflict:
		peer.Verified = false
		who := pin.Nick
		if who == "" {
			who = j.name
		}
		peer.Warning = fmt.Sprintf("claims to be %s, whose key is another: not the colleague pinned under that name", who)
		if pin.Verified {
			peer.KeyChanged = true
			peer.Warning = fmt.Sprintf("claims to be %s, whom you verified with another key: their key changed, or someone is taking their place; verify again", who)
		}
		n.warnOnce(j.addr.Addr(), "a key claims a name pinned to another key", "name", j.name, "fingerprint", fp)
	case pin.Changed:
		peer.Warning = "this colleague's key changed after it was verified: verify it again"
	}
	if _, err := n.table.Upsert(peer); err != nil {
		n.stats.peersRefused.Add(1)
		n.warnOnce(j.addr.Addr(), "peer refused", "err", err)
		return
	}
	n.table.Confirm(j.addr, true) // it answered us, over TLS: asked when quiet from now on
	n.proofs.mu.Lock()
	if n.proofs.ok == nil || len(n.proofs.ok) >= maxProofMemory {
		n.proofs.ok = map[string]time.Time{}
	}
	n.proofs.ok[j.id()] = n.now()
	delete(n.proofs.waiting, j.id())
	n.proofs.mu.Unlock()
	if j.announced && verdict != trust.Conflict && n.cfg.Announced != nil {
		n.cfg.Announced(peer)
	}
}

// onKeyedEntry handles an announcement that names a FeiGo key: it is answered as any
// entry is, and believed only once proved (scheduleProof).
func (n *Node) onKeyedEntry(p ipmsg.Packet, e ipmsg.Entry, key ed25519.PublicKey, from netip.AddrPort) {
	switch p.Cmd.Mode() {
	case ipmsg.BrEntry:
		if n.dedup.seen(dedupKey{from.Addr(), string(p.User), p.No, ipmsg.BrEntry}) {
			return
		}
		n.answerEntry(from)
	case ipmsg.AnsEntry:
		n.table.Confirm(from, n.now().Sub(time.Unix(0, n.broadcastAt.Load())) < answerWindow)
	}
	j := proofJob{addr: from, name: e.ID, key: key, announced: p.Cmd.Mode() == ipmsg.BrEntry, entry: e}
	if _, listed := n.table.Get(fingerprint(key)); !listed && p.Cmd.Mode() != ipmsg.BrAbsence &&
		n.cfg.Identity.Fingerprint().String() > fingerprint(key) {
		// One handshake proves both keys of a pair (helloProof): of two FeiGo nodes that
		// hear each other, the one with the smaller fingerprint dials, whichever announced
		// first. This node waits, and dials only if that does not come (an older FeiGo, a
		// TCP port blocked one way).
		n.proofs.mu.Lock()
		n.proofs.waitLocked(j.id(), j, n.now().Add(n.cfg.HelloWait))
		n.proofs.mu.Unlock()
		return
	}
	if q, ok := n.provenUnchanged(j, p.Cmd.Mode() == ipmsg.BrEntry); ok {
		// What the key holder told us over TLS, said again (a beat, the announcements
		// repeated at start, answers to them): nothing to prove, nothing changes but that
		// the colleague was heard. A BR_ENTRY (a restart, a refresh: the colleague may
		// have forgotten us) is proved again unless the last proof is a few seconds old.
		n.table.Touch(from)
		if j.announced && n.cfg.Announced != nil {
			n.cfg.Announced(q)
		}
		return
	}
	n.scheduleProof(j)
}

// reproveAfter is how long a proof makes a colleague's unchanged BR_ENTRY need no other.
const reproveAfter = 10 * time.Second

// DefaultReproveQuiet is how long a proof makes a colleague's unchanged beats (and answers)
// need no other (Config.ReproveQuiet). Anyone can replay a beat: without a proof now and then,
// copies of a crashed colleague's beats would keep them listed for ever; with it, an hour at
// most, for one handshake per pair an hour at rest.
const DefaultReproveQuiet = time.Hour

// provenUnchanged returns the peer j is about when it is listed at j's address with j's key
// and name (so it proved them) and j's announcement says nothing the proof did not (names,
// group, absence), and that proof is less than Config.ReproveQuiet old; with fresh, less than
// reproveAfter.
func (n *Node) provenUnchanged(j proofJob, fresh bool) (peers.Peer, bool) {
	if !n.listedAt(j.name, j.key, j.addr) {
		return peers.Peer{}, false
	}
	q, ok := n.table.Get(fingerprint(j.key))
	if !ok || q.Nick != j.entry.Nick || q.User != j.entry.User || q.Host != j.entry.Host ||
		q.Group != j.entry.Group || (q.Status == peers.Away) != j.entry.Away || q.AwayText != j.entry.AwayText {
		return peers.Peer{}, false
	}
	limit := n.cfg.ReproveQuiet
	if fresh {
		limit = reproveAfter
	}
	n.proofs.mu.Lock()
	at, ok := n.proofs.ok[j.id()]
	n.proofs.mu.Unlock()
	return q, ok && n.now().Sub(at) < limit
}

// SetPolicy changes the trust policy while the node runs (Config.PlaintextFallback,
// Config.RefuseLegacy). Peers listed under the old policy that the new one refuses are
// dropped from the table now.
func (n *Node) SetPolicy(plaintextFallback, refuseLegacy bool) {
	n.plaintextFallback.Store(plaintextFallback)
	n.refuseLegacy.Store(refuseLegacy)
	for _, p := range n.table.Snapshot() {
		fallback := !p.Secure && p.Warning == warnNoChannel
		if (refuseLegacy && !p.Secure) || (!plaintextFallback && fallback) {
			n.table.Remove(p.Addr)
		}
	}
}

// warnNoChannel is the warning of a FeiGo peer listed by listUnencrypted.
const warnNoChannel = "its encrypted channel cannot be reached (is its TCP port blocked?): not encrypted"

// listUnencrypted lists, by its address, a FeiGo peer whose channel cannot be reached
// (Config.PlaintextFallback): unencrypted, unverified, with a warning, and never in the
// place of a peer that proved a key (its FeiGo ID and its key are not believed).
func (n *Node) listUnencrypted(j proofJob) {
	if q, ok := n.table.ByAddr(j.addr); ok && q.Secure {
		return
	}
	if n.refuseLegacy.Load() {
		return // a peer that cannot encrypt now is refused like any such client
	}
	if q, ok := n.table.Get(fingerprint(j.key)); ok && q.Secure {
		return // the key proved itself elsewhere: this is a copy of its announcement
	}
	e := j.entry
	peer := peers.Peer{
		ID: j.addr.String(), Nick: e.Nick, User: e.User, Host: e.Host, Group: e.Group,
		Addr: j.addr, Status: peers.Online, Client: string(e.Client), Version: e.Version,
		Encoding: e.Charset.String(), UTF8: e.UTF8, Caps: e.Caps,
		Warning: warnNoChannel,
	}
	if e.Away {
		peer.Status, peer.AwayText = peers.Away, e.AwayText
	}
	if _, err := n.table.Upsert(peer); err != nil {
		n.stats.peersRefused.Add(1)
		return
	}
	if j.announced && n.cfg.Announced != nil {
		n.cfg.Announced(peer)
	}
}

// Reprove proves the peer id again now (after the user verified it, say), so the table shows
// what its pin says.
func (n *Node) Reprove(id string) {
	if p, ok := n.table.Get(id); ok && p.Secure {
		n.scheduleProof(proofJob{addr: p.Addr, name: p.PinName, key: p.Key, force: true})
	}
}

// chanClient is this node's channel to one peer (its key at its address): one request at a
// time, redialled when it breaks.
type chanClient struct {
	mu   sync.Mutex
	c    net.Conn
	born time.Time // when c was dialled: it is replaced once Config.ChannelMaxAge old
}

// maxClients bounds the channels kept open to peers; beyond it the least recently
// created is closed.
const maxClients = 256

type clients struct {
	mu    sync.Mutex
	by    map[string]*chanClient
	order []string
}

// client returns the channel to peer, creating its entry.
func (n *Node) client(peer peers.Peer) *chanClient {
	k := peer.Fingerprint + "@" + peer.Addr.String()
	n.chans.mu.Lock()
	defer n.chans.mu.Unlock()
	if n.chans.by == nil {
		n.chans.by = map[string]*chanClient{}
	}
	if cc, ok := n.chans.by[k]; ok {
		return cc
	}
	if len(n.chans.order) >= maxClients {
		old := n.chans.order[0]
		n.chans.order = n.chans.order[1:]
		if cc := n.chans.by[old]; cc != nil {
			go cc.close()
		}
		delete(n.chans.by, old)
	}
	cc := &chanClient{}
	n.chans.by[k] = cc
	n.chans.order = append(n.chans.order, k)
	return cc
}

func (cc *chanClient) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.c != nil {
		cc.c.Close()
		cc.c = nil
	}
}

// closeClients closes every channel to peers (the node stops).
func (n *Node) closeClients() {
	n.chans.mu.Lock()
	all := n.chans.by
	n.chans.by, n.chans.order = nil, nil
	n.chans.mu.Unlock()
	for _, cc := range all {
		cc.close()
	}
}

// request sends p to peer over its channel and returns the answer, dialling (again) if the
// channel is not open or has broken.
func (n *Node) request(ctx context.Context, peer peers.Peer, p ipmsg.Packet) (ipmsg.Packet, error) {
	b, err := p.Marshal()
	if err != nil {
		return ipmsg.Packet{}, err
	}
	cc := n.client(peer)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		if cc.c != nil && time.Since(cc.born) >= n.cfg.ChannelMaxAge {
			// Renewed: a new handshake, new ephemeral keys (forward secrecy over time).
			cc.c.Close()
			cc.c = nil
		}
		if cc.c == nil {
			dctx, cancel := context.WithTimeout(ctx, proveTimeout)
			c, err := n.dialTLS(dctx, peer.Addr, ed25519.PublicKey(peer.Key))
			cancel()
			if err != nil {
				return ipmsg.Packet{}, err
			}
			cc.c, cc.born = c, time.Now()
			n.stats.channelsDialled.Add(1)
		}
		stop := context.AfterFunc(ctx, func() { cc.c.SetDeadline(time.Now()) })
		cc.c.SetDeadline(time.Now().Add(handshakeTimeout))
		err := writeFrame(cc.c, b)
		var ans []byte
		if err == nil {
			ans, err = readFrame(cc.c)
		}
		stop()
		if err == nil {
			cc.c.SetDeadline(time.Time{})
			return ipmsg.Decode(ans)
		}
		last = err
		cc.c.Close()
		cc.c = nil
		if ctx.Err() != nil {
			return ipmsg.Packet{}, ctx.Err()
		}
	}
	return ipmsg.Packet{}, last
}

// sendChannel sends p to a peer that proved its key, over its channel, until the peer
// acknowledges it (RECVMSG) or the retry budget is spent, as sendReliable does over UDP.
func (n *Node) sendChannel(ctx context.Context, peer peers.Peer, p ipmsg.Packet) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RetryBudget)
	defer cancel()
	stop := context.AfterFunc(n.stopCtx, cancel)
	defer stop()
	wait := n.cfg.RetryFirst
	for {
		ans, err := n.request(ctx, peer, p)
		if err == nil && ans.Cmd.Mode() == ipmsg.RecvMsg && string(ipmsg.FirstSection(ans.Body)) == fmt.Sprint(p.No) {
			return nil
		}
		if err == nil && ans.Cmd.Mode() == ipmsg.NoOperation && p.Cmd.Mode() != ipmsg.SendMsg {
			return nil // a request with nothing to answer (RELEASEFILES): taken
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			switch {
			case n.stopCtx.Err() != nil:
				return ErrNodeClosed
			case ctx.Err() == context.DeadlineExceeded:
				return ErrNoAck
			}
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*3/2, n.cfg.RetryMax)
	}
}

// postChannel sends p to peer over its channel in the background, for packets that expect no
// answer (RELEASEFILES, automatic replies).
func (n *Node) postChannel(peer peers.Peer, p ipmsg.Packet) {
	if !n.startSend() {
		return
	}
	go func() {
		defer n.sends.Done()
		if err := n.sendChannel(n.stopCtx, peer, p); err != nil {
			n.log.Debug("posting over the channel", "to", peer.Addr, "err", err)
		}
	}()
}

// peerByKey returns the listed peer that proved key, if any.
func (n *Node) peerByKey(key ed25519.PublicKey) (peers.Peer, bool) {
	// A peer that proved a key is listed under its fingerprint: one lookup, not a scan of
	// the table for each request on a channel.
	p, ok := n.table.Get(trust.FingerprintOf(key).String())
	if ok && p.Secure && ed25519.PublicKey(p.Key).Equal(key) {
		return p, true
	}
	return peers.Peer{}, false
}

// onChannel answers one request that came over a channel from the peer whose key is key.
func (n *Node) onChannel(p ipmsg.Packet, key ed25519.PublicKey) ipmsg.Packet {
	noop := n.packet(ipmsg.UTF8, true, ipmsg.NoOperation, nil)
	if p.Cmd.Mode() == ipmsg.BrEntry {
		return n.packet(ipmsg.UTF8, true, n.entryCmd(ipmsg.AnsEntry), ipmsg.EntryBody(ipmsg.UTF8, n.Self()))
	}
	peer, ok := n.peerByKey(key)
	if !ok {
		return noop // not (yet) proved here: the sender tries again
	}
	answer := noop
	reply := func(r ipmsg.Packet, _ bool) {
		switch {
		case r.Cmd.Mode() == ipmsg.RecvMsg, r.Cmd.Mode() == ipmsg.SendInfo, r.Cmd.Mode() == ipmsg.SendAbsenceInfo:
			answer = r
		case r.Cmd.Mode() == ipmsg.SendMsg:
			n.postChannel(peer, r) // an automatic reply: a message of its own
		}
	}
	switch p.Cmd.Mode() {
	case CmdRoom:
		return n.onRoom(p, peer)
	case CmdPeers:
		return n.onPeers(p, peer)
	case ipmsg.SendMsg:
		// Remembered by the sender's key, apart from datagrams, which anyone can forge.
		dk := dedupKey{user: "key:" + peer.Fingerprint, no: p.No, mode: ipmsg.SendMsg}
		if n.admitPeer(peer.ID, dk, len(p.Body)) {
			n.takeMessage(p, peer.Addr, peer, true, dk, reply)
		}
	default:
		n.onRequest(p, peer.Addr, key, reply)
	}
	return answer
}
