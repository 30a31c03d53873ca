package node

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"feigo/event"
	"feigo/imgstore"
	"feigo/lan"
	"feigo/peers"

	"golang.org/x/image/draw"
)

// Colleagues' pictures (issue 15): iptux's icons, checked and kept in the profile's icon
// store, content-addressed ("icons/<sha256>.<ext>", imgstore's format and bounds, and tighter
// ones here), and shown as the colleague's avatar. The store is a cache: emptied when the
// node starts (iptux sends its icon again to every colleague it sees come online), holding at
// most one picture per colleague in the table and maxIcons in all.

// Bounds on a colleague's picture, beside imgstore's.
const (
	MaxIconSide = 512
	maxIcons    = 1024
)

// icons is the node's icon store and which colleague shows which picture.
type icons struct {
	mu     sync.Mutex
	store  *imgstore.Store   // nil: pictures are off (the folder could not be made)
	byPeer map[string]string // peer ID → the picture's path
}

// openIcons empties and opens the profile's icon store; pictures are off when it fails.
func (n *Node) openIcons(profileDir string) {
	s, err := imgstore.Open(filepath.Join(profileDir, "icons"))
	if err == nil {
		_, err = s.Prune(func(string) bool { return false })
	}
	if err != nil {
		n.log.Error("colleagues' pictures are off", "err", err)
		return
	}
	n.icons.store, n.icons.byPeer = s, map[string]string{}
}

// takeIcon checks and stores the picture p sent, on the background goroutine, and reports
// the colleague again with it.
func (n *Node) takeIcon(p peers.Peer, pic []byte) {
	if n.icons.store == nil {
		return
	}
	path, err := n.storeIcon(p.ID, pic)
	if err != nil {
		n.log.Info("a colleague's picture is refused", "peer", p.ID, "addr", p.Addr, "err", err)
		return
	}
	if q, ok := n.Table().Get(p.ID); ok { // still here: shown
		q.Icon = path
		n.emit(lan.Event{Type: event.PeerUpdated, Time: q.LastSeen, Peer: &q})
	}
}

// storeIcon checks pic and keeps it as id's picture; the one id showed before goes if no
// one else shows it.
func (n *Node) storeIcon(id string, pic []byte) (string, error) {
	if len(pic) > lan.MaxIconBytes {
		return "", fmt.Errorf("%d bytes, more than %d", len(pic), lan.MaxIconBytes)
	}
	im, err := imgstore.Check(bytes.NewReader(pic))
	if err != nil {
		return "", err
	}
	if im.Width > MaxIconSide || im.Height > MaxIconSide {
		return "", fmt.Errorf("%dx%d pixels, more than %d on a side", im.Width, im.Height, MaxIconSide)
	}
	n.icons.mu.Lock()
	defer n.icons.mu.Unlock()
	if _, had := n.icons.byPeer[id]; !had && len(n.icons.byPeer) >= maxIcons {
		return "", fmt.Errorf("already %d colleagues' pictures", maxIcons)
	}
	if im, err = n.icons.store.Add(bytes.NewReader(pic)); err != nil { // decoded whole: garbage is refused
		return "", err
	}
	path, err := n.icons.store.Path(im.SHA256, im.Format)
	if err != nil {
		return "", err
	}
	n.icons.byPeer[id] = path
	n.pruneIcons()
	return path, nil
}

// pruneIcons removes the pictures no colleague shows (under icons.mu).
func (n *Node) pruneIcons() {
	shown := map[string]bool{}
	for _, p := range n.icons.byPeer {
		sha, _, _ := strings.Cut(filepath.Base(p), ".")
		shown[sha] = true
	}
	if _, err := n.icons.store.Prune(func(sha string) bool { return shown[sha] }); err != nil {
		n.log.Warn("pruning colleagues' pictures", "err", err)
	}
}

// iconJob is a picture to take (pic) or a colleague's to forget (who left: pic nil).
type iconJob struct {
	peer peers.Peer
	pic  []byte
}

// forgetIcon drops the picture of a colleague who left the table.
func (n *Node) forgetIcon(id string) {
	n.icons.mu.Lock()
	defer n.icons.mu.Unlock()
	if _, ok := n.icons.byPeer[id]; ok && n.icons.store != nil {
		delete(n.icons.byPeer, id)
		n.pruneIcons()
	}
}

// withIcon is p with the picture it set, if any.
func (n *Node) withIcon(p peers.Peer) peers.Peer {
	n.icons.mu.Lock()
	defer n.icons.mu.Unlock()
	p.Icon = n.icons.byPeer[p.ID]
	return p
}

// Peers is the table's colleagues, each with the picture they set.
func (n *Node) Peers() []peers.Peer {
	ps := n.Table().Snapshot()
	for i := range ps {
		ps[i] = n.withIcon(ps[i])
	}
	return ps
}

// This user's picture: chosen in Settings, kept in the profile as "picture" (a small PNG or
// JPEG made from the chosen image), and sent to iptux and FeiGo colleagues as they come
// online (lan.Node.SendIcon) and to those online when it changes.

// pictureSide is the side of the picture sent, in pixels.
const pictureSide = 64

func picturePath(profileDir string) string { return filepath.Join(profileDir, "picture") }

// loadPicture gives the profile's picture to the LAN node, if there is a valid one.
func (n *Node) loadPicture() {
	f, err := imgstore.OpenFile(picturePath(n.profileDir))
	if err != nil {
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, lan.MaxSentIcon+1))
	f.Close()
	if err != nil {
		return
	}
	if _, err := imgstore.Check(bytes.NewReader(b)); err != nil || len(b) > lan.MaxSentIcon {
		n.log.Warn("my picture in the profile is not one: not sent", "file", picturePath(n.profileDir))
		return
	}
	n.Node.SetIcon(b)
}

// Picture is the file of this user's picture, "" for none (or for anything but the regular
// file SetPicture writes: the window shows it, and a FIFO would hang its loading).
func (n *Node) Picture() string {
	p := picturePath(n.profileDir)
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return p
}

// SetPicture makes this user's picture from the image file at path (PNG, JPEG or GIF, within
// imgstore's bounds), keeps it in the profile and sends it to the iptux and FeiGo colleagues
// online; "" removes it (nothing is sent: they keep the last one until they restart).
func (n *Node) SetPicture(path string) error {
	dst := picturePath(n.profileDir)
	if path == "" {
		n.Node.SetIcon(nil)
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := makePicture(path)
	if err != nil {
		return err
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	n.Node.SetIcon(b)
	n.sentIcon.Range(func(k, _ any) bool { n.sentIcon.Delete(k); return true })
	for _, p := range n.Table().Snapshot() {
		if n.Node.SendIcon(p) {
			n.sentIcon.Store(p.ID, true)
		}
	}
	return nil
}

// makePicture reads the image at path (bounded as imgstore bounds images) and makes the
// picture sent of it: pictureSide pixels square, the image fitted in, as PNG, or as JPEG on
// white when the PNG is too large for iptux's datagram.
func makePicture(path string) ([]byte, error) {
	f, err := imgstore.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := imgstore.Check(f); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", imgstore.ErrFormat, err)
	}
	sb := src.Bounds()
	w, h := pictureSide, pictureSide
	if sb.Dx() > sb.Dy() {
		h = max(1, pictureSide*sb.Dy()/sb.Dx())
	} else {
		w = max(1, pictureSide*sb.Dx()/sb.Dy())
	}
	dst := image.NewNRGBA(image.Rect(0, 0, pictureSide, pictureSide))
	at := image.Rect((pictureSide-w)/2, (pictureSide-h)/2, (pictureSide-w)/2+w, (pictureSide-h)/2+h)
	draw.CatmullRom.Scale(dst, at, src, sb, draw.Over, nil)
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, err
	}
	if out.Len() <= lan.MaxSentIcon {
		return out.Bytes(), nil
	}
	onWhite := image.NewRGBA(dst.Bounds())
	draw.Draw(onWhite, onWhite.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(onWhite, onWhite.Bounds(), dst, image.Point{}, draw.Over)
	out.Reset()
	if err := jpeg.Encode(&out, onWhite, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	if out.Len() > lan.MaxSentIcon {
		return nil, fmt.Errorf("the picture takes %d bytes, more than %d", out.Len(), lan.MaxSentIcon)
	}
	return out.Bytes(), nil
}

// sendIconTo sends this user's picture to p as they come online, and once to a colleague
// updated before it went (a FeiGo colleague proves their key after they are listed).
func (n *Node) sendIconTo(p peers.Peer, online bool) {
	if !online {
		if _, sent := n.sentIcon.Load(p.ID); sent {
			return
		}
	}
	if n.Node.SendIcon(p) {
		n.sentIcon.Store(p.ID, true)
	}
}
