package lan

// Attacker's pass over today's trust policy (legacy=refuse, encryption=preferred).

import (
	"net"
	"testing"
	"time"

	"feigo/ipmsg"
)

// Claim (trust policy): with legacy=refuse nothing unencrypted and unverified is listed,
// and a colleague who proved a key is never shown in clear in its place.
//
// Attack: under legacy=refuse + encryption=preferred, a host with no key of its own copies
// Bob's announcement (his nick, user, host, FeiGo ID and public key) from its own address
// and keeps its TCP port closed. Nothing answers the proof, so "preferred" lists it by its
// address, unencrypted: a legacy-grade peer in all but name got past "refuse", shown with
// Bob's nick next to the real Bob, and Alice's messages to it go in clear.
func TestAttackPreferredListsCopiedKeyDespiteRefuse(t *testing.T) {
	a, b := securePair(t, func(c *Config) { c.RefuseLegacy = true; c.PlaintextFallback = true })
	r := newRawPeer(t)
	if v, ok := reservedTCP.LoadAndDelete(r.conn); ok {
		v.(*net.TCPListener).Close() // UDP only: its TCP port refuses connections
	}
	body := string(ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, body)
	if !waitFor(5*time.Second, func() bool { _, ok := a.Table().ByAddr(r.addr()); return ok }) {
		return // held
	}
	p, _ := a.Table().ByAddr(r.addr())
	t.Errorf("BREAK: under legacy=refuse + encryption=preferred, a keyless host that copied Bob's announcement is listed: id=%q nick=%q secure=%v warning=%q", p.ID, p.Nick, p.Secure, p.Warning)
	if q, ok := colleague(a, "id-Bob"); !ok || q.Addr != b.addr || !q.Secure {
		t.Errorf("BREAK: the real Bob was displaced: %+v", q)
	}
}

// Held check: under encryption=required (no plaintext fallback) the same copied announcement
// with a closed TCP port is listed nowhere.
func TestAttackRequiredListsNoCopiedKey(t *testing.T) {
	a, b := securePair(t, func(c *Config) { c.RefuseLegacy = true; c.PlaintextFallback = false })
	r := newRawPeer(t)
	if v, ok := reservedTCP.LoadAndDelete(r.conn); ok {
		v.(*net.TCPListener).Close()
	}
	body := string(ipmsg.EntryBody(ipmsg.UTF8, b.Self()))
	r.send(a.addr, "1_feigo 0.1.0", "bob", "host-Bob", ipmsg.BrEntry, body)
	if waitFor(2*time.Second, func() bool { _, ok := a.Table().ByAddr(r.addr()); return ok }) {
		p, _ := a.Table().ByAddr(r.addr())
		t.Errorf("BREAK: under encryption=required a host with a copied key and a closed port is listed: %+v", p)
	}
}

// Claim: legacy=refuse drops legacy clients. Attack: a legacy host that never announced
// sends Alice a message directly; it must not reach her as a message event.
func TestAttackRefuseLegacyUnannouncedMessage(t *testing.T) {
	a, _ := securePair(t, func(c *Config) { c.RefuseLegacy = true })
	r := newRawPeer(t)
	r.send(a.addr, "1", "mallory", "evil", ipmsg.SendMsg|ipmsg.SendCheckOpt, "click http://evil/\x00")
	if got, ok := r.quiet(time.Second); ok && got.Cmd.Mode() == ipmsg.RecvMsg {
		t.Errorf("BREAK: under legacy=refuse, a legacy host's message was acknowledged (RECVMSG %q)", got.Body)
	}
	deadline := time.After(time.Second)
	for {
		select {
		case e := <-a.events:
			if e.Type == "message" {
				t.Fatalf("BREAK: under legacy=refuse, a legacy host's message reached Alice: %+v", e)
			}
		case <-deadline:
			return
		}
	}
}
