// Package oserr names the system errors FeiGo branches on in a way that holds on every
// system it builds for: Windows reports a busy port, a refused connection or a full disk
// with its own codes (WSAEADDRINUSE, WSAECONNREFUSED, ERROR_DISK_FULL), which the Unix
// errno values in package syscall do not match there.
package oserr

import "errors"

// AddrInUse reports whether err says the address (port) is already bound.
func AddrInUse(err error) bool { return anyIs(err, addrInUse) }

// AccessDenied reports whether err says binding or connecting was not permitted.
func AccessDenied(err error) bool { return anyIs(err, accessDenied) }

// ConnRefused reports whether err says nobody listens at the address dialled.
func ConnRefused(err error) bool { return anyIs(err, connRefused) }

// DiskFull reports whether err says the disk (or the user's quota on it) is full.
func DiskFull(err error) bool { return anyIs(err, diskFull) }

func anyIs(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
