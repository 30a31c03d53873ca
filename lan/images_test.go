package lan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"feigo/ipmsg"
	"feigo/xfer"
)

func writeImage(t *testing.T, path string, w, h int, asJPEG bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 31)
	}
	var b bytes.Buffer
	if asJPEG {
		jpeg.Encode(&b, img, nil)
	} else {
		png.Encode(&b, img)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// legacyReceiver is a raw peer that announces itself as client version, with cmd's option
// bits, and returns what the node offers it: the text and the file list, acknowledged.
func legacyOffer(t *testing.T, n *testNode, version string, opts ipmsg.Command, send func(to netip.AddrPort)) (r *rawPeer, p ipmsg.Packet, text string, list []ipmsg.FileInfo) {
	t.Helper()
	r = newRawPeer(t)
	body := "Taro\x00\x00\nUN:taro\nHN:pc\nNN:Taro"
	if strings.HasPrefix(version, "1_iptux") {
		body = "Taro\x00g\x00icon.png\x00utf-8\x00"
	}
	r.send(n.addr, version, "taro", "pc", ipmsg.BrEntry|opts, body)
	n.waitEvent(t, "peer_online", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		send(r.addr())
	}()
	p = r.expect(ipmsg.SendMsg)
	r.send(n.addr, version, "taro", "pc", ipmsg.RecvMsg, strconv.FormatUint(uint64(p.No), 10)+"\x00")
	<-done
	if !p.Cmd.Has(ipmsg.FileAttachOpt) {
		t.Fatalf("offer without FILEATTACHOPT: %#x", uint32(p.Cmd))
	}
	secs := bytes.SplitN(p.Body, []byte{0}, 3)
	if len(secs) < 2 {
		t.Fatalf("offer body %q", p.Body)
	}
	return r, p, string(secs[0]), ipmsg.ParseFileList(secs[1], ipmsg.UTF8)
}

// To a receiver built from IP Messenger's published format (CLIPBOARDOPT in its entry), a
// pasted PNG is a clipboard entry at its position, as IPMsg counts it, and it fetches the
// bytes over TCP with GETFILEDATA like any attachment.
func TestImageToIPMsgIsAClipboardEntry(t *testing.T) {
	n := startNode(t, loopbackConn(t), "Alice", nil)
	src := filepath.Join(t.TempDir(), "screen.png")
	want := writeImage(t, src, 64, 48, false)
	text := "ab\n中😀 see:"
	at := len("ab\n中😀")
	_, p, gotText, list := legacyOffer(t, n, "1", ipmsg.ClipboardOpt|ipmsg.CapUTF8Opt|ipmsg.FileAttachOpt, func(to netip.AddrPort) {
		if _, err := n.SendImages(context.Background(), text, []xfer.OutImage{{Path: src, At: at}}, to); err != nil {
			t.Error(err)
		}
	})
	if gotText != text {
		t.Fatalf("text %q", gotText)
	}
	// The entry, byte for byte: attr 20, extended attribute 8 = position 6 (a, b, line break,
	// 中 one unit each, 😀 two).
	raw := string(bytes.SplitN(p.Body, []byte{0}, 3)[1])
	if wantEntry := fmt.Sprintf("0:screen.png:%x:", len(want)); !strings.HasPrefix(raw, wantEntry) || !strings.HasSuffix(raw, ":20:8=6:\a") {
		t.Fatalf("entry %q", raw)
	}
	if len(list) != 1 || !list[0].IsClip() || list[0].Pos != 6 || list[0].Size != int64(len(want)) {
		t.Fatalf("list %+v", list)
	}
	c := dialTCP(t, n)
	defer c.Close()
	req, _ := ipmsg.Packet{Version: "1", No: 77, User: []byte("taro"), Host: []byte("pc"), Cmd: ipmsg.GetFileData,
		Body: []byte(fmt.Sprintf("%x:%x:0:\x00", p.No, list[0].ID))}.Marshal()
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(io.LimitReader(c, int64(len(want))))
	if !bytes.Equal(got, want) {
		t.Fatalf("fetched %d bytes, not the image", len(got))
	}
}

// To clients that do not show images inline, an image is an ordinary file, with a note in
// the text: iptux (even if it set CLIPBOARDOPT), an IPMsg without CLIPBOARDOPT, and IPMsg
// for a JPEG (it shows PNG only).
func TestImageToOthersIsAFileWithANote(t *testing.T) {
	dir := t.TempDir()
	pngPath, jpgPath := filepath.Join(dir, "shot.png"), filepath.Join(dir, "photo.jpg")
	writeImage(t, pngPath, 20, 20, false)
	writeImage(t, jpgPath, 20, 20, true)
	for _, c := range []struct {
		name, version string
		opts          ipmsg.Command
		path          string
	}{
		{"iptux", "1_iptux 0.8.3", ipmsg.ClipboardOpt | ipmsg.FileAttachOpt, pngPath},
		{"IPMsg without CLIPBOARDOPT", "1", ipmsg.CapUTF8Opt | ipmsg.FileAttachOpt, pngPath},
		{"IPMsg, a JPEG", "1", ipmsg.ClipboardOpt | ipmsg.CapUTF8Opt | ipmsg.FileAttachOpt, jpgPath},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := startNode(t, loopbackConn(t), "Alice", nil)
			_, _, text, list := legacyOffer(t, n, c.version, c.opts, func(to netip.AddrPort) {
				if _, err := n.SendImages(context.Background(), "hi", []xfer.OutImage{{Path: c.path, At: 2}}, to); err != nil {
					t.Error(err)
				}
			})
			base := filepath.Base(c.path)
			if text != "hi\n[image sent as a file: "+base+"]" {
				t.Errorf("text %q", text)
			}
			if len(list) != 1 || list[0].IsClip() || list[0].Attr != ipmsg.FileRegular || list[0].Name != base {
				t.Errorf("list %+v", list)
			}
		})
	}
}

// Images embedded by a hostile sender are bounded: at most 20 fetched, none over 20 MB, only
// into the image folder (never the download folder), whatever their names say.
func TestEmbeddedImagesFromAHostileSenderAreBounded(t *testing.T) {
	top := t.TempDir()
	imgs, dl := filepath.Join(top, "images", "incoming"), filepath.Join(top, "dl")
	n := startNode(t, loopbackConn(t), "Bob", func(c *Config) { c.ImageDir = imgs; c.DownloadDir = dl; c.FetchPatience = time.Second })
	h := newHostileSender(t, func(req ipmsg.Packet, c net.Conn) { io.WriteString(c, "IMG!") })
	var list strings.Builder
	fmt.Fprintf(&list, "0:../../evil.png:4:0:20:8=0:\a1:huge.png:%x:0:20:8=1:\a", xfer.MaxInlineBytes+1)
	for i := 2; i < 30; i++ {
		fmt.Fprintf(&list, "%d:/etc/x%d.png:4:0:20:8=%x:\a", i, i, i)
	}
	h.send(n.addr, "1", "eve", "evilhost", ipmsg.SendMsg|ipmsg.SendCheckOpt|ipmsg.FileAttachOpt, "look\x00"+list.String()+"\x00")
	ev := n.waitEvent(t, "transfer_offered", func(e Event) bool { return e.Transfer.Inline })
	if got := len(ev.Transfer.Files); got != xfer.MaxInline {
		t.Fatalf("%d embedded images taken, want %d", got, xfer.MaxInline)
	}
	for _, f := range ev.Transfer.Files {
		if f.Size > xfer.MaxInlineBytes || f.Name == "huge.png" {
			t.Fatalf("an image over the bound was taken: %+v", f)
		}
	}
	got := waitFinal(t, n, ev.Transfer.ID)
	if got.State != xfer.StateDone {
		t.Fatalf("%+v", got)
	}
	// The message itself is shown (its images are not a file offer).
	n.waitEvent(t, "message", func(e Event) bool { return e.Message.Text == "look" })
	for _, p := range listing(top) {
		if p != top && !strings.HasPrefix(p, filepath.Join(top, "images")) {
			t.Errorf("written outside the image folder: %s", p)
		}
	}
	if len(listing(imgs)) != xfer.MaxInline+1 {
		t.Errorf("image folder holds %v", listing(imgs))
	}
}
