// Package lan is a FeiGo presence on the LAN: the UDP socket on port 2425, presence (entry
// broadcasts, answers, liveness probes, goodbyes, the peer table kept up to date) and
// acknowledged messages (SENDMSG/RECVMSG with retransmission and duplicate suppression).
// Bytes are read and written by package ipmsg; file offers, requests and the TCP side go to
// the transfer engine, package xfer, which Node owns and runs.
//
// A Node is used as: NewNode, then Run(ctx) in a goroutine; every method is safe for
// concurrent use. Run returns after its goroutines have ended, once ctx is cancelled (after
// saying goodbye) or when the socket fails.
package lan
