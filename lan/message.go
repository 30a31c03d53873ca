package lan

import (
	"context"
	"errors"
	"feigo/event"
	"feigo/ipmsg"
	"feigo/peers"
	"feigo/xfer"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxText is the longest message FeiGo sends, in UTF-8 bytes. Longer texts are refused: a
// file transfer is the way to send a log or a document.
const MaxText = 64 << 10

// Errors from Send.
var (
	ErrNoAck      = errors.New("no acknowledgement: the peer may be offline or unreachable")
	ErrTooLong    = fmt.Errorf("message too long: the limit is %d bytes; send it as a file instead", MaxText)
	ErrEmpty      = errors.New("empty message")
	ErrNoTarget   = errors.New("no recipient")
	ErrNodeClosed = errors.New("node stopped")
)

// Message is a message received or sent.
type Message struct {
	PacketNo uint32         `json:"packet_no"`
	PeerID   string         `json:"peer_id,omitempty"`
	Nick     string         `json:"nick,omitempty"`
	User     string         `json:"user,omitempty"`
	Host     string         `json:"host,omitempty"`
	Addr     netip.AddrPort `json:"addr"`
	Text     string         `json:"text"`
	// Auto marks an automatic reply (absence notice); it is never answered automatically.
	Auto bool `json:"auto,omitempty"`
	// Broadcast marks a message sent to everyone, which is not acknowledged.
	Broadcast bool `json:"broadcast,omitempty"`
	// Encrypted marks a message that came or went over a TLS channel bound to the peer's
	// proved key; Verified, one whose key the user verified (feigo verify).
	Encrypted bool `json:"encrypted,omitempty"`
	Verified  bool `json:"verified,omitempty"`
	// Parts is how many datagrams a sent message took (long texts are split).
	Parts int       `json:"parts,omitempty"`
	Time  time.Time `json:"time"`
	// Sealed: the sender sealed it (SECRETOPT): shown behind a click, and opening it sends
	// the sender a read notice. ReadCheck: the sender asks to be told when it is read
	// (READCHECKOPT; every message between FeiGo peers).
	Sealed    bool `json:"sealed,omitempty"`
	ReadCheck bool `json:"read_check,omitempty"`
	// Images are the pictures shown inline in the message, on message_images events.
	Images []MessageImage `json:"images,omitempty"`
}

// MessageImage is a picture shown inline in a message: a file of the profile's image store
// (Path), at byte offset At of the text.
type MessageImage struct {
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Size   int64  `json:"size"`
	At     int    `json:"at"`
	Name   string `json:"name,omitempty"`
	Path   string `json:"path"`
	Thumb  string `json:"thumb,omitempty"`
}

// Delivery is the outcome of a message to one recipient.
type Delivery struct {
	Message
	Err error `json:"-"`
}

// ackKey names an acknowledgement we wait for: by address and port, since two peers may
// share an address (several clients on one machine) and a multicast keeps one number.
type ackKey struct {
	addr netip.AddrPort
	no   uint32
}

type dedupKey struct {
	addr netip.Addr
	user string
	no   uint32
	mode ipmsg.Command
}

// dedup remembers the last size keys it was asked about.
type dedup struct {
	mu   sync.Mutex
	slot map[dedupKey]int // key → its place in ring
	ring []dedupKey
	next int
}

func newDedup(size int) *dedup {
	return &dedup{slot: make(map[dedupKey]int, size), ring: make([]dedupKey, size)}
}

// seen reports whether k was seen before, and remembers it.
func (d *dedup) seen(k dedupKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.slot[k]; ok {
		return true
	}
	if i, ok := d.slot[d.ring[d.next]]; ok && i == d.next {
		delete(d.slot, d.ring[d.next])
	}
	d.ring[d.next] = k
	d.slot[k] = d.next
	d.next = (d.next + 1) % len(d.ring)
	return false
}

// has reports whether k was seen before, without remembering it.
func (d *dedup) has(k dedupKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.slot[k]
	return ok
}

// forget drops k, so a later copy counts as new.
func (d *dedup) forget(k dedupKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.slot, k)
}

// splitText cuts text into parts of at most limit UTF-8 bytes, at a line break in the
// second half of a part where there is one, else at a character boundary. GBK and CP932
// never take more bytes than UTF-8, so the parts fit in every encoding.
func splitText(text string, limit int) []string {
	var parts []string
	for len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if nl := strings.LastIndexByte(text[:cut], '\n'); nl >= limit/2 {
			cut = nl + 1
		}
		parts = append(parts, text[:cut])
		text = text[cut:]
	}
	return append(parts, text)
}

// Send sends text to each address, as one message or, when it does not fit in one
// datagram, as several in order, and waits until every recipient has acknowledged every part
// or the retries are spent. It returns one Delivery per recipient; Err is ErrNoAck, a context
// error or ErrNodeClosed where the message did not arrive. Invalid input (empty or over
// MaxText) fails at once. Each outcome is also reported as a message_delivered or
// message_failed event.
func (n *Node) Send(ctx context.Context, text string, to ...netip.AddrPort) ([]Delivery, error) {
	return n.SendAs(ctx, "", text, to...)
}

// SendAs is Send with an ID of the caller's choosing, which the message's
// message_delivered and message_failed events carry as SendID.
func (n *Node) SendAs(ctx context.Context, sendID, text string, to ...netip.AddrPort) ([]Delivery, error) {
	return n.SendWith(ctx, sendID, text, SendOpts{}, to...)
}

// SendOpts are the options of a message.
type SendOpts struct {
	// Sealed sends it sealed (SECRETOPT with READCHECKOPT): the recipient opens it with a
	// click, and its client tells us (a message_read event).
	Sealed bool
}

// SendWith is SendAs with options. A message to a FeiGo peer always asks for a read notice
// (READCHECKOPT); to legacy clients only a sealed one does, as IP Messenger sends them.
func (n *Node) SendWith(ctx context.Context, sendID, text string, opts SendOpts, to ...netip.AddrPort) ([]Delivery, error) {
	text, err := CheckText(text)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, ErrNoTarget
	}
	if err := n.awaitReady(ctx); err != nil {
		return nil, err
	}
	self := n.Self()
	header := len(versionField) + 10 + len(self.User) + len(self.Host) + 10 + 5
	parts := splitText(text, ipmsg.MaxPacket-header-1)
	nos := make([]uint32, len(parts))
	for i := range nos {
		nos[i] = n.nos.drawRising() // in the order written: iptux takes only rising numbers
	}
	cmd := ipmsg.SendMsg | ipmsg.SendCheckOpt
	if len(to) > 1 {
		cmd |= ipmsg.MulticastOpt // one packet number for all recipients, as IPMsg does
	}
	if opts.Sealed {
		cmd |= ipmsg.SecretOpt | ipmsg.ReadCheckOpt
	}
	out := make([]Delivery, len(to))
	var wg sync.WaitGroup
	for i, addr := range to {
		if !n.startSend() {
			out[i] = Delivery{Message: Message{Addr: addr, Text: text}, Err: ErrNodeClosed}
			continue
		}
		wg.Add(1)
		go func() {
			defer n.sends.Done()
			defer wg.Done()
			d := Delivery{Message: Message{PacketNo: nos[0], Addr: addr, Text: text, Parts: len(parts), Time: n.now(), Sealed: opts.Sealed}}
			rcmd := cmd
			wait := readWait{first: nos[0]}
			if p, ok := n.table.ByAddr(addr); ok {
				d.PeerID, d.Nick, d.User, d.Host = p.ID, p.Nick, p.User, p.Host
				d.Encrypted, d.Verified = p.Secure, p.Verified
				if p.Client == string(ipmsg.ClientFeiGo) {
					rcmd |= ipmsg.ReadCheckOpt
				}
				wait.peerID = p.ID
				if p.Secure {
					wait.key = p.Key
				}
			}
			d.ReadCheck = rcmd.Has(ipmsg.ReadCheckOpt)
			if d.ReadCheck {
				for _, no := range nos {
					n.reads.add(readKey{addr, no}, wait)
				}
			}
			cs, flag := n.encodingFor(addr)
			for j, part := range parts {
				pkt := n.packetNo(nos[j], cs, flag, rcmd, append(cs.Encode(part), 0))
				if d.Err = n.sendReliable(ctx, addr, pkt); d.Err != nil {
					break
				}
			}
			out[i] = d
			msg := d.Message
			if d.Err != nil {
				n.emit(Event{Type: event.MessageFailed, Message: &msg, Error: d.Err.Error(), SendID: sendID})
			} else {
				n.emit(Event{Type: event.MessageDelivered, Message: &msg, SendID: sendID})
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// CheckText returns text as Send sends it (CRLF line ends become LF), or ErrEmpty or
// ErrTooLong.
func CheckText(text string) (string, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	switch {
	case strings.TrimSpace(text) == "":
		return "", ErrEmpty
	case len(text) > MaxText:
		return "", fmt.Errorf("%w (this one is %d bytes)", ErrTooLong, len(text))
	}
	return text, nil
}

// sendReliable sends pkt until it is acknowledged, with backoff from RetryFirst up to
// RetryMax between copies, for at most RetryBudget. Every copy keeps the packet number, so
// the receiver shows the message once.
func (n *Node) sendReliable(ctx context.Context, to netip.AddrPort, pkt ipmsg.Packet) error {
	if q, ok := n.table.ByAddr(to); ok && q.Secure {
		return n.sendChannel(ctx, q, pkt)
	}
	key := ackKey{to, pkt.No}
	acked := make(chan struct{})
	n.pendMu.Lock()
	n.pending[key] = acked
	n.pendMu.Unlock()
	defer func() {
		n.pendMu.Lock()
		delete(n.pending, key)
		n.pendMu.Unlock()
	}()
	budget := time.NewTimer(n.cfg.RetryBudget)
	defer budget.Stop()
	wait := n.cfg.RetryFirst
	for {
		n.write(to, pkt)
		next := time.NewTimer(wait)
		select {
		case <-acked:
			next.Stop()
			return nil
		case <-ctx.Done():
			next.Stop()
			return ctx.Err()
		case <-n.stopping:
			next.Stop()
			return ErrNodeClosed
		case <-budget.C:
			next.Stop()
			return ErrNoAck
		case <-next.C:
		}
		wait = min(wait*3/2, n.cfg.RetryMax)
	}
}

// messageClient tells the program that sent a message from its version field. FeiGo
// announces itself by the ID in its entries' trailer, which messages do not carry, so a
// FeiGo message is known by FeiGo's version field.
func messageClient(p ipmsg.Packet) ipmsg.Client {
	if strings.HasPrefix(p.Version, "1_feigo ") {
		return ipmsg.ClientFeiGo
	}
	return ipmsg.ClientOf(p.Version, nil)
}

func (n *Node) onRecvMsg(p ipmsg.Packet, from netip.AddrPort) {
	no, err := strconv.ParseUint(string(ipmsg.FirstSection(p.Body)), 10, 32)
	if err != nil {
		n.log.Debug("bad RECVMSG", "from", from, "body", string(ipmsg.Clip(p.Body)))
		return
	}
	n.pendMu.Lock()
	ch, ok := n.pending[ackKey{from, uint32(no)}]
	if ok {
		delete(n.pending, ackKey{from, uint32(no)})
	}
	n.pendMu.Unlock()
	if ok {
		close(ch)
		n.table.Confirm(from, true) // it answered our message: a peer worth probing
	}
}

// readCharset picks the encoding of a packet's strings from its flags, its sender's entry
// and, for strangers, a guess.
func (n *Node) readCharset(p ipmsg.Packet, from netip.AddrPort) ipmsg.Charset {
	if p.Cmd.Has(ipmsg.UTF8Opt) {
		return ipmsg.UTF8
	}
	if peer, ok := n.table.ByAddr(from); ok {
		if cs, err := ipmsg.ParseCharset(peer.Encoding); err == nil {
			return cs
		}
	}
	switch ipmsg.ClientOf(p.Version, nil) {
	case ipmsg.ClientIptux:
		return ipmsg.UTF8
	case ipmsg.ClientFeiQ:
		return ipmsg.GBK
	}
	return ipmsg.GuessCharset(n.cfg.Legacy, p.User, p.Host, ipmsg.FirstSection(p.Body))
}

// onSendMsg takes a message (size is its datagram's length). One from a stranger is
// admitted by admitStranger first, before anything else is done with it.
func (n *Node) onSendMsg(p ipmsg.Packet, from netip.AddrPort, size int) {
	key := dedupKey{from.Addr(), string(p.User), p.No, ipmsg.SendMsg}
	peer, known := n.table.ByAddr(from)
	if !known && !n.admitStranger(from, size, key) {
		return
	}
	if known && !n.admitPeer(peer.ID, key, size) {
		return
	}
	n.takeMessage(p, from, peer, known, key, func(r ipmsg.Packet, control bool) { n.reply(from, r, control) })
}

// takeMessage delivers a SENDMSG from from (the peer, if known) once, and answers through
// reply: over UDP, or on the channel it came on.
// key is what the duplicate filter remembers it by.
func (n *Node) takeMessage(p ipmsg.Packet, from netip.AddrPort, peer peers.Peer, known bool, key dedupKey, reply func(ipmsg.Packet, bool)) {
	cs := n.readCharset(p, from)
	replyCS, replyFlag := n.encodingFor(from)
	if p.Cmd.Has(ipmsg.UTF8Opt) {
		replyCS, replyFlag = ipmsg.UTF8, true
	}
	// IPMsg: no ack for broadcasts and automatic replies.
	needAck := p.Cmd.Has(ipmsg.SendCheckOpt) && !p.Cmd.Has(ipmsg.BroadcastOpt) && !p.Cmd.Has(ipmsg.AutoRetOpt)
	if !n.dedup.seen(key) {
		msg := Message{
			PacketNo: p.No, Addr: from, User: ipmsg.DecodeName(cs, p.User), Host: ipmsg.DecodeName(cs, p.Host),
			Text:      strings.ReplaceAll(cs.Decode(ipmsg.FirstSection(p.Body)), "\r\n", "\n"),
			Auto:      p.Cmd.Has(ipmsg.AutoRetOpt),
			Broadcast: p.Cmd.Has(ipmsg.BroadcastOpt),
			Sealed:    p.Cmd.Has(ipmsg.SecretOpt),
			ReadCheck: p.Cmd.Has(ipmsg.ReadCheckOpt),
			Time:      n.now(),
		}
		msg.Nick = msg.User
		if known {
			msg.PeerID, msg.Nick = peer.ID, peer.Nick
			msg.Encrypted, msg.Verified = peer.Secure, peer.Verified
		}
		show := true
		if ipmsg.ClientOf(p.Version, nil) == ipmsg.ClientFeiQ {
			msg.Text, show = ipmsg.FeiQText(msg.Text)
		}
		if !show {
			// A FeiQ control string: acknowledged, never shown, and not remembered as a
			// message, so that a forged one cannot suppress the real message that comes
			// with its number.
			n.dedup.forget(key)
			n.log.Debug("FeiQ control text", "from", from)
			if needAck {
				reply(n.packet(replyCS, replyFlag, ipmsg.RecvMsg, []byte(strconv.FormatUint(uint64(p.No), 10)+"\x00")), false)
			}
			return
		}
		if n.cfg.Deliver != nil {
			if err := n.cfg.Deliver(msg); err != nil {
				// Not stored, so not acknowledged: the sender's retry gets another chance.
				n.dedup.forget(key)
				n.log.Error("message not accepted", "from", from, "err", err)
				return
			}
		}
		var sealedBy []byte // the key whose channel brought the offer
		if msg.Encrypted {
			sealedBy = peer.Key
		}
		offer := p.Cmd.Has(ipmsg.FileAttachOpt) && n.files != nil &&
			n.files.OnOffer(p, from, cs, xfer.Sender{PeerID: msg.PeerID, Nick: msg.Nick, User: msg.User, Host: msg.Host, Text: msg.Text, Key: sealedBy})
		if !offer || strings.TrimSpace(msg.Text) != "" {
			n.emit(Event{Type: event.Message, Message: &msg})
		}
		if self := n.Self(); self.Away && !msg.Auto && !msg.Broadcast {
			text := self.AwayText
			if text == "" {
				text = "I am away from my desk."
			}
			reply(n.packet(replyCS, replyFlag, ipmsg.SendMsg|ipmsg.AutoRetOpt, append(replyCS.Encode(text), 0)), true)
		}
		if !known && !p.Cmd.Has(ipmsg.NoAddListOpt) {
			// Ask a stranger who it is, as IPMsg does; its ANSENTRY puts it in the table.
			n.sayState(func() { reply(n.entryPacket(replyCS, messageClient(p), p.Cmd.Has(ipmsg.UTF8Opt), ipmsg.BrEntry), true) })
		}
	}
	if needAck {
		reply(n.packet(replyCS, replyFlag, ipmsg.RecvMsg, []byte(strconv.FormatUint(uint64(p.No), 10)+"\x00")), false)
	}
}
