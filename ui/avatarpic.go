package ui

import (
	"image"
	"os"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"feigo/imgstore"
)

// Colleagues' pictures as avatars. A canvas.Image given a File decodes the whole file, on
// Fyne's goroutine, every time it is refreshed, and keeps the decoded pixels: a colleague's
// picture (up to 512×512, node/icons.go) beside each of a conversation's hundreds of rows
// would hold a megabyte a row. Each picture is decoded once, made the size an avatar is drawn
// at, and that small image is shared by every avatar showing it.

// avatarPixels is the side of a picture as kept for avatars: twice avatarSize, for HiDPI
// screens; maxAvatarPics how many are kept (64 KiB each at most: 16 MiB in all).
const (
	avatarPixels  = 2 * avatarSize
	maxAvatarPics = 256
)

type avatarKey struct {
	path string
	mod  time.Time // my own picture keeps its path as it changes
	size int64
}

var avatarPics = struct {
	sync.Mutex
	m map[avatarKey]image.Image
}{m: map[avatarKey]image.Image{}}

// avatarImage is the picture at path made avatar-sized, shared by everyone who shows it; nil
// when it is not a picture (then the initial is shown).
func avatarImage(path string) image.Image {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	k := avatarKey{path, fi.ModTime(), fi.Size()}
	avatarPics.Lock()
	defer avatarPics.Unlock()
	if im, ok := avatarPics.m[k]; ok {
		return im
	}
	im := loadAvatar(path)
	if im == nil {
		return nil
	}
	if len(avatarPics.m) >= maxAvatarPics {
		clear(avatarPics.m) // pictures still shown keep their images; the others are read again
	}
	avatarPics.m[k] = im
	return im
}

// loadAvatar decodes the picture at path, within imgstore's bounds, and scales it to fit
// avatarPixels square.
func loadAvatar(path string) image.Image {
	f, err := imgstore.OpenFile(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := imgstore.Check(f); err != nil {
		return nil
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return nil
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > avatarPixels || h > avatarPixels {
		if w >= h {
			w, h = avatarPixels, max(1, h*avatarPixels/w)
		} else {
			w, h = max(1, w*avatarPixels/h), avatarPixels
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	return dst
}
