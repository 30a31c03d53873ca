package node

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"feigo/event"
	"feigo/imgstore"
	"feigo/lan"
	"feigo/peers"
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
