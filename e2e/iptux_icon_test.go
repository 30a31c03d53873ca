//go:build linux

package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/peers"
)

// The real iptux with a picture of its user's own (iptux sends it, IPTUX_SENDICON, to a
// colleague it sees come online, when the picture is a file under its config folder's
// iptux/icon, named by my_icon): FeiGo stores it in the profile's icon store, byte for byte,
// and lists iptux with it.
func TestIptuxIconArrives(t *testing.T) {
	l := lab.New(t, 2)
	pic := image.NewNRGBA(image.Rect(0, 0, 48, 48))
	for i := range pic.Pix {
		pic.Pix[i] = []byte{0xff, 0x00, 0xff, 0xff}[i%4]
	}
	var b bytes.Buffer
	png.Encode(&b, pic)
	conf := map[string]any{"nick_name": "企鹅", "belong_group": "运维部", "my_icon": "feigo-test.png"}
	tux := startIptuxConf(t, l.Hosts[0], conf, func(home string) {
		dir := filepath.Join(home, ".config", "iptux", "icon")
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "feigo-test.png"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	fg := serve(t, l.Hosts[1], "王芳", "财务部")
	p := fg.findPeer(t, 30*time.Second, func(p peers.Peer) bool { return p.Client == "iptux" && p.Icon != "" })
	got, err := os.ReadFile(p.Icon)
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("iptux's picture as FeiGo keeps it: %v, %d bytes, want %d\n%s", err, len(got), b.Len(), tux.LogTail())
	}
}

// FeiGo's user's picture (the profile's picture, set in Settings) reaches the real iptux as
// iptux sends its own (IPTUX_SENDICON): iptux's log shows the packet from FeiGo, and iptux
// keeps the picture, byte for byte, in its cache's icon folder.
func TestIptuxGetsMyPicture(t *testing.T) {
	l := lab.New(t, 2)
	tux := startIptux(t, l.Hosts[0], "企鹅", "运维部")
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 40, 40)))
	prof := filepath.Join(t.TempDir(), "p")
	os.MkdirAll(prof, 0o700)
	if err := os.WriteFile(filepath.Join(prof, "picture"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	serveProfile(t, l.Hosts[1], prof, "王芳", "财务部")
	cache := filepath.Join(tux.home, ".cache", "iptux", "icon")
	deadline := time.Now().Add(30 * time.Second)
	for {
		es, _ := os.ReadDir(cache)
		for _, e := range es {
			if got, _ := os.ReadFile(filepath.Join(cache, e.Name())); bytes.Equal(got, b.Bytes()) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("iptux did not keep FeiGo's picture in %s (%d files); its log's end:\n%s", cache, len(es), tux.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
