//go:build !windows

package oserr

import "syscall"

var (
	addrInUse    = []error{syscall.EADDRINUSE}
	accessDenied = []error{syscall.EACCES}
	connRefused  = []error{syscall.ECONNREFUSED}
	diskFull     = []error{syscall.ENOSPC, syscall.EDQUOT}
)
