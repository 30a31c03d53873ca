//go:build linux

package e2e

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real window under Xvfb scrolls a long conversation (issue 15's virtualised list): Bob
// sends 60 messages, the window opens at the newest; the mouse wheel over the messages takes
// the view up, drawn anew (gui-scroll-bottom.png and gui-scroll-up.png in the artefacts, to
// look at), and back down to the newest as it was.
func TestGUIScrollsALongConversation(t *testing.T) {
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Skipf("needs xdotool: %v", err)
	}
	bob, guiNode, disp := guiWithBob(t)
	for i := range 60 {
		text := fmt.Sprintf("第 %d 条：%s", i, strings.Repeat("报表的数字 ", i%6))
		if _, e, c := bob.cli("send", "王芳", text); c != 0 {
			t.Fatalf("send %d: %s", i, e)
		}
	}
	art := artefactDir(t)
	// A screenshot once the window has drawn what it shows and holds still.
	settled := func(name string, unlike image.Image) image.Image {
		t.Helper()
		path := filepath.Join(art, name)
		deadline := time.Now().Add(20 * time.Second)
		var prev image.Image
		for {
			img, err := screenshotX(disp, path)
			if err == nil && !blank(img) && (unlike == nil || !same(img, unlike)) && prev != nil && same(img, prev) {
				t.Logf("screenshot: %s", path)
				return img
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the window did not settle on a new picture (%v)", name, err)
			}
			prev = img
			time.Sleep(300 * time.Millisecond)
		}
	}
	bottom := settled("gui-scroll-bottom.png", nil)
	xdo := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
	}
	b := bottom.Bounds()
	x, y := fmt.Sprint(b.Min.X+b.Dx()*2/3), fmt.Sprint(b.Min.Y+b.Dy()/3) // over the messages
	xdo("mousemove", x, y)
	xdo("click", "--repeat", "12", "--delay", "30", "4") // the wheel, up
	settled("gui-scroll-up.png", bottom)
	xdo("click", "--repeat", "200", "--delay", "5", "5") // down, past the newest
	down := settled("gui-scroll-down.png", nil)
	if !same(down, bottom) {
		t.Error("back down, the window does not show the newest as it did (gui-scroll-down.png against gui-scroll-bottom.png)")
	}
	if code := guiNode.Stop(); code != 0 || strings.Contains(guiNode.LogTail(), "panic") {
		t.Errorf("the GUI exited %d; log:\n%s", code, guiNode.LogTail())
	}
}

// same reports whether two screenshots show the same messages: the same pixels where the
// conversation's messages are (right of the colleague list, above the message box, left of
// the scroll bar; the message box's cursor blinks).
func same(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y + r.Dy()/10; y < r.Min.Y+r.Dy()*3/4; y++ {
		for x := r.Min.X + r.Dx()*2/5; x < r.Max.X-20; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}
