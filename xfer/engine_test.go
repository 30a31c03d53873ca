package xfer

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// dialCounter is a Messenger whose file connections are counted and never succeed.
type dialCounter struct{ dials atomic.Int32 }

func (m *dialCounter) Encoding(netip.AddrPort) (ipmsg.Charset, bool) { return ipmsg.UTF8, true }
func (m *dialCounter) ReadCharset(ipmsg.Packet, netip.AddrPort) ipmsg.Charset {
	return ipmsg.UTF8
}
func (m *dialCounter) Packet(cs ipmsg.Charset, _ bool, cmd ipmsg.Command, body []byte) ipmsg.Packet {
	return ipmsg.Packet{Version: "1", No: 1, User: []byte("u"), Host: []byte("h"), Cmd: cmd, Body: body}
}
func (m *dialCounter) Write(netip.AddrPort, ipmsg.Packet) {}
func (m *dialCounter) SendReliable(context.Context, netip.AddrPort, ipmsg.Packet) error {
	return nil
}
func (m *dialCounter) SendSealed(context.Context, netip.AddrPort, []byte, ipmsg.Packet) error {
	return nil
}
func (m *dialCounter) DialFiles(ctx context.Context, _ netip.AddrPort, _, _ []byte) (net.Conn, error) {
	m.dials.Add(1)
	<-ctx.Done() // a sender that never answers: only the context ends the attempt
	return nil, ctx.Err()
}

// Downloads belong to Run: one accepted before Run waits for it (no goroutine outlives an
// engine that never runs), starts when Run does, and ends when Run's context does.
func TestDownloadsRunUnderRun(t *testing.T) {
	m := &dialCounter{}
	e, err := New(Config{}, m, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	offer := ipmsg.Packet{Version: "1", No: 7, User: []byte("bob"), Host: []byte("pc"), Cmd: ipmsg.SendMsg | ipmsg.FileAttachOpt,
		Body: []byte("\x000:a.txt:5:0:1:\a\x00")}
	if !e.OnOffer(offer, netip.MustParseAddrPort("127.0.0.1:9"), ipmsg.UTF8, Sender{Nick: "Bob"}) {
		t.Fatal("no offer")
	}
	tr := e.Transfers()[0]
	if _, err := e.Accept(tr.ID, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := m.dials.Load(); n != 0 {
		t.Fatalf("%d connections before Run", n)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, ln) }()
	deadline := time.Now().Add(5 * time.Second)
	for m.dials.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the accepted download did not start with Run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: a download outlived its context")
	}
}
