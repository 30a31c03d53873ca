//go:build linux

package e2e

import (
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"feigo/internal/lab"
)

// This file is the window's colours on a desktop whose portal says dark or light.

const (
	portalName     = "org.freedesktop.portal.Desktop"
	portalPath     = "/org/freedesktop/portal/desktop"
	portalSettings = "org.freedesktop.portal.Settings"
)

// settingsPortal is the XDG desktop portal's Settings with the appearance's colour scheme.
type settingsPortal struct{ scheme uint32 }

func (p *settingsPortal) ReadOne(ns, key string) (dbus.Variant, *dbus.Error) {
	if ns != "org.freedesktop.appearance" || key != "color-scheme" {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.portal.Error.NotFound", nil)
	}
	return dbus.MakeVariant(p.scheme), nil
}

func (p *settingsPortal) Read(ns, key string) (dbus.Variant, *dbus.Error) {
	v, err := p.ReadOne(ns, key)
	return dbus.MakeVariant(v), err
}

// lightness is an image's mean luminance, 0 (black) to 1 (white).
func lightness(img image.Image) float64 {
	b := img.Bounds()
	var sum, n float64
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 0xffff
			n++
		}
	}
	return sum / n
}

// waitLightness takes screenshots until the window is light (want true) or dark.
func waitLightness(t *testing.T, want bool, name string) {
	t.Helper()
	shot := filepath.Join(artefactDir(t), name)
	deadline := time.Now().Add(15 * time.Second)
	for {
		img, err := screenshotX(os.Getenv("DISPLAY"), shot)
		if err == nil {
			if l := lightness(img); (l > 0.6) == want && (l < 0.4) == !want {
				t.Logf("%s: lightness %.2f", name, l)
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: lightness %.2f, want it light %v", shot, l, want)
			}
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGUIFollowsTheDesktopColours (issue 18): the window is dark where the desktop's portal
// says dark, turns light when the desktop switches (the portal's SettingChanged), and is light
// where no portal answers (on Fyne's own it would stay dark there).
func TestGUIFollowsTheDesktopColours(t *testing.T) {
	l := lab.New(t, 2)
	serve(t, l.Hosts[1], "Bob", "研发部")
	desktop(t, false)
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Export(&settingsPortal{scheme: 1}, portalPath, portalSettings); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(portalName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", portalName, reply, err)
	}
	g := startWindow(t, l.Hosts[0], guiProfile(t, `{"nick":"王芳","group":"财务部","language":"en"}`), 1)
	waitLightness(t, false, "gui-desktop-dark.png")
	if err := conn.Emit(portalPath, portalSettings+".SettingChanged", "org.freedesktop.appearance", "color-scheme", dbus.MakeVariant(uint32(2))); err != nil {
		t.Fatal(err)
	}
	waitLightness(t, true, "gui-desktop-light.png")
	g.Stop()

	// No portal on the bus: light.
	conn.ReleaseName(portalName)
	g = startWindow(t, l.Hosts[0], guiProfile(t, `{"nick":"王芳","group":"财务部","language":"en"}`), 1)
	waitLightness(t, true, "gui-no-portal.png")
	g.Stop()
}
