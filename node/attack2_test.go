package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"feigo/event"
	"feigo/history"
	"feigo/lan"
	"feigo/profile"
	"feigo/trust"
)

// Claim (today's change 2): the history kept under a FeiGo ID is moved only to the key
// pinned under that ID "once the key pinned under that FeiGo ID proves it" — an attacker
// cannot get a colleague's history or queue moved to its own key.
//
// Attack: Alice's profile is from before IDs were keys: her history (and a queued message)
// know Bob by his FeiGo ID, which Bob broadcasts in every announcement. Before Bob comes
// online, Mallory, with a key of her own, announces Bob's FeiGo ID. Nothing is pinned under
// it yet, so her key is pinned there on first sight and proves it: Bob's history is renamed
// to Mallory's fingerprint and the message queued for Bob is delivered to Mallory. Every
// profile from before the trust layer (pins began today) is in this state for every colleague
// until that colleague first proves a key; Mallory need not be verified, only first.
func TestAttackHistoryRenamedToFirstKeyClaimingTheID(t *testing.T) {
	dirA, dirB, dirM := t.TempDir(), t.TempDir(), t.TempDir()
	pb, err := profile.Open(dirB)
	if err != nil {
		t.Fatal(err)
	}
	// Mallory's profile carries Bob's (public) FeiGo ID and her own key.
	ents, _ := os.ReadDir(dirB)
	for _, e := range ents {
		if e.Name() == trust.KeyFile || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dirB, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dirM, e.Name()), b, 0o600)
	}
	pm, err := profile.Open(dirM)
	if err != nil || pm.ID != pb.ID {
		t.Fatalf("Mallory's profile: %v %v", pm.ID, err)
	}
	mKey, err := trust.LoadOrCreate(dirM)
	if err != nil {
		t.Fatal(err)
	}
	old, err := history.Open(filepath.Join(dirA, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() }) // also when the test stops early (closing twice is harmless)
	t0 := time.Now().Add(-time.Hour)
	bobAt := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // where Alice last saw Bob; Mallory is elsewhere
	for _, r := range []history.Record{
		{PeerID: pb.ID, Nick: "Bob", Addr: bobAt, Direction: event.In, Text: "salary review notes", State: history.StateReceived, Time: t0},
		{PeerID: pb.ID, Nick: "Bob", Addr: bobAt, Direction: event.Out, Text: "the payroll password is hunter2", State: history.StateQueued, Time: t0.Add(time.Minute)},
	} {
		if _, err := old.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	portA, portM := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", portA, portM, nil)
	m := startLoop(t, dirM, "Mallory", portM, portA, nil)
	fp := mKey.Fingerprint().String()
	a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.ID == fp })
	deadline := time.After(3 * time.Second)
wait:
	for {
		select {
		case ev := <-m.events:
			if ev.Type == "message" {
				t.Errorf("BREAK: the message queued for Bob (by his FeiGo ID) was delivered to Mallory's key: %q", ev.Message.Text)
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	if rs, _ := a.History.Query(history.Filter{Peer: fp}); len(rs) > 0 {
		t.Errorf("BREAK: Bob's history (%d messages, first %q) was renamed to Mallory's fingerprint", len(rs), rs[0].Text)
	}
}
