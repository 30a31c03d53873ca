package xfer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/peers"
)

// resumeSender is a FeiGo sender that announces dirresume and answers each folder request
// with serve, over an in-memory connection.
type resumeSender struct {
	dialCounter
	serve func(r ipmsg.FileRequest, c net.Conn)
}

func (m *resumeSender) DialFiles(ctx context.Context, _ netip.AddrPort, _, req []byte) (net.Conn, error) {
	m.dials.Add(1)
	p, err := ipmsg.Decode(req)
	if err != nil {
		return nil, err
	}
	r, err := ipmsg.ParseFileRequest(p.Body, p.Cmd.Mode() == ipmsg.GetFileData)
	if err != nil {
		return nil, err
	}
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		b.SetWriteDeadline(time.Now().Add(10 * time.Second))
		m.serve(r, b)
	}()
	return pipeConn{a}, nil
}

// rec is one folder-stream record.
func rec(name string, size int64, attr int) string {
	h, err := ipmsg.EncodeDirHeader(ipmsg.UTF8, ipmsg.DirHeader{Name: name, Size: size, Attr: uint32(attr)}, false)
	if err != nil {
		panic(err)
	}
	return string(h)
}

// fetchFolder offers a folder of size bytes from a FeiGo sender that resumes folders, accepts
// it into a new download folder and runs the engine until the transfer ends or wait passes.
func fetchFolder(t *testing.T, dl string, size int64, patience, wait time.Duration, serve func(ipmsg.FileRequest, net.Conn)) (Transfer, string, *resumeSender) {
	t.Helper()
	m := &resumeSender{serve: serve}
	from := netip.MustParseAddrPort("127.0.0.1:9")
	table := peers.New(nil)
	if _, err := table.Upsert(peers.Peer{ID: "fg", Addr: from, Client: string(ipmsg.ClientFeiGo), Caps: []string{CapFiles, CapSHA256, CapDirResume}}); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{FetchPatience: patience}, m, table)
	if err != nil {
		t.Fatal(err)
	}
	offer := ipmsg.Packet{Version: "1", No: 7, User: []byte("bob"), Host: []byte("pc"), Cmd: ipmsg.SendMsg | ipmsg.FileAttachOpt,
		Body: fmt.Appendf(nil, "\x000:dir:%x:0:2:\a\x00", size)}
	if !e.OnOffer(offer, from, ipmsg.UTF8, Sender{Nick: "Bob"}) {
		t.Fatal("no offer")
	}
	tr := e.Transfers()[0]
	if !tr.DirResume {
		t.Fatal("the sender's dirresume was not taken")
	}
	if dl == "" {
		dl = t.TempDir()
	}
	if _, err := e.Accept(tr.ID, dl, nil); err != nil {
		t.Fatal(err)
	}
	defer runOnLoopback(t, e)()
	deadline := time.Now().Add(wait)
	for {
		tr = e.Transfers()[0]
		if tr.State == StateDone || tr.State == StateFailed || time.Now().After(deadline) {
			return tr, dl, m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sum256(s string) string { d := sha256.Sum256([]byte(s)); return string(d[:]) }

// A sender that cuts every fresh attempt half-way and answers every resumed one with content
// that does not match its checksum keeps the receiver fetching forever when each attempt
// counts as progress: a mismatch starts the folder again, so only getting further than
// before may be.
func TestAttackResumeMismatchLoopGivesUp(t *testing.T) {
	const size = 100
	tr, _, m := fetchFolder(t, "", size, time.Second, 15*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		head := rec("dir", 0, int(ipmsg.FileDir)) + rec("a", size, int(ipmsg.FileRegular))
		if r.Skip == 0 {
			c.Write([]byte(head + strings.Repeat("A", size/2)))
			return
		}
		c.Write([]byte(head + strings.Repeat("B", int(size-r.Skip)) + sum256("nothing")))
	})
	if tr.State != StateFailed {
		t.Fatalf("still %s after %d connections: a sender whose resumed folder never matches keeps it fetching", tr.State, m.dials.Load())
	}
}

// The sender's folder changed between attempts: a file the interrupted attempt received
// whole is a folder now. The resumed stream does not match what is held, so the folder
// starts again (it failed for good, writing into the file as into a folder).
func TestAttackResumeFileBecameFolder(t *testing.T) {
	top, up := rec("dir", 0, int(ipmsg.FileDir)), rec(".", 0, int(ipmsg.FileRetParent))
	var attempts atomic.Int32
	tr, dl, _ := fetchFolder(t, "", 20, 2*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		if attempts.Add(1) == 1 {
			c.Write([]byte(top + rec("x", 10, int(ipmsg.FileRegular)) + "XXXXXXXXXX" + sum256("XXXXXXXXXX") +
				rec("y", 10, int(ipmsg.FileRegular)) + "YYYYY"))
			return
		}
		// Now x is a folder.
		s := top + rec("x", 0, int(ipmsg.FileDir)) + up + rec("y", 10, int(ipmsg.FileRegular))
		if r.Skip == 0 {
			s += "YYYYYYYYYY" + sum256("YYYYYYYYYY") + up
		} else {
			held := min(r.Skip, 10)
			s += strings.Repeat("Y", int(10-held)) + sum256("YYYYYYYYYY") + up
		}
		c.Write([]byte(s))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 16)) // the verdict
	})
	if tr.State != StateDone {
		t.Fatalf("%s %q: a folder changed at the sender is not started again", tr.State, tr.Error)
	}
	if fi, err := os.Stat(filepath.Join(dl, "dir", "x")); err != nil || !fi.IsDir() {
		t.Errorf("x: %v %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dl, "dir", "y")); err != nil || string(b) != "YYYYYYYYYY" {
		t.Errorf("y: %q %v", b, err)
	}
}

// Huge sparse files planted in the partial folder (another local user, a tampered disk)
// must not make it count as holding more than the folder offered, nor overflow the count:
// a negative count neither resumed nor cleared the partial folder, so what was planted
// ended up in the received folder.
func TestAttackPlantedSparseFilesInPartial(t *testing.T) {
	var attempts atomic.Int32
	top, up := rec("dir", 0, int(ipmsg.FileDir)), rec(".", 0, int(ipmsg.FileRetParent))
	dl := t.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "feigo-test"); err == nil { // tmpfs takes files of 2^63-1 bytes
		dl = d
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	part := filepath.Join(dl, "dir"+PartSuffix)
	var planted error
	tr, _, _ := fetchFolder(t, dl, 10, 2*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		if attempts.Add(1) == 1 {
			c.Write([]byte(top + rec("a", 10, int(ipmsg.FileRegular)) + "AAAAA"))
			// What a local user plants before the download resumes: two files whose sizes
			// together pass what an int64 holds.
			for _, n := range []string{"s1", "s2"} {
				f, err := os.Create(filepath.Join(part, n))
				if err == nil {
					err = f.Truncate(1<<62 + 1<<61)
					f.Close()
				}
				if err != nil {
					planted = err
				}
			}
			return
		}
		s := top + rec("a", 10, int(ipmsg.FileRegular))
		held := min(r.Skip, 10)
		s += strings.Repeat("A", int(10-held)) + sum256("AAAAAAAAAA") + up
		c.Write([]byte(s))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 16))
	})
	if planted != nil {
		t.Skip("no huge sparse files here:", planted)
	}
	if tr.State != StateDone {
		t.Fatalf("%s %q", tr.State, tr.Error)
	}
	ents, err := os.ReadDir(filepath.Join(dl, "dir"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if err != nil || strings.Join(names, ",") != "a" {
		t.Errorf("the received folder holds %v (%v), want only the sender's a", names, err)
	}
	if tr.Files[0].Done > 10 || tr.Files[0].Done < 0 {
		t.Errorf("progress %d of a 10-byte folder", tr.Files[0].Done)
	}
}

// A sender resuming a folder hashes each file the receiver holds whole: it must send the
// file's record before it does, so the receiver checks its copy meanwhile and hears from it.
// Held back in the buffer, the records of a folder whose held files take longer to hash
// than the receiver waits (ioTimeout) never came, and every resume failed; and a receiver
// that asked and left had the sender hash the whole folder for nobody.
func TestAttackResumedSenderShowsRecordBeforeHashing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir")
	os.Mkdir(dir, 0o755)
	f, err := os.Create(filepath.Join(dir, "a"))
	if err == nil {
		err = f.Truncate(1 << 30) // sparse: costs hashing, not disk
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{}, &dialCounter{}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	sent := make(chan error, 1)
	go func() {
		sent <- e.sendDir(b, TransferFile{Path: dir, FileInfo: ipmsg.FileInfo{Name: "dir"}}, ipmsg.UTF8, true, false, false, 1<<40, func(int64) {})
		b.Close()
	}()
	want := rec("dir", 0, int(ipmsg.FileDir))
	a.SetReadDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, len(want)+4)
	if _, err := io.ReadFull(a, got); err != nil {
		t.Fatal(err)
	}
	// a's record is out; its checksum cannot be yet: 1 GiB takes longer than 50 ms to hash.
	hlen, _ := strconv.ParseUint(string(got[len(want):]), 16, 16)
	a.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(a, make([]byte, hlen-4)); err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if k, err := a.Read(make([]byte, 64)); err == nil {
		t.Fatalf("%d bytes of the checksum came with the record: the record waited for the hashing", k)
	}
	a.Close()
	<-sent
}

// cutConn closes its connection once left bytes have been written.
type cutConn struct {
	net.Conn
	left int
}

func (c *cutConn) Write(p []byte) (int, error) {
	if c.left <= 0 {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	k := min(len(p), c.left)
	n, err := c.Conn.Write(p[:k])
	c.left -= n
	if err == nil && k < len(p) {
		c.Conn.Close()
		err = net.ErrClosed
	}
	return n, err
}

// smallTree is a sender's folder of a few files (two empty, one in a subfolder) and an empty
// folder, files naming each file's content by its path in it; snd is a sending engine and
// tf the folder as offered.
func smallTree(t *testing.T) (files map[string]string, src string, snd *Engine, tf TransferFile) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "dir")
	files = map[string]string{"a": "0123456789", "z0": "", "s/b": "", "s/c": strings.Repeat("c", 20), "s/d": "ddddd"}
	os.MkdirAll(filepath.Join(src, "e"), 0o755)
	os.MkdirAll(filepath.Join(src, "s"), 0o755)
	for n, c := range files {
		os.WriteFile(filepath.Join(src, n), []byte(c), 0o644)
	}
	snd, err := New(Config{}, &dialCounter{}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	return files, src, snd, TransferFile{Path: src, FileInfo: ipmsg.FileInfo{Name: "dir"}}
}

// A folder cut anywhere in its stream (inside a record, at a file's boundary, next to empty
// files and folders) resumes from a real sender into the sender's folder exactly.
func TestResumeFromEveryCut(t *testing.T) {
	files, _, snd, tf := smallTree(t)
	for cut := 30; cut < 480; cut += 23 {
		var attempts atomic.Int32
		var skips []int64
		tr, dl, _ := fetchFolder(t, "", 35, 5*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
			var w net.Conn = c
			if attempts.Add(1) == 1 {
				w = &cutConn{Conn: c, left: cut}
			} else {
				skips = append(skips, r.Skip)
			}
			snd.sendDir(w, tf, ipmsg.UTF8, true, !r.NoSum, false, r.Skip, func(int64) {})
		})
		if tr.State != StateDone {
			t.Fatalf("cut at %d: %s %q", cut, tr.State, tr.Error)
		}
		for n, want := range files {
			if b, err := os.ReadFile(filepath.Join(dl, "dir", n)); err != nil || string(b) != want {
				t.Errorf("cut at %d: %s = %q %v", cut, n, b, err)
			}
		}
		if fi, err := os.Stat(filepath.Join(dl, "dir", "e")); err != nil || !fi.IsDir() {
			t.Errorf("cut at %d: e: %v", cut, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(dl, "dir")); len(ents) != 4 {
			t.Errorf("cut at %d: %d entries", cut, len(ents))
		}
		t.Logf("cut at %d: resumed with %v", cut, skips)
	}
}

// Another local user who can write to the download folder swaps the partial folder for a
// link to another folder of it while the resumed stream is being asked for: the stream must
// not complete the other folder's files (nor make the received folder a link).
func TestAttackPartialSwappedForLink(t *testing.T) {
	var attempts atomic.Int32
	top, up := rec("dir", 0, int(ipmsg.FileDir)), rec(".", 0, int(ipmsg.FileRetParent))
	dl := t.TempDir()
	part, victim := filepath.Join(dl, "dir"+PartSuffix), filepath.Join(dl, "victim")
	os.Mkdir(victim, 0o755)
	os.WriteFile(filepath.Join(victim, "a"), []byte("VVVVV"), 0o644)
	var swapped error
	tr, _, _ := fetchFolder(t, dl, 10, 2*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		switch attempts.Add(1) {
		case 1:
			c.Write([]byte(top + rec("a", 10, int(ipmsg.FileRegular)) + "AAAAA"))
			return
		case 2: // the receiver measured the partial folder and asked: swap it now
			if err := os.RemoveAll(part); err != nil {
				swapped = err
			} else if err := os.Symlink("victim", part); err != nil {
				swapped = err
			}
		}
		held := min(r.Skip, 10)
		c.Write([]byte(top + rec("a", 10, int(ipmsg.FileRegular)) + strings.Repeat("A", int(10-held)) +
			sum256("VVVVVAAAAA"[:held]+"AAAAAAAAAA"[held:]) + up))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 16))
	})
	if swapped != nil {
		t.Skip("no symlinks here:", swapped)
	}
	if b, _ := os.ReadFile(filepath.Join(victim, "a")); string(b) != "VVVVV" {
		t.Errorf("the linked folder's file became %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dl, "dir")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("the received folder is a link (%s %q)", tr.State, tr.Error)
	}
}

// Another local user who can write to the download folder puts, in the partial folder, a
// hard link to a file outside it in place of the file held in part: resuming must not
// append to that file (a write outside the download folder), but start the folder again.
func TestAttackHardLinkInPartial(t *testing.T) {
	var attempts atomic.Int32
	top, up := rec("dir", 0, int(ipmsg.FileDir)), rec(".", 0, int(ipmsg.FileRetParent))
	dl := t.TempDir()
	outside := filepath.Join(t.TempDir(), "notes")
	os.WriteFile(outside, []byte("VVVVV"), 0o644)
	part := filepath.Join(dl, "dir"+PartSuffix)
	var linked error
	tr, _, _ := fetchFolder(t, dl, 10, 2*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		if attempts.Add(1) == 1 {
			c.Write([]byte(top + rec("a", 10, int(ipmsg.FileRegular)) + "AAAAA"))
			if err := os.Remove(filepath.Join(part, "a")); err != nil {
				linked = err
			} else if err := os.Link(outside, filepath.Join(part, "a")); err != nil {
				linked = err
			}
			return
		}
		held := min(r.Skip, 10)
		c.Write([]byte(top + rec("a", 10, int(ipmsg.FileRegular)) + strings.Repeat("A", int(10-held)) +
			sum256("VVVVVAAAAA"[:held]+"AAAAAAAAAA"[held:]) + up))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 16))
	})
	if linked != nil {
		t.Skip("no hard links here:", linked)
	}
	if b, _ := os.ReadFile(outside); string(b) != "VVVVV" {
		t.Errorf("the file outside the download folder became %q (%s %q)", b, tr.State, tr.Error)
	}
}

// A partial folder that a crash left half removed (the cleanup after a mismatch, cut short)
// resumes or starts again into the sender's folder exactly.
func TestResumeAfterHalfRemovedPartial(t *testing.T) {
	files, _, snd, tf := smallTree(t)
	for _, gone := range []string{"a", "s/c", "s", "e"} {
		var attempts atomic.Int32
		dl := t.TempDir()
		tr, _, _ := fetchFolder(t, dl, 35, 5*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
			var w net.Conn = c
			if attempts.Add(1) == 1 {
				w = &cutConn{Conn: c, left: 420}
				defer os.RemoveAll(filepath.Join(dl, "dir"+PartSuffix, gone))
			}
			snd.sendDir(w, tf, ipmsg.UTF8, true, !r.NoSum, false, r.Skip, func(int64) {})
		})
		if tr.State != StateDone {
			t.Fatalf("%s removed: %s %q", gone, tr.State, tr.Error)
		}
		for n, want := range files {
			if b, err := os.ReadFile(filepath.Join(dl, "dir", n)); err != nil || string(b) != want {
				t.Errorf("%s removed: %s = %q %v", gone, n, b, err)
			}
		}
	}
}

// The sender's folder changes between the attempts: the resumed folder is the new one.
func TestResumeAfterSenderFolderChanged(t *testing.T) {
	for _, change := range []string{"grow a", "shrink s/c", "add 0new", "rename s/c", "add s/zz", "remove z0", "remove s/b"} {
		files, src, snd, tf := smallTree(t)
		var attempts atomic.Int32
		dl := t.TempDir()
		tr, _, _ := fetchFolder(t, dl, 100, 5*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
			var w net.Conn = c
			if attempts.Add(1) == 1 {
				w = &cutConn{Conn: c, left: 420} // a and s/c held, s/d not
				defer func() {
					switch change {
					case "grow a":
						files["a"] += "X"
					case "shrink s/c":
						files["s/c"] = "c"
					case "add 0new":
						files["0new"] = "new"
					case "rename s/c":
						os.Remove(filepath.Join(src, "s/c"))
						files["s/cc"] = files["s/c"]
						delete(files, "s/c")
					case "add s/zz":
						files["s/zz"] = "zz"
					case "remove z0":
						os.Remove(filepath.Join(src, "z0"))
						delete(files, "z0")
					case "remove s/b":
						os.Remove(filepath.Join(src, "s/b"))
						delete(files, "s/b")
					}
					for n, c := range files {
						os.WriteFile(filepath.Join(src, n), []byte(c), 0o644)
					}
				}()
			}
			snd.sendDir(w, tf, ipmsg.UTF8, true, !r.NoSum, false, r.Skip, func(int64) {})
		})
		if tr.State != StateDone {
			t.Fatalf("%s: %s %q", change, tr.State, tr.Error)
		}
		for n, want := range files {
			if b, err := os.ReadFile(filepath.Join(dl, "dir", n)); err != nil || string(b) != want {
				t.Errorf("%s: %s = %q %v", change, n, b, err)
			}
		}
		var extra []string
		filepath.WalkDir(filepath.Join(dl, "dir"), func(p string, d os.DirEntry, err error) error {
			rel, _ := filepath.Rel(filepath.Join(dl, "dir"), p)
			if _, ok := files[filepath.ToSlash(rel)]; !ok && err == nil && !d.IsDir() {
				extra = append(extra, rel)
			}
			return nil
		})
		if len(extra) > 0 {
			t.Logf("%s: the received folder also holds %v", change, extra)
		}
	}
}

// Folders nested deeper than any stream may nest them, put in the partial folder by someone
// else, are not walked to measure it: each level costs as much as the path to it, so a tree
// 5,000 deep took 27 s and one of the 100,000 entries allowed hours. The folder starts again.
func TestAttackDeepTreeInPartial(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	root.Mkdir("p", 0o755)
	cur, err := root.OpenRoot("p")
	if err != nil {
		t.Fatal(err)
	}
	for range maxDirDepth {
		cur.Mkdir("d", 0o755)
		next, err := cur.OpenRoot("d")
		cur.Close()
		if err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	if n, _, err := heldContent(root, "p", 1000, 1000); err != nil || n != 0 {
		t.Fatalf("%d folders deep: %d, %v", maxDirDepth, n, err)
	}
	cur.Mkdir("d", 0o755)
	cur.Close()
	if _, _, err := heldContent(root, "p", 1000, 1000); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("a tree deeper than any stream nests was walked: %v", err)
	}
}

// A receiver that says it holds a folder of many small files whole has the sender hash each
// of them: that must not cost a 256 KiB buffer and a goroutine a file (2,000 files took
// 500 MB of allocations).
func TestAttackResumedSmallFilesCheap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir")
	os.Mkdir(dir, 0o755)
	const count = 2000
	for i := range count {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), []byte("small"), 0o644)
	}
	e, err := New(Config{}, &dialCounter{}, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	go io.Copy(io.Discard, a)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.sendDir(eofReads{b}, TransferFile{Path: dir, FileInfo: ipmsg.FileInfo{Name: "dir"}}, ipmsg.UTF8, false, false, false, 1<<40, func(int64) {})
	runtime.ReadMemStats(&after)
	b.Close()
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("%d MB allocated to hash %d files of 5 bytes", got>>20, count)
	}
}

// eofReads is a connection whose other end has nothing more to say.
type eofReads struct{ net.Conn }

func (eofReads) Read([]byte) (int, error) { return 0, io.EOF }

// A folder whose entries clash past the numbered names (names that are the same once made
// safe) resumes into the names the interrupted attempt gave them, instead of starting again.
func TestResumeManyClashingNames(t *testing.T) {
	top, up := rec("dir", 0, int(ipmsg.FileDir)), rec(".", 0, int(ipmsg.FileRetParent))
	const count = 15
	var skips []int64
	tr, dl, _ := fetchFolder(t, "", 2*count, 2*time.Second, 20*time.Second, func(r ipmsg.FileRequest, c net.Conn) {
		skips = append(skips, r.Skip)
		var s strings.Builder
		s.WriteString(top)
		for i := range count {
			held := HeldOf(r.Skip, int64(2*i), 2)
			s.WriteString(rec("f", 2, int(ipmsg.FileRegular)))
			if len(skips) == 1 && i == count-3 {
				c.Write([]byte(s.String() + "f")) // cut in the 13th file
				return
			}
			s.WriteString("ff"[held:])
			if held > 0 || !r.NoSum {
				s.WriteString(sum256("ff"))
			}
		}
		c.Write([]byte(s.String() + up))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 16))
	})
	if tr.State != StateDone {
		t.Fatalf("%s %q", tr.State, tr.Error)
	}
	if len(skips) != 2 || skips[1] != 2*(count-3)+1 {
		t.Errorf("requests skipping %v, want one resumed from %d", skips, 2*(count-3)+1)
	}
	if ents, err := os.ReadDir(filepath.Join(dl, "dir")); err != nil || len(ents) != count {
		t.Errorf("%d entries, %v", len(ents), err)
	}
}
