package node

import (
	"context"
	"feigo/control"
	"net/netip"
	"slices"

	"feigo/history"
	"feigo/profile"
	"feigo/xfer"
)

// ErrUnencrypted is control.ErrUnencrypted: what is refused by the policy on clients that
// cannot encrypt (a *control.UnencryptedError says who).
var ErrUnencrypted = control.ErrUnencrypted

// legacyPolicy is Settings.Legacy with the colleagues allowed under "ask".
type legacyPolicy struct {
	mode    string
	allowed map[string]bool
}

// ApplyPolicy applies the profile's trust policy (Encryption, Legacy, LegacyAllowed) from
// now on; a colleague allowed with AllowUnencrypted stays allowed.
func (n *Node) ApplyPolicy(st profile.Settings) {
	n.Node.SetPolicy(st.Encryption == profile.EncryptionPreferred, st.Legacy == profile.LegacyRefuse)
	for {
		old := n.policy.Load()
		pol := &legacyPolicy{mode: st.Legacy, allowed: map[string]bool{}}
		for _, id := range st.LegacyAllowed {
			pol.allowed[id] = true
		}
		if old != nil {
			for id := range old.allowed {
				pol.allowed[id] = true
			}
		}
		if n.policy.CompareAndSwap(old, pol) {
			return
		}
	}
}

// AllowUnencrypted lets messages and files go to the colleagues at these addresses though
// they cannot encrypt, under the "ask" policy, until the node stops (the window also saves
// the choice in the profile). It returns their peer IDs.
func (n *Node) AllowUnencrypted(to ...netip.AddrPort) []string {
	var ids []string
	for {
		old := n.policy.Load()
		pol := &legacyPolicy{allowed: map[string]bool{}}
		if old != nil {
			pol.mode = old.mode
			for id := range old.allowed {
				pol.allowed[id] = true
			}
		}
		ids = ids[:0]
		for _, addr := range to {
			id := addr.String()
			if p, ok := n.Table().ByAddr(addr); ok {
				id = p.ID
			}
			pol.allowed[id] = true
			ids = append(ids, id)
		}
		if n.policy.CompareAndSwap(old, pol) {
			return slices.Clone(ids)
		}
	}
}

// checkEncrypted refuses, before anything is sent, a message or file to a colleague who
// cannot encrypt when the policy says so.
func (n *Node) checkEncrypted(to []netip.AddrPort) error {
	pol := n.policy.Load()
	if pol == nil || pol.mode == "" || pol.mode == profile.LegacyAllow {
		return nil
	}
	for _, addr := range to {
		p, listed := n.Table().ByAddr(addr)
		if listed && p.Secure {
			continue
		}
		e := &control.UnencryptedError{Addr: addr, PeerID: addr.String(), Refused: pol.mode == profile.LegacyRefuse}
		if listed {
			e.PeerID, e.Nick, e.Client = p.ID, p.Nick, p.Client
		}
		if e.Refused || !pol.allowed[e.PeerID] {
			return e
		}
	}
	return nil
}

// SendFiles offers files as xfer.Engine.SendFiles does, once the policy lets them go to
// every recipient.
func (n *Node) SendFiles(ctx context.Context, text string, paths []string, to ...netip.AddrPort) (xfer.Transfer, error) {
	if err := n.checkEncrypted(to); err != nil {
		return xfer.Transfer{}, err
	}
	return n.Engine.SendFiles(ctx, text, paths, to...)
}

// queueAllowed is the policy's check for a message queued for contact c: a colleague online
// is checked as a message to them is; one offline is checked when the queue is delivered.
func (n *Node) queueAllowed(c history.Contact) error {
	for _, p := range n.Table().Snapshot() {
		if p.ID == c.PeerID && c.PeerID != "" {
			return n.checkEncrypted([]netip.AddrPort{p.Addr})
		}
	}
	return nil
}
