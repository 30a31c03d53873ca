//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/xfer"
)

// randomFile writes size pseudo-random bytes to path.
func randomFile(t testing.TB, path string, size int64, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, 7))
	buf := make([]byte, 1<<20)
	for size > 0 {
		for i := 0; i+8 <= len(buf); i += 8 {
			v := r.Uint64()
			for k := range 8 {
				buf[i+k] = byte(v >> (8 * k))
			}
		}
		k := min(size, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		size -= k
	}
}

// treeSums maps every file under dir (relative, slash-separated) to its SHA-256, and every
// folder to "dir".
func treeSums(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "dir"
			return nil
		}
		out[filepath.ToSlash(rel)] = fileSum(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSum(t testing.TB, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

func sameTree(t testing.TB, want, got string) {
	t.Helper()
	a, b := treeSums(t, want), treeSums(t, got)
	if len(a) != len(b) {
		t.Errorf("%s has %d entries, %s has %d", want, len(a), got, len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: %q in the source, %q received", k, v, b[k])
		}
	}
}

// transfers returns what `feigo transfers --json` prints.
func (n *node) transfers(t testing.TB) []xfer.Transfer {
	t.Helper()
	return cliJSON[[]xfer.Transfer](t, n, "transfers")
}

// receivers builds a lab of n hosts: a plain sender on host 1 and, on the others, nodes that
// accept every offer into their own folder.
func receivers(t *testing.T, n int) (l *lab.Lab, a *node, rs []*node, dls []string) {
	l = lab.New(t, n)
	a = serve(t, l.Hosts[0], "Alice", "QA")
	for i := 1; i < n; i++ {
		dl := t.TempDir()
		rs = append(rs, serve(t, l.Hosts[i], fmt.Sprintf("Bob%d", i), "QA", "--accept-files", dl))
		dls = append(dls, dl)
	}
	a.waitPeers(t, n-1, 10*time.Second)
	for _, r := range rs {
		r.waitPeers(t, n-1, 10*time.Second)
	}
	return l, a, rs, dls
}

func TestFileAndFolderInTheLab(t *testing.T) {
	_, a, rs, dls := receivers(t, 2)
	src := t.TempDir()
	randomFile(t, filepath.Join(src, "big.iso"), 20<<20+3, 1)
	tree := filepath.Join(src, "季度报告")
	randomFile(t, filepath.Join(tree, "数据", "表格.xlsx"), 300<<10, 2)
	randomFile(t, filepath.Join(tree, "a", "b", "c", "deep.txt"), 10, 3)
	randomFile(t, filepath.Join(tree, "readme.md"), 0, 4)
	os.MkdirAll(filepath.Join(tree, "empty", "inner-empty"), 0o755)

	out, errOut, code := a.cli("send-file", "--text", "Q3 files", "Bob1", filepath.Join(src, "big.iso"), tree)
	if code != 0 {
		t.Fatalf("send-file: exit %d\n%s\n%s\nlog:\n%s", code, out, errOut, a.LogTail())
	}
	if !strings.Contains(out, "received by Bob1") {
		t.Errorf("send-file printed %q", out)
	}
	if fileSum(t, filepath.Join(src, "big.iso")) != fileSum(t, filepath.Join(dls[0], "big.iso")) {
		t.Error("big.iso differs")
	}
	sameTree(t, tree, filepath.Join(dls[0], "季度报告"))
	ev := rs[0].WaitEvent("transfer_done", 5*time.Second, nil)
	if tr := ev["transfer"].(map[string]any); tr["text"] != "Q3 files" {
		t.Errorf("transfer_done event %v", tr)
	}
	// The receiver's list shows it done, with the saved paths. It came over TLS, whose AEAD
	// authenticated every byte: no SHA-256 was computed on top.
	ts := rs[0].transfers(t)
	if len(ts) != 1 || ts[0].State != xfer.StateDone || ts[0].Files[0].Path != filepath.Join(dls[0], "big.iso") || ts[0].Files[0].SHA256 != "" {
		t.Fatalf("transfers: %+v", ts)
	}
}

func TestFilesToSeveralPeersUnderUDPLoss(t *testing.T) {
	l, a, _, dls := receivers(t, 3)
	src := t.TempDir()
	var paths []string
	for i := range 3 {
		p := filepath.Join(src, fmt.Sprintf("part%d.bin", i))
		randomFile(t, p, int64(1<<20*(i+1)), uint64(i))
		paths = append(paths, p)
	}
	l.SetLoss(30) // the offer and its acks cross a lossy LAN; TCP is not dropped
	out, errOut, code := a.cli(append([]string{"send-file", "--to", "Bob2", "Bob1"}, paths...)...)
	if code != 0 {
		t.Fatalf("send-file: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, dl := range dls {
		for _, p := range paths {
			if fileSum(t, p) != fileSum(t, filepath.Join(dl, filepath.Base(p))) {
				t.Errorf("%s in %s differs", filepath.Base(p), dl)
			}
		}
	}
}

func TestAcceptDeclineFromTheCommandLine(t *testing.T) {
	_, a, b := pair(t)
	src := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(src, []byte("hello"), 0o644)

	// Declined: send-file exits 1 and says so.
	done := make(chan [3]any, 1)
	go func() {
		o, e, c := a.cli("send-file", "Bob", src)
		done <- [3]any{o, e, c}
	}()
	ev := b.WaitEvent("transfer_offered", 10*time.Second, nil)
	id := int(ev["transfer"].(map[string]any)["id"].(float64))
	if _, e, c := b.cli("decline", fmt.Sprint(id)); c != 0 {
		t.Fatalf("decline: %s", e)
	}
	r := <-done
	if r[2].(int) != 1 || !strings.Contains(r[1].(string), "declined") {
		t.Fatalf("send-file after decline: %v", r)
	}

	// Accepted into a chosen folder, waiting for the end.
	go func() {
		o, e, c := a.cli("send-file", "Bob", src)
		done <- [3]any{o, e, c}
	}()
	ev = b.WaitEvent("transfer_offered", 10*time.Second, nil)
	id = int(ev["transfer"].(map[string]any)["id"].(float64))
	dl := filepath.Join(t.TempDir(), "chosen")
	out, e, c := b.cli("accept", fmt.Sprint(id), "--to", dl, "--wait")
	if c != 0 || strings.TrimSpace(out) != filepath.Join(dl, "note.txt") {
		t.Fatalf("accept: exit %d %q %s", c, out, e)
	}
	if r := <-done; r[2].(int) != 0 {
		t.Fatalf("send-file after accept: %v", r)
	}
	if _, e, c := b.cli("accept", "999"); c != 1 || !strings.Contains(e, "no such transfer") {
		t.Fatalf("accept 999: exit %d %s", c, e)
	}
}

func TestResumeAfterSenderKilled(t *testing.T) {
	l := lab.New(t, 2)
	prof := filepath.Join(t.TempDir(), "alice")
	a := serveProfile(t, l.Hosts[0], prof, "Alice", "QA")
	dl := t.TempDir()
	b := serve(t, l.Hosts[1], "Bob", "QA", "--accept-files", dl)
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)
	src := filepath.Join(t.TempDir(), "movie.mkv")
	const size = 48 << 20
	randomFile(t, src, size, 9)
	l.Shape(2, "80mbit") // about 5 s for the file: time to kill the sender in the middle

	if _, e, c := a.cli("send-file", "--no-wait", "Bob", src); c != 0 {
		t.Fatalf("send-file: %s", e)
	}
	b.WaitEvent("transfer_progress", 20*time.Second, func(ev map[string]any) bool {
		return ev["transfer"].(map[string]any)["done"].(float64) > size/4
	})
	a.Kill()
	time.Sleep(time.Second)
	l.Shape(2, "")
	a2 := serveProfile(t, l.Hosts[0], prof, "Alice", "QA")
	ev := b.WaitEvent("transfer_done", 60*time.Second, nil)
	if tr := ev["transfer"].(map[string]any); tr["state"] != "done" {
		t.Fatalf("after the restart: %v", tr)
	}
	sum := fileSum(t, src)
	if got := fileSum(t, filepath.Join(dl, "movie.mkv")); got != sum {
		t.Fatalf("sha256 %s, want %s", got, sum)
	}
	files := b.transfers(t)[0].Files
	if files[0].SHA256 != sum {
		t.Fatalf("the receiver verified %s, want %s", files[0].SHA256, sum)
	}
	// The restarted sender served the rest, not the whole file again.
	a2.WaitEvent("transfer_done", 10*time.Second, nil)
	if log := a2.LogTail(); !strings.Contains(log, "file sent") || strings.Contains(log, "offset=0 ") {
		t.Fatalf("the restarted sender did not resume:\n%s", log)
	}
}

// hostileOffer runs a fake IPMsg client on host h: it offers list to `to` and answers every
// folder request with stream and every file request with 4 bytes.
func hostileOffer(t *testing.T, h *lab.Host, to string, list, stream string) {
	t.Helper()
	uc, err := h.ListenUDP(2425)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp4", h.Addr.String()+":2425"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				k, _ := c.Read(buf)
				if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == ipmsg.GetDirFiles {
					io.WriteString(c, stream)
				} else {
					io.WriteString(c, "EVIL")
				}
			}()
		}
	}()
	pkt, _ := ipmsg.Packet{Version: "1_lbt6_0#128#000C29AABBCC#0#0#0", No: 77, User: []byte("eve"), Host: []byte("evil"),
		Cmd: ipmsg.SendMsg | ipmsg.SendCheckOpt | ipmsg.FileAttachOpt, Body: []byte("\x00" + list + "\x00")}.Marshal()
	if _, err := uc.WriteToUDP(pkt, &net.UDPAddr{IP: net.ParseIP(to), Port: 2425}); err != nil {
		t.Fatal(err)
	}
}

func dirRecord(name string, size, attr int) string {
	rest := fmt.Sprintf(":%s:%09x:%x:", strings.ReplaceAll(name, ":", "::"), size, attr)
	return fmt.Sprintf("%04x", 4+len(rest)) + rest
}

func TestHostileSenderInTheLab(t *testing.T) {
	l := lab.New(t, 2)
	top := t.TempDir()
	dl := filepath.Join(top, "inbox")
	b := serve(t, l.Hosts[1], "Bob", "QA", "--accept-files", dl)
	stream := dirRecord("d", 0, 2) + dirRecord("../../../evil1", 4, 1) + "EVIL" + dirRecord("/tmp/evil2", 4, 1) + "EVIL" +
		dirRecord(".", 0, 3) + dirRecord(".", 0, 3) + dirRecord("../escaped", 4, 1) + "EVIL"
	list := "0:../../evil-a:4:0:1:\a1:/etc/evil-b:4:0:1:\a2:d:8:0:2:\a"
	hostileOffer(t, l.Hosts[0], l.Hosts[1].Addr.String(), list, stream)
	ev := b.WaitEvent("transfer_done", 20*time.Second, nil)
	tr := ev["transfer"].(map[string]any)
	if tr["state"] != "done" {
		t.Fatalf("%v", tr)
	}
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if p != top && !strings.HasPrefix(p, dl) {
			t.Errorf("written outside the download folder: %s", p)
		}
		if strings.Contains(p, "escaped") {
			t.Errorf("a record after the end of the folder was written: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".._.._evil-a", "_etc_evil-b", "d/.._.._.._evil1", "d/_tmp_evil2"} {
		if _, err := os.Stat(filepath.Join(dl, want)); err != nil {
			t.Errorf("%s: %v", want, err)
		}
	}
	for _, p := range []string{"/tmp/evil2", "/etc/evil-b", filepath.Join(top, "..", "evil-a")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
}

func TestRequestsNotOfferedAreRefused(t *testing.T) {
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "Alice", "QA")
	b := serve(t, l.Hosts[1], "Bob", "QA") // the recipient; it never accepts
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)
	src := filepath.Join(t.TempDir(), "secret.bin")
	randomFile(t, src, 10000, 5)
	other := filepath.Join(t.TempDir(), "not-offered.txt")
	os.WriteFile(other, []byte("never offered"), 0o644)
	if _, e, c := a.cli("send-file", "--no-wait", "Bob", src); c != 0 {
		t.Fatalf("send-file: %s", e)
	}
	ev := b.WaitEvent("transfer_offered", 10*time.Second, nil)
	pkt := uint32(ev["transfer"].(map[string]any)["packet_no"].(float64))
	ask := func(h *lab.Host, cmd ipmsg.Command, body string) int {
		var got []byte
		err := h.Do(func() error {
			c, err := net.DialTimeout("tcp4", l.Hosts[0].Addr.String()+":2425", 5*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			p, _ := ipmsg.Packet{Version: "1", No: 5, User: []byte("root"), Host: []byte("x"), Cmd: cmd, Body: []byte(body)}.Marshal()
			c.Write(p)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, _ = io.ReadAll(c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	// Host 3 is not a recipient: nothing for it, even naming the real offer.
	if n := ask(l.Hosts[2], ipmsg.GetFileData, fmt.Sprintf("%x:0:0", pkt)); n != 0 {
		t.Errorf("a non-recipient got %d bytes", n)
	}
	// The recipient asking for other packets, files or kinds gets nothing either.
	for _, body := range []string{fmt.Sprintf("%x:0:0", pkt+1), fmt.Sprintf("%x:1:0", pkt), fmt.Sprintf("%x:ffffffff:0", pkt), "/etc/passwd:0:0"} {
		if n := ask(l.Hosts[1], ipmsg.GetFileData, body); n != 0 {
			t.Errorf("request %q got %d bytes", body, n)
		}
	}
	if n := ask(l.Hosts[1], ipmsg.GetDirFiles, fmt.Sprintf("%x:0", pkt)); n != 0 {
		t.Errorf("a folder request for a file got %d bytes", n)
	}
	// Bob proved his key, so even the right request from his host, in plain IPMsg (another
	// user or program on his machine), gets nothing: the file is served to his key only.
	if n := ask(l.Hosts[1], ipmsg.GetFileData, fmt.Sprintf("%x:0:0", pkt)); n != 0 {
		t.Errorf("a plain request from the recipient's host got %d bytes", n)
	}
	// Bob's FeiGo gets it, which shows the refusals above were not a dead port.
	id := int(ev["transfer"].(map[string]any)["id"].(float64))
	dl := t.TempDir()
	if _, e, c := b.cli("accept", fmt.Sprint(id), "--to", dl, "--wait"); c != 0 {
		t.Fatalf("accept: %s", e)
	}
	if fileSum(t, src) != fileSum(t, filepath.Join(dl, "secret.bin")) {
		t.Error("the recipient's copy differs")
	}
}

// aliceAndBob is a lab of two that list each other: Alice, and Bob accepting every offer into
// dl, with a profile of his own (prof) that a restart keeps.
func aliceAndBob(t *testing.T) (l *lab.Lab, a, b *node, prof, dl string) {
	t.Helper()
	l = lab.New(t, 2)
	a = serve(t, l.Hosts[0], "Alice", "QA")
	prof, dl = filepath.Join(t.TempDir(), "bob"), t.TempDir()
	b = serveProfile(t, l.Hosts[1], prof, "Bob", "QA", "--accept-files", dl)
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)
	return l, a, b, prof, dl
}

func TestResumeAfterReceiverKilled(t *testing.T) {
	l, a, b, prof, dl := aliceAndBob(t)
	src := filepath.Join(t.TempDir(), "disk.img")
	const size = 48 << 20
	randomFile(t, src, size, 11)
	l.Shape(2, "80mbit")
	done := make(chan int, 1)
	go func() {
		_, _, c := a.cli("send-file", "-q", "Bob", src)
		done <- c
	}()
	b.WaitEvent("transfer_progress", 20*time.Second, func(ev map[string]any) bool {
		return ev["transfer"].(map[string]any)["done"].(float64) > size/4
	})
	b.Kill()
	// Only the partial is there, under its partial name.
	if _, err := os.Stat(filepath.Join(dl, "disk.img")); err == nil {
		t.Fatal("a half-received file has its final name")
	}
	if fi, err := os.Stat(filepath.Join(dl, "disk.img.feigo-part")); err != nil || fi.Size() == 0 || fi.Size() >= size {
		t.Fatalf("partial: %v %v", fi, err)
	}
	l.Shape(2, "")
	b2 := serveProfile(t, l.Hosts[1], prof, "Bob", "QA", "--accept-files", dl)
	b2.WaitEvent("transfer_done", 60*time.Second, nil)
	if code := <-done; code != 0 {
		t.Fatalf("send-file exit %d; sender log:\n%s", code, a.LogTail())
	}
	if fileSum(t, src) != fileSum(t, filepath.Join(dl, "disk.img")) {
		t.Fatal("resumed file differs")
	}
	if log := a.LogTail(); !strings.Contains(log, "file sent") || !strings.Contains(log, "offset=") || strings.Contains(log, "offset=0 ") {
		t.Fatalf("the receiver did not resume from its partial:\n%s", log)
	}
}

// A folder download resumes (issue: folders restarted from the beginning): Bob's node is
// killed a third into a folder of many files, and after its restart it asks Alice's node for
// the rest only (the skip in her log); the tree arrives identical. Then the same with one of
// the files Bob already holds changed at Alice's in between, at its length: the resumed
// stream does not match what Bob holds, so the folder starts again and still arrives
// identical, the changed file as it is now.
func TestFolderResumesAfterReceiverKilled(t *testing.T) {
	for _, changed := range []bool{false, true} {
		t.Run(map[bool]string{false: "resumed", true: "sender's folder changed"}[changed], func(t *testing.T) {
			l, a, b, prof, dl := aliceAndBob(t)
			src := filepath.Join(t.TempDir(), "项目")
			os.MkdirAll(filepath.Join(src, "docs", "old"), 0o755)
			os.MkdirAll(filepath.Join(src, "空"), 0o755)
			var total int64
			for k := range 12 {
				sub := []string{"", "docs", filepath.Join("docs", "old")}[k%3]
				size := int64(3<<20 + k*1001)
				randomFile(t, filepath.Join(src, sub, fmt.Sprintf("part%02d.bin", k)), size, uint64(20+k))
				total += size
			}
			os.WriteFile(filepath.Join(src, "docs", "empty.txt"), nil, 0o644)
			l.Shape(2, "80mbit")
			done := make(chan int, 1)
			go func() {
				_, _, c := a.cli("send-file", "-q", "Bob", src)
				done <- c
			}()
			b.WaitEvent("transfer_progress", 30*time.Second, func(ev map[string]any) bool {
				return ev["transfer"].(map[string]any)["done"].(float64) > float64(total)/3
			})
			b.Kill()
			if _, err := os.Stat(filepath.Join(dl, "项目")); err == nil {
				t.Fatal("a half-received folder has its final name")
			}
			held := treeSums(t, filepath.Join(dl, "项目.feigo-part"))
			if changed {
				// The first file of the stream with content (names sorted in each folder:
				// docs/empty.txt, docs/old/part02.bin, …), held whole by Bob, changes at Alice's.
				f := filepath.Join(src, "docs", "old", "part02.bin")
				if _, ok := held["docs/old/part02.bin"]; !ok {
					t.Fatalf("Bob does not hold the file this test changes: %v", held)
				}
				b := make([]byte, 4096)
				w, _ := os.OpenFile(f, os.O_WRONLY, 0)
				w.WriteAt(b, 1000)
				w.Close()
			}
			l.Shape(2, "")
			b2 := serveProfile(t, l.Hosts[1], prof, "Bob", "QA", "--accept-files", dl)
			b2.WaitEvent("transfer_done", 90*time.Second, nil)
			if code := <-done; code != 0 {
				t.Fatalf("send-file exit %d; sender log:\n%s", code, a.LogTail())
			}
			sameTree(t, src, filepath.Join(dl, "项目"))
			// Alice's log: the requests after the restart, with what Bob held (skip).
			var asked []string
			for _, line := range strings.Split(a.LogTail(), "\n") {
				if i := strings.Index(line, " skip="); i >= 0 && (strings.Contains(line, "file sent") || strings.Contains(line, "file not sent")) {
					n, _ := strconv.ParseInt(strings.Fields(line[i+6:])[0], 10, 64)
					asked = append(asked, fmt.Sprintf("%s %d", map[bool]string{true: "sent", false: "cut"}[strings.Contains(line, "file sent")], n))
				}
			}
			// In any order (the kill's cut may be logged late): the request after the restart
			// asked from where Bob was; resumed, it was served; changed, it was cut by Bob's
			// mismatch and the folder then sent from its start.
			has := func(what string, from int64) bool {
				return slices.ContainsFunc(asked, func(s string) bool {
					var n int64
					fmt.Sscanf(s[len(what)+1:], "%d", &n)
					return strings.HasPrefix(s, what+" ") && n >= from
				})
			}
			switch {
			case !changed && (!has("sent", total/4) || slices.Contains(asked, "sent 0")):
				t.Fatalf("Alice's requests %v: want one served from above a quarter of %d, none from 0", asked, total)
			case changed && (!has("cut", total/4) || !slices.Contains(asked, "sent 0")):
				t.Fatalf("Alice's requests %v: want a resumed one cut (above a quarter of %d), then the whole folder", asked, total)
			}
			t.Logf("requests %v", asked)
			if changed && !strings.Contains(b2.LogTail(), "cannot be resumed") {
				t.Errorf("Bob's log does not say the resumed folder did not match:\n%s", b2.LogTail())
			}
		})
	}
}
