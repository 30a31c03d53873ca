package node_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"feigo/event"
	"feigo/internal/testimg"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An iptux colleague's picture (IPTUX_SENDICON, as iptux sends it) is stored in the profile's
// icon store, content-addressed, and the colleague is reported again with it (and listed with
// it); pictures that are not images, too large in pixels (a decode bomb), a valid header over
// garbage, or larger than an icon are refused and store nothing; a colleague who leaves takes
// their picture with them.
func TestIptuxIconStoredAndShown(t *testing.T) {
	dir := t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dir, "Alice", pa, pb, nil)
	alice := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pa}
	var tuxes []*net.UDPConn
	tux := func(user string) *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		b, _ := ipmsg.Packet{Version: "1_iptux_0#5#2", No: 1, User: []byte(user), Host: []byte("pc"), Cmd: ipmsg.BrEntry,
			Body: []byte(user + "\x00Dev\x00icon-tux.png\x00utf-8\x00")}.Marshal()
		c.WriteToUDP(b, alice)
		a.wait(t, event.PeerOnline, func(ev lan.Event) bool { return ev.Peer.User == user })
		tuxes = append(tuxes, c)
		return c
	}
	icon := func(c *net.UDPConn, user string, no int, pic []byte) {
		c.WriteToUDP(append([]byte(fmt.Sprintf("1_iptux_0#5#2:%d:%s:pc:254:\x00", no, user)), pic...), alice)
	}
	iconsDir := filepath.Join(dir, "icons")
	stored := func() []string {
		es, _ := os.ReadDir(iconsDir)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}

	// The attacker's side first, each from a colleague of its own (one picture a minute each).
	bad := map[string][]byte{
		"garbage":        []byte("not an image at all"),
		"bomb":           testimg.PNGHeader(100000, 100000),
		"too wide":       pngOf(t, 600, 8),
		"header garbage": append(pngOf(t, 16, 16)[:40], bytes.Repeat([]byte{7}, 200)...),
	}
	i := 0
	for name, pic := range bad {
		user := fmt.Sprintf("eve%d", i)
		c := tux(user)
		icon(c, user, 100+i, pic)
		i++
		_ = name
	}
	// Bob's good picture: reported once stored; by then the bad ones were handled (in order).
	bob := tux("bob")
	pic := pngOf(t, 32, 32)
	icon(bob, "bob", 200, pic)
	ev := a.wait(t, event.PeerUpdated, func(ev lan.Event) bool { return ev.Peer.Icon != "" })
	if ev.Peer.User != "bob" || filepath.Dir(ev.Peer.Icon) != iconsDir {
		t.Fatalf("updated %+v", ev.Peer)
	}
	if got, err := os.ReadFile(ev.Peer.Icon); err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("the stored picture: %v, %d bytes, want %d", err, len(got), len(pic))
	}
	for _, name := range stored() {
		if name != filepath.Base(ev.Peer.Icon) && name != filepath.Base(ev.Peer.Icon[:len(ev.Peer.Icon)-4])+".thumb.png" {
			t.Errorf("the icon store holds %q: a refused picture was kept", name)
		}
	}
	listed := false
	for _, p := range a.Peers() {
		if p.User == "bob" {
			listed = p.Icon == ev.Peer.Icon
		} else if p.Icon != "" {
			t.Errorf("%s shows a picture %q", p.User, p.Icon)
		}
	}
	if !listed {
		t.Fatal("Peers() does not give Bob's picture")
	}
	// Bob leaves: his picture goes.
	b, _ := ipmsg.Packet{Version: "1_iptux_0#5#2", No: 300, User: []byte("bob"), Host: []byte("pc"), Cmd: ipmsg.BrExit}.Marshal()
	bob.WriteToUDP(b, alice)
	a.wait(t, event.PeerOffline, func(ev lan.Event) bool { return ev.Peer.User == "bob" })
	deadline := time.Now().Add(15 * time.Second)
	for len(stored()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Bob left, his picture stays: %v", stored())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// My picture, chosen in Settings: made small enough for iptux's datagram (a large photo-like
// image becomes a 64×64 JPEG), kept in the profile, sent to a FeiGo colleague over the TLS
// channel as they come online, and to those online when it changes; the colleague shows it.
// A picture that is not an image or a decode bomb is refused and changes nothing.
func TestMyPictureReachesFeiGoColleagues(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	// A noisy photo-sized image whose noise survives the scaling (a pixel per 64th): its
	// 64×64 PNG is too large for iptux's datagram, so it goes as JPEG.
	big := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big.Pix {
		big.Pix[i] = byte(rnd.Uint32())
		if i%4 == 3 {
			big.Pix[i] = 0xff
		}
	}
	var src bytes.Buffer
	png.Encode(&src, big)
	photo := filepath.Join(t.TempDir(), "photo.png")
	os.WriteFile(photo, src.Bytes(), 0o600)
	if err := a.SetPicture(photo); err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile(a.Picture())
	if err != nil || len(mine) > lan.MaxSentIcon {
		t.Fatalf("my picture: %v, %d bytes", err, len(mine))
	}
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(mine)); err != nil || cfg.Width != 64 || cfg.Height != 64 || format != "jpeg" {
		t.Fatalf("my picture is %v %dx%d %v", format, cfg.Width, cfg.Height, err)
	}
	// The attacker's side (a file the user was given): refused, the picture stays.
	for name, b := range map[string][]byte{"bomb.png": testimg.PNGHeader(100000, 100000), "notes.png": []byte("just text")} {
		bad := filepath.Join(t.TempDir(), name)
		os.WriteFile(bad, b, 0o600)
		if err := a.SetPicture(bad); err == nil {
			t.Errorf("%s taken as my picture", name)
		}
	}
	if now, _ := os.ReadFile(a.Picture()); !bytes.Equal(now, mine) {
		t.Fatal("a refused picture changed mine")
	}
	// Bob comes online: he gets it over the channel and shows it. (His clock can be moved
	// on: he takes one picture a minute from a colleague.)
	var ahead atomic.Int64
	b := startLoop(t, dirB, "Bob", pb, pa, func(c *lan.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	ev := b.wait(t, event.PeerUpdated, func(ev lan.Event) bool { return ev.Peer.Nick == "Alice" && ev.Peer.Icon != "" })
	if got, err := os.ReadFile(ev.Peer.Icon); err != nil || !bytes.Equal(got, mine) {
		t.Fatalf("Bob keeps Alice's picture as %d bytes (%v), want %d", len(got), err, len(mine))
	}
	// Alice changes it a minute later: Bob, online, gets the new one.
	ahead.Store(int64(lan.IconEvery))
	small := filepath.Join(t.TempDir(), "small.png")
	os.WriteFile(small, pngOf(t, 16, 16), 0o600)
	if err := a.SetPicture(small); err != nil {
		t.Fatal(err)
	}
	mine2, _ := os.ReadFile(a.Picture())
	ev = b.wait(t, event.PeerUpdated, func(ev lan.Event) bool { return ev.Peer.Nick == "Alice" && ev.Peer.Icon != "" })
	if got, _ := os.ReadFile(ev.Peer.Icon); !bytes.Equal(got, mine2) {
		t.Fatal("Bob does not show Alice's new picture")
	}
	// Removed: nothing kept, nothing sent.
	if err := a.SetPicture(""); err != nil || a.Picture() != "" {
		t.Fatalf("removing my picture: %v, %q", err, a.Picture())
	}
}

// The attacker's side of my picture: forged iptux entries name a victim's address (one
// datagram of ~100 bytes each), from several ports, leave with BR_EXIT and come again. Each
// coming online would send the victim the picture (up to 7 KiB): the victim's address gets
// a couple of them, not one per forged entry.
func TestMyPictureNotReflectedAtForgedIptux(t *testing.T) {
	dir := t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dir, "Alice", pa, pb, nil)
	alice := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pa}
	mine := filepath.Join(t.TempDir(), "me.png")
	os.WriteFile(mine, pngOf(t, 16, 16), 0o600)
	if err := a.SetPicture(mine); err != nil {
		t.Fatal(err)
	}
	var victims []*net.UDPConn
	for range 4 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		victims = append(victims, c)
	}
	no := uint32(1)
	send := func(c *net.UDPConn, user string, cmd ipmsg.Command, body string) {
		no++
		b, _ := ipmsg.Packet{Version: "1_iptux_0#5#2", No: no, User: []byte(user), Host: []byte("pc"), Cmd: cmd, Body: []byte(body)}.Marshal()
		c.WriteToUDP(b, alice)
	}
	const rounds = 3
	for range rounds {
		for i, c := range victims {
			user := fmt.Sprintf("v%d", i)
			send(c, user, ipmsg.BrEntry, user+"\x00Dev\x00icon-tux.png\x00utf-8\x00")
			a.wait(t, event.PeerOnline, func(ev lan.Event) bool { return ev.Peer.User == user })
			send(c, user, ipmsg.BrExit, "")
			a.wait(t, event.PeerOffline, func(ev lan.Event) bool { return ev.Peer.User == user })
		}
	}
	// The picture is written before the colleague is reported online: what came is there.
	icons := 0
	buf := make([]byte, 65536)
	for _, c := range victims {
		for {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if p, err := ipmsg.Decode(append([]byte(nil), buf[:n]...)); err == nil && p.Cmd.Mode() == ipmsg.IptuxSendIcon {
				icons++
			}
		}
	}
	if icons == 0 {
		t.Fatal("no picture sent at all: the test proves nothing")
	}
	if icons > 2 {
		t.Fatalf("the victim's address got my picture %d times from %d forged entries", icons, rounds*len(victims))
	}
}
