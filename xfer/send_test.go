package xfer

import (
	"context"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"feigo/peers"
)

// flakyListener's Accept returns its script (errors, or a connection for a nil error), then
// blocks until Close.
type flakyListener struct {
	script []error
	conn   net.Conn // served for a nil entry of the script
	closed chan struct{}
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if len(l.script) > 0 {
		err := l.script[0]
		l.script = l.script[1:]
		if err == nil {
			return l.conn, nil
		}
		return nil, err
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *flakyListener) Close() error   { close(l.closed); return nil }
func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestAcceptBacksOff(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	server, client := net.Pipe()
	defer client.Close()
	// Out of file descriptors three times, one connection, then two timeouts.
	ln := &flakyListener{script: []error{emfile, emfile, emfile, nil, timeoutErr{}, timeoutErr{}}, conn: pipeConn{server}, closed: make(chan struct{})}
	e, err := New(Config{}, nil, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	waited := make(chan struct{}, 10)
	e.pause = func(_ context.Context, d time.Duration) bool {
		waits = append(waits, d)
		waited <- struct{}{}
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, ln) }()
	client.Close() // the connection sends nothing: it is dropped
	for range 5 {
		select {
		case <-waited:
		case err := <-done:
			t.Fatalf("Run returned %v after %d errors", err, len(waits))
		case <-time.After(10 * time.Second):
			t.Fatalf("waits %v: the accept loop did not wait after each error", waits)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Each error in a row waits twice as long as the one before; a connection starts afresh.
	ms := time.Millisecond
	if want := []time.Duration{5 * ms, 10 * ms, 20 * ms, 5 * ms, 10 * ms}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
}

// pipeConn is a net.Pipe end with a TCP remote address, as the engine expects of a file
// connection.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 4000} }
