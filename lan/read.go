package lan

import (
	"bytes"
	"feigo/event"
	"feigo/ipmsg"
	"net/netip"
	"strconv"
	"sync"
)

// Read receipts and sealed messages, as IP Messenger has them: a sealed message (SECRETOPT)
// is shown behind a click, and opening it sends the sender READMSG with its packet number
// (with READCHECKOPT when the message asked for it, which the sender answers with
// ANSREADMSG). Between FeiGo peers every message carries READCHECKOPT, and the receiver sends
// READMSG when its user has seen it (opened the conversation), unless it turned receipts off.
//
// A read notice is believed only from the recipient of that message: the address it went to,
// and, for a peer that proved its key, only over that peer's channel. Each message is
// believed read once; the messages waiting for a notice are bounded (maxReadWait, the oldest
// forgotten first).

// maxReadWait bounds the messages sent that wait for a read notice.
const maxReadWait = 4096

type readKey struct {
	addr netip.AddrPort
	no   uint32
}

// readWait is a message sent that may be read: its first packet's number (a long message
// is several), to whom, and the key of the channel it went over.
type readWait struct {
	first  uint32
	peerID string
	key    []byte
}

// readWaits are the messages sent that wait for a read notice.
type readWaits struct {
	mu   sync.Mutex
	m    map[readKey]readWait
	ring []readKey
	next int
}

func (r *readWaits) add(k readKey, w readWait) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m, r.ring = map[readKey]readWait{}, make([]readKey, maxReadWait)
	}
	if _, ok := r.m[k]; ok {
		r.m[k] = w
		return
	}
	delete(r.m, r.ring[r.next]) // the oldest: forgotten
	r.ring[r.next] = k
	r.next = (r.next + 1) % len(r.ring)
	r.m[k] = w
}

// take returns and forgets the message k names, if it waits and key is the key it went to
// (nil for one that went over UDP).
func (r *readWaits) take(k readKey, key []byte) (readWait, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.m[k]
	if !ok || !bytes.Equal(w.key, key) {
		return readWait{}, false
	}
	// Every part of a long message is read with it.
	for kk, ww := range r.m {
		if kk.addr == k.addr && ww.first == w.first {
			delete(r.m, kk)
		}
	}
	return w, true
}

// onReadMsg takes a READMSG from from (key: the key of the channel it came on, nil for a
// datagram): the recipient of one of our messages has opened it.
func (n *Node) onReadMsg(p ipmsg.Packet, from netip.AddrPort, key []byte, reply func(ipmsg.Packet, bool)) {
	no, err := strconv.ParseUint(string(ipmsg.FirstSection(p.Body)), 10, 32)
	if err != nil {
		return
	}
	if p.Cmd.Has(ipmsg.ReadCheckOpt) {
		// IPMsg repeats its READMSG until it is answered, whatever we make of it.
		cs, f := n.encodingFor(from)
		reply(n.packet(cs, f, ipmsg.AnsReadMsg, []byte(strconv.FormatUint(no, 10)+"\x00")), true)
	}
	w, ok := n.reads.take(readKey{from, uint32(no)}, key)
	if !ok {
		n.stats.readRefused.Add(1)
		n.log.Debug("read notice for no message of ours to its sender", "from", from, "packet", no)
		return
	}
	m := Message{PacketNo: w.first, PeerID: w.peerID, Addr: from, Time: n.now(), Encrypted: key != nil}
	if q, ok := n.table.ByAddr(from); ok {
		m.Nick, m.User, m.Host = q.Nick, q.User, q.Host
	}
	n.emit(Event{Type: event.MessageRead, Message: &m})
}

// SendRead tells the sender at to that its message packetNo was read (READMSG; with
// READCHECKOPT when check, as IPMsg does for a message that asked for it). Over a FeiGo
// peer's channel when it proved its key, else one datagram.
func (n *Node) SendRead(to netip.AddrPort, packetNo uint32, check bool) {
	cs, f := n.encodingFor(to)
	cmd := ipmsg.ReadMsg
	if check {
		cmd |= ipmsg.ReadCheckOpt
	}
	p := n.packet(cs, f, cmd, []byte(strconv.FormatUint(uint64(packetNo), 10)+"\x00"))
	if q, ok := n.table.ByAddr(to); ok && q.Secure {
		n.postChannel(q, p)
		return
	}
	n.write(to, p)
}
