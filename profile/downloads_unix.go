//go:build !windows

package profile

import (
	"os"
	"path/filepath"
)

// DefaultDownloads is $XDG_DOWNLOAD_DIR, else ~/Downloads (the current directory when there
// is no home).
func DefaultDownloads() string {
	if d := os.Getenv("XDG_DOWNLOAD_DIR"); filepath.IsAbs(d) {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "Downloads")
	}
	return "."
}
