package lan

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"feigo/event"
	"feigo/ipmsg"
	"feigo/peers"
	"feigo/xfer"
)

// startLimited runs a node as startNode does, with its transfer engine under lim. Config has
// no field for the engine's limits (lan builds the engine), so the engine NewNode made is
// replaced, before Run, by one built the same way with lim.
func startLimited(t *testing.T, conn *net.UDPConn, nick string, tweak func(*Config), lim xfer.Limits, extra ...netip.AddrPort) *testNode {
	t.Helper()
	var ex []string
	for _, a := range extra {
		ex = append(ex, a.String())
	}
	tn := &testNode{addr: addrOf(conn), events: make(chan Event, 1000)}
	cfg := Config{
		ID: "id-" + nick, Nick: nick, Group: "QA", User: strings.ToLower(nick), Host: "host-" + nick,
		Conn: conn, NoInterfaces: true, Extra: ex, Legacy: ipmsg.GBK,
		OnEvent: func(e Event) { tn.events <- e },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := NewNode(cfg, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := n.cfg
	files, err := xfer.New(xfer.Config{
		StateDir: c.StateDir, DownloadDir: c.DownloadDir, AcceptDir: c.AcceptDir, NoVerify: c.NoVerify,
		OfferTTL: c.OfferTTL, FetchPatience: c.FetchPatience, Log: c.Log, Now: c.Now, Limits: lim,
		Emit: func(typ event.Type, tr xfer.Transfer) { n.emit(Event{Type: typ, Transfer: &tr}) },
	}, messenger{n}, n.table)
	if err != nil {
		t.Fatal(err)
	}
	n.files = files
	tn.Node, tn.Engine = n, files
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once bool
	tn.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(tn.stop)
	return tn
}

// logRecorder is a slog handler that keeps the messages of the records it is given.
type logRecorder struct{ msgs chan string }

func newLogRecorder() *logRecorder { return &logRecorder{msgs: make(chan string, 10000)} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.msgs <- r.Message:
	default:
	}
	return nil
}

// count returns how many of the messages kept so far contain s, and forgets them all.
func (l *logRecorder) count(s string) int {
	n := 0
	for {
		select {
		case m := <-l.msgs:
			if strings.Contains(m, s) {
				n++
			}
		default:
			return n
		}
	}
}
