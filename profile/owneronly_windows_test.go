package profile

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// checkOwnerOnly fails t unless path is the current user's alone: an access list with one
// entry, allowing the user, protected from the parent's for the profile directory itself and
// inherited from it for what is inside.
func checkOwnerOnly(t *testing.T, path string, dir bool) {
	t.Helper()
	if underWine() {
		t.Skip("Wine 8 accepts access lists on files but does not keep them: checked on Windows only")
	}
	me, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("%s: no access list (%v): open to everyone", path, err)
	}
	if dacl.AceCount != 1 {
		t.Fatalf("%s: %d access entries, want the user's alone (%s)", path, dacl.AceCount, sd)
	}
	var ace *windows.ACCESS_ALLOWED_ACE
	if err := windows.GetAce(dacl, 0, &ace); err != nil {
		t.Fatal(err)
	}
	sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
	if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || !sid.Equals(me) {
		t.Fatalf("%s: the entry is %s, want the user %v", path, sd, me)
	}
	ctl, _, _ := sd.Control()
	if dir && ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Fatalf("%s: the access list is not protected from the parent's (%s)", path, sd)
	}
}

// A profile directory made under a folder open to others (as C:\ is) gets the user's access
// list alone, and what FeiGo writes inside inherits it; a file is not a profile.
func TestOpenMakesProfileTheUsersAlone(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Fatal("a file was opened as a profile")
	}
	parent := t.TempDir()
	// Open the parent to everyone, as a shared folder would be.
	open, err := windows.SecurityDescriptorFromString("D:(A;OICI;FA;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := open.DACL()
	if err := windows.SetNamedSecurityInfo(parent, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.UNPROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "prof")
	p, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Save(Settings{Nick: "x"}); err != nil {
		t.Fatal(err)
	}
	checkOwnerOnly(t, dir, true)
	checkOwnerOnly(t, filepath.Join(dir, "id"), false)
	checkOwnerOnly(t, filepath.Join(dir, "settings.json"), false)
	// Opening again keeps it so.
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	checkOwnerOnly(t, dir, true)
}

// The Downloads folder is Windows' own (an absolute path), not a guess.
func TestDefaultDownloadsIsKnownFolder(t *testing.T) {
	want, err := windows.KnownFolderPath(windows.FOLDERID_Downloads, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Skipf("this Windows has no Downloads known folder: %v", err)
	}
	if got := DefaultDownloads(); got != want {
		t.Fatalf("DefaultDownloads = %q, want %q", got, want)
	}
}

// The profile lives under %APPDATA% (os.UserConfigDir on Windows), not in the home folder.
func TestDefaultDirUnderAppData(t *testing.T) {
	t.Setenv(EnvVar, "")
	t.Setenv("APPDATA", `C:\Users\u\AppData\Roaming`)
	d, err := DefaultDir()
	if err != nil || d != `C:\Users\u\AppData\Roaming\feigo` {
		t.Fatalf("DefaultDir = %q, %v", d, err)
	}
}

// underWine reports whether this Windows is Wine (its ntdll exports wine_get_version).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
