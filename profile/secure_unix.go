//go:build !windows

package profile

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
)

// secure checks that dir and everything in it belong to the current user and makes dir
// owner-only. It looks through one open descriptor, so the directory checked is the one
// repaired and listed.
func secure(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("profile %s: %w", dir, err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return fmt.Errorf("profile %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("profile %s is not a directory; choose another --profile", dir)
	}
	me := os.Geteuid()
	if uid, ok := owner(fi); !ok || uid != me {
		return fmt.Errorf("profile %s is owned by uid %d, not you (uid %d); remove it or choose another --profile", dir, uid, me)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := d.Chmod(0o700); err != nil {
			return fmt.Errorf("profile %s is open to other users (%v) and cannot be made owner-only: %w", dir, perm, err)
		}
		slog.Warn("the profile directory was open to other users; made it owner-only (0700): check that nothing in it was put there by someone else",
			"dir", dir, "was", perm.String())
	}
	for {
		es, err := d.ReadDir(256)
		for _, e := range es {
			info, ierr := e.Info()
			if ierr != nil {
				continue // removed meanwhile
			}
			if uid, ok := owner(info); !ok || uid != me {
				return fmt.Errorf("profile %s: %s is owned by uid %d, not you; another user may have put it there: remove it or choose another --profile",
					dir, e.Name(), uid)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("profile %s: %w", dir, err)
		}
	}
}

// owner returns the user ID owning fi's file.
func owner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}
