package lan

import (
	"errors"
	"feigo/event"
	"feigo/ipmsg"
	"net/netip"
	"sync"
	"time"
)

// Typing and nudges, as FeiQ has them: INPUTING (0x79) while its user types to us, INPUT_END
// (0x7A) when they stop, KNOCK (0xD1) to shake our window; none has a body. FeiGo sends the
// same to FeiGo peers (over their channels) and to FeiQ, never to clients that do not know
// them (IP Messenger, iptux). Only colleagues in the table are heard, and both ways are
// rate-limited: a flood of knocks shakes the window at most once per NudgeEvery, typing
// notices change the state at most TypingBurst times a second per colleague, and a nudge is
// sent to one colleague at most once per NudgeEvery.

// NudgeEvery is the least time between two nudges shown from, or sent to, one colleague.
// Nudges from all colleagues together are shown at most once per NudgeEvery/2.
const NudgeEvery = 5 * time.Second

// typingEvery is the least time between two typing events for one colleague (a typing
// notice repeats while the user types).
const typingEvery = time.Second

// ErrTooSoon is SendNudge's error within NudgeEvery of the last nudge to that colleague.
var ErrTooSoon = errors.New("a nudge was sent to this colleague a moment ago")

// maxNoticePeers bounds the colleagues whose notice times are remembered.
const maxNoticePeers = 4096

// notices remembers when notices were last taken from and sent to each colleague.
type notices struct {
	mu        sync.Mutex
	typedAt   map[string]time.Time // peer ID → last typing event
	typing    map[string]bool      // peer ID → the state last reported
	knockedAt map[string]time.Time // peer ID → last nudge shown
	anyKnock  time.Time            // last nudge shown from anyone
	sentAt    map[netip.AddrPort]time.Time
}

func (s *notices) init() {
	if s.typedAt == nil {
		s.typedAt, s.typing, s.knockedAt, s.sentAt = map[string]time.Time{}, map[string]bool{}, map[string]time.Time{}, map[netip.AddrPort]time.Time{}
	}
	if len(s.typedAt)+len(s.knockedAt)+len(s.sentAt) > maxNoticePeers {
		clear(s.typedAt) // forgetting only lets one more notice through
		clear(s.typing)
		clear(s.knockedAt)
		clear(s.sentAt)
	}
}

// onFeiQNotice takes a typing or knock notice from from (key: the key of the channel it came
// on, nil for a datagram).
func (n *Node) onFeiQNotice(p ipmsg.Packet, from netip.AddrPort, key []byte) {
	q, ok := n.table.ByAddr(from)
	if !ok {
		return // strangers are not heard
	}
	if q.Client != string(ipmsg.ClientFeiQ) && q.Client != string(ipmsg.ClientFeiGo) {
		return
	}
	now := n.now()
	ev := Event{Peer: &q, Addr: from}
	n.notices.mu.Lock()
	n.notices.init()
	switch p.Cmd.Mode() {
	case ipmsg.FeiQKnock:
		if now.Sub(n.notices.knockedAt[q.ID]) < NudgeEvery || now.Sub(n.notices.anyKnock) < NudgeEvery/2 {
			n.notices.mu.Unlock()
			return
		}
		n.notices.knockedAt[q.ID], n.notices.anyKnock = now, now
		ev.Type = event.Nudge
	default:
		typing := p.Cmd.Mode() == ipmsg.FeiQInputing
		if typing && n.notices.typing[q.ID] && now.Sub(n.notices.typedAt[q.ID]) < typingEvery {
			n.notices.mu.Unlock()
			return // still typing: said already
		}
		if !typing && !n.notices.typing[q.ID] {
			n.notices.mu.Unlock()
			return // was not typing
		}
		n.notices.typedAt[q.ID], n.notices.typing[q.ID] = now, typing
		ev.Type, ev.Typing = event.Typing, typing
	}
	n.notices.mu.Unlock()
	n.emit(ev)
}

// noticeTo sends a FeiQ notice (typing, stopped, knock) to the colleague at to, if it is one
// that knows them (FeiQ or FeiGo); it reports whether it went.
func (n *Node) noticeTo(to netip.AddrPort, mode ipmsg.Command) bool {
	q, ok := n.table.ByAddr(to)
	if !ok || (q.Client != string(ipmsg.ClientFeiQ) && q.Client != string(ipmsg.ClientFeiGo)) {
		return false
	}
	cs, f := n.encodingFor(to)
	p := n.packet(cs, f, mode, nil)
	if q.Secure {
		n.postChannel(q, p)
	} else {
		n.write(to, p)
	}
	return true
}

// SendTyping tells the colleague at to that the user is typing to them (typing) or stopped.
// Only FeiQ and FeiGo colleagues are told.
func (n *Node) SendTyping(to netip.AddrPort, typing bool) {
	mode := ipmsg.FeiQInputEnd
	if typing {
		mode = ipmsg.FeiQInputing
	}
	n.noticeTo(to, mode)
}

// SendNudge shakes the window of the colleague at to (FeiQ's knock): at most once per
// NudgeEvery per colleague (ErrTooSoon), and only to FeiQ and FeiGo colleagues.
func (n *Node) SendNudge(to netip.AddrPort) error {
	now := n.now()
	n.notices.mu.Lock()
	n.notices.init()
	if now.Sub(n.notices.sentAt[to]) < NudgeEvery {
		n.notices.mu.Unlock()
		return ErrTooSoon
	}
	n.notices.sentAt[to] = now
	n.notices.mu.Unlock()
	if !n.noticeTo(to, ipmsg.FeiQKnock) {
		return errors.New("this colleague's client does not take nudges")
	}
	return nil
}
