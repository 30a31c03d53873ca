package node

import (
	"context"
	"maps"
	"net/netip"

	"feigo/control"
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
	n.Node.SetPolicy(lanPolicy(st))
	n.updatePolicy(func(pol *legacyPolicy) {
		pol.mode = st.Legacy
		for _, id := range st.LegacyAllowed {
			pol.allowed[id] = true
		}
	})
}

// lanPolicy is the part of the policy the LAN node enforces itself (lan.Config's
// PlaintextFallback and RefuseLegacy).
func lanPolicy(st profile.Settings) (plaintextFallback, refuseLegacy bool) {
	return st.Encryption == profile.EncryptionPreferred, st.Legacy == profile.LegacyRefuse
}

// AllowUnencrypted lets messages and files go to the colleagues at these addresses though
// they cannot encrypt, under the "ask" policy, until the node stops (the window also saves
// the choice in the profile). It returns their peer IDs.
func (n *Node) AllowUnencrypted(to ...netip.AddrPort) []string {
	ids := make([]string, len(to))
	for i, addr := range to {
		ids[i] = addr.String()
		if p, ok := n.Table().ByAddr(addr); ok {
			ids[i] = p.ID
		}
	}
	n.updatePolicy(func(pol *legacyPolicy) {
		for _, id := range ids {
			pol.allowed[id] = true
		}
	})
	return ids
}

// updatePolicy replaces the policy with a copy of it that change modified: the colleagues
// allowed so far stay allowed, whichever of two callers comes first.
func (n *Node) updatePolicy(change func(pol *legacyPolicy)) {
	for {
		old := n.policy.Load()
		pol := &legacyPolicy{allowed: map[string]bool{}}
		if old != nil {
			pol.mode = old.mode
			maps.Copy(pol.allowed, old.allowed)
		}
		change(pol)
		if n.policy.CompareAndSwap(old, pol) {
			return
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
	if p, ok := n.Table().Get(c.PeerID); ok && c.PeerID != "" {
		return n.checkEncrypted([]netip.AddrPort{p.Addr})
	}
	return nil
}
