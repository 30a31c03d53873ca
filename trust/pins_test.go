package trust

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func key(i int) ed25519.PublicKey {
	seed := make([]byte, 32)
	seed[0], seed[1] = byte(i), byte(i>>8)
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

func TestPinsFirstKeyWins(t *testing.T) {
	dir := t.TempDir()
	ps, err := OpenPins(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Flush(true)
	if _, v, err := ps.See("alice-id", key(1), "Alice"); v != Pinned || err != nil {
		t.Fatalf("first sight: %v %v", v, err)
	}
	if _, v, _ := ps.See("alice-id", key(1), "Alice"); v != Known {
		t.Fatalf("same key: %v", v)
	}
	// Someone else claims Alice's name with their own key: a conflict, and the pin stays.
	if p, v, _ := ps.See("alice-id", key(2), "Alice"); v != Conflict || !ed25519.PublicKey(p.Key).Equal(key(1)) {
		t.Fatalf("impostor: %v %x", v, p.Key)
	}
	if err := ps.Verify("alice-id"); err != nil {
		t.Fatal(err)
	}
	// Kept across a restart, owner-only.
	again, err := OpenPins(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := again.Get("alice-id")
	if !ok || !p.Verified || !ed25519.PublicKey(p.Key).Equal(key(1)) {
		t.Fatalf("reloaded %+v %v", p, ok)
	}
	if st, err := os.Stat(filepath.Join(dir, PinsFile)); err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Fatalf("pins file %v %v", st, err)
	}
	// The user accepts a new key for a verified colleague: it is marked changed until verified.
	if err := again.Replace("alice-id", key(3), "Alice"); err != nil {
		t.Fatal(err)
	}
	if p, _ := again.Get("alice-id"); p.Verified || !p.Changed {
		t.Fatalf("after a key change: %+v", p)
	}
	if err := again.Verify("alice-id"); err != nil {
		t.Fatal(err)
	}
	if p, _ := again.Get("alice-id"); !p.Verified || p.Changed {
		t.Fatalf("after verifying the new key: %+v", p)
	}
	if err := again.Verify("nobody"); err == nil {
		t.Fatal("verified a name never seen")
	}
	os.WriteFile(filepath.Join(dir, PinsFile), []byte("{"), 0o600)
	if _, err := OpenPins(dir, nil); err == nil {
		t.Fatal("damaged pins accepted silently")
	}
}

// A flood of new identities cannot grow the pins without bound, nor push out a verified one.
func TestPinsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	ps, _ := OpenPins("", func() time.Time { now = now.Add(time.Second); return now })
	ps.See("boss", key(0), "Boss")
	ps.Verify("boss")
	ps.See("colleague", key(1), "Li") // pinned long ago, never verified
	for i := 2; i <= MaxPins+50; i++ {
		ps.See(fmt.Sprint("x", i), key(i), "")
	}
	if n := len(ps.All()); n != MaxPins {
		t.Fatalf("%d pins kept", n)
	}
	if _, ok := ps.Get("boss"); !ok {
		t.Fatal("the verified pin was evicted")
	}
	if _, ok := ps.Get("colleague"); !ok {
		t.Fatal("a flood of new identities pushed out a colleague pinned before it")
	}
	if _, ok := ps.Get(fmt.Sprint("x", MaxPins+50)); ok {
		t.Fatal("the newest unverified pin was kept over the bound")
	}
}

// What the LAN teaches is written once per SaveDelay, not once per colleague; the user's
// decisions at once; Flush writes what waits, and after Flush(true) every change at once.
func TestPinsSavesCoalesced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, PinsFile)
	ps, err := OpenPins(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Flush(true)
	for i := range 30 {
		if _, v, err := ps.See(fmt.Sprint("id-", i), key(i), "n"); v != Pinned || err != nil {
			t.Fatal(v, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the pins were written at once (%v): thirty colleagues would cost thirty writes", err)
	}
	// The deferred write comes by itself.
	deadline := time.Now().Add(10 * SaveDelay)
	for {
		again, err := OpenPins(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.All()) == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v only %d pins are on disk", 10*SaveDelay, len(again.All()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A verification is on disk when Verify returns.
	if err := ps.Verify("id-3"); err != nil {
		t.Fatal(err)
	}
	if again, _ := OpenPins(dir, nil); !func() bool { p, _ := again.Get("id-3"); return p.Verified }() {
		t.Fatal("a verification waited for the timer")
	}
	ps.See("id-late", key(100), "late")
	if err := ps.Flush(true); err != nil {
		t.Fatal(err)
	}
	if again, _ := OpenPins(dir, nil); len(again.All()) != 31 {
		t.Fatalf("Flush left %d pins on disk", len(again.All()))
	}
	ps.See("id-closed", key(101), "after")
	if again, _ := OpenPins(dir, nil); len(again.All()) != 32 {
		t.Fatal("after Flush(true) a new pin was not written at once")
	}
	// A write that fails is reported by the next Flush.
	ps2, _ := OpenPins(filepath.Join(dir, "gone"), nil)
	ps2.See("x", key(5), "x")
	if err := ps2.Flush(true); err == nil {
		t.Fatal("a failed write went unreported")
	}
}
