// Package event names what a FeiGo node reports: the event types of the JSON lines that
// `feigo serve` prints and the window consumes, and the direction of a message or transfer.
// Both are strings underneath, so the JSON that scripts read is the same words.
package event

// Type is what an event is about.
type Type string

// The event types a node emits.
const (
	// Ready: the node has bound its sockets (Event.Addr is where).
	Ready Type = "ready"
	// PeerOnline, PeerOffline, PeerUpdated: a change in the peer table (Event.Peer).
	PeerOnline  Type = "peer_online"
	PeerOffline Type = "peer_offline"
	PeerUpdated Type = "peer_updated"
	// Message: a message arrived (Event.Message).
	Message Type = "message"
	// MessageDelivered, MessageFailed, MessageQueued: the outcome of a message sent
	// (Event.Message, Event.Error, Event.HistoryID, Event.SendID).
	MessageDelivered Type = "message_delivered"
	MessageFailed    Type = "message_failed"
	MessageQueued    Type = "message_queued"
	// MessageImages: the images embedded in a message have arrived (or were sent) and are
	// in the profile's image store; the message's Images say where.
	MessageImages Type = "message_images"
	// MessageRead: the recipient of a message of ours has read it (READMSG).
	MessageRead Type = "message_read"
	// Typing: a colleague is typing to us (Typing true) or stopped; Nudge: a colleague
	// shakes our window (FeiQ's knock).
	Typing Type = "typing"
	Nudge  Type = "nudge"
	// PeerIcon: an iptux colleague sent their picture (Event.Icon, unchecked); the node
	// stores it and reports peer_updated with the peer's Icon.
	PeerIcon Type = "peer_icon"
	// Transfer events carry Event.Transfer; TransferFailed also covers declined and
	// cancelled transfers.
	TransferOffered  Type = "transfer_offered"
	TransferStarted  Type = "transfer_started"
	TransferProgress Type = "transfer_progress"
	TransferDone     Type = "transfer_done"
	TransferFailed   Type = "transfer_failed"
	// SelfUpdated: this node's own status or names changed (Event.Self), by whoever asked
	// (the window, the tray, `feigo away`).
	SelfUpdated Type = "self_updated"
)

// Direction says whether a message or transfer came to this node or left it.
type Direction string

// The two directions.
const (
	In  Direction = "in"
	Out Direction = "out"
)
