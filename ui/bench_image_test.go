package ui

import (
	"context"
	"feigo/internal/testimg"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/xfer"
)

// BenchmarkImageShownInline sends a 5 MB screenshot (a PNG of noise, which does not compress)
// from one FeiGo node to another over loopback, where the receiver is the real window (on
// Fyne's test driver, on its real node): from SendImages until the window's conversation has
// made the message's row with the image's thumbnail in place ("row"), and until the window
// has been painted once more after that ("painted", by the test driver's software painter,
// which is slower than the GL window's), against a plain TCP copy of the same bytes over
// loopback in the same run. The lab figure (BenchmarkLabImage5MB) stops at the receiving
// node; this one adds the window.
func BenchmarkImageShownInline(b *testing.B) {
	png := testimg.NoisePNG(1280, 1000, 5)
	src := filepath.Join(b.TempDir(), "screenshot.png")
	if err := os.WriteFile(src, png, 0o644); err != nil {
		b.Fatal(err)
	}
	a, u, alice, bob := nodeAndWindow(b)

	var row, painted, raw time.Duration
	b.ResetTimer()
	for i := range b.N {
		raw += loopCopy(b, png)
		text := fmt.Sprintf("看这个 %d", i)
		start := time.Now()
		if _, err := a.SendImages(context.Background(), "", text, []xfer.OutImage{{Path: src, At: len(text)}}, bob.Addr); err != nil {
			b.Fatal(err)
		}
		u.until("the image shown", func() bool {
			c := u.convs[alice.ID]
			if c == nil {
				return false
			}
			if u.tabs.Selected() != c.tab {
				u.showConv(c, false) // the conversation in front, as a click on its notification does
			}
			for _, m := range c.msgs {
				if m.text == text && len(m.images) == 1 && m.row != nil && strings.Contains(strings.Join(bodyParts(m), "|"), "I:") {
					return true
				}
			}
			return false
		})
		row += time.Since(start)
		u.Win.Canvas().Capture()
		painted += time.Since(start)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(row), "ms-to-row")
	b.ReportMetric(ms(painted), "ms-to-painted")
	b.ReportMetric(ms(raw), "tcpcopy-ms")
	b.ReportMetric(float64(painted)/float64(raw), "painted/tcpcopy")
	b.ReportMetric(float64(len(png))/1e6, "MB")
}

// loopCopy copies data over a TCP connection on loopback and returns how long it took.
func loopCopy(b *testing.B, data []byte) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		b.Fatal(err)
	}
	c.Close()
	if n := <-got; n != int64(len(data)) {
		b.Fatalf("copied %d of %d bytes", n, len(data))
	}
	return time.Since(start)
}
