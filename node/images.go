package node

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/imgstore"
	"feigo/lan"
	"feigo/xfer"
)

// This file is the node's side of images shown inline in messages: those sent are copied
// into the profile's image store and referenced from the history before they go; those
// received are fetched by the transfer engine into the store's "incoming" folder, then
// validated into the store (imgstore bounds them) and referenced from their message's record.
// Clearing or pruning the history removes the images it no longer references.

// imageDirs are the profile's image store and its staging folder for incoming images.
func imageDirs(profileDir string) (store, incoming string) {
	store = filepath.Join(profileDir, "images")
	return store, filepath.Join(store, "incoming")
}

// Images is the profile's image store (nil when it could not be opened).
func (n *Node) Images() *imgstore.Store { return n.images }

// historyImage is a stored image as the history references it, at byte offset at.
func historyImage(im imgstore.Image, at int, name string) history.Image {
	return history.Image{SHA256: im.SHA256, Format: im.Format, Width: im.Width, Height: im.Height, Size: im.Size, Pos: at, Name: name}
}

// ImagePaths fills in the Path of each image of rs (where the store keeps it) for callers
// that open them (the window, `feigo history --json`).
func (n *Node) ImagePaths(rs []history.Record) {
	fillImagePaths(n.images, rs)
}

func fillImagePaths(s *imgstore.Store, rs []history.Record) {
	if s == nil {
		return
	}
	for i := range rs {
		for j := range rs[i].Images {
			im := &rs[i].Images[j]
			if p, err := s.Path(im.SHA256, im.Format); err == nil {
				im.Path = p
			}
		}
	}
}

// messageImages are a message's images as events carry them.
func (n *Node) messageImages(ims []history.Image) []lan.MessageImage {
	out := make([]lan.MessageImage, 0, len(ims))
	for _, im := range ims {
		m := lan.MessageImage{SHA256: im.SHA256, Format: im.Format, Width: im.Width, Height: im.Height, Size: im.Size, At: im.Pos, Name: im.Name}
		if n.images != nil {
			m.Path, _ = n.images.Path(im.SHA256, im.Format)
			m.Thumb, _ = n.images.Thumb(im.SHA256)
		}
		out = append(out, m)
	}
	return out
}

// SendImages sends text with images shown inline at their places (xfer.Engine.SendImages) to
// the peer at to; its message_delivered or message_failed event carries sendID. The images are copied into the profile's image store and the message is
// in the history, with them, before the offer leaves; it ends delivered when the peer
// acknowledged the offer (the peer then fetches the images), failed otherwise.
func (n *Node) SendImages(ctx context.Context, sendID, text string, images []xfer.OutImage, to netip.AddrPort) (history.Record, error) {
	if n.Engine == nil || n.images == nil {
		return history.Record{}, errors.New("file transfers are off: images cannot be sent")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if len(text) > lan.MaxText {
		return history.Record{}, lan.ErrTooLong
	}
	if err := n.checkEncrypted([]netip.AddrPort{to}); err != nil {
		return history.Record{}, err
	}
	r := n.recordFor(to)
	r.Direction, r.Text, r.State = event.Out, text, history.StateSending
	n.imgMu.Lock() // no pruning between adding the images and referencing them
	// The recipients fetch the store's copies, which the message's record keeps: the files
	// given may go once this returns (a pasted image, a screenshot, in a temporary file).
	served := make([]xfer.OutImage, len(images))
	for i, in := range images {
		im, err := n.images.AddFile(in.Path)
		if err == nil {
			served[i].Path, err = n.images.Path(im.SHA256, im.Format)
		}
		if err != nil {
			n.imgMu.Unlock()
			return history.Record{}, err
		}
		name := cmp.Or(in.Name, filepath.Base(in.Path))
		served[i].At, served[i].Name = in.At, name
		r.Images = append(r.Images, historyImage(im, min(max(in.At, 0), len(text)), name))
	}
	images = served
	id, err := n.History.Add(r)
	n.imgMu.Unlock()
	if err != nil {
		n.log.Error("the history cannot store a message being sent", "err", err)
	}
	r.ID = id
	t, err := n.Engine.SendImages(ctx, text, images, to)
	d := lan.Delivery{Message: lan.Message{PacketNo: t.PacketNo, Addr: to, Text: text, PeerID: r.PeerID, Nick: r.Nick, User: r.User, Host: r.Host, Time: time.Now()}}
	switch {
	case err != nil:
		d.Err = err
	case len(t.Recipients) == 1 && t.Recipients[0].State == xfer.StateFailed:
		d.Err = errors.New(t.Recipients[0].Error)
	default:
		d.Encrypted = len(t.Recipients) == 1 && len(t.Recipients[0].Key) > 0
	}
	d.Message.Images = n.messageImages(r.Images)
	n.settle(id, d, true, sendID)
	r.PacketNo = t.PacketNo
	if d.Err != nil {
		r.State, r.Error = history.StateFailed, d.Err.Error()
		return r, d.Err
	}
	r.State = history.StateDelivered
	fillImagePaths(n.images, []history.Record{r})
	return r, nil
}

// takeImages files the images of an ended incoming inline transfer: each fetched one is
// validated into the image store (a file that is not a bounded PNG, JPEG or GIF is dropped)
// and removed from the staging folder; the message they came with gets them in the history
// (a message of its own when it had no text), and a message_images event says so.
func (n *Node) takeImages(t xfer.Transfer) {
	n.imgMu.Lock() // no pruning between adding the images and referencing them
	defer n.imgMu.Unlock()
	var ims []history.Image
	for _, f := range t.Files {
		if f.Path == "" {
			// Not fetched (the transfer failed, and nothing fetches a message's images
			// again): what came of it goes.
			if part := filepath.Join(t.Dest, f.Part); f.Part != "" && t.Final() {
				if rel, err := filepath.Rel(n.incoming, part); err == nil && filepath.IsLocal(rel) {
					os.Remove(part)
				}
			}
			continue
		}
		if rel, err := filepath.Rel(n.incoming, f.Path); err != nil || !filepath.IsLocal(rel) {
			n.log.Warn("an embedded image outside the staging folder is ignored", "path", f.Path)
			continue
		}
		im, err := n.images.AddFile(f.Path)
		os.Remove(f.Path)
		if err != nil {
			n.log.Warn("an embedded image was dropped", "from", t.Addr, "name", f.Name, "err", err)
			continue
		}
		ims = append(ims, historyImage(im, f.At, f.Name))
	}
	if len(ims) == 0 {
		return
	}
	r := history.Record{Time: t.Created, PeerID: t.PeerID, User: t.User, Host: t.Host, Addr: t.Addr.String(), Nick: t.Nick,
		Direction: event.In, State: history.StateReceived, PacketNo: t.PacketNo, Encrypted: len(t.SenderKey) > 0}
	if r.PeerID == "" {
		if c, ok := n.knownContact(r.User, r.Host, r.Addr); ok {
			r.Peer, r.PeerID, r.Nick = c.Peer, c.PeerID, c.Nick
		}
	}
	if r.Peer == "" {
		r.Peer = history.PeerKey(r.PeerID, r.User, r.Host)
	}
	id, found, err := n.History.AddImages(r.Peer, event.In, t.PacketNo, ims)
	if err == nil && !found {
		r.Images = ims
		id, err = n.History.Add(r)
	}
	if err != nil {
		n.log.Error("storing embedded images in the history", "err", err)
		return
	}
	m := lan.Message{PacketNo: t.PacketNo, PeerID: r.PeerID, Nick: r.Nick, User: r.User, Host: r.Host, Addr: t.Addr,
		Encrypted: r.Encrypted, Time: time.Now(), Images: n.messageImages(ims)}
	n.emit(lan.Event{Type: event.MessageImages, Time: time.Now(), Message: &m, HistoryID: id})
}

// pruneImages removes from the image store the images the history no longer references.
func (n *Node) pruneImages() {
	if n.images == nil {
		return
	}
	n.imgMu.Lock()
	defer n.imgMu.Unlock()
	use, err := n.History.ImagesInUse()
	if err != nil {
		n.log.Error("pruning images", "err", err)
		return // never remove images on a history that could not be read
	}
	if gone, err := n.images.Prune(func(sha string) bool { return use[sha] }); err != nil {
		n.log.Error("pruning images", "err", err)
	} else if gone > 0 {
		n.log.Info("images pruned", "count", gone)
	}
}
