package lan

import (
	"net"
	"sync"
)

// dualListener accepts on an IPv4 and an IPv6 listener as one: files and channels are served
// on both. Close closes both and ends its goroutines.
type dualListener struct {
	lns   [2]net.Listener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	// failed is closed when a listener fails (other than by Close); err is its error.
	failed   chan struct{}
	failOnce sync.Once
	err      error
}

func newDualListener(v4, v6 net.Listener) *dualListener {
	d := &dualListener{lns: [2]net.Listener{v4, v6}, conns: make(chan net.Conn), done: make(chan struct{}),
		failed: make(chan struct{})}
	for _, ln := range d.lns {
		d.wg.Go(func() { d.accept(ln) })
	}
	return d
}

func (d *dualListener) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			d.failOnce.Do(func() {
				d.err = err
				close(d.failed)
			})
			return
		}
		select {
		case d.conns <- c:
		case <-d.done:
			c.Close()
			return
		}
	}
}

// Accept returns the next connection from either listener; net.ErrClosed once closed, or
// the error of a listener that failed, as a single listener's Accept would.
func (d *dualListener) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case <-d.done:
		return nil, net.ErrClosed
	case <-d.failed:
		return nil, d.err
	}
}

// Close closes both listeners and waits for their goroutines.
func (d *dualListener) Close() error {
	var err error
	d.once.Do(func() {
		close(d.done)
		for _, ln := range d.lns {
			if e := ln.Close(); e != nil && err == nil {
				err = e
			}
		}
		d.wg.Wait()
	})
	return err
}

// Addr is the IPv4 listener's address.
func (d *dualListener) Addr() net.Addr { return d.lns[0].Addr() }
