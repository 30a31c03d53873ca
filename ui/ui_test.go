package ui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
	"feigo/xfer"
)

// fakeCore records what the window asks of the node. The window calls it from background
// goroutines, as it does the node: its fields are guarded by mu; a test reads them after
// settle, which orders it after the calls.
type fakeCore struct {
	mu       sync.Mutex
	self     ipmsg.Entry
	peers    []peers.Peer
	xfers    []xfer.Transfer
	sent     []string
	sendIDs  []string
	fail     bool
	accepted []int
	// acceptedOnly is what each Accept call took as only.
	acceptedOnly [][]string
	acceptedDirs []string
	declined     []int
	cancelled    []int
	files        [][]string
	fileTo       [][]netip.AddrPort
	hist         *history.Store
	queued       []string
	queuedIDs    map[string]int64 // send ID → record
	keepDays     int
	verified     []string // Verify calls: "query/confirm"
	pages        int      // calls of HistoryPage
	// holdFiles makes SendFiles wait for its context to end.
	holdFiles bool
	// gate, when set, is called as a call named so begins, without mu: a test holds
	// calls there.
	gate func(call string)
	// sendHook, when set, decides the outcome of each message sent (nil: delivered).
	sendHook func(sendID, text string) error
	// emit, when set, receives the events the node would report about messages sent.
	emit func(lan.Event)
	// askLegacy refuses messages and files to peers that are not Secure, as the node's
	// "ask" policy does, until AllowUnencrypted allowed their address.
	askLegacy bool
	allowed   []netip.AddrPort
	policies  []profile.Settings // ApplyPolicy calls
}

// asks returns the node's "ask" refusal for to, if askLegacy holds one; mu must be held.
func (f *fakeCore) asks(to []netip.AddrPort) error {
	if !f.askLegacy {
		return nil
	}
	for _, a := range to {
		for _, p := range f.peers {
			if p.Addr == a && !p.Secure && !slices.Contains(f.allowed, a) {
				return &control.UnencryptedError{PeerID: p.ID, Nick: p.Nick, Client: p.Client, Addr: a}
			}
		}
	}
	return nil
}

func (f *fakeCore) AllowUnencrypted(to ...netip.AddrPort) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allowed = append(f.allowed, to...)
	return nil
}

func (f *fakeCore) ApplyPolicy(st profile.Settings) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies = append(f.policies, st)
}

func (f *fakeCore) enter(call string) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate(call)
	}
}

func (f *fakeCore) setGate(gate func(call string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = gate
}

// newFakeCore is a fake node with a real history store.
func newFakeCore(tb testing.TB) *fakeCore {
	tb.Helper()
	hist, err := history.Open(filepath.Join(tb.TempDir(), "history.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { hist.Close() })
	return &fakeCore{hist: hist}
}

func (f *fakeCore) HistoryPage(peer string, before int64, limit int) ([]history.Record, error) {
	f.enter(fmt.Sprintf("HistoryPage %d", before))
	f.mu.Lock()
	f.pages++
	f.mu.Unlock()
	return f.hist.Query(history.Filter{Peer: peer, Before: before, Limit: limit})
}
func (f *fakeCore) SearchHistory(words string, limit int) ([]history.Record, error) {
	return f.hist.Query(history.Filter{Search: words, Limit: limit})
}
func (f *fakeCore) ClearHistory(peer string) (int64, error) {
	f.enter("ClearHistory")
	return f.hist.Clear(peer)
}

// Queue stores the message as queued and reports it to f.emit, as the node does.
func (f *fakeCore) Queue(_ context.Context, sendID, text string, c history.Contact) (history.Record, error) {
	r := history.Record{Peer: c.Peer, PeerID: c.PeerID, Nick: c.Nick, Direction: event.Out, Text: text, State: history.StateQueued}
	var err error
	if r.ID, err = f.hist.Add(r); err != nil {
		return r, err
	}
	f.mu.Lock()
	f.queued = append(f.queued, c.Peer+": "+text)
	if f.queuedIDs == nil {
		f.queuedIDs = map[string]int64{}
	}
	f.queuedIDs[sendID] = r.ID
	emit := f.emit
	f.mu.Unlock()
	if emit != nil {
		addr, _ := netip.ParseAddrPort(c.Addr)
		emit(lan.Event{Type: event.MessageQueued, HistoryID: r.ID, SendID: sendID,
			Message: &lan.Message{PeerID: c.PeerID, Nick: c.Nick, Addr: addr, Text: text}})
	}
	f.enter("Queue returns")
	return r, nil
}

func (f *fakeCore) SetRetention(days int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keepDays = days
}

func (f *fakeCore) Self() ipmsg.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

func (f *fakeCore) Peers() []peers.Peer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers)
}

// SendAs stores the message, as the node does, when its recipient is in f.peers, and
// reports its outcome to f.emit.
func (f *fakeCore) SendAs(_ context.Context, sendID, text string, to ...netip.AddrPort) ([]lan.Delivery, error) {
	f.enter("Send")
	f.mu.Lock()
	if err := f.asks(to); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.sent = append(f.sent, text)
	f.sendIDs = append(f.sendIDs, sendID)
	d := lan.Delivery{Message: lan.Message{Addr: to[0], Text: text}}
	var id int64
	for _, p := range f.peers {
		if p.Addr == to[0] {
			d.PeerID, d.Nick = p.ID, p.Nick
			id, _ = f.hist.Add(history.Record{Peer: p.ID, PeerID: p.ID, Nick: p.Nick, Addr: p.Addr.String(),
				Direction: event.Out, Text: text, State: history.StateSending})
		}
	}
	if f.fail {
		d.Err = lan.ErrNoAck
	}
	hook, emit := f.sendHook, f.emit
	f.mu.Unlock()
	if hook != nil {
		d.Err = hook(sendID, text)
	}
	ev := lan.Event{Type: event.MessageDelivered, Message: &d.Message, HistoryID: id, SendID: sendID}
	state, why := history.StateDelivered, ""
	if d.Err != nil {
		state, why = history.StateFailed, d.Err.Error()
		ev.Type, ev.Error = event.MessageFailed, why
	}
	if id != 0 {
		f.hist.SetState(id, state, why, 0)
	}
	if emit != nil {
		emit(ev)
	}
	return []lan.Delivery{d}, nil
}

func (f *fakeCore) SendFiles(ctx context.Context, _ string, paths []string, to ...netip.AddrPort) (xfer.Transfer, error) {
	f.mu.Lock()
	if err := f.asks(to); err != nil {
		f.mu.Unlock()
		return xfer.Transfer{}, err
	}
	f.files = append(f.files, paths)
	f.fileTo = append(f.fileTo, to)
	hold := f.holdFiles
	f.mu.Unlock()
	if hold {
		<-ctx.Done()
		return xfer.Transfer{}, ctx.Err()
	}
	return xfer.Transfer{}, nil
}

func (f *fakeCore) Transfers() []xfer.Transfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.xfers)
}

func (f *fakeCore) Accept(id int, dir string, only []string) (xfer.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, id)
	f.acceptedDirs = append(f.acceptedDirs, dir)
	f.acceptedOnly = append(f.acceptedOnly, only)
	return xfer.Transfer{ID: id}, nil
}

func (f *fakeCore) Decline(id int) error {
	f.enter("Decline")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declined = append(f.declined, id)
	return nil
}

func (f *fakeCore) Cancel(id int) error {
	f.enter("Cancel")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return errors.New("not running")
}

func (f *fakeCore) SetAway(bool, string) {}

func (f *fakeCore) SetName(nick, group string) {
	f.enter("SetName")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.self.Nick, f.self.Group = nick, group
}

func (f *fakeCore) Refresh() {}

var (
	bobAddr   = netip.MustParseAddrPort("10.0.0.2:2425")
	carolAddr = netip.MustParseAddrPort("10.0.0.3:2425")
)

func newTestUI(t *testing.T, lang string) (*testUI, *fakeCore) {
	t.Helper()
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	core.self = ipmsg.Entry{Nick: "王芳", Group: "财务部"}
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: lang}})
	u.Win.Resize(fyne.NewSize(900, 600))
	return u, core
}

// testUI is a window under test, run as the app runs it: its calls to the core go to the
// background and the node's events come through an Inbox. The test goroutine plays Fyne's
// goroutine: what the window hands to Fyne waits in loop until settle runs it there.
type testUI struct {
	*UI
	tb    testing.TB
	loop  *uiLoop
	inbox *Inbox
}

func newTestWindow(tb testing.TB, app fyne.App, core Core, opt Options) *testUI {
	tb.Helper()
	u := &testUI{UI: New(app, core, opt), tb: tb, loop: &uiLoop{wake: make(chan struct{}, 1)}, inbox: NewInbox(0)}
	u.post = u.loop.post
	u.chooser = &fakeChooser{err: ErrNoPortal}        // no desktop portal: Fyne's dialogs
	u.notes = fyneNotifier{app}                       // the test app's notifications
	u.after = func(_ time.Duration, f func()) { f() } // the tree's coalesced redraw: at once
	u.Follow(u.inbox)
	tb.Cleanup(func() {
		u.inbox.Close()
		u.Close()
		if quiet, _ := u.jobs.quiet(); !quiet {
			tb.Error("background calls still running after Close")
		}
	})
	return u
}

// uiLoop stands for Fyne's queue of functions for its goroutine.
type uiLoop struct {
	mu   sync.Mutex
	q    []func()
	wake chan struct{} // a token after a post
}

func (l *uiLoop) post(f func()) {
	l.mu.Lock()
	l.q = append(l.q, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *uiLoop) take() []func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.q
	l.q = nil
	return q
}

// settle runs on the test goroutine what the window hands to Fyne, until nothing is left to
// do: no event waits in the inbox or is on its way, no background call runs.
func (u *testUI) settle() {
	u.tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		// Quiet first, then nothing posted: a background call posts its result before
		// it counts as done, and only the test goroutine starts calls.
		jobsQuiet, jobsChanged := u.jobs.quiet()
		inQuiet, inChanged := u.inbox.quiet()
		if fs := u.loop.take(); len(fs) > 0 {
			for _, f := range fs {
				f()
			}
			continue
		}
		if jobsQuiet && inQuiet {
			return
		}
		select {
		case <-u.loop.wake:
		case <-jobsChanged:
		case <-inChanged:
		case <-deadline.C:
			u.tb.Fatal("the window did not settle")
		}
	}
}

// until runs what the window hands to Fyne until cond holds (while background calls may
// still be held).
func (u *testUI) until(what string, cond func() bool) {
	u.tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !cond() {
		if fs := u.loop.take(); len(fs) > 0 {
			for _, f := range fs {
				f()
			}
			continue
		}
		select {
		case <-u.loop.wake:
		case <-deadline.C:
			u.tb.Fatalf("waited in vain for %s", what)
		}
	}
}

// HandleEvent is the node reporting ev; it returns once the window has shown it.
func (u *testUI) HandleEvent(ev lan.Event) {
	u.tb.Helper()
	u.inbox.Push(ev)
	u.settle()
}

func online(id, nick, group string, addr netip.AddrPort) lan.Event {
	return lan.Event{Type: event.PeerOnline, Peer: &peers.Peer{ID: id, Nick: nick, Group: group, Addr: addr,
		Host: "pc-" + id, Client: "feigo", Status: peers.Online, Secure: true, Fingerprint: "fp-" + id}}
}

// texts returns the text of every label under o.
func texts(o fyne.CanvasObject) []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *widget.Button:
			if w.Visible() {
				out = append(out, "["+w.Text+"]")
			}
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

func TestPeerAppearsInItsGroup(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	u.HandleEvent(online("d", "Dan", "研发部", netip.MustParseAddrPort("10.0.0.4:2425")))
	if got := u.treeChildren(""); strings.Join(got, ",") != "g:QA,g:研发部" {
		t.Fatalf("groups %v", got)
	}
	if got := u.treeChildren("g:研发部"); strings.Join(got, ",") != "p:b,p:d" {
		t.Fatalf("研发部 holds %v", got)
	}
	// The group row shows its online count; the peer row its nick, host, address and client.
	row := u.treeCreate(true)
	u.treeUpdate("g:研发部", true, row)
	if got := rowParts(row).rowString(); got != "研发部 (2/2)" {
		t.Errorf("group row %q", got)
	}
	row = u.treeCreate(false)
	u.treeUpdate("p:b", false, row)
	if got := rowParts(row).rowString(); !strings.Contains(got, "Bob") || !strings.Contains(got, "10.0.0.2") || !strings.Contains(got, "feigo") {
		t.Errorf("peer row %q", got)
	}
	// Away shows; leaving removes; the search box filters.
	away := online("b", "Bob", "研发部", bobAddr)
	away.Type, away.Peer.Status, away.Peer.AwayText = event.PeerUpdated, peers.Away, "lunch"
	u.HandleEvent(away)
	u.treeUpdate("p:b", false, row)
	if got := rowParts(row).rowString(); !strings.Contains(got, "Away: lunch") {
		t.Errorf("away row %q", got)
	}
	u.filter, u.indexDirty = "carol", true
	if got := u.treeChildren(""); strings.Join(got, ",") != "g:QA" {
		t.Errorf("filtered groups %v", got)
	}
	u.filter, u.indexDirty = "", true
	u.HandleEvent(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: "c"}})
	if got := u.treeChildren(""); strings.Join(got, ",") != "g:研发部" {
		t.Errorf("after Carol left: %v", got)
	}
}

func TestReceivedMessageShowsAndCountsUnread(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	msg := func(id, nick string, addr netip.AddrPort, text string) lan.Event {
		return lan.Event{Type: event.Message, Message: &lan.Message{PeerID: id, Nick: nick, Addr: addr, Text: text, Time: time.Now()}}
	}
	u.HandleEvent(msg("b", "Bob", bobAddr, "first, with a link https://example.com/a/very/long/path and more"))
	bob := u.convs["b"]
	if bob == nil || u.tabs.Selected() != bob.tab {
		t.Fatal("the first message did not bring its conversation forward")
	}
	if got := strings.Join(texts(allRows(bob)), "|"); !strings.Contains(got, "https://example.com") {
		t.Fatalf("conversation shows %q", got)
	}
	// A message in a conversation not in front bumps its badge and the total.
	u.HandleEvent(msg("c", "Carol", carolAddr, "你好"))
	u.HandleEvent(msg("c", "Carol", carolAddr, "在吗？"))
	carol := u.convs["c"]
	if carol.unread != 2 || u.Unread() != 2 || carol.tab.Text != "Carol (2)" || u.Win.Title() != "FeiGo (2)" {
		t.Fatalf("unread %d total %d tab %q title %q", carol.unread, u.Unread(), carol.tab.Text, u.Win.Title())
	}
	row := u.treeCreate(false)
	u.treeUpdate("p:c", false, row)
	if got := texts(row); got[len(got)-1] != "● 2" {
		t.Errorf("peer row badge %q", got)
	}
	// Reading clears it.
	u.tabs.Select(carol.tab)
	if carol.unread != 0 || u.Unread() != 0 || carol.tab.Text != "Carol" || u.Win.Title() != "FeiGo" {
		t.Fatalf("after reading: unread %d total %d tab %q", carol.unread, u.Unread(), carol.tab.Text)
	}
	// A stranger (not in the table) still gets a conversation, under its address.
	u.HandleEvent(msg("", "", netip.MustParseAddrPort("10.0.0.9:2425"), "who am I?"))
	if c := u.convs["10.0.0.9:2425"]; c == nil || c.nick != "10.0.0.9" {
		t.Fatalf("stranger conversation %+v", c)
	}
}

func TestSendingShowsDeliveredOrFailedWithRetry(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	c := u.convs["b"]
	test.Type(c.input, "hello")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	if len(core.sent) != 1 || core.sent[0] != "hello" || c.input.Text != "" {
		t.Fatalf("sent %q, input %q", core.sent, c.input.Text)
	}
	if got := c.msgs[0].head.Text; !strings.Contains(got, "delivered") {
		t.Fatalf("head %q", got)
	}
	// Shift+Enter breaks the line instead of sending.
	c.input.KeyDown(&fyne.KeyEvent{Name: "LeftShift"})
	test.Type(c.input, "a")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	c.input.KeyUp(&fyne.KeyEvent{Name: "LeftShift"})
	test.Type(c.input, "b")
	u.settle()
	if len(core.sent) != 1 || c.input.Text != "a\nb" {
		t.Fatalf("after Shift+Enter: sent %q, input %q", core.sent, c.input.Text)
	}
	c.input.SetText("")
	// A failure says so and offers a retry, which sends again.
	core.fail = true
	test.Type(c.input, "lost")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	m := c.msgs[1]
	if !strings.Contains(m.head.Text, "failed") || !m.retry.Visible() {
		t.Fatalf("failed message %q retry %v", m.head.Text, m.retry.Visible())
	}
	core.fail = false
	test.Tap(m.retry)
	u.settle()
	if len(core.sent) != 3 || !strings.Contains(m.head.Text, "delivered") || m.retry.Visible() {
		t.Fatalf("after retry: sent %q head %q", core.sent, m.head.Text)
	}
	// The node's delivery event for our own message (with the send ID the window gave it)
	// adds nothing; one for a message the CLI sent through the same node shows it.
	u.HandleEvent(lan.Event{Type: event.MessageDelivered, SendID: core.sendIDs[0], Message: &lan.Message{PeerID: "b", Addr: bobAddr, Text: "hello"}})
	u.HandleEvent(lan.Event{Type: event.MessageDelivered, Message: &lan.Message{PeerID: "b", Addr: bobAddr, Text: "from the CLI"}})
	if len(c.msgs) != 3 || c.msgs[2].text != "from the CLI" || !c.msgs[2].out {
		t.Fatalf("messages %d", len(c.msgs))
	}
}

func TestCtrlEnterMode(t *testing.T) {
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{EnterMode: "ctrl-enter", Language: "en"}})
	u.HandleEvent(online("b", "Bob", "", bobAddr))
	u.tree.OnSelected("p:b")
	c := u.convs["b"]
	test.Type(c.input, "line")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	if len(core.sent) != 0 {
		t.Fatal("Enter sent in Ctrl+Enter mode")
	}
	c.input.TypedShortcut(&fyne.ShortcutCopy{}) // other shortcuts still reach the entry
	c.input.TypedShortcut(&desktopCtrlEnter)
	u.settle()
	if len(core.sent) != 1 || core.sent[0] != "line" {
		t.Fatalf("Ctrl+Enter sent %q", core.sent)
	}
}

func TestOfferShowsAcceptDeclineAndAcceptCallsCore(t *testing.T) {
	u, core := newTestUI(t, "zh")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	offer := xfer.Transfer{ID: 7, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "季度报告.xlsx", Size: 2 << 20, Attr: ipmsg.FileRegular}}}, Total: 2 << 20}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	card := u.offers[7]
	if card == nil {
		t.Fatal("no offer card")
	}
	got := strings.Join(texts(card.box), "|")
	for _, want := range []string{"季度报告.xlsx (2.0 MiB)", "[接收]", "[另存为…]", "[拒绝]"} {
		if !strings.Contains(got, want) {
			t.Errorf("offer card %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "[打开文件夹]") {
		t.Errorf("open folder shown before anything arrived: %q", got)
	}
	if card.bar.Visible() {
		t.Error("a progress bar on an offer not answered yet")
	}
	test.Tap(card.accept)
	u.settle()
	if len(core.accepted) != 1 || core.accepted[0] != 7 {
		t.Fatalf("accepted %v", core.accepted)
	}
	// Progress, then done: the bar moves, and "open folder" appears.
	offer.State, offer.Done, offer.Rate, offer.ETA = xfer.StateActive, 1<<20, 1<<20, 1
	u.HandleEvent(lan.Event{Type: event.TransferProgress, Transfer: &offer})
	if card.bar.Value != 0.5 || !card.bar.Visible() || card.accept.Visible() || card.cancel.Text != "取消" {
		t.Fatalf("progress %v (shown %v) accept %v cancel %q", card.bar.Value, card.bar.Visible(), card.accept.Visible(), card.cancel.Text)
	}
	offer.State, offer.Done, offer.Dest = xfer.StateDone, 2<<20, "/tmp/dl"
	u.HandleEvent(lan.Event{Type: event.TransferDone, Transfer: &offer})
	if !card.open.Visible() || card.cancel.Visible() || card.bar.Visible() {
		t.Fatal("done: open folder hidden, or cancel or the bar shown")
	}
	// The transfers tab lists it.
	if len(u.xferIDs) != 1 || u.xferIDs[0] != 7 {
		t.Fatalf("transfers %v", u.xferIDs)
	}
	// A second offer is declined.
	offer2 := offer
	offer2.ID, offer2.State, offer2.Done = 8, xfer.StateOffered, 0
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer2})
	test.Tap(u.offers[8].cancel)
	u.settle()
	if len(core.declined) != 1 || core.declined[0] != 8 {
		t.Fatalf("declined %v", core.declined)
	}
}

func TestDroppedFiles(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.HandleEvent(online("c", "Carol", "Dev", carolAddr))
	u.Win.Show()
	u.tree.OnSelected("p:b")
	files := []fyne.URI{fileURI("/home/me/a.txt"), fileURI("/home/me/dir")}
	// Dropped anywhere but a row: to the conversation in front.
	u.dropped(fyne.NewPos(600, 300), files)
	u.settle()
	if len(core.files) != 1 || strings.Join(core.files[0], ",") != filepath.FromSlash("/home/me/a.txt,/home/me/dir") || core.fileTo[0][0] != bobAddr {
		t.Fatalf("files %v to %v", core.files, core.fileTo)
	}
	// Dropped on Carol's row: to Carol; on the group's row: to everyone in it.
	at := func(id string) fyne.Position {
		for o, rid := range u.rows {
			if rid == id {
				p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
				return p.Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
			}
		}
		t.Fatalf("no row for %s in %v", id, u.rows)
		return fyne.Position{}
	}
	u.dropped(at("p:c"), files[:1])
	u.settle()
	if len(core.fileTo) != 2 || len(core.fileTo[1]) != 1 || core.fileTo[1][0] != carolAddr {
		t.Fatalf("drop on Carol went to %v", core.fileTo)
	}
	u.dropped(at("g:Dev"), files[:1])
	u.settle()
	if len(core.fileTo) != 3 || len(core.fileTo[2]) != 2 {
		t.Fatalf("drop on the group went to %v", core.fileTo)
	}
}

func TestNotificationWhenNotInFront(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "", bobAddr))
	u.focused = false
	test.AssertNotificationSent(t, fyne.NewNotification("New message from Bob", "lunch?"), func() {
		u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "lunch?", Time: time.Now()}})
	})
	u.focused = true
	test.AssertNotificationSent(t, nil, func() {
		u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "here?", Time: time.Now()}})
	})
}

func TestLanguageSwitchKeepsConversations(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "", bobAddr))
	u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "hi", Time: time.Now()}})
	st := u.opt.Settings
	st.Language = "zh"
	u.applySettings(st)
	if u.xferTab.Text != "文件传输" {
		t.Fatalf("transfers tab %q", u.xferTab.Text)
	}
	c := u.convs["b"]
	if c == nil || len(c.msgs) != 1 || c.msgs[0].text != "hi" {
		t.Fatalf("conversation after the switch: %+v", c)
	}
	if T(Chinese, "Send") != "发送" || T(English, "Send") != "Send" || ParseLang("zh_CN.UTF-8") != Chinese {
		t.Fatal("translations")
	}
}

var desktopCtrlEnter = desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}

func fileURI(p string) fyne.URI { return storage.NewFileURI(p) }

// BenchmarkPeerEvents1000 feeds the window 1,000 colleagues in 20 groups coming online, then
// 1,000 status changes, as a busy office LAN does after a network blip, and reports the cost
// per event on the UI goroutine: as built (coalesced redraws, single-row refreshes) and, as the
// baseline, redrawing the whole tree on every event.
func BenchmarkPeerEvents1000(b *testing.B) {
	for _, mode := range []string{"coalesced", "redraw-every-event"} {
		b.Run(mode, func(b *testing.B) {
			app := test.NewTempApp(b)
			var pending []func()
			for b.Loop() {
				u := New(app, newFakeCore(b), Options{Settings: profile.Settings{Language: "en"}}) // fyne.Do: inline
				u.after = func(_ time.Duration, f func()) { pending = append(pending, f) }
				if mode != "coalesced" {
					u.after = func(_ time.Duration, f func()) { f() }
				}
				u.Win.Resize(fyne.NewSize(900, 700))
				u.Win.Show()
				for i := range 1000 {
					u.apply(benchPeer(i, event.PeerOnline, peers.Online))
					if i%100 == 99 { // the coalescing timer fires about every 100 ms of a burst
						for _, f := range pending {
							f()
						}
						pending = pending[:0]
					}
				}
				for i := range 1000 {
					ev := benchPeer(i, event.PeerUpdated, peers.Away)
					if mode != "coalesced" {
						u.peersMoved() // what a full redraw per change costs
					}
					u.apply(ev)
				}
				u.Win.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000/1000, "µs/event")
		})
	}
}

func benchPeer(i int, typ event.Type, st peers.Status) lan.Event {
	ev := online(fmt.Sprint(i), fmt.Sprintf("同事%04d", i), fmt.Sprintf("部门%02d", i%20),
		netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i % 250)}), 2425))
	ev.Type, ev.Peer.Status = typ, st
	return ev
}

func TestAutoAcceptFromChosenColleagues(t *testing.T) {
	app := test.NewTempApp(t)
	core := newFakeCore(t)
	var saved []profile.Settings
	u := newTestWindow(t, app, core, Options{Settings: profile.Settings{Language: "en", AutoAccept: []string{"b", "c", "Bob"}},
		Save: func(st profile.Settings) error { saved = append(saved, st); return nil }})
	bob := online("b", "Bob", "Dev", bobAddr)
	bob.Peer.Verified = true
	u.HandleEvent(bob)
	u.HandleEvent(online("c", "Carol", "Dev", carolAddr)) // listed, but her key is not verified
	imp := online("fp:x", "Bob", "Dev", netip.MustParseAddrPort("10.0.0.9:2425"))
	imp.Peer.Warning = "claims to be Bob"
	u.HandleEvent(imp)
	offer := func(id int, peerID, nick string) {
		u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &xfer.Transfer{ID: id, Direction: event.In, State: xfer.StateOffered,
			PeerID: peerID, Nick: nick, Addr: bobAddr, Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "x", Size: 1, Attr: 1}}}}})
	}
	offer(1, "b", "Bob")
	offer(2, "", "Mallory")
	offer(3, "fp:x", "Bob") // an impostor with Bob's nickname
	offer(4, "c", "Carol")
	u.settle()
	if len(core.accepted) != 1 || core.accepted[0] != 1 {
		t.Fatalf("accepted %v: only the verified colleague's offer should be", core.accepted)
	}
	// Settings changed in the window are saved to the profile.
	st := u.opt.Settings
	st.Nick, st.EnterMode = "小王", "ctrl-enter"
	u.applySettings(st)
	u.settle()
	if len(saved) != 1 || saved[0].Nick != "小王" || saved[0].EnterMode != "ctrl-enter" {
		t.Fatalf("saved %+v", saved)
	}
	if core.self.Nick != "小王" || u.self.Text != "小王" {
		t.Fatalf("the name was not applied: core %q, label %q", core.self.Nick, u.self.Text)
	}
}

// seed stores n messages with peer "b" (Bob), alternating in and out, a second apart.
func seed(tb testing.TB, core *fakeCore, n int, text func(i int) string) {
	tb.Helper()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.Local)
	rs := make([]history.Record, n)
	for i := range rs {
		dir, state := event.In, history.StateReceived
		if i%2 == 1 {
			dir, state = event.Out, history.StateDelivered
		}
		rs[i] = history.Record{Peer: "b", PeerID: "b", Host: "pc-b", Nick: "Bob", Addr: bobAddr.String(), Direction: dir,
			Text: text(i), State: state, Time: t0.Add(time.Duration(i) * time.Second)}
	}
	if err := core.hist.AddAll(rs); err != nil {
		tb.Fatal(err)
	}
}

func TestConversationOpensWithPagedHistory(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 120, func(i int) string { return fmt.Sprintf("m%03d", i) })
	core.hist.PutTransfer(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.In, PacketNo: 9, State: "done",
		Folder: "/home/wf/Downloads", Files: []history.File{{Name: "报表.xlsx", Size: 2048}}})
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	if len(c.msgs) != pageSize || !c.more.Visible() {
		t.Fatalf("opened with %d messages, earlier button %v", len(c.msgs), c.more.Visible())
	}
	last := c.msgs[len(c.msgs)-1]
	if !last.file || !strings.Contains(last.text, "报表.xlsx (2.0 KiB)") || !strings.Contains(last.text, "/home/wf/Downloads") ||
		!strings.Contains(last.head.Text, "done") {
		t.Fatalf("the transfer record shows %q / %q", last.head.Text, last.text)
	}
	if c.msgs[0].text != "m071" || c.msgs[0].from != "Me" || !strings.Contains(c.msgs[0].head.Text, "delivered") || c.msgs[1].from != "Bob" {
		t.Fatalf("first page starts %q (%q)", c.msgs[0].text, c.msgs[0].head.Text)
	}
	test.Tap(c.more)
	u.settle()
	test.Tap(c.more)
	u.settle()
	if len(c.msgs) != 121 || c.more.Visible() {
		t.Fatalf("after paging back: %d messages, earlier button %v", len(c.msgs), c.more.Visible())
	}
	for i := 0; i < 120; i++ {
		if c.msgs[i].text != fmt.Sprintf("m%03d", i) {
			t.Fatalf("message %d is %q", i, c.msgs[i].text)
		}
	}
	if n := len(c.list.items) - len(c.days); n != 122 { // the button and 121 rows, and the days' separators
		t.Fatalf("%d rows in the conversation", n)
	}

	// A message arriving in a conversation not open yet is shown once, though the new tab
	// loads it from the history too.
	id, _ := core.hist.Add(history.Record{Peer: "c", PeerID: "c", Nick: "Carol", Direction: event.In, Text: "只一次", State: history.StateReceived})
	u.HandleEvent(online("c", "Carol", "QA", carolAddr))
	u.HandleEvent(lan.Event{Type: event.Message, HistoryID: id, Message: &lan.Message{PeerID: "c", Nick: "Carol", Addr: carolAddr, Text: "只一次", Time: time.Now()}})
	if cc := u.convs["c"]; cc == nil || len(cc.msgs) != 1 || cc.unread != 1 {
		t.Fatalf("Carol's conversation: %+v", cc)
	}

	// Clearing the history empties the conversation but keeps what is still queued.
	core.hist.Add(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.Out, Text: "still waiting", State: history.StateQueued})
	c.clearHistory()
	u.settle()
	if len(c.msgs) != 1 || c.msgs[0].text != "still waiting" || c.more.Visible() {
		t.Fatalf("after clearing: %d messages", len(c.msgs))
	}
	if rs, _ := core.hist.Query(history.Filter{Peer: "b"}); len(rs) != 1 {
		t.Fatalf("the store kept %d of Bob's records", len(rs))
	}
}

func TestOfflineColleagueGetsQueuedMessages(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	c := u.convs["b"]
	if c.status.Visible() {
		t.Fatal("the offline notice shows while Bob is online")
	}
	u.HandleEvent(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: "b", Nick: "Bob", Addr: bobAddr}})
	if !c.status.Visible() || !strings.Contains(c.status.Text, "Bob is offline") {
		t.Fatalf("offline notice %q (visible %v)", c.status.Text, c.status.Visible())
	}
	test.Type(c.input, "see you tomorrow")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	m := c.msgs[len(c.msgs)-1]
	if len(core.sent) != 0 || len(core.queued) != 1 || core.queued[0] != "b: see you tomorrow" {
		t.Fatalf("sent %q, queued %q", core.sent, core.queued)
	}
	if m.id == 0 || !strings.Contains(m.head.Text, "queued") || m.retry.Visible() {
		t.Fatalf("queued message: id %d, head %q", m.id, m.head.Text)
	}
	// The node's queued event for it adds nothing; its delivery, later, updates it.
	u.HandleEvent(lan.Event{Type: event.MessageQueued, HistoryID: m.id, Message: &lan.Message{PeerID: "b", Addr: bobAddr, Text: "see you tomorrow"}})
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.HandleEvent(lan.Event{Type: event.MessageDelivered, HistoryID: m.id, Message: &lan.Message{PeerID: "b", Addr: bobAddr, Text: "see you tomorrow"}})
	if len(c.msgs) != 1 || !strings.Contains(m.head.Text, "delivered") || c.status.Visible() {
		t.Fatalf("after Bob came back: %d messages, head %q", len(c.msgs), m.head.Text)
	}

	// A message that fails can be kept for later with "Send when back".
	core.fail = true
	test.Type(c.input, "lost in the network")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	f := c.msgs[len(c.msgs)-1]
	if !f.queue.Visible() || !strings.Contains(f.head.Text, "failed") {
		t.Fatalf("failed message %q, queue button %v", f.head.Text, f.queue.Visible())
	}
	test.Tap(f.queue)
	u.settle()
	if len(core.queued) != 2 || !strings.Contains(f.head.Text, "queued") || f.queue.Visible() {
		t.Fatalf("after Send when back: queued %q, head %q", core.queued, f.head.Text)
	}
}

func TestHistorySearchOpensTheConversation(t *testing.T) {
	u, core := newTestUI(t, "zh")
	seed(t, core, 30, func(i int) string {
		if i%10 == 3 {
			return fmt.Sprintf("第%d周的周报放在 /srv/share/reports 了", i)
		}
		return fmt.Sprintf("闲聊 %d", i)
	})
	u.showHistory()
	if u.tabs.Selected() != u.histTab || u.histTab.Text != "聊天记录" {
		t.Fatal("the history tab is not in front")
	}
	top := u.histTab.Content.(*fyne.Container).Objects[1].(*fyne.Container) // the search row
	var entry *widget.Entry
	for _, o := range top.Objects {
		if e, ok := o.(*widget.Entry); ok {
			entry = e
		}
	}
	test.Type(entry, "周报")
	entry.OnSubmitted(entry.Text)
	u.settle()
	if len(u.histResults) != 3 || !strings.Contains(u.histInfo.Text, "3") {
		t.Fatalf("found %d (%q)", len(u.histResults), u.histInfo.Text)
	}
	if !strings.Contains(u.histResults[0].Text, "第23周") { // newest first
		t.Fatalf("first result %q", u.histResults[0].Text)
	}
	// Bob is offline; his conversation still opens from a result, with its history.
	u.histList.OnSelected(0)
	u.settle()
	c := u.convs["b"]
	if c == nil || u.tabs.Selected() != c.tab || len(c.msgs) != 30 || !c.status.Visible() {
		t.Fatalf("conversation from a result: %+v", c)
	}
	// Retention from the settings reaches the node.
	st := u.opt.Settings
	st.HistoryDays = 30
	u.applySettings(st)
	u.settle()
	if core.keepDays != 30 {
		t.Fatalf("retention %d", core.keepDays)
	}
}

// BenchmarkOpenConversation opens Bob's conversation — the tab, the newest page of history,
// its rows laid out (MinSize measures every text) — and closes it again. Bob's history
// holds 100,000 messages; the baseline is the same with no history at all.
//
//	go test -run '^$' -bench OpenConversation ./ui
func BenchmarkOpenConversation(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("history-%d", n), func(b *testing.B) {
			app := test.NewTempApp(b)
			core := newFakeCore(b)
			if n > 0 {
				seed(b, core, n, func(i int) string {
					return fmt.Sprintf("第%d条：周五下午三点在三楼会议室开会，记得带上季度报表 (%d)", i, i)
				})
			}
			u := newTestWindow(b, app, core, Options{Settings: profile.Settings{Language: "en"}})
			u.Win.Resize(fyne.NewSize(900, 600))
			ev := online("b", "Bob", "研发部", bobAddr)
			u.apply(ev)
			shown := 0
			for b.Loop() {
				c := u.openConv(whoPeer(*ev.Peer), true)
				u.settle()
				c.box.MinSize()
				shown = len(c.msgs)
				u.tabs.Remove(c.tab)
				delete(u.convs, c.key)
			}
			b.ReportMetric(float64(shown), "shown")
		})
	}
}

// TestOfferButtonsReadTheTransferOnFyneGoroutine: Decline or Cancel is decided from the
// transfer's state as the window knows it, read before the call leaves Fyne's goroutine,
// while the node's events keep changing that state.
func TestOfferButtonsReadTheTransferOnFyneGoroutine(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	offer := xfer.Transfer{ID: 8, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a.txt", Size: 2, Attr: ipmsg.FileRegular}}}, Total: 2}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	// Decline goes to the background and waits there for the offer's next events.
	release, _ := holdCalls(t, core, func(call string) bool { return call == "Decline" })
	test.Tap(u.offers[8].cancel)
	for i := range 50 {
		again := offer
		again.Done = int64(i % 2)
		u.inbox.Push(lan.Event{Type: event.TransferOffered, Transfer: &again})
	}
	last := offer
	last.Error = "last"
	u.inbox.Push(lan.Event{Type: event.TransferOffered, Transfer: &last})
	u.until("the offer's events", func() bool { return u.xfers[8].Error == "last" })
	release()
	u.settle()
	if len(core.declined) != 1 || core.declined[0] != 8 || len(core.cancelled) != 0 {
		t.Fatalf("declined %v, cancelled %v", core.declined, core.cancelled)
	}
	// Once it runs, the same button cancels.
	offer.State, offer.Done = xfer.StateActive, 1
	u.HandleEvent(lan.Event{Type: event.TransferStarted, Transfer: &offer})
	test.Tap(u.offers[8].cancel)
	u.settle()
	if len(core.cancelled) != 1 || core.cancelled[0] != 8 {
		t.Fatalf("cancelled %v", core.cancelled)
	}
}

// TestCloseEndsTheBackgroundCalls: closing the window cancels the context of the calls under
// way, waits for them, and shows nothing they bring back; no call starts after.
func TestCloseEndsTheBackgroundCalls(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.tree.OnSelected("p:b")
	core.holdFiles = true
	u.dropped(fyne.NewPos(600, 300), []fyne.URI{fileURI("/home/me/a.txt")})
	u.Close() // returns once SendFiles has given up (its context ended)
	if quiet, _ := u.jobs.quiet(); !quiet {
		t.Fatal("Close returned with a call under way")
	}
	for _, f := range u.loop.take() {
		f() // its error, handed to Fyne after the window closed
	}
	if top := u.Win.Canvas().Overlays().Top(); top != nil {
		t.Fatalf("a dialog after Close: %v", texts(top))
	}
	u.dropped(fyne.NewPos(600, 300), []fyne.URI{fileURI("/home/me/b.txt")})
	if quiet, _ := u.jobs.quiet(); !quiet || len(core.files) != 1 {
		t.Fatalf("a call after Close: %v", core.files)
	}
}

// holdCalls holds the calls to core named by hold until release, and reports whether one of
// them was still held after five seconds: its caller waited, as Fyne's goroutine must not.
func holdCalls(t *testing.T, core *fakeCore, hold func(call string) bool) (release func(), stalled *atomic.Bool) {
	released, stalled := make(chan struct{}), new(atomic.Bool)
	release = sync.OnceFunc(func() { close(released) })
	t.Cleanup(release) // before the window's cleanup
	core.setGate(func(call string) {
		if !hold(call) {
			return
		}
		select {
		case <-released:
		case <-time.After(5 * time.Second):
			stalled.Store(true)
		}
	})
	return release, stalled
}

// TestHistoryQueriesLeaveFyneGoroutineFree: paging back and clearing query the history
// (SQLite) in the background; a double click asks once.
func TestHistoryQueriesLeaveFyneGoroutineFree(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 120, func(i int) string { return fmt.Sprintf("m%03d", i) })
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	release, stalled := holdCalls(t, core, func(call string) bool { return call != "HistoryPage 0" })
	test.Tap(c.more)
	test.Tap(c.more)
	test.Type(c.input, "still typing")
	if stalled.Load() {
		t.Fatal("“Earlier messages” waited for the history on Fyne's goroutine")
	}
	release()
	u.settle()
	if len(c.msgs) != 100 || core.pages != 2 || c.input.Text != "still typing" {
		t.Fatalf("after paging back: %d messages, %d queries", len(c.msgs), core.pages)
	}

	release, stalled = holdCalls(t, core, func(call string) bool { return call == "ClearHistory" })
	c.clearHistory()
	c.clearHistory()
	if stalled.Load() {
		t.Fatal("clearing waited for the history on Fyne's goroutine")
	}
	release()
	u.settle()
	if len(c.msgs) != 0 || c.more.Visible() {
		t.Fatalf("after clearing: %d messages", len(c.msgs))
	}
}

// TestPageThatComesAfterClearingIsDropped: a page asked for before the history was cleared
// shows nothing of what was deleted.
func TestPageThatComesAfterClearingIsDropped(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 120, func(i int) string { return fmt.Sprintf("m%03d", i) })
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	release, stalled := holdCalls(t, core, func(call string) bool { return call != "HistoryPage 0" && call != "ClearHistory" })
	test.Tap(c.more) // its page is held ...
	core.hist.Add(history.Record{Peer: "b", PeerID: "b", Nick: "Bob", Direction: event.Out, Text: "still waiting", State: history.StateQueued})
	c.clearHistory() // ... while the history is cleared and the conversation reloaded
	u.until("the cleared conversation", func() bool { return len(c.msgs) == 1 })
	release()
	u.settle()
	if stalled.Load() {
		t.Fatal("“Earlier messages” waited for the history on Fyne's goroutine")
	}
	if len(c.msgs) != 1 || c.msgs[0].text != "still waiting" || len(c.list.items)-len(c.days) != 2 || len(c.days) != 1 || c.more.Visible() {
		t.Fatalf("after the late page: %d messages, %d rows, %d days", len(c.msgs), len(c.list.items), len(c.days))
	}
}

// TestMessageToANewConversationShowsOnce: a message sent as its conversation opens (Message
// to many does that) goes once the conversation's history is shown, so that the history does
// not show it a second time.
func TestMessageToANewConversationShowsOnce(t *testing.T) {
	u, core := newTestUI(t, "en")
	seed(t, core, 3, func(i int) string { return fmt.Sprintf("m%d", i) })
	bob := online("b", "Bob", "研发部", bobAddr)
	core.peers = []peers.Peer{*bob.Peer}
	u.HandleEvent(bob)
	release, _ := holdCalls(t, core, func(call string) bool { return call == "HistoryPage 0" })
	c := u.openConv(whoPeer(*bob.Peer), false)
	u.sendText(c, "to all")
	if quiet, _ := u.jobs.quiet(); quiet {
		t.Fatal("the history was not asked for")
	}
	u.jobs.mu.Lock()
	running := u.jobs.n
	u.jobs.mu.Unlock()
	if running != 1 {
		t.Fatalf("%d calls under way: the message went before the conversation's history came", running)
	}
	release()
	u.settle()
	var got []string
	for _, m := range c.msgs {
		got = append(got, m.text+" "+m.state)
	}
	if strings.Join(got, ", ") != "m0 received, m1 delivered, m2 received, to all delivered" {
		t.Fatalf("the conversation shows %q", got)
	}
}

// TestTwoIdenticalMessagesKeepTheirOwnState sends the same text twice to one colleague; the
// second fails before the first is delivered. Each bubble shows its own outcome, and the
// node's events for them add nothing.
func TestTwoIdenticalMessagesKeepTheirOwnState(t *testing.T) {
	u, core := newTestUI(t, "en")
	bob := online("b", "Bob", "研发部", bobAddr)
	core.peers = []peers.Peer{*bob.Peer}
	u.HandleEvent(bob)
	u.tree.OnSelected("p:b")
	u.settle()
	c := u.convs["b"]
	type send struct {
		id     string
		result chan error
	}
	sends := make(chan send)
	core.mu.Lock()
	core.emit = u.inbox.Push
	core.sendHook = func(id, _ string) error {
		s := send{id, make(chan error)}
		sends <- s
		return <-s.result
	}
	core.mu.Unlock()
	for range 2 {
		test.Type(c.input, "同一句话")
		c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	}
	next := func() send {
		select {
		case s := <-sends:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("the window did not send")
			return send{}
		}
	}
	a, b := next(), next()
	states := func() []string {
		var out []string
		for _, m := range c.msgs {
			out = append(out, m.state)
		}
		return out
	}
	b.result <- lan.ErrNoAck
	u.until("the failure shown", func() bool { return slices.Contains(states(), history.StateFailed) })
	failed := slices.Index(states(), history.StateFailed)
	if got := states(); len(got) != 2 || !slices.Equal(got, []string{history.StateFailed, history.StateSending}) &&
		!slices.Equal(got, []string{history.StateSending, history.StateFailed}) {
		t.Fatalf("after one failed: %q", got)
	}
	a.result <- nil
	u.settle()
	want := []string{history.StateDelivered, history.StateDelivered}
	want[failed] = history.StateFailed
	if got := states(); !slices.Equal(got, want) {
		t.Fatalf("after the other was delivered: %q, want %q", got, want)
	}
	for i, m := range c.msgs {
		if !strings.Contains(m.head.Text, want[i]) || m.retry.Visible() != (i == failed) {
			t.Errorf("bubble %d: %q, retry %v", i, m.head.Text, m.retry.Visible())
		}
		if own := map[string]string{a.id: history.StateDelivered, b.id: history.StateFailed}[m.sendID]; own != m.state {
			t.Errorf("bubble %d shows %s, its send %s", i, m.state, own)
		}
	}
	if a.id == "" || a.id == b.id {
		t.Fatalf("send IDs %q and %q", a.id, b.id)
	}
}

// TestTwoIdenticalQueuedMessages queues the same text twice for a colleague who is away: the
// node's message_queued events name each by the window's send ID and their records; the
// later delivery of one (by its record only) updates that one.
func TestTwoIdenticalQueuedMessages(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("b", "Bob", "研发部", bobAddr))
	u.tree.OnSelected("p:b")
	u.settle()
	u.HandleEvent(lan.Event{Type: event.PeerOffline, Peer: &peers.Peer{ID: "b", Nick: "Bob", Addr: bobAddr}})
	c := u.convs["b"]
	core.mu.Lock()
	core.emit = u.inbox.Push
	core.mu.Unlock()
	release, _ := holdCalls(t, core, func(call string) bool { return call == "Queue returns" })
	for range 2 {
		test.Type(c.input, "明天见")
		c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	}
	// Their events come while the calls have not returned yet.
	u.until("both records known", func() bool { return len(c.msgs) == 2 && c.msgs[0].id != 0 && c.msgs[1].id != 0 })
	core.mu.Lock()
	for i, m := range c.msgs {
		if m.id != core.queuedIDs[m.sendID] || m.state != history.StateQueued {
			t.Errorf("bubble %d: record %d (%s), its send's record %d", i, m.id, m.state, core.queuedIDs[m.sendID])
		}
	}
	core.mu.Unlock()
	first := c.msgs[0]
	u.HandleEvent(lan.Event{Type: event.MessageDelivered, HistoryID: first.id, Message: &lan.Message{PeerID: "b", Addr: bobAddr, Text: "明天见"}})
	release()
	u.settle()
	if len(c.msgs) != 2 || c.msgs[0].state != history.StateDelivered || c.msgs[1].state != history.StateQueued {
		t.Fatalf("after the first was delivered: %d bubbles, %s and %s", len(c.msgs), c.msgs[0].state, c.msgs[1].state)
	}
}

func (f *fakeCore) Verify(query string, confirm bool, fingerprint string) (control.Verification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, fmt.Sprint(query, "/", confirm, "/", fingerprint))
	return control.Verification{PeerID: query, Nick: "Bob", Fingerprint: "fp-b", SafetyCode: "12345 67890 13579 24680 11111"}, nil
}

// deepTexts returns the text of every label and button shown under o, inside widgets too.
func deepTexts(o fyne.CanvasObject) []string {
	if !o.Visible() {
		return nil
	}
	var out []string
	switch w := o.(type) {
	case *widget.Label:
		return []string{w.Text}
	case *widget.Button:
		out = append(out, "["+w.Text+"]")
	case *fyne.Container:
		for _, c := range w.Objects {
			out = append(out, deepTexts(c)...)
		}
		return out
	}
	if w, ok := o.(fyne.Widget); ok {
		for _, c := range test.WidgetRenderer(w).Objects() {
			out = append(out, deepTexts(c)...)
		}
	}
	return out
}

// findButton returns the button labelled text under o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	if b, ok := o.(*widget.Button); ok && b.Text == text {
		return b
	}
	if w, ok := o.(fyne.Widget); ok {
		r := test.WidgetRenderer(w)
		for _, c := range r.Objects() {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	}
	if c, ok := o.(*fyne.Container); ok {
		for _, c := range c.Objects {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

// Every colleague shows how far the link can be trusted; a conversation says when it is not
// encrypted or warns about the key; Verify… shows the safety code and "Yes" marks it verified.
func TestKeyStateShownAndVerify(t *testing.T) {
	u, core := newTestUI(t, "en")
	sec := online("b", "Bob", "Dev", bobAddr)
	sec.Peer.Secure, sec.Peer.Fingerprint = true, "abcd"
	u.HandleEvent(sec)
	legacy := online("c", "Carol", "Dev", carolAddr)
	legacy.Peer.Client, legacy.Peer.Secure, legacy.Peer.Fingerprint = "iptux", false, ""
	u.HandleEvent(legacy)
	imp := online("fp:x", "Bob", "Dev", netip.MustParseAddrPort("10.0.0.9:2425"))
	imp.Peer.Secure, imp.Peer.Warning = true, "claims to be Bob, whose key is another"
	u.HandleEvent(imp)
	row := u.treeCreate(false)
	for id, want := range map[string]string{"p:b": "· encrypted", "p:c": "· not encrypted", "p:fp:x": "WARNING"} {
		u.treeUpdate(id, false, row)
		if got := rowParts(row).rowString(); !strings.HasSuffix(got, want) && (want != "WARNING" || !strings.Contains(got, want)) {
			t.Errorf("row %s: %q, want %q in it", id, got, want)
		}
	}
	c := u.openConv(whoPeer(u.peers["c"]), true)
	u.settle()
	if !c.status.Visible() || !strings.Contains(c.status.Text, "Not encrypted") {
		t.Errorf("a conversation with iptux says %q", c.status.Text)
	}
	w := u.openConv(whoPeer(u.peers["fp:x"]), true)
	u.settle()
	if !strings.Contains(w.status.Text, "claims to be Bob") {
		t.Errorf("the impostor's conversation says %q", w.status.Text)
	}
	b := u.openConv(whoPeer(u.peers["b"]), true)
	u.settle()
	if b.status.Visible() {
		t.Errorf("an encrypted conversation shows %q", b.status.Text)
	}
	b.verify()
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(deepTexts(top), " "), "12345 67890 13579 24680 11111") {
		t.Fatalf("no safety code shown")
	}
	yes := findButton(top, "Yes")
	if yes == nil {
		t.Fatalf("no Yes button in %v", deepTexts(top))
	}
	test.Tap(yes)
	u.settle()
	core.mu.Lock()
	defer core.mu.Unlock()
	if strings.Join(core.verified, ",") != "b/false/,b/true/fp-b" {
		t.Fatalf("verify calls %v", core.verified)
	}
}

// Names, texts and file names a peer chose are shown with their control and bidi characters
// written out: "photo\u202egnp.exe" cannot pass for "photoexe.png" in an offer, nor a
// nickname carry escape sequences into the list.
func TestPeerChosenTextShownSafely(t *testing.T) {
	u, _ := newTestUI(t, "en")
	ev := online("b", "Bob\u202e\x1b[2J", "Dev", bobAddr)
	u.HandleEvent(ev)
	row := u.treeCreate(false)
	u.treeUpdate("p:b", false, row)
	if got := rowParts(row).rowString(); strings.ContainsAny(got, "\u202e\x1b") || !strings.Contains(got, `Bob\u202e\x1b[2J`) {
		t.Errorf("peer row %q", got)
	}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &xfer.Transfer{ID: 3, Direction: event.In, State: xfer.StateOffered,
		PeerID: "b", Nick: "Bob", Addr: bobAddr, Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "photo\u202egnp.exe", Size: 1, Attr: 1}}}}})
	u.HandleEvent(lan.Event{Type: event.Message, Message: &lan.Message{PeerID: "b", Nick: "Bob", Addr: bobAddr, Text: "line one\nline \u202etwo", Time: time.Now()}})
	all := strings.Join(deepTexts(allRows(u.convs["b"])), "\n")
	if strings.Contains(all, "\u202e") || !strings.Contains(all, `photo\u202egnp.exe`) || !strings.Contains(all, "line one\nline \\u202etwo") {
		t.Errorf("the conversation shows %q", all)
	}
}

// Opening a conversation, from the list (whose tree takes the focus after telling its
// selection, as a tap does) or from a history result (also one whose conversation is in
// front already), puts the cursor in its message box.
func TestOpeningAConversationFocusesItsMessageBox(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.HandleEvent(online("p2", "韩梅梅", "研发部", netip.MustParseAddrPort("10.0.0.3:2425")))
	u.settle()
	canvas := u.Win.Canvas()

	u.tree.Select("p:p1")
	canvas.Focus(u.tree) // what treeNode.Tapped does after OnSelected
	u.settle()
	c := u.convs["p1"]
	if c == nil || canvas.Focused() != c.input {
		t.Fatalf("after opening from the list the focus is on %T, not the message box", canvas.Focused())
	}

	r := history.Record{ID: 1, Peer: "p2", PeerID: "p2", Nick: "韩梅梅", Addr: "10.0.0.3:2425", Text: "hi", Time: time.Now()}
	u.openRecord(r)
	u.settle()
	canvas.Focus(u.tree) // the focus elsewhere; the result's conversation is in front already
	u.openRecord(r)
	u.settle()
	if c2 := u.convs["p2"]; c2 == nil || canvas.Focused() != c2.input {
		t.Fatalf("after opening a history result the focus is on %T, not the message box", canvas.Focused())
	}
}

// Message to many opens with the cursor in its text box.
func TestMessageToManyFocusesItsTextBox(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.settle()
	u.checked["p1"] = true
	u.messageToMany()
	e, ok := u.Win.Canvas().Focused().(*chatEntry)
	if !ok {
		t.Fatalf("Message to many: the focus is on %T, not a message box", u.Win.Canvas().Focused())
	}
	if e.Wrapping != fyne.TextWrapWord || !e.MultiLine {
		t.Error("Message to many's box does not wrap")
	}
}

// typeInFocusAndSend types text into the message box that has the focus, presses Enter, and
// returns the box and what the core sent so far.
func typeInFocusAndSend(t *testing.T, u *testUI, core *fakeCore, text string) (*chatEntry, []string) {
	t.Helper()
	e, ok := u.Win.Canvas().Focused().(*chatEntry)
	if !ok {
		t.Fatalf("the focus is on %T, not a message box", u.Win.Canvas().Focused())
	}
	test.Type(e, text)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	core.mu.Lock()
	defer core.mu.Unlock()
	return e, slices.Clone(core.sent)
}

// Message to many's box sends on Enter as a conversation's does, and the message shows in
// each recipient's conversation.
func TestMessageToManySendsOnEnter(t *testing.T) {
	u, core := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.HandleEvent(online("p2", "韩梅梅", "研发部", netip.MustParseAddrPort("10.0.0.3:2425")))
	u.settle()
	u.checked["p1"], u.checked["p2"] = true, true
	u.messageToMany()
	e, sent := typeInFocusAndSend(t, u, core, "开会了")
	if len(sent) != 2 || sent[0] != "开会了" || sent[1] != "开会了" {
		t.Fatalf("sent %q, want the message to each of the two", sent)
	}
	for _, id := range []string{"p1", "p2"} {
		c := u.convs[id]
		if c == nil || !slices.Contains(deepTexts(allRows(c)), "开会了") {
			t.Errorf("the conversation with %s does not show the message", id)
		}
	}
	if e.Text != "" {
		t.Errorf("the box still holds %q", e.Text)
	}
	if top := u.Win.Canvas().Overlays().Top(); top != nil {
		t.Error("the dialog stays open after sending")
	}
}

// Enter in the colleagues' search opens the first colleague it shows, cursor in the box.
func TestEnterInSearchOpensFirstMatch(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.HandleEvent(online("p2", "韩梅梅", "研发部", netip.MustParseAddrPort("10.0.0.3:2425")))
	u.settle()
	search := findEntry(u.Win.Content())
	if search == nil || search.PlaceHolder != "Search colleagues" {
		t.Fatal("no colleagues' search box")
	}
	test.Type(search, "韩")
	search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.settle()
	c := u.convs["p2"]
	if c == nil || u.tabs.Selected() != c.tab {
		t.Fatal("Enter in the search did not open the match's conversation")
	}
	if u.convs["p1"] != nil {
		t.Error("a colleague the search does not show was opened")
	}
	if u.Win.Canvas().Focused() != c.input {
		t.Errorf("the focus is on %T, not the message box", u.Win.Canvas().Focused())
	}
}

// The colleagues' search finds a Chinese name by its pinyin and by its initials.
func TestSearchColleaguesByPinyin(t *testing.T) {
	u, _ := newTestUI(t, "en")
	u.HandleEvent(online("p1", "李雷", "研发部", netip.MustParseAddrPort("10.0.0.2:2425")))
	u.HandleEvent(online("p2", "韩梅梅", "财务部", netip.MustParseAddrPort("10.0.0.3:2425")))
	u.settle()
	search := findEntry(u.Win.Content())
	for q, want := range map[string]string{"li": "p1", "ll": "p1", "lil": "p1", "lilei": "p1", "hmm": "p2", "meimei": "p2"} {
		search.SetText(q)
		u.settle()
		u.reindex()
		var shown []string
		for _, g := range u.groups {
			shown = append(shown, u.members[g]...)
		}
		if len(shown) != 1 || shown[0] != "p:"+want {
			t.Errorf("searching %q shows %v, want %s", q, shown, want)
		}
	}
}
