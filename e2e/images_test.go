//go:build linux

package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/internal/xvfb"
	"feigo/peers"
)

// A pasted image to iptux 0.8 (which does not show images inline) arrives as an ordinary file
// offer it can accept, with a note in the text naming it: the real iptux in the lab accepts it
// and saves the very bytes.
func TestIptuxGetsAnImageAsAFile(t *testing.T) {
	l := lab.New(t, 2)
	tux := startIptux(t, l.Hosts[0], "企鹅小李", "运维部")
	fg := serve(t, l.Hosts[1], "王芳", "财务部")
	fg.findPeer(t, 20*time.Second, func(p peers.Peer) bool { return p.Client == "iptux" })
	tux.waitLog(t, escaped("王芳"), 10*time.Second)
	tux.waitStartupOver(t, l.Hosts[1].Addr)
	img := image.NewNRGBA(image.Rect(0, 0, 320, 200))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	src := filepath.Join(t.TempDir(), "screenshot.png")
	if err := os.WriteFile(src, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, e, c := fg.cli("send", "--image", src, "企鹅小李", "看图"); c != 0 {
		t.Fatalf("send --image to iptux: %d %s %s", c, o, e)
	}
	// The offer iptux received is a regular file (attr 1), with the note in the text.
	tux.waitLog(t, "[image sent as a file: screenshot.png]", 10*time.Second)
	tux.waitWindow(t, "^Talk with ", 20*time.Second)
	time.Sleep(2 * time.Second) // iptux lays out its chat window (as TestIptuxFileAndKill)
	tux.shot(t, "iptux-image-offer.png")
	tux.xdo(t, "mousemove", "910", "267", "click", "1")
	tux.waitWindow(t, "^Please select a folder to save files", 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	tux.xdo(t, "key", "Return")
	saved := filepath.Join(tux.home, "screenshot.png")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got, err := os.ReadFile(saved); err == nil && bytes.Equal(got, b.Bytes()) {
			break
		}
		if time.Now().After(deadline) {
			tux.shot(t, "iptux-image-stuck.png")
			t.Fatalf("iptux did not save the image; its log:\n%s", tux.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(tux.log(), ":20:8=") {
		t.Fatal("iptux was sent a clipboard entry")
	}
}

// Between two FeiGo nodes on the lab link, an image sent with `feigo send --image` arrives
// byte-identical in the receiver's image store (nowhere else), at its place after the text.
func TestLabImageAndReadBetweenFeiGo(t *testing.T) {
	_, a, b := pair(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ps := a.waitPeers(t, 1, 10*time.Second); ps[0].Secure {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Bob's key not proved")
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, 200, 120))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	src := filepath.Join(t.TempDir(), "shot.png")
	os.WriteFile(src, buf.Bytes(), 0o644)
	if o, e, c := a.cli("send", "--image", src, "Bob", "截图"); c != 0 {
		t.Fatalf("send --image: %d %s %s", c, o, e)
	}
	ev := b.WaitEvent("message_images", 20*time.Second, nil)
	ims := ev["message"].(map[string]any)["images"].([]any)
	im := ims[0].(map[string]any)
	if int(im["at"].(float64)) != len("截图") {
		t.Fatalf("image at %v", im["at"])
	}
	got, err := os.ReadFile(im["path"].(string))
	if err != nil || !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("the image stored is not the one sent: %v", err)
	}
	if !strings.HasPrefix(im["path"].(string), filepath.Join(b.profile, "images")+"/") {
		t.Fatalf("stored outside the profile's image store: %s", im["path"])
	}
}

// guiWithBob starts the window of 王芳 (财务部) under Xvfb, in Chinese, in the lab beside Bob's
// node, and waits until Bob sees her with her key; it returns both nodes and the display.
func guiWithBob(t *testing.T) (bob, gui *node, disp string) {
	t.Helper()
	l := lab.New(t, 2)
	bob = serve(t, l.Hosts[1], "Bob", "研发部")
	disp = xvfb.Start(t)
	t.Setenv("DISPLAY", disp)
	t.Setenv("LANG", "zh_CN.UTF-8")
	prof := filepath.Join(t.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	os.WriteFile(filepath.Join(prof, "settings.json"), []byte(`{"nick":"王芳","group":"财务部"}`), 0o600)
	gui = startGUI(t, l.Hosts[0], prof, 1)
	bob.WaitEvent("peer_online", 10*time.Second, func(ev map[string]any) bool {
		p, _ := ev["peer"].(map[string]any)
		return p["nick"] == "王芳" && p["secure"] == true
	})
	return bob, gui, disp
}

// The real window under Xvfb with an image inline and a sealed message: the screenshot in the
// README (gui-images.png in the artefacts, docs/images.png).
func TestGUIImagesScreenshot(t *testing.T) {
	bob, guiNode, disp := guiWithBob(t)
	// A screenshot-like picture: bands of colour with a darker frame.
	img := image.NewNRGBA(image.Rect(0, 0, 640, 400))
	for y := range 400 {
		for x := range 640 {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(60+x/4), byte(120+y/4), 200, 255
			if x < 8 || y < 8 || x > 631 || y > 391 || (y > 60 && y < 70) {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 40, 60, 90
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	src := filepath.Join(t.TempDir(), "报表截图.png")
	os.WriteFile(src, buf.Bytes(), 0o644)
	if _, e, c := bob.cli("send", "王芳", "帮我看一下这个报表"); c != 0 {
		t.Fatalf("send: %s", e)
	}
	if _, e, c := bob.cli("send", "--image", src, "王芳", "第三行的数字不对："); c != 0 {
		t.Fatalf("send --image: %s", e)
	}
	if _, e, c := bob.cli("send", "--sealed", "王芳", "工资条密码：4711"); c != 0 {
		t.Fatalf("send --sealed: %s", e)
	}
	if _, e, c := guiNode.cli("send", "Bob", "好的，我马上改"); c != 0 {
		t.Fatalf("send from the window: %s", e)
	}
	time.Sleep(3 * time.Second) // drawn (the image fetched, the thumbnail loaded)
	shot := filepath.Join(artefactDir(t), "gui-images.png")
	got, err := screenshotX(disp, shot)
	if err != nil || blank(got) {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	if code := guiNode.Stop(); code != 0 || strings.Contains(guiNode.LogTail(), "panic") {
		t.Errorf("the GUI exited %d; log:\n%s", code, guiNode.LogTail())
	}
}
