package profile

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// ownerOnlyDACL is the access list a profile directory gets on Windows: full control for the
// user alone, inherited by everything created in it (the ID, the settings, the history, the
// control socket), and protected from the parent's entries.
func ownerOnlyDACL(me *windows.SID) string {
	return "D:P(A;OICI;FA;;;" + me.String() + ")"
}

// currentUser is the SID of the user this process runs as.
func currentUser() (*windows.SID, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return tu.User.Sid.Copy()
}

// secure checks that dir and everything in it belong to the current user and gives dir an
// access list for the user alone: Windows' equivalent of owner and mode 0700. It works
// through one handle, so the directory checked is the one repaired and listed.
func secure(dir string) error {
	me, err := currentUser()
	if err != nil {
		return fmt.Errorf("profile %s: who am I: %w", dir, err)
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return fmt.Errorf("profile %s: %w", dir, err)
	}
	h, err := windows.CreateFile(p,
		windows.READ_CONTROL|windows.WRITE_DAC|windows.FILE_LIST_DIRECTORY|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return fmt.Errorf("profile %s: %w", dir, err)
	}
	d := os.NewFile(uintptr(h), dir)
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return fmt.Errorf("profile %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("profile %s is not a directory; choose another --profile", dir)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("profile %s: reading its owner: %w", dir, err)
	}
	if o, _, err := sd.Owner(); err != nil || o == nil || !o.Equals(me) {
		return fmt.Errorf("profile %s is owned by %v, not you (%v); remove it or choose another --profile", dir, o, me)
	}
	want := ownerOnlyDACL(me)
	if got, err := daclString(sd); err != nil || got != want {
		wsd, err := windows.SecurityDescriptorFromString(want)
		if err != nil {
			return fmt.Errorf("profile %s: %w", dir, err)
		}
		dacl, _, err := wsd.DACL()
		if err != nil {
			return fmt.Errorf("profile %s: %w", dir, err)
		}
		err = windows.SetSecurityInfo(h, windows.SE_FILE_OBJECT,
			windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
		if err != nil {
			return fmt.Errorf("profile %s cannot be made yours alone: %w", dir, err)
		}
		slog.Debug("the profile directory's access list was made the user's alone", "dir", dir, "was", got)
	}
	for {
		es, err := d.ReadDir(256)
		for _, e := range es {
			o, oerr := ownerOf(filepath.Join(dir, e.Name()))
			if oerr != nil {
				continue // removed meanwhile
			}
			if !o.Equals(me) {
				return fmt.Errorf("profile %s: %s is owned by %v, not you; another user may have put it there: remove it or choose another --profile",
					dir, e.Name(), o)
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

// daclString is sd's access list in SDDL ("D:P(A;…)"), without the owner.
func daclString(sd *windows.SECURITY_DESCRIPTOR) (string, error) {
	dacl, _, err := sd.DACL()
	if err != nil {
		return "", err
	}
	ctl, _, err := sd.Control()
	if err != nil {
		return "", err
	}
	only, err := windows.NewSecurityDescriptor()
	if err != nil {
		return "", err
	}
	if err := only.SetDACL(dacl, true, false); err != nil {
		return "", err
	}
	if err := only.SetControl(windows.SE_DACL_PROTECTED, ctl&windows.SE_DACL_PROTECTED); err != nil {
		return "", err
	}
	return only.String(), nil
}

// ownerOf is the SID owning the file at path.
func ownerOf(path string) (*windows.SID, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return nil, err
	}
	o, _, err := sd.Owner()
	if err != nil || o == nil {
		return nil, fmt.Errorf("no owner: %v", err)
	}
	return o, nil
}
