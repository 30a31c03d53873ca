//go:build unix

package imgstore

import "syscall"

// openFlags open a FIFO without waiting for a writer (it is then refused as not a file).
const openFlags = syscall.O_NONBLOCK
