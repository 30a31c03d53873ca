package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/xfer"
)

func writePNG(t *testing.T, dir, name string, w, h int) (string, []byte) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

// A PNG sent inline from one FeiGo to another arrives byte-identical, in the receiver's image
// store (nowhere else), referenced at its place in the text from the message's record; both
// histories show it; clearing the conversation removes the images no message references.
func TestImagesInlineBetweenFeiGoNodes(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	downloads := t.TempDir()
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, func(c *lan.Config) { c.DownloadDir = downloads })
	online := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" && ev.Peer.Secure })
	b.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Alice" })

	src, want := writePNG(t, t.TempDir(), "screen.png", 300, 200)
	src2, want2 := writePNG(t, t.TempDir(), "second.png", 40, 30)
	text := "看这个：\nand this"
	at := len("看这个：")
	r, err := a.SendImages(context.Background(), "", text, []xfer.OutImage{{Path: src, At: at}, {Path: src2, At: len(text)}}, online.Peer.Addr)
	if err != nil || r.State != history.StateDelivered || len(r.Images) != 2 || r.Images[0].Path == "" {
		t.Fatalf("SendImages: %+v %v", r, err)
	}
	msg := b.wait(t, event.Message, nil)
	if msg.Message.Text != text {
		t.Fatalf("text %q", msg.Message.Text)
	}
	ev := b.wait(t, event.MessageImages, nil)
	if ev.HistoryID != msg.HistoryID || len(ev.Message.Images) != 2 {
		t.Fatalf("images event %+v (message record %d)", ev, msg.HistoryID)
	}
	got := ev.Message.Images[0]
	if got.At != at || got.Format != "png" || got.Width != 300 || got.Height != 200 || got.Thumb == "" {
		t.Fatalf("image %+v", got)
	}
	if ev.Message.Images[1].At != len(text) {
		t.Fatalf("second image at %d, want %d", ev.Message.Images[1].At, len(text))
	}
	for i, w := range [][]byte{want, want2} {
		p := ev.Message.Images[i].Path
		if filepath.Dir(p) != filepath.Join(dirB, "images") {
			t.Fatalf("image stored at %s, outside the profile's image store", p)
		}
		if data, _ := os.ReadFile(p); !bytes.Equal(data, w) {
			t.Fatalf("image %d differs from the one sent", i)
		}
	}
	if ents, _ := os.ReadDir(downloads); len(ents) != 0 {
		t.Fatalf("an inline image went to the download folder: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(dirB, "images", "incoming")); len(ents) != 0 {
		t.Fatalf("staging folder not emptied: %v", ents)
	}
	// Bob's history: one message with its text and both images, with their paths.
	rs, err := b.HistoryPage(history.PeerKey(msg.Message.PeerID, msg.Message.User, msg.Message.Host), 0, 10)
	if err != nil || len(rs) != 1 || rs[0].Text != text || len(rs[0].Images) != 2 || rs[0].Images[0].Pos != at || rs[0].Images[0].Path == "" {
		t.Fatalf("Bob's history %+v %v", rs, err)
	}
	// No transfer record for a message's images.
	for _, r := range rs {
		if r.Kind == history.KindFile {
			t.Fatalf("inline images recorded as a transfer: %+v", r)
		}
	}
	// Clearing the conversation removes the images (and thumbnails) nothing references.
	if _, err := b.ClearHistory(rs[0].Peer); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(got.Path); !os.IsNotExist(err) {
		t.Fatalf("image kept after its conversation was cleared: %v", err)
	}
	if _, err := os.Stat(got.Thumb); !os.IsNotExist(err) {
		t.Fatalf("thumbnail kept after its conversation was cleared: %v", err)
	}
}

// `feigo send --image FILE PEER [TEXT]` through the control socket, and the images in
// `feigo history --json` with the path where the store keeps them.
func TestSendImageCommand(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" && ev.Peer.Secure })
	src, want := writePNG(t, t.TempDir(), "s.png", 30, 20)
	if out, errOut, code := run("send", "--profile", dirA, "--image", src, "Bob"); code != 0 || !strings.Contains(out, "delivered to Bob") {
		t.Fatalf("send --image: %d %q %q", code, out, errOut)
	}
	b.wait(t, event.MessageImages, nil)
	out, errOut, code := run("history", "--profile", dirB, "--json")
	if code != 0 {
		t.Fatalf("history: %d %q", code, errOut)
	}
	var rs []history.Record
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 || len(rs[0].Images) != 1 {
		t.Fatalf("history --json: %q %v", out, err)
	}
	if data, err := os.ReadFile(rs[0].Images[0].Path); err != nil || !bytes.Equal(data, want) {
		t.Fatalf("the path in history --json does not hold the image: %v", err)
	}
	if _, errOut, code := run("send", "--profile", dirA, "--image", filepath.Join(t.TempDir(), "none.png"), "Bob", "x"); code == 0 {
		t.Fatalf("a missing image was sent: %q", errOut)
	}
	notImage := filepath.Join(t.TempDir(), "x.png")
	os.WriteFile(notImage, []byte("#!/bin/sh\n"), 0o644)
	if _, errOut, code := run("send", "--profile", dirA, "--image", notImage, "Bob", "x"); code == 0 || !strings.Contains(errOut, "not a PNG") {
		t.Fatalf("a file that is not an image was sent: %q", errOut)
	}
}
