package xfer

import (
	"io/fs"
	"syscall"
)

// Flags for opening an offered file as it is. Windows has no O_NOFOLLOW: opening with
// FILE_FLAG_OPEN_REPARSE_POINT opens a symlink or junction put in the file's place as
// itself instead of its target, and the caller then refuses it, as it is not a regular
// file (see notRegular). There are no FIFOs among files on Windows, so nothing blocks.
const (
	oNoFollow = syscall.FILE_FLAG_OPEN_REPARSE_POINT
	oNonblock = 0
)

// isLink reports an open refused because the name is a symlink: never on Windows, where the
// link itself is opened and then refused by its mode.
func isLink(error) bool { return false }

// stampOf is fi's stamp. Windows' FileInfo from Stat has no file ID at hand (os.SameFile
// fetches it by path, which a swap could race), so the stamp is the size and time only: a
// file changed after the offer is refused, one replaced by a copy of the same size and time
// is not told apart.
func stampOf(fi fs.FileInfo) FileStamp {
	return FileStamp{Size: fi.Size(), ModNs: fi.ModTime().UnixNano()}
}

// linked reports a file that has another name too (a hard link to it). Windows's FileInfo
// does not tell: it reports none.
func linked(fs.FileInfo) bool { return false }
