package oserr

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// The predicates are checked against errors the system itself returns, so a Windows build
// that matched Unix numbers only would fail here.
func TestAddrInUseFromTheSystem(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp4", ln.Addr().String())
	if err == nil {
		t.Fatal("a second listener on a bound port succeeded")
	}
	if !AddrInUse(err) {
		t.Fatalf("AddrInUse(%v) = false", err)
	}
	if ConnRefused(err) || DiskFull(err) {
		t.Fatalf("%v matched another predicate", err)
	}
}

func TestConnRefusedFromTheSystem(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err == nil {
		c.Close()
		t.Skip("something else took the port meanwhile")
	}
	if !ConnRefused(err) {
		t.Fatalf("ConnRefused(%v) = false", err)
	}
	if AddrInUse(err) {
		t.Fatalf("%v matched AddrInUse", err)
	}
}

func TestNilAndOther(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.Canceled} {
		if AddrInUse(err) || AccessDenied(err) || ConnRefused(err) || DiskFull(err) {
			t.Errorf("%v matched", err)
		}
	}
}
