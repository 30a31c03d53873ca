package ui

import (
	"context"
	"encoding/binary"
	"errors"
	"image/color"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/godbus/dbus/v5"
)

// The window's look: light unless the desktop or the settings say dark, and bold that
// stays bold in Chinese.
//
// Fyne (2.8, on Linux and the BSDs) reads the desktop's colour scheme from the XDG desktop
// portal's Settings (org.freedesktop.appearance color-scheme) at start and follows its
// SettingChanged signal, mapping "no preference" to light; but where no portal answers it
// stays on its default, dark, which most Xfce, LXQt, window-manager and remote sessions get.
// Theme builds on that: where the portal answers, the variant Fyne passes is the desktop's;
// where it does not, the window is light, as FeiQ and most office desktops are. A setting
// forces light or dark.

// Values of profile.Settings.Theme.
const (
	ThemeDesktop = ""
	ThemeLight   = "light"
	ThemeDark    = "dark"
)

// Theme is FeiGo's Fyne theme: the default theme in the variant chosen, with a bold font that
// covers Chinese where the system has one. Safe for concurrent use.
type Theme struct {
	fyne.Theme
	mode string
	// desktop is set once the desktop portal has answered: Fyne's variant is the desktop's.
	desktop *atomic.Bool
	bold    fyne.Resource // nil: Fyne's
}

// NewTheme returns the theme for the settings' choice mode (ThemeDesktop, ThemeLight,
// ThemeDark). Until askDesktop has found the desktop's portal, ThemeDesktop is light.
func NewTheme(mode string) *Theme {
	return &Theme{Theme: theme.DefaultTheme(), mode: mode, desktop: new(atomic.Bool), bold: cjkBold()}
}

// withMode returns the theme with another mode, sharing what the desktop said.
func (t *Theme) withMode(mode string) *Theme {
	c := *t
	c.mode = mode
	return &c
}

// Variant returns the variant shown when Fyne asks for v (the desktop's, where known).
func (t *Theme) Variant(v fyne.ThemeVariant) fyne.ThemeVariant {
	switch {
	case t.mode == ThemeLight:
		return theme.VariantLight
	case t.mode == ThemeDark:
		return theme.VariantDark
	case t.desktop.Load():
		return v
	}
	return theme.VariantLight
}

// Color is the default theme's colour in the variant shown.
func (t *Theme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.Variant(v))
}

// Font is the default theme's, but for bold text where a bold face covering Chinese was
// found: Fyne looks for a bold system face for the locale's language only, so a Chinese
// nickname in a bold label falls back to a regular face under an English locale.
func (t *Theme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Bold && !s.Italic && !s.Monospace && !s.Symbol && t.bold != nil {
		return t.bold
	}
	return t.Theme.Font(s)
}

// askDesktop asks the desktop portal on the session bus whether it states a colour scheme;
// if it does, the theme follows the variant Fyne reads from it (and Fyne follows its
// changes), and askDesktop reports true: the theme must be applied again. It blocks for at
// most portalAskTimeout: call it off Fyne's goroutine.
func (t *Theme) askDesktop(ctx context.Context) bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return false // Fyne reads Windows' and macOS's setting itself
	}
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return false
	}
	defer conn.Close()
	if _, err := readColorScheme(ctx, conn); err != nil {
		return false
	}
	t.desktop.Store(true)
	return t.mode == ThemeDesktop
}

const (
	portalSettings   = "org.freedesktop.portal.Settings"
	appearanceNS     = "org.freedesktop.appearance"
	portalAskTimeout = 5 * time.Second
)

// readColorScheme reads the portal's color-scheme (0 no preference, 1 dark, 2 light) with
// ReadOne, or Read on portals older than version 2, as Fyne does.
func readColorScheme(ctx context.Context, conn *dbus.Conn) (uint32, error) {
	ctx, cancel := context.WithTimeout(ctx, portalAskTimeout)
	defer cancel()
	obj := conn.Object(portalName, portalPath)
	var v dbus.Variant
	err := obj.CallWithContext(ctx, portalSettings+".ReadOne", 0, appearanceNS, "color-scheme").Store(&v)
	if err != nil {
		if err = obj.CallWithContext(ctx, portalSettings+".Read", 0, appearanceNS, "color-scheme").Store(&v); err != nil {
			return 0, err
		}
		if inner, ok := v.Value().(dbus.Variant); ok { // Read wraps it once more
			v = inner
		}
	}
	scheme, ok := v.Value().(uint32)
	if !ok {
		return 0, errors.New("portal: color-scheme is not a number")
	}
	return scheme, nil
}

// ---- a bold face that covers Chinese ----

// cjkBoldFiles are where Linux distributions put Noto Sans CJK's (Source Han Sans's) bold
// face: Debian and Ubuntu's fonts-noto-cjk, Fedora's google-noto-sans-cjk, Arch's
// noto-fonts-cjk. A collection (.ttc) holds it for Japanese, Korean, and simplified and
// traditional Chinese; the simplified Chinese one is taken.
var cjkBoldFiles = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
}

// cjkFamily is the face taken from a collection.
const cjkFamily = "Noto Sans CJK SC"

var (
	cjkOnce sync.Once
	cjkRes  fyne.Resource
)

// cjkBold returns the bold CJK face as a font resource, or nil where there is none.
func cjkBold() fyne.Resource {
	cjkOnce.Do(func() {
		for _, path := range cjkBoldFiles {
			if _, err := os.Stat(path); err == nil {
				if r := (&collectionFace{path: path, family: cjkFamily}); r.find() == nil {
					cjkRes = r
					return
				}
			}
		}
	})
	return cjkRes
}

// collectionFace is one face of a font collection as a font of its own: the collection's
// bytes with that face's table directory at the start. The directories of a collection point
// at tables by their offset from the start of the file, so they stay valid; the directory
// (12 + 16 bytes a table) overwrites only the collection's header and directories, which
// come before any table. The file is read when Fyne loads the font (once per text style),
// not kept in memory by the theme.
type collectionFace struct {
	path, family string
	dir          uint32 // the face's table directory offset, from find
}

func (c *collectionFace) Name() string { return "feigo-cjk-bold.otf" }

func (c *collectionFace) Content() []byte {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	out, err := faceOf(b, c.dir)
	if err != nil {
		return nil
	}
	return out
}

// find finds the face of family in the collection, reading only its head (the header, the
// table directories) and the name tables: the whole file is 20 MB.
func (c *collectionFace) find() error {
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 64<<10) // far more than 64 faces' directories
	n, err := f.ReadAt(head, 0)
	if n == 0 {
		return err
	}
	head = head[:n]
	dirs, err := collectionDirs(head)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		off, l, err := tableIn(head, d, "name", 1<<40)
		if err != nil || l > 1<<20 {
			continue
		}
		name := make([]byte, l)
		if _, err := f.ReadAt(name, int64(off)); err != nil {
			continue
		}
		if fam, err := familyOf(name); err == nil && fam == c.family {
			if _, err := faceOf(head, d); err != nil {
				return err
			}
			c.dir = d
			return nil
		}
	}
	return errors.New("font: no face " + c.family)
}

var errBadFont = errors.New("font: malformed collection")

// collectionDirs returns the table directory offsets of a TrueType/OpenType collection.
func collectionDirs(b []byte) ([]uint32, error) {
	if len(b) < 12 || string(b[:4]) != "ttcf" {
		return nil, errBadFont
	}
	n := binary.BigEndian.Uint32(b[8:12])
	if n == 0 || n > 64 || 12+4*int(n) > len(b) {
		return nil, errBadFont
	}
	dirs := make([]uint32, n)
	for i := range dirs {
		dirs[i] = binary.BigEndian.Uint32(b[12+4*i:])
	}
	return dirs, nil
}

// table returns the offset and length of table tag in the directory at dir of font b.
func table(b []byte, dir uint32, tag string) (uint32, uint32, error) {
	return tableIn(b, dir, tag, uint64(len(b)))
}

// tableIn is table for a font of size bytes whose directory at dir is in b.
func tableIn(b []byte, dir uint32, tag string, size uint64) (uint32, uint32, error) {
	if int(dir)+12 > len(b) {
		return 0, 0, errBadFont
	}
	n := int(binary.BigEndian.Uint16(b[dir+4:]))
	for i := range n {
		e := int(dir) + 12 + 16*i
		if e+16 > len(b) {
			return 0, 0, errBadFont
		}
		if string(b[e:e+4]) == tag {
			off, l := binary.BigEndian.Uint32(b[e+8:]), binary.BigEndian.Uint32(b[e+12:])
			if uint64(off)+uint64(l) > size {
				return 0, 0, errBadFont
			}
			return off, l, nil
		}
	}
	return 0, 0, errors.New("font: no " + tag + " table")
}

// faceOf returns the collection b, changed in place, with the table directory at dir at its
// start.
func faceOf(b []byte, dir uint32) ([]byte, error) {
	if int(dir)+12 > len(b) {
		return nil, errBadFont
	}
	n := int(binary.BigEndian.Uint16(b[dir+4:]))
	size := 12 + 16*n
	if int(dir)+size > len(b) {
		return nil, errBadFont
	}
	for i := range n { // no table may start inside the new directory
		if off := binary.BigEndian.Uint32(b[int(dir)+12+16*i+8:]); off < uint32(size) {
			return nil, errBadFont
		}
	}
	copy(b[:size], b[dir:int(dir)+size]) // copy moves overlapping bytes as memmove does
	return b, nil
}

// familyName reads the face's family name (name ID 1, Windows Unicode) from its name table.
func familyName(b []byte, dir uint32) (string, error) {
	off, l, err := table(b, dir, "name")
	if err != nil {
		return "", err
	}
	return familyOf(b[off : off+l])
}

// familyOf reads the family name from a name table.
func familyOf(t []byte) (string, error) {
	if len(t) < 6 {
		return "", errBadFont
	}
	count, strOff := int(binary.BigEndian.Uint16(t[2:])), int(binary.BigEndian.Uint16(t[4:]))
	for i := range count {
		r := 6 + 12*i
		if r+12 > len(t) {
			break
		}
		platform, nameID := binary.BigEndian.Uint16(t[r:]), binary.BigEndian.Uint16(t[r+6:])
		ln, o := int(binary.BigEndian.Uint16(t[r+8:])), int(binary.BigEndian.Uint16(t[r+10:]))
		if platform != 3 || nameID != 1 || strOff+o+ln > len(t) || ln%2 != 0 {
			continue
		}
		raw := t[strOff+o : strOff+o+ln]
		u := make([]uint16, ln/2)
		for j := range u {
			u[j] = binary.BigEndian.Uint16(raw[2*j:])
		}
		return string(utf16.Decode(u)), nil
	}
	return "", errors.New("font: no family name")
}
