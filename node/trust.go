package node

import (
	"crypto/ed25519"
	"fmt"

	"feigo/control"
	"feigo/peers"
	"feigo/trust"
)

// Verify shows the safety code this node shares with the colleague named query and, with
// confirm, pins the colleague's key as verified: the user read the code aloud with them and
// it matched. A colleague whose key is not the one pinned to their name (a warning in the
// list) is verified with their new key, which replaces the old. fingerprint, when not "",
// is the key whose code the user compared: if the colleague now shows another, nothing is
// verified.
func (n *Node) Verify(query string, confirm bool, fingerprint string) (control.Verification, error) {
	m := peers.Find(n.Table().Snapshot(), query)
	switch {
	case len(m) > 1:
		return control.Verification{}, ambiguous(query, m)
	case len(m) == 0:
		return control.Verification{}, fmt.Errorf("%w: %q is not online; verify a colleague while they are", ErrNoContact, query)
	}
	p := m[0]
	if !p.Secure || len(p.Key) != ed25519.PublicKeySize || p.PinName == "" {
		return control.Verification{}, fmt.Errorf("%s (%s) has proved no FeiGo key: only FeiGo colleagues can be verified", p.Nick, p.Client)
	}
	key := ed25519.PublicKey(p.Key)
	v := control.Verification{PeerID: p.ID, Nick: p.Nick, Fingerprint: p.Fingerprint,
		MyFingerprint: n.id.Fingerprint().String(), SafetyCode: trust.SafetyCode(n.id.Pub, key), Verified: p.Verified}
	if pin, ok := n.pins.Get(p.PinName); ok && !ed25519.PublicKey(pin.Key).Equal(key) {
		v.KeyChangedFrom = pin.Fingerprint().String()
	}
	if !confirm {
		return v, nil
	}
	if fingerprint != "" && fingerprint != p.Fingerprint {
		return v, fmt.Errorf("%s's key changed since its safety code was shown: compare the new code", p.Nick)
	}
	if v.KeyChangedFrom != "" {
		if err := n.pins.Replace(p.PinName, key, p.Nick); err != nil {
			return v, err
		}
		// The conversation with the old key is the colleague's: it follows the new one.
		n.rename(v.KeyChangedFrom, p.ID)
	}
	if err := n.pins.Verify(p.PinName); err != nil {
		return v, err
	}
	n.Node.Reprove(p.ID)
	v.Verified, v.KeyChangedFrom = true, ""
	return v, nil
}
