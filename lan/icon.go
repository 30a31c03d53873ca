package lan

import (
	"bytes"
	"net/netip"
	"time"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/peers"
)

// iptux's icons (issue 15). iptux sends the picture its user chose (IPTUX_SENDICON, mode
// 0xFE) to a colleague it has just seen, when that picture is a file of the user's own (not
// one of iptux's built-in icons): the packet's header and an empty text, its NUL, then the
// image file's bytes to the end of the datagram (so at most one datagram: iptux's buffer is
// 8 KiB). The node is told with a peer_icon event carrying the bytes; what they are (an
// image, of bounded dimensions) is checked by whoever stores them, off the read loop.

// Bounds on the icons taken.
const (
	// MaxIconBytes bounds an icon: a datagram from iptux carries at most 8 KiB in all.
	MaxIconBytes = 16 << 10
	// IconEvery is how often one colleague's icon is taken at most; iconsPerEvery how
	// many icons from everyone in that time.
	IconEvery     = time.Minute
	iconsPerEvery = 30
)

// icons is the rate limit of iptux's icons.
type icons struct {
	takenAt map[string]time.Time // peer ID → when their last icon was taken
	window  time.Time            // the start of the current IconEvery, for everyone
	inIt    int                  // icons taken in it
}

// onIptuxIcon takes an icon sent by an iptux colleague in the table, as a datagram, or by a
// FeiGo colleague over their channel (key: the key they proved on it); anyone else's
// (strangers, FeiGo peers by datagram, FeiQ, IP Messenger) is dropped, as are empty or
// oversized ones and those over the rate limits.
func (n *Node) onIptuxIcon(p ipmsg.Packet, from netip.AddrPort, key []byte) {
	q, ok := n.table.ByAddr(from)
	if !ok {
		return
	}
	if key == nil && q.Client != string(ipmsg.ClientIptux) {
		return
	}
	if key != nil && (q.Client != string(ipmsg.ClientFeiGo) || !q.Secure) {
		return
	}
	i := bytes.IndexByte(p.Body, 0)
	if i < 0 {
		return
	}
	pic := p.Body[i+1:]
	if len(pic) == 0 || len(pic) > MaxIconBytes {
		n.log.Debug("iptux icon dropped: size", "from", from, "bytes", len(pic))
		return
	}
	now := n.now()
	n.notices.mu.Lock()
	s := &n.iconLimit
	if s.takenAt == nil {
		s.takenAt = map[string]time.Time{}
	}
	if last, seen := s.takenAt[q.ID]; seen && now.Sub(last) < IconEvery {
		n.notices.mu.Unlock()
		return
	}
	if now.Sub(s.window) >= IconEvery {
		s.window, s.inIt = now, 0
		for id, at := range s.takenAt { // the map holds the last minute's senders only
			if now.Sub(at) >= IconEvery {
				delete(s.takenAt, id)
			}
		}
	}
	if s.inIt >= iconsPerEvery {
		n.notices.mu.Unlock()
		n.log.Debug("iptux icon dropped: too many", "from", from)
		return
	}
	s.inIt++
	s.takenAt[q.ID] = now
	n.notices.mu.Unlock()
	n.emit(Event{Type: event.PeerIcon, Time: now, Peer: &q, Addr: from, Icon: bytes.Clone(pic)})
}

// Bounds on this user's picture sent to iptux colleagues as datagrams: iconSendBurst to one
// address at once, then one every IconEvery; iconSendAllBurst to everyone at once (Settings
// sends a new picture to all online), then one a second.
const (
	iconSendBurst    = 2
	iconSendAllBurst = 256
)

// MaxSentIcon bounds this user's picture as sent: iptux reads it from one datagram into an
// 8 KiB buffer, the header included.
const MaxSentIcon = 7 << 10

// SetIcon sets the picture sent to iptux and FeiGo colleagues (nil: none); it must be a PNG,
// JPEG or GIF of at most MaxSentIcon bytes.
func (n *Node) SetIcon(pic []byte) {
	if len(pic) == 0 || len(pic) > MaxSentIcon {
		n.myIcon.Store(nil)
		return
	}
	pic = bytes.Clone(pic)
	n.myIcon.Store(&pic)
}

// SendIcon sends this user's picture to q when q takes pictures: iptux as a datagram
// (IPTUX_SENDICON, as iptux sends its own), a FeiGo colleague over their channel (the same
// packet). It reports whether it went.
func (n *Node) SendIcon(q peers.Peer) bool {
	pic := n.myIcon.Load()
	if pic == nil {
		return false
	}
	body := append([]byte{0}, *pic...) // an empty text, its NUL, the picture
	switch {
	case q.Client == string(ipmsg.ClientFeiGo) && q.Secure:
		n.postChannel(q, n.packet(ipmsg.UTF8, true, ipmsg.IptuxSendIcon, body))
	case q.Client == string(ipmsg.ClientIptux):
		// Anyone can list an "iptux colleague" at any address with one forged BR_ENTRY,
		// and again after a BR_EXIT: bounded per destination address and in all, the
		// picture (up to 7 KiB for a datagram of ~100 bytes) cannot be reflected at a host.
		now := n.now()
		if !n.iconSendLimit.allow(q.Addr.Addr(), now, 1) || !n.iconSendAll.allow(struct{}{}, now, 1) {
			n.stats.repliesDropped.Add(1)
			n.warnOnce(q.Addr.Addr(), "my picture not sent: over the destination's budget", "dropped in all", n.stats.repliesDropped.Load())
			return false
		}
		cs, f := n.encodingFor(q.Addr)
		n.write(q.Addr, n.packet(cs, f, ipmsg.IptuxSendIcon, body))
	default:
		return false
	}
	return true
}
