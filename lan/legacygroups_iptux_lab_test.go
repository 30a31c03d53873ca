//go:build linux

package lan

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/internal/xvfb"
	"feigo/legacygroup"
)

// needTools skips the test (fails it under CI=true) when a program it drives is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and %s is missing: %v", tool, err)
			}
			t.Skipf("this test needs %s: %v", tool, err)
		}
	}
}

// TestLegacyGroupsRealIptux: Debian's iptux 0.8.3 under Xvfb on one lab host, a FeiGo node
// with legacy groups on another. iptux takes FeiGo for one of its own (the encoding
// section), so a message typed into iptux's Broadcast group window reaches FeiGo as
// IPTUX_SENDMSG|BROADCASTOPT, in the room iptux:broadcast; FeiGo's reply reaches iptux as
// the same (iptux's log shows it received; the window shows it under FeiGo's name, seen in
// a screenshot when this test was written).
func TestLegacyGroupsRealIptux(t *testing.T) {
	if os.Getenv("FEIGO_LG_HELPER") == "1" {
		t.Skip("inside the helper")
	}
	needTools(t, "iptux", "Xvfb", "xdotool", "dbus-run-session")
	l := lab.New(t, 2)
	disp := xvfb.Start(t)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".iptux"), 0o755)
	cfg, _ := json.Marshal(map[string]any{"nick_name": "企鹅", "belong_group": "研发部", "open_chat": true, "use_enter_key": true})
	if err := os.WriteFile(filepath.Join(home, ".iptux", "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DISPLAY", disp)
	t.Setenv("HOME", home)
	t.Setenv("LANG", "C.UTF-8")
	tux := l.Hosts[0].Start(t.TempDir(), "dbus-run-session", "--", "iptux", "-l", "DEBUG")
	t.Cleanup(func() { tux.Stop() })
	tuxLog := func() string { b, _ := os.ReadFile(tux.Log); return string(b) }
	waitTux := func(s string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !strings.Contains(tuxLog(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("iptux's log does not show %q within %v; its end:\n%s", s, within, tux.LogTail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitTux("bind UDP port(0.0.0.0:2425) success", 30*time.Second)

	t.Setenv("FEIGO_LG_HELPER", "1")
	feigo := l.Hosts[1].Start(t.TempDir(), os.Args[0], "-test.run=^TestLegacyGroupsLabHelper$")
	t.Cleanup(func() { feigo.Stop() })
	waitLab(t, feigo, "ready", nil)
	// FeiGo's entry with the encoding section, and then its start-up announcements over (at
	// 1 s and 3 s), before iptux's windows are opened.
	waitTux(`\nFGCAP:beat\x00utf-8\x00"`, 10*time.Second)
	time.Sleep(4 * time.Second)

	xdo := func(args ...string) {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
	}
	xdo("search", "--sync", "--onlyvisible", "--name", "^Iptux$")
	// The main window (no window manager: at 0,0, 264 wide) lists pals; its ">" button at
	// (236,72) turns to segments, groups, then the broadcast window (60,109).
	for range 3 {
		xdo("mousemove", "236", "72", "click", "1")
		time.Sleep(700 * time.Millisecond)
	}
	xdo("mousemove", "60", "109", "click", "--repeat", "2", "--delay", "100", "1")
	xdo("search", "--sync", "--onlyvisible", "--name", "^Talk with the group Broadcast$")
	time.Sleep(time.Second)
	xdo("mousemove", "740", "430", "click", "1")
	xdo("type", "--delay", "20", "group hello")
	xdo("mousemove", "845", "556", "click", "1")

	msg := waitLab(t, feigo, string(legacygroup.RoomMessage), func(e map[string]any) bool { return e["text"] == "group hello" })
	if msg["room"] != "iptux:broadcast" || msg["from"] != l.Hosts[0].Addr.String()+":2425" || msg["unencrypted"] != true {
		t.Fatalf("FeiGo got %v", msg)
	}
	if sent := waitLab(t, feigo, "sent", nil); sent["n"] != float64(1) || sent["err"] != nil {
		t.Fatalf("%v", sent)
	}
	// iptux received FeiGo's reply as IPTUX_SENDMSG|BROADCASTOPT (1275).
	waitTux(`:1275:\xe5\x9b\x9e\xe5\xa4\x8d:group hello\x00"`, 10*time.Second)
	if n := strings.Count(tuxLog(), ":1275:group hello"); n < 1 {
		t.Fatalf("iptux's log does not show what it sent")
	}
	for _, e := range feigo.Events() {
		if e["type"] == string(legacygroup.RoomMessage) && e["text"] != "group hello" {
			t.Errorf("FeiGo got another message: %v", e)
		}
	}
}
