//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A capture of everything that crosses the LAN while two FeiGo colleagues talk and send a
// file holds none of the message, the file's name or its content: after the announcements
// (public by design: nick, group, key) everything between them is TLS.
func TestWireCarriesNoPlaintext(t *testing.T) {
	l, a, b := pair(t)
	pcap := filepath.Join(t.TempDir(), "lan.pcap")
	stop := l.Capture(pcap)
	tag := make([]byte, 6)
	rand.Read(tag)
	secret := "本月工资表密码 payroll-" + hex.EncodeToString(tag)
	if _, e, c := a.cli("refresh"); c != 0 { // an announcement, in clear, inside the capture
		t.Fatalf("refresh: %s", e)
	}
	if _, e, c := a.cli("send", "Bob", secret); c != 0 {
		t.Fatalf("send: %s", e)
	}
	ev := b.WaitEvent("message", 10*time.Second, func(ev map[string]any) bool {
		m, _ := ev["message"].(map[string]any)
		return m["text"] == secret
	})
	if m := ev["message"].(map[string]any); m["encrypted"] != true {
		t.Errorf("the message event does not say encrypted: %v", m)
	}
	marker := "SALARY-ROW-" + hex.EncodeToString(tag)
	name := "工资-" + hex.EncodeToString(tag) + ".csv"
	src := filepath.Join(t.TempDir(), name)
	content := []byte(strings.Repeat(marker+",12345.67\n", 20000))
	os.WriteFile(src, content, 0o644)
	done := make(chan int, 1)
	go func() {
		_, _, c := a.cli("send-file", "Bob", src)
		done <- c
	}()
	off := b.WaitEvent("transfer_offered", 10*time.Second, nil)
	id := int(off["transfer"].(map[string]any)["id"].(float64))
	dl := t.TempDir()
	if _, e, c := b.cli("accept", fmt.Sprint(id), "--to", dl, "--wait"); c != 0 {
		t.Fatalf("accept: %s", e)
	}
	if c := <-done; c != 0 {
		t.Fatalf("send-file exit %d", c)
	}
	if fileSum(t, src) != fileSum(t, filepath.Join(dl, name)) {
		t.Fatal("the file arrived different")
	}
	stop()
	capture, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	// The capture did see the LAN: the announcements (nick in clear) and TLS records.
	// The capture may not record every frame of a fast transfer (segments offloaded in
	// bulk), so it must hold at least half of the file's size; the marker repeats every 33
	// bytes, so any frame of the file in clear would show it.
	if wire := pcapWireBytes(t, capture); !bytes.Contains(capture, []byte("Alice")) || !bytes.Contains(capture, []byte{0x17, 0x03, 0x03}) || wire < len(content)/2 {
		t.Fatalf("the capture (%d bytes, %d on the wire) missed the traffic", len(capture), wire)
	}
	for what, s := range map[string]string{"the message": secret, "the file's content": marker, "the file's name": name, "the message's tag": hex.EncodeToString(tag)} {
		if bytes.Contains(capture, []byte(s)) {
			t.Errorf("%s crossed the LAN in clear", what)
		}
	}
}

// pcapWireBytes sums the original length of every frame in a pcap file.
func pcapWireBytes(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("not a pcap file (%d bytes)", len(b))
	}
	total := 0
	for off := 24; off+16 <= len(b); {
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		total += int(binary.LittleEndian.Uint32(b[off+12:]))
		off += 16 + incl
	}
	return total
}
