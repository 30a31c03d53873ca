package profile

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// DefaultDownloads is the user's Downloads folder as Windows knows it (FOLDERID_Downloads,
// wherever the user moved it), else Downloads in the user's home (the current directory when
// there is no home).
func DefaultDownloads() string {
	if d, err := windows.KnownFolderPath(windows.FOLDERID_Downloads, windows.KF_FLAG_DEFAULT); err == nil && filepath.IsAbs(d) {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "Downloads")
	}
	return "."
}
