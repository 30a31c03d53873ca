package ui

import (
	"context"
	"os"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/godbus/dbus/v5"
)

func TestThemeVariant(t *testing.T) {
	light, dark := theme.VariantLight, theme.VariantDark
	for _, c := range []struct {
		mode    string
		desktop bool
		fyne    fyne.ThemeVariant // what Fyne passes: the desktop's, or its default, dark
		want    fyne.ThemeVariant
	}{
		{ThemeDesktop, false, dark, light}, // no portal: light, not Fyne's dark
		{ThemeDesktop, true, dark, dark},   // the desktop says dark
		{ThemeDesktop, true, light, light}, // light, or no preference
		{ThemeLight, true, dark, light},
		{ThemeDark, false, light, dark},
	} {
		th := NewTheme(c.mode)
		th.desktop.Store(c.desktop)
		if got := th.Variant(c.fyne); got != c.want {
			t.Errorf("mode %q, desktop %v, Fyne %v: %v, want %v", c.mode, c.desktop, c.fyne, got, c.want)
		}
		if got, want := th.Color(theme.ColorNameBackground, c.fyne), theme.DefaultTheme().Color(theme.ColorNameBackground, c.want); got != want {
			t.Errorf("mode %q: background %v, want %v", c.mode, got, want)
		}
	}
}

// fakeSettingsPortal is the desktop portal's Settings: version 2 (ReadOne) or 1 (Read only).
type fakeSettingsPortal struct{ scheme uint32 }

func (p fakeSettingsPortal) Read(ns, key string) (dbus.Variant, *dbus.Error) {
	if ns != appearanceNS || key != "color-scheme" {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.portal.Error.NotFound", nil)
	}
	return dbus.MakeVariant(dbus.MakeVariant(p.scheme)), nil
}

type fakeSettingsPortal2 struct{ fakeSettingsPortal }

func (p fakeSettingsPortal2) ReadOne(ns, key string) (dbus.Variant, *dbus.Error) {
	if ns != appearanceNS || key != "color-scheme" {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.portal.Error.NotFound", nil)
	}
	return dbus.MakeVariant(p.scheme), nil
}

// TestThemeAsksTheDesktop: where the desktop portal answers (either version), the theme
// follows the desktop (Fyne's variant); where none does, it stays light.
func TestThemeAsksTheDesktop(t *testing.T) {
	for name, portal := range map[string]any{"none": nil, "v1": fakeSettingsPortal{1}, "v2": fakeSettingsPortal2{fakeSettingsPortal{1}}} {
		addr := privateBus(t)
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		if portal != nil {
			srv := busConn(t, addr)
			if err := srv.Export(portal, portalPath, portalSettings); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.RequestName(portalName, dbus.NameFlagDoNotQueue); err != nil {
				t.Fatal(err)
			}
		}
		th := NewTheme(ThemeDesktop)
		again := th.askDesktop(context.Background())
		if again != (portal != nil) {
			t.Errorf("%s: askDesktop %v", name, again)
		}
		want := theme.VariantLight
		if portal != nil {
			want = theme.VariantDark
		}
		if got := th.Variant(theme.VariantDark); got != want {
			t.Errorf("%s: variant %v, want %v", name, got, want)
		}
	}
}

// TestCJKBoldFace: where the system has Noto Sans CJK's bold collection (Debian's
// fonts-noto-cjk, which make deps installs), the theme's bold font is its simplified Chinese
// face, as a font of its own.
func TestCJKBoldFace(t *testing.T) {
	path := cjkBoldFiles[0]
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s is missing (make deps installs fonts-noto-cjk)", path)
		}
		t.Skipf("no %s (make deps installs fonts-noto-cjk)", path)
	}
	th := NewTheme(ThemeDesktop)
	res := th.Font(fyne.TextStyle{Bold: true})
	if res == nil || res == theme.DefaultTheme().Font(fyne.TextStyle{Bold: true}) {
		t.Fatalf("the bold font is Fyne's: %v", res)
	}
	b := res.Content()
	if string(b[:4]) == "ttcf" {
		t.Fatal("the bold font is the whole collection")
	}
	if fam, err := familyName(b, 0); err != nil || fam != cjkFamily {
		t.Fatalf("the bold font's family: %q %v", fam, err)
	}
	for _, tag := range []string{"cmap", "CFF ", "hmtx", "OS/2"} {
		if _, _, err := table(b, 0, tag); err != nil {
			t.Errorf("the bold font: %v", err)
		}
	}
	if th.Font(fyne.TextStyle{}) != theme.DefaultTheme().Font(fyne.TextStyle{}) {
		t.Error("the regular font is not Fyne's")
	}
}

func TestCollectionFaceOfBadInput(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("ttcf"), []byte("ttcf\x00\x01\x00\x00\xff\xff\xff\xff"), append([]byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10"), make([]byte, 8)...)} {
		if dirs, err := collectionDirs(b); err == nil {
			for _, d := range dirs {
				familyName(b, d)
				faceOf(append([]byte(nil), b...), d)
			}
		}
	}
}
