package lan

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"feigo/xfer"
)

// startLimited runs a node as startNode does, with its transfer engine under lim. Config has
// no field for the engine's limits (lan builds the engine), so the engine NewNode made is
// replaced, before Run, by one built the same way with lim.
func startLimited(t *testing.T, conn *net.UDPConn, nick string, tweak func(*Config), lim xfer.Limits, extra ...netip.AddrPort) *testNode {
	t.Helper()
	return startNode(t, conn, nick, func(c *Config) {
		if tweak != nil {
			tweak(c)
		}
		c.FileLimits = lim
	}, extra...)
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
