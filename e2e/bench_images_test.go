//go:build linux

package e2e

import (
	"feigo/internal/testimg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"feigo/internal/lab"
)

// BenchmarkLabImage5MB sends a 5 MB screenshot (a PNG of noise, which does not compress)
// inline from one FeiGo node to another on the lab link, from `feigo send --image` until the
// receiving node reports it stored and ready to show (message_images: fetched over TLS,
// checked, decoded for its thumbnail, kept), against a plain TCP copy of the same bytes
// between the same hosts in the same run.
func BenchmarkLabImage5MB(b *testing.B) {
	png := testimg.NoisePNG(1280, 1000, 5)
	src := filepath.Join(b.TempDir(), "screenshot.png")
	if err := os.WriteFile(src, png, 0o644); err != nil {
		b.Fatal(err)
	}
	l := lab.New(b, 2)
	a := serve(b, l.Hosts[0], "Alice", "QA")
	recv := serve(b, l.Hosts[1], "Bob", "QA")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ps := a.waitPeers(b, 1, 20*time.Second)
		if ps[0].Secure {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("Bob not proved: %+v", ps)
		}
	}
	b.ResetTimer()
	for range b.N {
		raw := tcpCopy(b, l.Hosts[0], l.Hosts[1], src, filepath.Join(b.TempDir(), "raw.png"))
		start := time.Now()
		if _, e, c := a.cli("send", "--image", src, "Bob", "看这个"); c != 0 {
			b.Fatalf("send --image: %s", e)
		}
		ev := recv.WaitEvent("message_images", time.Minute, nil)
		end, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		if err != nil {
			b.Fatal(err)
		}
		took := end.Sub(start)
		b.ReportMetric(float64(took.Microseconds())/1000, "feigo-ms")
		b.ReportMetric(float64(raw.Microseconds())/1000, "tcpcopy-ms")
		b.ReportMetric(took.Seconds()/raw.Seconds(), "ratio-to-tcpcopy")
		b.ReportMetric(float64(len(png))/1e6, "MB")
	}
}
