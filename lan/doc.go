// Package lan is a FeiGo presence on the LAN: the UDP socket on port 2425, presence (entry
// broadcasts, answers, liveness probes, goodbyes, the peer table kept up to date) and
// acknowledged messages (SENDMSG/RECVMSG with retransmission and duplicate suppression).
// Bytes are read and written by package ipmsg; file offers, requests and the TCP side go to
// the transfer engine, package xfer, which Node owns and runs.
//
// The LAN is not trusted: every source address can be forged. What a datagram can make the
// node keep or do is bounded: the peer table (peers.MaxPeers, peers.MaxPerAddr; each entry's
// fields by package ipmsg), messages from strangers (StrangerBurst, StrangersBurst,
// MaxStrangerDatagram, decided before any work), and what the node sends back (ReplyAllowance
// and ControlBurst per destination; a peer that never answered is probed no more often than
// it spoke), so that it never reflects more at an address than it received from it, past a
// small allowance. Refusals are counted (Node.Stats) and logged once per source per minute.
//
// Beyond plain messages: read notices and sealed messages (IPMsg's SECRETOPT, READCHECKOPT,
// READMSG and ANSREADMSG; READCHECKOPT on every message to a FeiGo peer; a notice believed
// only from the message's recipient, see read.go), FeiQ's typing and knock notices to and from
// FeiQ and FeiGo colleagues, rate-limited both ways (notice.go), and images inline, which the
// transfer engine sends and fetches as IPMsg's clipboard attachments (CLIPBOARDOPT is set on
// the node's entries when Config.ImageDir is).
//
// Beyond the broadcasts: FeiGo peers on other subnets trade lists of colleagues over their TLS
// channels and greet what they learn (reach.go), IP Messenger's host list is served and merged
// (hostlist.go), and the host's addresses are watched so that a node that roams announces
// itself again (netif.go). What a list names is greeted once, within fixed budgets, and listed
// only once it answers.
//
// IPv6 (netif6.go): besides its IPv4 socket, a node bound to every address listens on
// [::]:port, joins IP Messenger's group ff15::979 on each interface it announces on and
// announces there too; TCP is served on both families. A FeiGo colleague heard over both is
// listed once, at its IPv4 address (listedOverOtherFamily, toIPv4OnLink), and beats go over
// IPv4 alone where there is IPv4 (beat), so a dual-stack LAN costs no more at rest. Limits per
// source address count an IPv6 source by its /64 (limitKey). Without IPv6 on the host the node
// runs on IPv4 alone.
//
// A Node is used as: NewNode, then Run(ctx) in a goroutine; every method is safe for
// concurrent use. Run returns after its goroutines have ended, once ctx is cancelled (after
// saying goodbye) or when the socket fails.
package lan
