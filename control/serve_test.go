package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/peers"
)

// stubNode answers status and peers; the other commands are not used here.
type stubNode struct {
	Node
	table *peers.Table
}

func (n stubNode) Table() *peers.Table { return n.table }
func (n stubNode) Self() ipmsg.Entry   { return ipmsg.Entry{Nick: "me", ID: "self-id"} }

// startServe serves path with lim until the test ends; the returned channel gets Serve's
// result. wrap, when set, wraps the listener.
func startServe(t *testing.T, wrap func(net.Listener) net.Listener, lim limits) (string, chan error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feigo.sock")
	ln, err := Listen(path)
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	var l net.Listener = ln
	if wrap != nil {
		l = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, stubNode{table: peers.New(nil)}, lim) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return path, done
}

// status asks the node at path for its status, failing the test if that takes over 5 s
// or Serve ends meanwhile.
func status(t *testing.T, path string, served chan error) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		resp, err := CallContext(context.Background(), path, Request{Cmd: "status"})
		if err == nil && (!resp.OK || resp.Self == nil || resp.Self.Nick != "me") {
			err = fmt.Errorf("answer %+v", resp)
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("status: %v", err)
		}
	case err := <-served:
		served <- err
		t.Fatalf("Serve returned while a client waited: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("status not answered within 5 s")
	}
}

// flakyListener fails its first n Accepts with EMFILE, as a process out of descriptors does.
type flakyListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n > 0
	if fail {
		l.n--
	}
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeSurvivesAcceptErrors(t *testing.T) {
	path, served := startServe(t, func(ln net.Listener) net.Listener { return &flakyListener{Listener: ln, n: 5} }, defaultLimits)
	status(t, path, served)
	status(t, path, served)
}

// reportingListener passes on the errors of the real listener's Accept.
type reportingListener struct {
	net.Listener
	failed chan error
}

func (l *reportingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		select {
		case l.failed <- err:
		default:
		}
	}
	return c, err
}

// countingListener records how many accepted connections are open at most.
type countingListener struct {
	net.Listener
	mu        sync.Mutex
	open, max int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.max = max(l.max, l.open)
	l.mu.Unlock()
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// Clients that connect and send nothing are dropped after the request deadline, at most
// Conns of them are served at once, and a real request still gets its answer.
func TestSilentClientsAreBounded(t *testing.T) {
	var cl *countingListener
	lim := limits{conns: 3, readRequest: 300 * time.Millisecond, maxRequest: defaultLimits.maxRequest}
	path, served := startServe(t, func(ln net.Listener) net.Listener { cl = &countingListener{Listener: ln}; return cl }, lim)
	var idle []net.Conn
	for range 10 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	status(t, path, served)
	// The first silent clients were hung up on at the request deadline.
	idle[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle[0].Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a silent client was not hung up on: %d, %v", n, err)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.max > lim.conns {
		t.Fatalf("%d connections served at once, limit %d", cl.max, lim.conns)
	}
}

// A request line over the limit is refused with a reason, without reading it all.
func TestOversizedRequestIsRefused(t *testing.T) {
	path, served := startServe(t, nil, defaultLimits)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	writeErr := make(chan error, 1)
	go func() {
		// An endless line: the writer stops only when the server hangs up.
		chunk := []byte(`{"cmd":"send","text":"` + strings.Repeat("x", 64<<10))
		for {
			if _, err := c.Write(chunk); err != nil {
				writeErr <- err
				return
			}
			chunk = []byte(strings.Repeat("x", 64<<10))
		}
	}()
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no answer to an oversized request: %v", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil || resp.OK || !strings.Contains(resp.Error, "too large") {
		t.Fatalf("answer %s (%v)", line, err)
	}
	c.Close()
	<-writeErr
	status(t, path, served)
}

// A node that accepted but never answers does not hold a client for ever: the caller's
// context bounds the wait, and each command has a deadline of its own.
func TestCallDoesNotWaitForeverOnAMuteNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feigo.sock")
	ln, err := Listen(path)
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // held open, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := CallContext(ctx, path, Request{Cmd: "status"})
		got <- err
	}()
	select {
	case err := <-got:
		if err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("Call on a mute node: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Call waited on a mute node past its context's deadline")
	}
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the mute node never saw the connection")
	}
	for cmd, bound := range map[string][2]time.Duration{
		"status": {time.Second, 30 * time.Second}, "peers": {time.Second, 30 * time.Second},
		"transfer": {time.Second, 30 * time.Second}, "history": {time.Second, 2 * time.Minute},
		"send": {time.Minute, 10 * time.Minute}, "send-file": {time.Minute, 10 * time.Minute},
	} {
		if d := callTimeout(cmd); d < bound[0] || d > bound[1] {
			t.Errorf("%s waits %v for its answer, want %v to %v", cmd, d, bound[0], bound[1])
		}
	}
}
