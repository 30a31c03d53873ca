// Package imgstore keeps the images of conversations (pasted screenshots and pictures sent
// inline) in the profile: content-addressed files "<sha256>.<png|jpg|gif>" with a thumbnail
// "<sha256>.thumb.png" beside each, in one folder and nowhere else. What comes in from the
// network is bounded before it costs work: its size (MaxBytes), its pixel dimensions read from
// the header before anything is decoded (MaxSide, MaxPixels: a small file must not become
// gigabytes of pixels), and its format (PNG, JPEG or GIF, whatever its name says).
// The history references images by their SHA-256; Prune removes those it no longer does.
package imgstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/image/draw"
)

// Bounds on an image taken into the store.
const (
	// MaxBytes bounds an image file.
	MaxBytes = 20 << 20
	// MaxSide bounds either dimension, in pixels; MaxPixels their product (a 8K screenshot
	// is 33 million).
	MaxSide   = 16384
	MaxPixels = 50_000_000
	// MaxDecoded bounds what the pixels take decoded, in bytes (16-bit PNGs take 8 a
	// pixel): MaxPixels of 8-bit RGBA.
	MaxDecoded = 4 * MaxPixels
	// ThumbSide is the longest side of a thumbnail, in pixels.
	ThumbSide = 320
)

// Errors of Add.
var (
	ErrTooLarge = fmt.Errorf("the image is larger than %d MB", MaxBytes>>20)
	ErrFormat   = errors.New("not a PNG, JPEG or GIF image")
	ErrPixels   = fmt.Errorf("the image has too many pixels (at most %d on a side and %d in all)", MaxSide, MaxPixels)
	ErrNoImage  = errors.New("no such image in the store")
)

// Image is one stored image.
type Image struct {
	SHA256 string `json:"sha256"`
	Format string `json:"format"` // png, jpeg or gif
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Size   int64  `json:"size"`
}

// Ext is the file name extension of the image's format.
func (im Image) Ext() string { return extOf(im.Format) }

func extOf(format string) string {
	switch format {
	case "jpeg":
		return ".jpg"
	case "gif":
		return ".gif"
	}
	return ".png"
}

// Store is a folder of images.
type Store struct {
	dir string
}

// Open opens (creating, readable by the owner only) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// At is the store in dir for reading (Path, Thumb), without creating anything.
func At(dir string) *Store { return &Store{dir: dir} }

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// Check reads an image's header from r and says what it is, without decoding its pixels:
// ErrFormat for anything but PNG, JPEG or GIF, ErrPixels for dimensions over the bounds.
func Check(r io.Reader) (Image, error) {
	var head bytes.Buffer // what the header took (a JPEG's frame is read again from it)
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return Image{}, ErrFormat
	}
	per := float64(bytesPerPixel(cfg.ColorModel))
	switch format {
	case "gif":
	case "png":
		if h := head.Bytes(); len(h) > 28 && h[28] == 1 {
			per *= 1.5 // interlaced: its largest pass (half the pixels) is held beside the image
		}
	case "jpeg":
		var ok bool
		if per, ok = jpegBytesPerPixel(head.Bytes()); !ok {
			return Image{}, ErrFormat
		}
	default:
		return Image{}, ErrFormat
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels ||
		float64(cfg.Width)*float64(cfg.Height)*per > MaxDecoded {
		return Image{}, ErrPixels
	}
	return Image{Format: format, Width: cfg.Width, Height: cfg.Height}, nil
}

// bytesPerPixel is what a pixel of the color model takes decoded.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// jpegBytesPerPixel estimates, from a JPEG's segments up to its frame header, what decoding
// it takes a pixel: its components' samples (subsampled ones count their share), 4 bytes
// more a sample kept as coefficients while a progressive one decodes, and a 4-byte pixel
// more when the components are converted (CMYK, RGB). It reports false when no frame header
// reads.
func jpegBytesPerPixel(b []byte) (float64, bool) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, false
	}
	adobeRGB := false
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 0, false
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 || i+2+n > len(b) {
			return 0, false
		}
		seg := b[i+4 : i+2+n]
		if m == 0xEE && len(seg) >= 12 && string(seg[:5]) == "Adobe" {
			adobeRGB = seg[11] == 0
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if len(seg) < 6 {
				return 0, false
			}
			nf := int(seg[5])
			if nf == 0 || len(seg) < 6+3*nf {
				return 0, false
			}
			hmax, vmax := 1, 1
			for k := range nf {
				f := seg[6+3*k+1]
				hmax, vmax = max(hmax, int(f>>4)), max(vmax, int(f&15))
			}
			samples := 0.0
			for k := range nf {
				f := seg[6+3*k+1]
				samples += float64(int(f>>4)*int(f&15)) / float64(hmax*vmax)
			}
			per := samples
			if m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE {
				per += 4 * samples
			}
			rgb := nf == 3 && seg[6] == 'R' && seg[9] == 'G' && seg[12] == 'B'
			if nf == 4 || (nf == 3 && (adobeRGB || rgb)) {
				per += 4
			}
			return per, true
		}
		i += 2 + n
	}
	return 0, false
}

// Add takes the image read from r (at most MaxBytes) into the store, with its thumbnail, and
// returns it. The same image added twice is stored once.
func (s *Store) Add(r io.Reader) (Image, error) {
	tmp, err := os.CreateTemp(s.dir, ".in-*")
	if err != nil {
		return Image{}, fmt.Errorf("image store: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return Image{}, fmt.Errorf("image store: %w", err)
	}
	if n > MaxBytes {
		return Image{}, ErrTooLarge
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Image{}, err
	}
	im, err := Check(tmp)
	if err != nil {
		return Image{}, err
	}
	im.SHA256, im.Size = hex.EncodeToString(h.Sum(nil)), n
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Image{}, err
	}
	// Decoded only now that its dimensions are known to be bounded: the whole image must
	// decode (a valid header over garbage is refused) and gives the thumbnail.
	var pic image.Image
	switch im.Format {
	case "png":
		pic, err = png.Decode(tmp)
	case "jpeg":
		pic, err = jpeg.Decode(tmp)
	case "gif":
		pic, err = gif.Decode(tmp)
	}
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if b := pic.Bounds(); b.Dx() != im.Width || b.Dy() != im.Height {
		return Image{}, fmt.Errorf("%w: its header says %dx%d, its pixels %dx%d", ErrFormat, im.Width, im.Height, b.Dx(), b.Dy())
	}
	if err := s.writeThumb(im, pic); err != nil {
		return Image{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Image{}, fmt.Errorf("image store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Image{}, fmt.Errorf("image store: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, im.SHA256+im.Ext())); err != nil {
		return Image{}, fmt.Errorf("image store: %w", err)
	}
	return im, nil
}

// AddFile takes the image file at path into the store (a copy; path is left alone).
func (s *Store) AddFile(path string) (Image, error) {
	f, err := OpenFile(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	return s.Add(f)
}

// OpenFile opens the image file at path for reading, if it is a regular file of at most
// MaxBytes: a FIFO would block the open until someone writes to it (it is opened without
// waiting, then refused), a device such as /dev/zero may never end.
func OpenFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is not a file", path)
	case fi.Size() > MaxBytes:
		err = ErrTooLarge
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *Store) writeThumb(im Image, pic image.Image) error {
	w, h := im.Width, im.Height
	if w > ThumbSide || h > ThumbSide {
		if w >= h {
			w, h = ThumbSide, max(1, h*ThumbSide/w)
		} else {
			w, h = max(1, w*ThumbSide/h), ThumbSide
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), pic, pic.Bounds(), draw.Src, nil)
	tmp, err := os.CreateTemp(s.dir, ".thumb-*")
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := png.Encode(tmp, dst); err != nil {
		tmp.Close()
		return fmt.Errorf("image store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return os.Rename(tmp.Name(), filepath.Join(s.dir, im.SHA256+".thumb.png"))
}

// validSHA reports whether s is a SHA-256 as the store names files: 64 lower-case hex digits.
func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Path returns the file of the stored image sha (of the given format), or ErrNoImage.
func (s *Store) Path(sha, format string) (string, error) {
	if !validSHA(sha) {
		return "", ErrNoImage
	}
	p := filepath.Join(s.dir, sha+extOf(format))
	if _, err := os.Stat(p); err != nil {
		return "", ErrNoImage
	}
	return p, nil
}

// Thumb returns the thumbnail of the stored image sha, or ErrNoImage.
func (s *Store) Thumb(sha string) (string, error) {
	if !validSHA(sha) {
		return "", ErrNoImage
	}
	p := filepath.Join(s.dir, sha+".thumb.png")
	if _, err := os.Stat(p); err != nil {
		return "", ErrNoImage
	}
	return p, nil
}

// graceAge is how old the leftover of an add must be for Prune to remove it (an add may be
// under way).
const graceAge = 10 * time.Minute

// Prune removes the images (and thumbnails) for which keep is false, and the leftovers of
// adds that a crash cut, and returns how many images went. An image is added before the
// history references it: the caller keeps Prune from running between the two.
func (s *Store) Prune(keep func(sha string) bool) (int, error) {
	return s.prune(keep, time.Now().Add(-graceAge))
}

func (s *Store) prune(keep func(sha string) bool, leftBefore time.Time) (int, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("image store: %w", err)
	}
	gone := 0
	for _, e := range ents {
		name := e.Name()
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(name, ".in-") || strings.HasPrefix(name, ".thumb-") {
			if fi.ModTime().Before(leftBefore) {
				os.Remove(filepath.Join(s.dir, name))
			}
			continue
		}
		sha, rest, ok := strings.Cut(name, ".")
		if !ok || !validSHA(sha) || keep(sha) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil && rest != "thumb.png" {
			gone++
		}
	}
	return gone, nil
}
