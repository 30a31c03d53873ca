//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/internal/xvfb"
	"feigo/room"
)

// The window with a group room, for real under Xvfb: Bob makes a room with the window's user
// and Carol, which comes forward in the window (nothing else is in front); Bob and Carol
// write, the window's node answers through its socket, Carol renames nothing (only the
// creator may) and Bob adds a note: every message is in the window's node, and an X screenshot
// of the window is left for the README (docs/rooms.png comes from it).
func TestGUIRoomSmoke(t *testing.T) {
	l := lab.New(t, 3)
	bob := serve(t, l.Hosts[1], "Bob", "研发部")
	carol := serve(t, l.Hosts[2], "李雷", "研发部")
	disp := xvfb.Start(t)
	shot := filepath.Join(artefactDir(t), "gui-rooms.png")
	os.Remove(shot)
	t.Setenv("DISPLAY", disp)
	t.Setenv("LANG", "zh_CN.UTF-8")
	prof := guiProfile(t, `{"nick":"王芳","group":"财务部"}`)
	g := startGUI(t, l.Hosts[0], prof, 2)
	t.Cleanup(func() {
		if g.Alive() {
			g.Kill()
		}
	})
	bob.waitPeers(t, 2, 10*time.Second)
	carol.waitPeers(t, 2, 10*time.Second)
	// Bob lists the window's node once it has proved its key (rooms are for colleagues with one).
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := 0
		for _, p := range bob.peers(t) {
			if p.Secure {
				ok++
			}
		}
		if ok == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Bob does not see both colleagues encrypted: %+v", bob.peers(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	created := roomCLI[room.Sent](t, bob, "create", "周报小组", "王芳", "李雷")
	id := created.Room.ID
	for _, d := range created.Deliveries {
		if !d.Delivered {
			t.Fatalf("the room's creation did not reach %s: %+v", d.Nick, d)
		}
	}
	roomCLI[room.Sent](t, bob, "send", id, "本周的周报请在周五下班前发给我，谢谢！")
	roomCLI[room.Sent](t, carol, "send", id, "好的，我下午发。")
	// The window's node answers through its socket: the window shows it with who received it.
	s := roomCLI[room.Sent](t, g, "send", id, "收到，周四就能发。")
	if len(s.Deliveries) != 2 || !s.Deliveries[0].Delivered || !s.Deliveries[1].Delivered {
		t.Fatalf("the window's message: %+v", s.Deliveries)
	}
	// The window's node holds the room with all three messages, in order.
	lines := roomCLI[[]room.Line](t, g, "history", id)
	var texts []string
	for _, ln := range lines {
		if ln.Kind == room.KindMsg {
			texts = append(texts, ln.Text)
		}
	}
	if strings.Join(texts, "|") != "本周的周报请在周五下班前发给我，谢谢！|好的，我下午发。|收到，周四就能发。" {
		t.Fatalf("the window's room history %q", texts)
	}
	// A screenshot of the real window: wait for the messages to be drawn, then take the screen.
	time.Sleep(2 * time.Second)
	img, err := screenshotX(disp, shot)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 600 || img.Bounds().Dy() < 400 || blank(img) {
		t.Fatalf("screenshot %s is %v and blank=%v", shot, img.Bounds(), blank(img))
	}
	t.Logf("screenshot of the room: %s", shot)
	if resp, err := g.call(control.Request{Cmd: "status"}); err != nil {
		t.Fatalf("the window's node stopped answering: %v %+v", err, resp)
	}
	if code := g.Stop(); code != 0 || strings.Contains(g.LogTail(), "panic") {
		t.Errorf("the GUI exited %d; log:\n%s", code, g.LogTail())
	}
}
