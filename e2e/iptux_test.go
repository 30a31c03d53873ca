//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/internal/xvfb"
	"feigo/peers"
)

// iptux is Debian's iptux running under Xvfb on a lab host, with its own D-Bus session.
type iptux struct {
	*lab.Proc
	display string
	home    string
}

// startIptux writes iptux's settings, starts it on h with debug logging (every packet it
// sends and receives is hex-dumped to its log) and waits until its UDP port is bound, so that
// every packet a FeiGo node started afterwards sends it reaches it (see waitStartupOver).
func startIptux(t *testing.T, h *lab.Host, nick, group string, shared ...string) *iptux {
	t.Helper()
	conf := map[string]any{"nick_name": nick, "belong_group": group, "open_chat": true, "use_enter_key": true}
	if len(shared) > 0 {
		conf["shared_file_list"] = shared
	}
	return startIptuxConf(t, h, conf, nil)
}

// startIptuxConf is startIptux with iptux's whole config.json, and setup to put files in its
// home first.
func startIptuxConf(t *testing.T, h *lab.Host, conf map[string]any, setup func(home string)) *iptux {
	t.Helper()
	if _, err := exec.LookPath("iptux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and iptux is missing: %v", err)
		}
		t.Skipf("the iptux tests need iptux: %v", err)
	}
	disp := xvfb.Start(t)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".iptux"), 0o755)
	if setup != nil {
		setup(home)
	}
	cfg, _ := json.Marshal(conf)
	if err := os.WriteFile(filepath.Join(home, ".iptux", "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DISPLAY", disp)
	t.Setenv("HOME", home)
	t.Setenv("LANG", "C.UTF-8")
	p := h.Start(t.TempDir(), "dbus-run-session", "--", "iptux", "-l", "DEBUG")
	x := &iptux{Proc: p, display: disp, home: home}
	x.waitLog(t, "bind UDP port(0.0.0.0:2425) success", 30*time.Second)
	return x
}

// log returns iptux's whole debug log.
func (x *iptux) log() string {
	b, _ := os.ReadFile(x.Log)
	return string(b)
}

// escaped is how iptux's debug log prints the bytes of a received packet that are not ASCII.
func escaped(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

// waitLog waits until iptux's log holds s.
func (x *iptux) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(x.log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("iptux's log does not show %q within %v; its end:\n%s", s, timeout, x.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startEntries is how many BR_ENTRY a FeiGo node broadcasts as it starts: one at once and one
// at each of lan's reannounceAt (1 s and 3 s after the start, lan/node.go).
const startEntries = 3

// iptuxLogLine is a line of iptux's debug log that tells of a packet: received from an
// address, its command, or one iptux sent to an address. The thread matters: iptux handles a
// received packet, answer included, on the thread that logged its receipt.
var iptuxLogLine = regexp.MustCompile(`(?m)^\[[^]]*\]\[iptux-(\d+)\]\[[A-Z ]+\]\S*?:(?:` +
	`process:received udp message from ([0-9.]+):|` +
	`process:command NO\.: \[0x[0-9a-f]+\] (\w+)|` +
	`commandSendTo:send udp message to ([0-9.]+):)`)

// entriesAnswered counts the BR_ENTRY packets from addr that iptux's log shows it has handled
// to the end: the answer (ANSENTRY) it sends back last is logged.
func (x *iptux) entriesAnswered(from netip.Addr) int {
	src := map[string]string{}   // thread → the address of the packet it handles
	pending := map[string]bool{} // thread → handling a BR_ENTRY from `from`, not yet answered
	n := 0
	for _, m := range iptuxLogLine.FindAllStringSubmatch(x.log(), -1) {
		tid := m[1]
		switch {
		case m[2] != "":
			src[tid], pending[tid] = m[2], false
		case m[3] != "":
			pending[tid] = m[3] == "BR_ENTRY" && src[tid] == from.String()
		case m[4] != "":
			if pending[tid] && m[4] == from.String() {
				n++
				pending[tid] = false
			}
		}
	}
	return n
}

// waitStartupOver waits until iptux has received and answered all of the start-up
// announcements of the FeiGo node on from (startEntries BR_ENTRY, the last 3 s after its
// start), so that no more of them can reach iptux while the test opens its windows and
// dialogs: iptux 0.8.3 updates its peer record on its network thread for every BR_ENTRY, and
// one arriving while its save-folder dialog opened crashed it (SIGSEGV). iptux must have been
// up before the node started (startIptux waits for that), or it misses the first ones.
func (x *iptux) waitStartupOver(t *testing.T, from netip.Addr) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for x.entriesAnswered(from) < startEntries {
		if time.Now().After(deadline) {
			t.Fatalf("iptux's log shows %d answered BR_ENTRY from %v within 20 s, want %d; its end:\n%s",
				x.entriesAnswered(from), from, startEntries, x.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitWindow waits until a window whose title matches the regular expression name is shown on
// iptux's display.
func (x *iptux) waitWindow(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", name)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		x.shot(t, "iptux-no-window.png")
		t.Fatalf("iptux shows no window %q within %v: %v %s; its log:\n%s", name, timeout, err, out, x.LogTail())
	}
}

// xdo runs xdotool on iptux's display.
func (x *iptux) xdo(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display, "LC_ALL=C.UTF-8") // a UTF-8 locale that exists, for typing Chinese
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// typeText types s into iptux's focused window. ASCII goes through `xdotool type`; any other
// character through GTK's Unicode entry (Ctrl+Shift+U, its code in hex, space), so that only
// keys on the keymap are pressed. For a character the keymap lacks (Chinese), xdotool binds it
// to a spare keycode for the key event and unbinds it right after; iptux's GTK reads the keymap
// again when it handles the event, so when it is slower than xdotool (a loaded machine) the
// character is lost: 2 of 8 runs under load sent "reply from tux " without "收到".
func (x *iptux) typeText(t *testing.T, s string) {
	t.Helper()
	for s != "" {
		if r, n := utf8.DecodeRuneInString(s); r >= utf8.RuneSelf {
			x.xdo(t, "key", "--delay", "20", "ctrl+shift+u")
			x.xdo(t, "type", "--delay", "20", strconv.FormatInt(int64(r), 16))
			x.xdo(t, "key", "space")
			s = s[n:]
			continue
		}
		i := strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
		if i < 0 {
			i = len(s)
		}
		x.xdo(t, "type", "--delay", "20", s[:i])
		s = s[i:]
	}
}

// shot keeps a screenshot of iptux's screen as a test artefact.
func (x *iptux) shot(t *testing.T, name string) {
	path := filepath.Join(artefactDir(t), name)
	if _, err := screenshotX(x.display, path); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("iptux's screen: %s", path)
}

// findPeer waits until n lists a peer for which ok is true.
func (n *node) findPeer(t *testing.T, timeout time.Duration, ok func(peers.Peer) bool) peers.Peer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range n.peers(t) {
			if ok(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no such peer within %v: %+v", n.Host.NS, timeout, n.peers(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestIptuxDiscoveryAndMessages(t *testing.T) {
	l := lab.New(t, 2)
	tux := startIptux(t, l.Hosts[0], "企鹅小李", "运维部")
	fg := serve(t, l.Hosts[1], "王芳", "财务部")
	// FeiGo lists iptux with its nick and group, and not as away (iptux always sets
	// ABSENCEOPT).
	p := fg.findPeer(t, 20*time.Second, func(p peers.Peer) bool { return p.Client == "iptux" })
	if p.Nick != "企鹅小李" || p.Group != "运维部" || p.Status != peers.Online || p.Addr.Addr() != l.Hosts[0].Addr {
		t.Fatalf("FeiGo sees iptux as %+v", p)
	}
	// iptux lists FeiGo: it answered our entry (ANSENTRY, cmd 0x103 = 259 with its options).
	tux.waitLog(t, escaped("王芳"), 10*time.Second)
	tux.waitStartupOver(t, l.Hosts[1].Addr)

	// FeiGo → iptux, in Chinese: acknowledged; iptux opens the chat window (open_chat).
	if out, e, c := fg.cli("send", "企鹅小李", "你好，今天下午三点开会"); c != 0 {
		t.Fatalf("send to iptux: %s %s\n%s", out, e, tux.LogTail())
	}
	tux.waitWindow(t, "^Talk with ", 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	tux.shot(t, "iptux-received.png")
	if strings.Contains(tux.log(), "mysterious") {
		t.Errorf("iptux did not know FeiGo when the message came")
	}

	// iptux → FeiGo: typed into iptux's chat window (Enter sends, use_enter_key).
	tux.xdo(t, "mousemove", "540", "510", "click", "1")
	tux.typeText(t, "reply from tux 收到")
	tux.xdo(t, "key", "Return")
	ev := fg.WaitEvent("message", 10*time.Second, nil)
	m := ev["message"].(map[string]any)
	if m["text"] != "reply from tux 收到" || m["nick"] != "企鹅小李" {
		t.Fatalf("FeiGo got %v", m)
	}
	// Acknowledged, so iptux sends it once: after its 1 s retry interval there is no second
	// copy and no "didn't receive" complaint.
	time.Sleep(2500 * time.Millisecond)
	tux.shot(t, "iptux-replied.png")
	if n := countMessages(fg, "reply from tux 收到"); n != 1 {
		t.Errorf("FeiGo showed the reply %d times", n)
	}
	if log := tux.log(); strings.Contains(log, "didn't receive") || strings.Contains(log, "offline maybe") {
		t.Errorf("iptux thinks FeiGo did not get it:\n%s", tux.LogTail())
	}

	// iptux quits with Ctrl+Q in its main window: FeiGo drops it at once (BR_EXIT).
	tux.xdo(t, "mousemove", "130", "300", "click", "1")
	tux.xdo(t, "key", "ctrl+q")
	fg.WaitEvent("peer_offline", 10*time.Second, nil)
}

func TestIptuxFileAndKill(t *testing.T) {
	l := lab.New(t, 2)
	tux := startIptux(t, l.Hosts[0], "企鹅小李", "运维部")
	fg := serve(t, l.Hosts[1], "王芳", "财务部")
	fg.findPeer(t, 20*time.Second, func(p peers.Peer) bool { return p.Client == "iptux" })
	tux.waitLog(t, escaped("王芳"), 10*time.Second)
	tux.waitStartupOver(t, l.Hosts[1].Addr)
	// FeiGo → iptux: a file whose name holds ':', which iptux's parser cannot take, so it is
	// offered as '_'.
	src := filepath.Join(t.TempDir(), "report: 2024.bin")
	randomFile(t, src, 3<<20+5, 8)
	done := make(chan [3]any, 1)
	go func() {
		o, e, c := fg.cli("send-file", "-q", "--text", "文件", "企鹅小李", src)
		done <- [3]any{o, e, c}
	}()
	// iptux lists the offer in its chat window; Accept, then Return in its folder chooser
	// (its home folder).
	tux.waitWindow(t, "^Talk with ", 20*time.Second)
	time.Sleep(2 * time.Second)
	tux.shot(t, "iptux-offer.png")
	tux.xdo(t, "mousemove", "910", "267", "click", "1")
	tux.waitWindow(t, "^Please select a folder to save files", 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	tux.xdo(t, "key", "Return")
	select {
	case r := <-done:
		if r[2].(int) != 0 {
			t.Fatalf("send-file to iptux: %v\n%s", r, tux.LogTail())
		}
	case <-time.After(30 * time.Second):
		tux.shot(t, "iptux-stuck.png")
		t.Fatalf("iptux did not fetch the file; its log:\n%s", tux.LogTail())
	}
	tux.shot(t, "iptux-accepted.png")
	if got := fileSum(t, filepath.Join(tux.home, "report_ 2024.bin")); got != fileSum(t, src) {
		t.Fatal("the file iptux saved differs")
	}
	// iptux killed: no goodbye, so FeiGo's liveness check drops it (55 s of silence at most).
	start := time.Now()
	tux.Kill()
	fg.WaitEvent("peer_offline", 75*time.Second, nil)
	t.Logf("iptux dropped %v after kill -9", time.Since(start).Round(time.Second))
}

func TestIptuxSharedFilesToFeiGo(t *testing.T) {
	l := lab.New(t, 2)
	share := t.TempDir()
	randomFile(t, filepath.Join(share, "手册.pdf"), 2<<20+9, 21)
	tree := filepath.Join(share, "资料")
	randomFile(t, filepath.Join(tree, "a.txt"), 100, 22)
	randomFile(t, filepath.Join(tree, "内层", "b.bin"), 300<<10, 23)
	os.MkdirAll(filepath.Join(tree, "空"), 0o755)
	tux := startIptux(t, l.Hosts[0], "企鹅小李", "运维部", filepath.Join(share, "手册.pdf"), tree)
	dl := t.TempDir()
	fg := serve(t, l.Hosts[1], "王芳", "财务部", "--accept-files", dl)
	fg.findPeer(t, 20*time.Second, func(p peers.Peer) bool { return p.Client == "iptux" })
	// iptux answers ASKSHARED with an offer of its shared list; FeiGo takes both (a file, and
	// a folder in iptux's record stream).
	if _, e, c := fg.cli("ask-shared", "企鹅小李"); c != 0 {
		t.Fatalf("ask-shared: %s", e)
	}
	ev := fg.WaitEvent("transfer_done", 30*time.Second, nil)
	if tr := ev["transfer"].(map[string]any); len(tr["files"].([]any)) != 2 {
		t.Fatalf("the offer from iptux: %v\n%s", tr, tux.LogTail())
	}
	if fileSum(t, filepath.Join(share, "手册.pdf")) != fileSum(t, filepath.Join(dl, "手册.pdf")) {
		t.Error("the file from iptux differs")
	}
	sameTree(t, tree, filepath.Join(dl, "资料"))
}

// TestIptuxWithTheWindow runs FeiGo's window next to iptux and keeps a screenshot of each
// side, for people to look at how the two show the same conversation.
func TestIptuxWithTheWindow(t *testing.T) {
	l := lab.New(t, 2)
	tux := startIptux(t, l.Hosts[0], "企鹅小李", "运维部")
	disp := xvfb.Start(t)
	t.Setenv("DISPLAY", disp)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("LANG", "zh_CN.UTF-8")
	prof := filepath.Join(t.TempDir(), "gui")
	os.MkdirAll(prof, 0o700)
	os.WriteFile(filepath.Join(prof, "settings.json"), []byte(`{"nick":"王芳","group":"财务部"}`), 0o600)
	gui := &node{Proc: l.Hosts[1].Start(t.TempDir(), bin, "gui", "--profile", prof), profile: prof}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := gui.call(control.Request{Cmd: "peers"})
		if err == nil && len(resp.Peers) == 1 && resp.Peers[0].Client == "iptux" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window's node does not list iptux (%v); log:\n%s", err, gui.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	tux.waitStartupOver(t, l.Hosts[1].Addr)
	// A message each way: sent with the CLI through the window's node, answered by typing
	// into iptux. The window shows both (see the screenshot).
	if _, e, c := gui.cli("send", "企鹅小李", "下午三点的会改到四点"); c != 0 {
		t.Fatalf("send: %s", e)
	}
	tux.waitLog(t, escaped("下午三点的会改到四点"), 10*time.Second)
	tux.waitWindow(t, "^Talk with ", 20*time.Second)
	time.Sleep(time.Second)
	tux.xdo(t, "mousemove", "540", "510", "click", "1")
	tux.typeText(t, "好的 OK")
	tux.xdo(t, "key", "Return")
	time.Sleep(2 * time.Second)
	tux.shot(t, "iptux-side.png")
	path := filepath.Join(artefactDir(t), "feigo-side-with-iptux.png")
	if img, err := screenshotX(disp, path); err != nil || blank(img) {
		t.Fatalf("FeiGo's screenshot: %v", err)
	}
	t.Logf("FeiGo's window: %s", path)
	if code := gui.Stop(); code != 0 {
		t.Errorf("the window exited %d:\n%s", code, gui.LogTail())
	}
}
