package oserr

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// Winsock's codes come back from sockets; the ERROR_ ones from files. syscall's EACCES-like
// values are Go's invented numbers on Windows and never come from the system, but are kept
// for errors built by Go itself.
var (
	addrInUse    = []error{windows.WSAEADDRINUSE, syscall.EADDRINUSE}
	accessDenied = []error{windows.WSAEACCES, windows.ERROR_ACCESS_DENIED, syscall.EACCES}
	connRefused  = []error{windows.WSAECONNREFUSED, windows.ERROR_CONNECTION_REFUSED, syscall.ECONNREFUSED}
	diskFull     = []error{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED}
)
