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
