package trust

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// PinsFile is the pinned keys' file name in the profile directory.
const PinsFile = "pins.json"

// MaxPins bounds the pins kept: a hostile LAN can make new identities at will, so beyond
// this the newest unverified pins are forgotten (verified ones never are): a flood of new
// identities pushes out only itself, never a colleague pinned long ago.
const MaxPins = 10000

// Pin is what this node knows of one colleague's key.
type Pin struct {
	// Name is the stable name the key was first seen with: a FeiGo ID (FGID).
	Name string `json:"name"`
	Key  []byte `json:"key"`
	Nick string `json:"nick,omitempty"`
	// FirstSeen is when the key was pinned; Verified is set when the user compared the
	// safety code and confirmed it.
	FirstSeen time.Time `json:"first_seen"`
	Verified  bool      `json:"verified,omitempty"`
	// Changed is set when a colleague who was verified showed another key under the same
	// name: the warning stays until the new key is verified.
	Changed bool `json:"changed,omitempty"`
}

// Fingerprint is the pinned key's fingerprint.
func (p Pin) Fingerprint() Fingerprint { return FingerprintOf(p.Key) }

// Verdict is what Pins.See makes of a name and key.
type Verdict int

const (
	// Pinned: the name is new; the key is pinned to it now.
	Pinned Verdict = iota
	// Known: the key is the one pinned to the name.
	Known
	// Conflict: another key is pinned to the name: this is someone else claiming it.
	Conflict
)

// Pins are the keys pinned on first sight, by name, kept in the profile (owner-only).
// Safe for concurrent use.
type Pins struct {
	mu   sync.Mutex
	path string
	now  func() time.Time
	// What the LAN teaches (a new pin, a nickname) is written SaveDelay later, together with
	// whatever else it taught meanwhile, so that thirty colleagues coming online, or a flood
	// of new identities, cost one write of the file and not one each; the user's decisions
	// (Verify, Replace) are written at once. Flush writes what is pending.
	dirty   bool
	timer   *time.Timer
	pending sync.WaitGroup // the timer's write, while one is scheduled or running
	saveErr error          // the last deferred write's error, reported by Flush
	closed  bool
	by      map[string]*Pin // name → pin
}

// OpenPins reads the pins kept in dir ("" keeps them in memory only).
func OpenPins(dir string, now func() time.Time) (*Pins, error) {
	if now == nil {
		now = time.Now
	}
	ps := &Pins{now: now, by: map[string]*Pin{}}
	if dir == "" {
		return ps, nil
	}
	ps.path = filepath.Join(dir, PinsFile)
	b, err := os.ReadFile(ps.path)
	if errors.Is(err, os.ErrNotExist) {
		return ps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pinned keys: %w", err)
	}
	var list []Pin
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("pinned keys %s are damaged (%v): move the file away to pin afresh", ps.path, err)
	}
	for i := range list {
		if len(list[i].Key) == ed25519.PublicKeySize && list[i].Name != "" {
			ps.by[list[i].Name] = &list[i]
		}
	}
	return ps, nil
}

// See checks key against the key pinned to name, pinning it if name is new.
func (ps *Pins) See(name string, key ed25519.PublicKey, nick string) (Pin, Verdict, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.by[name]; ok {
		if ed25519.PublicKey(p.Key).Equal(key) {
			if nick != "" && p.Nick != nick {
				p.Nick = nick
				return *p, Known, ps.saveSoonLocked()
			}
			return *p, Known, nil
		}
		return *p, Conflict, nil
	}
	p := &Pin{Name: name, Key: append([]byte(nil), key...), Nick: nick, FirstSeen: ps.now()}
	ps.by[name] = p
	ps.evictLocked()
	return *p, Pinned, ps.saveSoonLocked()
}

// SaveDelay is how long a pin learnt from the LAN may wait to be written.
const SaveDelay = time.Second

// saveSoonLocked schedules a write of the pins SaveDelay from now, unless one is scheduled;
// after Flush(true) it writes at once.
func (ps *Pins) saveSoonLocked() error {
	if ps.path == "" {
		return nil
	}
	ps.dirty = true
	if ps.closed {
		return ps.saveLocked()
	}
	if ps.timer != nil {
		return nil
	}
	ps.pending.Add(1)
	ps.timer = time.AfterFunc(SaveDelay, func() {
		defer ps.pending.Done()
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.timer = nil
		if ps.dirty {
			ps.saveErr = ps.saveLocked()
		}
	})
	return nil
}

// Flush writes the pins not written yet and reports the error of the last deferred write,
// if any; after Flush with close set, every later change is written at once (the node
// calls it when it stops, so nothing waits on a timer past its end).
func (ps *Pins) Flush(close bool) error {
	ps.mu.Lock()
	if ps.timer != nil && ps.timer.Stop() {
		ps.timer = nil
		ps.pending.Done()
	}
	ps.closed = ps.closed || close
	var err error
	if ps.dirty {
		err = ps.saveLocked()
	}
	err, ps.saveErr = errors.Join(ps.saveErr, err), nil
	ps.mu.Unlock()
	ps.pending.Wait() // a write the timer had begun
	return err
}

// Get returns the pin of name.
func (ps *Pins) Get(name string) (Pin, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.by[name]
	if !ok {
		return Pin{}, false
	}
	return *p, true
}

// Verify marks name's pinned key verified (the user compared the safety code).
func (ps *Pins) Verify(name string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.by[name]
	if !ok {
		return fmt.Errorf("no key is pinned for %q", name)
	}
	p.Verified, p.Changed = true, false
	return ps.saveLocked()
}

// Replace pins key to name in place of the key pinned before, as the user decided after a
// warning. A name that was verified keeps a Changed mark until the new key is verified.
func (ps *Pins) Replace(name string, key ed25519.PublicKey, nick string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	old, ok := ps.by[name]
	p := &Pin{Name: name, Key: append([]byte(nil), key...), Nick: nick, FirstSeen: ps.now()}
	if ok && old.Verified {
		p.Changed = true
	}
	ps.by[name] = p
	return ps.saveLocked()
}

// All returns every pin, by name.
func (ps *Pins) All() []Pin {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]Pin, 0, len(ps.by))
	for _, p := range ps.by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (ps *Pins) evictLocked() {
	if len(ps.by) <= MaxPins {
		return
	}
	var unverified []*Pin
	for _, p := range ps.by {
		if !p.Verified {
			unverified = append(unverified, p)
		}
	}
	sort.Slice(unverified, func(i, j int) bool { return unverified[i].FirstSeen.After(unverified[j].FirstSeen) })
	for _, p := range unverified[:min(len(unverified), len(ps.by)-MaxPins)] {
		delete(ps.by, p.Name)
	}
}

func (ps *Pins) saveLocked() error {
	if ps.path == "" {
		return nil
	}
	list := make([]Pin, 0, len(ps.by))
	for _, p := range ps.by {
		list = append(list, *p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	b, err := json.MarshalIndent(list, "", " ")
	if err != nil {
		return err
	}
	tmp := ps.path + ".tmp"
	os.Remove(tmp) // never write through a file someone else left there
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("saving pinned keys: %w", err)
	}
	if err := os.Rename(tmp, ps.path); err != nil {
		return fmt.Errorf("saving pinned keys: %w", err)
	}
	ps.dirty = false
	return nil
}
