package imgstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"feigo/internal/testimg"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAddKeepsBytesAndMakesThumb(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := pngOf(t, 800, 400)
	im, err := s.Add(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if im.Format != "png" || im.Width != 800 || im.Height != 400 || im.Size != int64(len(src)) || len(im.SHA256) != 64 {
		t.Fatalf("got %+v", im)
	}
	p, err := s.Path(im.SHA256, im.Format)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, src) {
		t.Fatal("stored bytes differ from the original")
	}
	tp, err := s.Thumb(im.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(tp)
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != ThumbSide || cfg.Height != ThumbSide/2 {
		t.Fatalf("thumbnail %+v %v", cfg, err)
	}
	// Added again: the same image, stored once.
	if again, err := s.Add(bytes.NewReader(src)); err != nil || again != im {
		t.Fatalf("again: %+v %v", again, err)
	}
	// JPEG and GIF are taken too.
	var j, g bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 30, 20))
	jpeg.Encode(&j, pic, nil)
	gif.Encode(&g, pic, nil)
	if im, err := s.Add(&j); err != nil || im.Format != "jpeg" {
		t.Errorf("jpeg: %+v %v", im, err)
	}
	if im, err := s.Add(&g); err != nil || im.Format != "gif" {
		t.Errorf("gif: %+v %v", im, err)
	}
}

// pngHeader is a decompression bomb's header (testimg.PNGHeader).
var pngHeader = testimg.PNGHeader

func TestAddRefusesHostileImages(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		// 60000×60000 RGBA would be 14 GB of pixels: refused from its header, never decoded.
		{"decompression bomb", pngHeader(60000, 60000), ErrPixels},
		{"too wide", pngHeader(MaxSide+1, 1), ErrPixels},
		{"too many pixels", pngHeader(10000, 10000), ErrPixels},
		{"zero", pngHeader(0, 10), ErrFormat},
		{"header over garbage", pngHeader(100, 100), ErrFormat},
		{"BMP", append([]byte("BM"), make([]byte, 100)...), ErrFormat},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrFormat},
		{"empty", nil, ErrFormat},
		{"truncated PNG", pngOf(t, 50, 50)[:60], ErrFormat},
		{"too large", append(pngOf(t, 10, 10), make([]byte, MaxBytes)...), ErrTooLarge},
	} {
		if _, err := s.Add(bytes.NewReader(c.data)); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	ents, _ := os.ReadDir(s.Dir())
	if len(ents) != 0 {
		t.Errorf("refused images left files: %v", ents)
	}
}

func TestPathRefusesNamesOutsideTheStore(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, bad := range []string{"", "../x", "ABCDEF" + string(bytes.Repeat([]byte("a"), 58)), "../../../../etc/passwd" + string(bytes.Repeat([]byte("0"), 42))} {
		if _, err := s.Path(bad, "png"); !errors.Is(err, ErrNoImage) {
			t.Errorf("%q: %v", bad, err)
		}
		if _, err := s.Thumb(bad); !errors.Is(err, ErrNoImage) {
			t.Errorf("thumb %q: %v", bad, err)
		}
	}
}

func TestPrune(t *testing.T) {
	s, _ := Open(t.TempDir())
	a, err := s.Add(bytes.NewReader(pngOf(t, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Add(bytes.NewReader(pngOf(t, 20, 10)))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Dir(), ".in-123"), []byte("cut"), 0o600)
	os.WriteFile(filepath.Join(s.Dir(), "notes.txt"), []byte("not ours"), 0o600)
	keep := func(sha string) bool { return sha == a.SHA256 }
	if n, err := s.Prune(keep); err != nil || n != 1 {
		t.Fatalf("pruned %d %v", n, err)
	}
	// A young leftover may be an add under way: kept; an old one goes.
	if _, err := os.Stat(filepath.Join(s.Dir(), ".in-123")); err != nil {
		t.Error("young leftover removed")
	}
	if _, err := s.prune(keep, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Path(a.SHA256, "png"); err != nil {
		t.Error("kept image gone")
	}
	if _, err := s.Path(b.SHA256, "png"); err == nil {
		t.Error("unreferenced image kept")
	}
	if _, err := s.Thumb(b.SHA256); err == nil {
		t.Error("unreferenced thumbnail kept")
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), ".in-123")); err == nil {
		t.Error("leftover kept")
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "notes.txt")); err != nil {
		t.Error("a file not of the store was removed")
	}
}

// A 16-bit RGBA PNG has 8 bytes a pixel: within MaxPixels (7000×7000 is 49 million), its
// header alone made Add allocate 392 MB for the pixels before a byte of them was read (an
// inline image from anyone on the LAN; a few hundred KB of zeros compress to that). What the
// pixels take decoded is bounded too (MaxDecoded), whatever the format's depth; an 8K
// screenshot in 8-bit RGBA is still taken.
func TestAttackDeepImageBomb(t *testing.T) {
	deep := pngHeader(7000, 7000)
	deep[8+8+8] = 16 // IHDR's bit depth: 16-bit RGBA
	binary.BigEndian.PutUint32(deep[8+8+13:], crc32.ChecksumIEEE(deep[8+4:8+8+13]))
	if _, err := Check(bytes.NewReader(deep)); !errors.Is(err, ErrPixels) {
		t.Errorf("16-bit 7000×7000 RGBA: err %v, want ErrPixels", err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Add(bytes.NewReader(deep)); err == nil {
		t.Fatal("taken")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("refusing a 16-bit image header allocated %d MB", got>>20)
	}
	if im, err := Check(bytes.NewReader(pngHeader(7680, 4320))); err != nil || im.Width != 7680 {
		t.Errorf("an 8K screenshot's header: %+v %v", im, err)
	}
	// An interlaced PNG decodes pass by pass: the largest (half the pixels) is held beside
	// the image, 1.5 times what the pixels take (read from Go's image/png, not measured).
	laced := pngHeader(7000, 7000)
	laced[28] = 1
	binary.BigEndian.PutUint32(laced[8+8+13:], crc32.ChecksumIEEE(laced[8+4:8+8+13]))
	if _, err := Check(bytes.NewReader(laced)); !errors.Is(err, ErrPixels) {
		t.Errorf("interlaced 7000×7000 RGBA: err %v, want ErrPixels", err)
	}
}

// jpegHeader is a JPEG's segments up to its first scan (3 components, each sampled hv, its
// frame marker sof) and a little entropy data: enough for the decoder to allocate the image.
func jpegHeader(sof byte, w, h int, hv byte) []byte {
	var b bytes.Buffer
	seg := func(m byte, data []byte) {
		b.Write([]byte{0xFF, m, byte((len(data) + 2) >> 8), byte(len(data) + 2)})
		b.Write(data)
	}
	b.Write([]byte{0xFF, 0xD8})
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))
	seg(sof, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, hv, 0, 2, 0x11, 0, 3, 0x11, 0})
	seg(0xC4, append(append([]byte{0x00, 1}, make([]byte, 15)...), 0))
	seg(0xDA, []byte{3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0})
	b.Write(make([]byte, 1000))
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// A progressive JPEG keeps every coefficient while it decodes (4 bytes a sample) besides the
// image: 1,128 bytes saying 7000×7000, three full components, progressive, made Add allocate
// 700 MB. The estimate of what decoding takes counts the frame's components, their sampling
// and whether it is progressive; a baseline 8K photo is still taken.
func TestAttackProgressiveJPEGBomb(t *testing.T) {
	bomb := jpegHeader(0xC2, 7000, 7000, 0x11)
	if _, err := Check(bytes.NewReader(bomb)); !errors.Is(err, ErrPixels) {
		t.Errorf("progressive 7000×7000 4:4:4 JPEG: err %v, want ErrPixels", err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Add(bytes.NewReader(bomb)); err == nil {
		t.Fatal("taken")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("refusing a progressive JPEG header allocated %d MB", got>>20)
	}
	for _, c := range []struct {
		sof  byte
		w, h int
		hv   byte
	}{{0xC0, 7680, 4320, 0x22}, {0xC0, 7000, 7000, 0x11}, {0xC2, 4000, 3000, 0x22}} {
		if im, err := Check(bytes.NewReader(jpegHeader(c.sof, c.w, c.h, c.hv))); err != nil || im.Width != c.w {
			t.Errorf("JPEG %#x %dx%d sampled %#x: %+v %v", c.sof, c.w, c.h, c.hv, im, err)
		}
	}
}
