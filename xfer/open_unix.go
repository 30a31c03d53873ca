//go:build !windows

package xfer

import (
	"errors"
	"io/fs"
	"syscall"
)

// Flags for opening an offered file as it is: oNoFollow fails on a symlink in its place
// (ELOOP) and oNonblock keeps a FIFO put there from blocking the open.
const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonblock = syscall.O_NONBLOCK
)

// isLink reports an open refused because the name is a symlink (oNoFollow).
func isLink(err error) bool { return errors.Is(err, syscall.ELOOP) }

// stampOf is fi's stamp; zero where the system says nothing of inodes.
func stampOf(fi fs.FileInfo) FileStamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return FileStamp{}
	}
	return FileStamp{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: fi.Size(), ModNs: fi.ModTime().UnixNano()}
}

// linked reports a file that has another name too (a hard link to it), which writing to
// it would change as well.
func linked(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 1
}
