package peers

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTable(t *testing.T) (*Table, *fakeClock, *[]Event) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	tb := New(clk.now)
	var evs []Event
	cancel := tb.Subscribe(func(e Event) { evs = append(evs, e) })
	t.Cleanup(cancel)
	return tb, clk, &evs
}

func addr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestUpsertEvents(t *testing.T) {
	tb, clk, evs := newTable(t)
	p := Peer{ID: "a", Nick: "Alice", Addr: addr("10.0.0.1:2425"), Status: Online, Caps: []string{"x"}}
	if c, _ := tb.Upsert(p); c != Joined {
		t.Fatalf("first Upsert = %q", c)
	}
	clk.advance(time.Second)
	if c, _ := tb.Upsert(p); c != "" {
		t.Fatalf("repeat Upsert = %q, want no change", c)
	}
	p.Status = Away
	if c, _ := tb.Upsert(p); c != Updated {
		t.Fatalf("away Upsert = %q", c)
	}
	if len(*evs) != 2 || (*evs)[0].Change != Joined || (*evs)[1].Change != Updated {
		t.Fatalf("events = %+v", *evs)
	}
	got, _ := tb.Get("a")
	if !got.FirstSeen.Equal(clk.now().Add(-time.Second)) || !got.LastSeen.Equal(clk.now()) {
		t.Fatalf("times: first %v last %v", got.FirstSeen, got.LastSeen)
	}
	got.Caps[0] = "mutated"
	if again, _ := tb.Get("a"); again.Caps[0] != "x" {
		t.Fatal("Get returned a peer sharing memory with the table")
	}
}

func TestAddressTakeover(t *testing.T) {
	tb, _, evs := newTable(t)
	tb.Upsert(Peer{ID: "10.0.0.1:2425", Addr: addr("10.0.0.1:2425")})
	tb.Upsert(Peer{ID: "feigo-uuid", Addr: addr("10.0.0.1:2425")})
	if tb.Len() != 1 {
		t.Fatalf("Len = %d, want 1", tb.Len())
	}
	if _, ok := tb.Get("10.0.0.1:2425"); ok {
		t.Fatal("old entry at the same address kept")
	}
	if (*evs)[1].Change != Left || (*evs)[2].Change != Joined {
		t.Fatalf("events = %+v", *evs)
	}
	// A FeiGo peer that moves keeps its ID and gets the new address.
	tb.Upsert(Peer{ID: "feigo-uuid", Addr: addr("10.0.0.9:2425")})
	if p, _ := tb.Get("feigo-uuid"); p.Addr != addr("10.0.0.9:2425") {
		t.Fatalf("addr = %v", p.Addr)
	}
}

func TestQuietAndExpire(t *testing.T) {
	tb, clk, evs := newTable(t)
	tb.Upsert(Peer{ID: "a", Addr: addr("10.0.0.1:2425")})
	tb.Upsert(Peer{ID: "b", Addr: addr("10.0.0.2:2425")})
	clk.advance(20 * time.Second)
	if !tb.Touch(addr("10.0.0.2:2425")) {
		t.Fatal("Touch of a known address reported false")
	}
	if tb.Touch(addr("10.0.0.3:2425")) {
		t.Fatal("Touch of an unknown address reported true")
	}
	if q := tb.Quiet(15 * time.Second); len(q) != 1 || q[0].ID != "a" {
		t.Fatalf("Quiet = %+v", q)
	}
	clk.advance(25 * time.Second) // a: 45 s quiet, b: 25 s
	gone := tb.Expire(45 * time.Second)
	if len(gone) != 1 || gone[0].ID != "a" {
		t.Fatalf("Expire = %+v", gone)
	}
	if last := (*evs)[len(*evs)-1]; last.Change != Left || last.Peer.ID != "a" {
		t.Fatalf("last event = %+v", last)
	}
	if tb.Len() != 1 {
		t.Fatalf("Len = %d", tb.Len())
	}
	if p, ok := tb.Remove(addr("10.0.0.2:2425")); !ok || p.ID != "b" {
		t.Fatalf("Remove = %+v, %v", p, ok)
	}
	if _, ok := tb.Remove(addr("10.0.0.2:2425")); ok {
		t.Fatal("second Remove succeeded")
	}
}

func TestFind(t *testing.T) {
	ps := []Peer{
		{ID: "u1", Nick: "Li Wei", User: "liwei", Host: "pc1", Addr: addr("10.0.0.1:2425")},
		{ID: "u2", Nick: "Li Wei", User: "liwei", Host: "pc2", Addr: addr("10.0.0.2:2425")},
		{ID: "10.0.0.3:2425", Nick: "张三", User: "zs", Host: "pc3", Addr: addr("10.0.0.3:2425")},
	}
	cases := []struct {
		q    string
		want []string
	}{
		{"u1", []string{"u1"}},
		{"10.0.0.2", []string{"u2"}},
		{"10.0.0.3:2425", []string{"10.0.0.3:2425"}},
		{"liwei@pc2", []string{"u2"}},
		{"LIWEI@PC1", []string{"u1"}},
		{"张三", []string{"10.0.0.3:2425"}},
		{"li wei", []string{"u1", "u2"}},
		{"nobody", nil},
		{"  ", nil},
	}
	for _, c := range cases {
		got := Find(ps, c.q)
		if len(got) != len(c.want) {
			t.Errorf("Find(%q) = %d peers, want %v", c.q, len(got), c.want)
			continue
		}
		for i := range got {
			if got[i].ID != c.want[i] {
				t.Errorf("Find(%q)[%d] = %s, want %s", c.q, i, got[i].ID, c.want[i])
			}
		}
	}
}

func TestSnapshotOrderAndConcurrency(t *testing.T) {
	tb := New(nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tb.Upsert(Peer{ID: string(rune('a' + i%26)), Group: string(rune('z' - i%3)), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 26)}), 2425)})
			_ = tb.Snapshot()
		}()
	}
	wg.Wait()
	s := tb.Snapshot()
	if len(s) != 26 {
		t.Fatalf("len = %d", len(s))
	}
	for i := 1; i < len(s); i++ {
		if s[i-1].Group > s[i].Group {
			t.Fatalf("not sorted by group: %q before %q", s[i-1].Group, s[i].Group)
		}
	}
}

// The table is bounded overall and per IP address; what does not fit is refused, while
// peers already in it keep updating, moving and taking addresses over.
func TestTableBounds(t *testing.T) {
	tb, _, evs := newTable(t)
	ip := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 2425)
	}
	// One host, many clients (ports): 8 fit, the 9th is refused.
	host := netip.MustParseAddr("10.9.9.9")
	for port := range 9 {
		_, err := tb.Upsert(Peer{ID: fmt.Sprint("h", port), Addr: netip.AddrPortFrom(host, uint16(3000+port))})
		if port < 8 && err != nil {
			t.Fatalf("client %d on one host refused: %v", port, err)
		}
		if port == 8 && !errors.Is(err, ErrAddrFull) {
			t.Fatalf("a 9th client on one host: %v", err)
		}
	}
	// A peer already there may still change, and a newcomer may take one of the 8 ports.
	if c, err := tb.Upsert(Peer{ID: "h0", Nick: "renamed", Addr: netip.AddrPortFrom(host, 3000)}); err != nil || c != Updated {
		t.Fatalf("update at a full host: %q %v", c, err)
	}
	if _, err := tb.Upsert(Peer{ID: "restarted", Addr: netip.AddrPortFrom(host, 3001)}); err != nil {
		t.Fatalf("takeover at a full host: %v", err)
	}
	// Many hosts: the table stops at MaxPeers.
	for i := 0; tb.Len() < MaxPeers; i++ {
		if _, err := tb.Upsert(Peer{ID: fmt.Sprint("p", i), Addr: ip(i)}); err != nil {
			t.Fatalf("peer %d of %d refused: %v", tb.Len()+1, MaxPeers, err)
		}
	}
	n := len(*evs)
	if _, err := tb.Upsert(Peer{ID: "one too many", Addr: ip(1 << 20)}); !errors.Is(err, ErrFull) {
		t.Fatalf("peer %d: %v", MaxPeers+1, err)
	}
	if tb.Len() != MaxPeers || len(*evs) != n {
		t.Fatalf("a refused peer changed the table: %d peers, %d events", tb.Len(), len(*evs)-n)
	}
	// A peer moving to a new address in a full table is not a new peer.
	if _, err := tb.Upsert(Peer{ID: "p0", Addr: ip(1 << 21)}); err != nil {
		t.Fatalf("a move in a full table: %v", err)
	}
	if _, ok := tb.ByAddr(ip(0)); ok {
		t.Fatal("the old address still finds the peer that moved")
	}
	// Room again once one leaves.
	if _, ok := tb.Remove(ip(1)); !ok {
		t.Fatal("Remove")
	}
	if _, err := tb.Upsert(Peer{ID: "one too many", Addr: ip(1 << 20)}); err != nil {
		t.Fatalf("after a peer left: %v", err)
	}
	// The per-host count follows departures: once the host's clients are gone, 8 new ones
	// fit again (with room made in the table for them).
	for port := range 8 {
		tb.Remove(netip.AddrPortFrom(host, uint16(3000+port)))
		tb.Remove(ip(100 + port))
	}
	for port := range 8 {
		if _, err := tb.Upsert(Peer{ID: fmt.Sprint("again", port), Addr: netip.AddrPortFrom(host, uint16(4000+port))}); err != nil {
			t.Fatalf("client %d on the emptied host: %v", port, err)
		}
	}
}

// A peer that has not answered us (its BR_ENTRY may be anyone's forgery, with anyone's
// address) is probed at most once per packet it sent; one that answered is probed on
// schedule while it is quiet.
func TestProbeOnlyWhoAnswers(t *testing.T) {
	tb, clk, _ := newTable(t)
	forged, honest := addr("10.0.0.66:2425"), addr("10.0.0.7:2425")
	tb.Upsert(Peer{ID: "forged", Addr: forged})
	tb.Upsert(Peer{ID: "honest", Addr: honest})
	due := func() (ids []string) {
		for _, p := range tb.Probe(15*time.Second, 5*time.Second) {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("probed while not quiet: %v", got)
	}
	clk.advance(15 * time.Second)
	if got := due(); !slices.Equal(got, []string{"forged", "honest"}) {
		t.Fatalf("first probes: %v", got)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("probed again at once: %v", got)
	}
	// The honest peer answers the probe (ANSENTRY); the forged address never does.
	tb.Upsert(Peer{ID: "honest", Addr: honest})
	tb.Confirm(honest, false)
	for range 6 {
		clk.advance(5 * time.Second)
		if got := due(); slices.Contains(got, "forged") {
			t.Fatalf("an unanswered first probe was repeated: %v", got)
		}
	}
	// iptux sends its broadcast twice: two probes, so that one lost probe or answer does not
	// lose it; no more.
	twice := addr("10.0.0.8:2425")
	tb.Upsert(Peer{ID: "iptux", Addr: twice})
	tb.Upsert(Peer{ID: "iptux", Addr: twice})
	probed := 0
	for range 8 {
		clk.advance(5 * time.Second)
		if slices.Contains(due(), "iptux") {
			probed++
		}
	}
	if probed != 2 {
		t.Fatalf("a peer heard twice and never answering was probed %d times, want 2", probed)
	}
	// From 15 s after its answer, the honest peer is probed every 5 s, answered or not.
	tb2, clk2, _ := newTable(t)
	tb2.Upsert(Peer{ID: "honest", Addr: honest})
	clk2.advance(15 * time.Second)
	tb2.Probe(15*time.Second, 5*time.Second)
	tb2.Upsert(Peer{ID: "honest", Addr: honest}) // it answers the probe (ANSENTRY)
	tb2.Confirm(honest, false)
	var probes int
	for range 6 {
		clk2.advance(5 * time.Second)
		probes += len(tb2.Probe(15*time.Second, 5*time.Second))
	}
	if probes != 4 {
		t.Fatalf("%d probes of a quiet, confirmed peer in the 30 s after its answer, want 4 (15, 20, 25 and 30 s after it)", probes)
	}
	// An answer nobody asked for does not confirm (a forged ANSENTRY), unless the node has
	// just asked everyone (its own broadcast).
	tb3, clk3, _ := newTable(t)
	tb3.Upsert(Peer{ID: "forged", Addr: forged})
	tb3.Confirm(forged, false)
	tb3.Upsert(Peer{ID: "answered the broadcast", Addr: honest})
	tb3.Confirm(honest, true)
	clk3.advance(15 * time.Second)
	tb3.Probe(15*time.Second, 5*time.Second)
	clk3.advance(5 * time.Second)
	if ps := tb3.Probe(15*time.Second, 5*time.Second); len(ps) != 1 || ps[0].ID != "answered the broadcast" {
		t.Fatalf("second round: %+v", ps)
	}
}
