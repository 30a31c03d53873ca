package node_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/cli"
	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/node"
	"feigo/profile"
	"feigo/xfer"
)

func run(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Main(args, cli.Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e})
	return o.String(), e.String(), code
}

// loopNode is a Node on 127.0.0.1 that announces only to the other test node.
type loopNode struct {
	*node.Node
	prof   *profile.Profile
	port   int
	events chan lan.Event
	stop   func()
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		tc, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
		u.Close()
		if err == nil {
			tc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// startLoop runs a node with the profile in dir on 127.0.0.1:port, announcing to peerPort.
func startLoop(t *testing.T, dir, nick string, port, peerPort int, tweak func(*lan.Config)) *loopNode {
	t.Helper()
	p, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	tcp, err := lan.ListenTCP(netip.MustParseAddr("127.0.0.1"), port)
	if err != nil {
		t.Fatal(err)
	}
	ln := &loopNode{prof: p, port: port, events: make(chan lan.Event, 1000)}
	cfg, err := node.LANConfig(p, profile.Settings{Nick: nick, Port: port, Interfaces: []string{"none"},
		Broadcast: []string{fmt.Sprintf("127.0.0.1:%d", peerPort)}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conn, cfg.TCP = conn, tcp
	cfg.RetryFirst, cfg.RetryMax, cfg.RetryBudget = 50*time.Millisecond, 200*time.Millisecond, 1500*time.Millisecond
	cfg.OnEvent = func(ev lan.Event) { ln.events <- ev }
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := node.Start(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln.Node = n
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	ln.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(ln.stop)
	return ln
}

func (ln *loopNode) wait(t *testing.T, typ event.Type, ok func(lan.Event) bool) lan.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-ln.events:
			if ev.Type == typ && (ok == nil || ok(ev)) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 15s", typ)
		}
	}
}

func texts(rs []history.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Direction)+":"+r.State+":"+r.Text)
	}
	return out
}

// Messages out are stored with their outcome, a message queued for a colleague who left
// (named from the history) goes when that colleague is back, in order and once, and file
// transfers are recorded at both ends.
func TestHistoryQueueAndTransfers(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	inbox := t.TempDir()
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, func(c *lan.Config) { c.AcceptDir = inbox })
	online := a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Nick == "Bob" })
	bobAddr := online.Peer.Addr
	bobKey := history.PeerKey(online.Peer.ID, online.Peer.User, online.Peer.Host)

	ds, err := a.Send(context.Background(), "hello\r\nBob", bobAddr)
	if err != nil || ds[0].Err != nil {
		t.Fatalf("send: %v %v", err, ds)
	}
	ev := a.wait(t, "message_delivered", nil)
	if ev.HistoryID == 0 || ev.Message.Text != "hello\nBob" {
		t.Fatalf("delivered event: %+v", ev)
	}
	if ev := b.wait(t, "message", nil); ev.HistoryID == 0 {
		t.Fatalf("the received message's event names no history record: %+v", ev)
	}

	// A file, recorded at both ends when it is done.
	src := filepath.Join(t.TempDir(), "周报.txt")
	os.WriteFile(src, []byte("numbers"), 0o644)
	if _, err := a.SendFiles(context.Background(), "", []string{src}, bobAddr); err != nil {
		t.Fatal(err)
	}
	a.wait(t, "transfer_done", nil)
	b.wait(t, "transfer_done", nil)

	// Bob leaves. A message now fails, and is stored as failed with the reason.
	b.stop()
	a.wait(t, "peer_offline", nil)
	if ds, _ := a.Send(context.Background(), "too late", bobAddr); len(ds) != 1 || ds[0].Err == nil {
		t.Fatalf("a message to a stopped peer: %+v", ds)
	}

	// Queued for Bob, named by nick although he is offline (the history knows him).
	c, err := a.Contact("bob")
	if err != nil || c.Peer != bobKey || c.Addr != bobAddr.String() {
		t.Fatalf("Contact(bob) offline: %+v, %v", c, err)
	}
	if _, err := a.Contact("nobody"); !errors.Is(err, node.ErrNoContact) {
		t.Fatalf("Contact(nobody): %v", err)
	}
	var queued []int64
	for _, text := range []string{"first while away", "second while away"} {
		r, err := a.Queue(context.Background(), "", text, c)
		if err != nil || r.State != history.StateQueued || r.ID == 0 {
			t.Fatalf("Queue: %+v, %v", r, err)
		}
		if ev := a.wait(t, "message_queued", nil); ev.HistoryID != r.ID {
			t.Fatalf("queued event %d for record %d", ev.HistoryID, r.ID)
		}
		queued = append(queued, r.ID)
	}

	// Bob is back (same profile, so the same FeiGo ID): both arrive, in order.
	b = startLoop(t, dirB, "Bob", pb, pa, nil)
	for _, id := range queued {
		ev := a.wait(t, "message_delivered", func(ev lan.Event) bool { return ev.HistoryID != 0 })
		if ev.HistoryID != id {
			t.Fatalf("delivered record %d, want %d first", ev.HistoryID, id)
		}
	}
	got, err := b.History.Query(history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"in:received:hello\nBob", "in:done:周报.txt", "in:received:first while away", "in:received:second while away"}
	if strings.Join(texts(got), "|") != strings.Join(want, "|") {
		t.Fatalf("Bob's history:\n got %q\nwant %q", texts(got), want)
	}
	if f := got[1]; f.Kind != history.KindFile || f.Folder != inbox || len(f.Files) != 1 || f.Files[0].Size != 7 {
		t.Fatalf("Bob's transfer record: %+v", f)
	}
	mine, _ := a.History.Query(history.Filter{Peer: bobKey})
	want = []string{"out:delivered:hello\nBob", "out:done:周报.txt", "out:failed:too late", "out:delivered:first while away", "out:delivered:second while away"}
	if strings.Join(texts(mine), "|") != strings.Join(want, "|") {
		t.Fatalf("Alice's history:\n got %q\nwant %q", texts(mine), want)
	}
	if mine[2].Error == "" || mine[1].Files[0].State != xfer.StateDone {
		t.Fatalf("Alice's failed message or transfer: %+v %+v", mine[2], mine[1])
	}

	// Queueing to a colleague who is online delivers at once.
	r, err := a.Queue(context.Background(), "", "you are back", c)
	if err != nil || r.State != history.StateDelivered {
		t.Fatalf("Queue to an online peer: %+v, %v", r, err)
	}
}

// `feigo send --queue` and `feigo history --clear` through the control socket.
func TestSendQueueCommand(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	a.wait(t, "peer_online", nil)

	out, errOut, code := run("send", "--profile", dirA, "--queue", "Bob", "online now")
	if code != 0 || !strings.Contains(out, "delivered to Bob") {
		t.Fatalf("send --queue to an online peer: %d %q %q", code, out, errOut)
	}
	b.stop()
	a.wait(t, "peer_offline", nil)
	out, errOut, code = run("send", "--profile", dirA, "--queue", "Bob", "when", "you", "are", "back")
	if code != 0 || !strings.Contains(out, "queued for Bob") {
		t.Fatalf("send --queue to an offline peer: %d %q %q", code, out, errOut)
	}
	// Sealed and queued: kept sealed (it went unsealed once, issue 15).
	out, errOut, code = run("send", "--profile", dirA, "--queue", "--sealed", "Bob", "the code is 4711")
	if code != 0 || !strings.Contains(out, "queued for Bob") {
		t.Fatalf("send --queue --sealed to an offline peer: %d %q %q", code, out, errOut)
	}
	if rs, _ := a.History.Query(history.Filter{Search: "4711"}); len(rs) != 1 || !rs[0].Sealed || rs[0].State != history.StateQueued {
		t.Fatalf("the sealed queued record: %+v", rs)
	}
	if _, errOut, code = run("send", "--profile", dirA, "--queue", "Nobody", "x"); code != 1 || !strings.Contains(errOut, "no colleague") {
		t.Fatalf("send --queue to nobody: %d %q", code, errOut)
	}
	// Without --queue, a message to a colleague who is not online is refused, not lost silently.
	if _, errOut, code = run("send", "--profile", dirA, "Bob", "x"); code != 1 {
		t.Fatalf("send to an offline peer: %d %q", code, errOut)
	}
	out, _, _ = run("history", "--profile", dirA, "Bob")
	if !strings.Contains(out, "[queued] when you are back") || !strings.Contains(out, "[delivered] online now") {
		t.Fatalf("history: %q", out)
	}
	out, errOut, code = run("history", "--profile", dirA, "--clear", "Bob")
	if code != 0 || !strings.Contains(out, "deleted 1 records") {
		t.Fatalf("history --clear: %d %q %q", code, out, errOut)
	}
	resp, err := control.Call(a.prof.SocketPath(), control.Request{Cmd: "history"})
	if err != nil || len(resp.History) != 2 || resp.History[0].State != history.StateQueued || resp.History[1].State != history.StateQueued {
		t.Fatalf("after clearing, the queued messages stay: %+v %v", resp.History, err)
	}
}

// A message from a colleague the history knows, arriving before their announcement (a
// restart whose BR_ENTRY answer was lost), is stored and reported as theirs, not a stranger's.
func TestMessageBeforeAnnouncementBelongsToKnownColleague(t *testing.T) {
	dir := t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dir, "Alice", pa, pb, nil)
	if _, err := a.History.Add(history.Record{PeerID: "feigo-bob", User: "bob", Host: "pc-bob", Nick: "Bob",
		Addr: fmt.Sprintf("127.0.0.1:%d", pb), Direction: "in", Text: "earlier", State: history.StateReceived}); err != nil {
		t.Fatal(err)
	}
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pb})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer raw.Close()
	b, _ := ipmsg.Packet{Version: "1_lbt6_0", No: 7, User: []byte("bob"), Host: []byte("pc-bob"),
		Cmd: ipmsg.SendMsg | ipmsg.SendCheckOpt | ipmsg.UTF8Opt, Body: []byte("I am back\x00")}.Marshal()
	raw.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pa})
	ev := a.wait(t, "message", nil)
	if ev.Message.PeerID != "feigo-bob" || ev.Message.Nick != "Bob" || ev.HistoryID == 0 {
		t.Fatalf("message event: %+v", ev.Message)
	}
	rs, _ := a.History.Query(history.Filter{Peer: "feigo-bob"})
	if len(rs) != 2 || rs[1].Text != "I am back" || rs[1].Nick != "Bob" {
		t.Fatalf("Bob's history: %q", texts(rs))
	}
}

// The retention setting prunes at once what is older, and never a queued message.
func TestRetentionPrunes(t *testing.T) {
	a := startLoop(t, t.TempDir(), "Alice", freePort(t), freePort(t), nil)
	old := time.Now().AddDate(0, 0, -40)
	for _, r := range []history.Record{
		{PeerID: "x", Direction: "in", Text: "old", State: history.StateReceived, Time: old},
		{PeerID: "x", Direction: "out", Text: "old but queued", State: history.StateQueued, Time: old},
		{PeerID: "x", Direction: "in", Text: "recent", State: history.StateReceived},
	} {
		if _, err := a.History.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	a.SetRetention(0) // forever: nothing goes
	if rs, _ := a.History.Query(history.Filter{}); len(rs) != 3 {
		t.Fatalf("kept forever: %q", texts(rs))
	}
	a.SetRetention(30)
	rs, _ := a.History.Query(history.Filter{})
	if strings.Join(texts(rs), "|") != "out:queued:old but queued|in:received:recent" {
		t.Fatalf("after 30 days' retention: %q", texts(rs))
	}
}

// Empty lists print as [] in --json, never null: scripts iterate over them.
func TestEmptyJSONListsAreArrays(t *testing.T) {
	dir := t.TempDir()
	startLoop(t, dir, "Alice", freePort(t), freePort(t), nil)
	for _, cmd := range [][]string{{"peers"}, {"transfers"}, {"history"}} {
		out, errOut, code := run(append(cmd, "--json", "--profile", dir)...)
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("feigo %s --json with nothing to list: %d %q %q", cmd[0], code, out, errOut)
		}
	}
}

// The LAN's read loop never waits for the history (only a message's own storing, before its
// acknowledgement, does): with the database locked by another writer, a transfer that ends
// on a datagram (RELEASEFILES) is recorded later, and the node still answers at once.
func TestReadLoopNeverWaitsForTheHistory(t *testing.T) {
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer raw.Close()
	dir := t.TempDir()
	a := startLoop(t, dir, "Alice", freePort(t), raw.LocalAddr().(*net.UDPAddr).Port, nil)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: a.port}
	no := 100
	send := func(cmd ipmsg.Command, body string) {
		no++
		b, _ := ipmsg.Packet{Version: "1", No: uint32(no), User: []byte("rob"), Host: []byte("pc-rob"), Cmd: cmd, Body: []byte(body)}.Marshal()
		raw.WriteToUDP(b, to)
	}
	// expect reads until a packet of mode arrives within d.
	expect := func(mode ipmsg.Command, d time.Duration) (ipmsg.Packet, bool) {
		buf := make([]byte, 65536)
		raw.SetReadDeadline(time.Now().Add(d))
		for {
			k, _, err := raw.ReadFromUDP(buf)
			if err != nil {
				return ipmsg.Packet{}, false
			}
			if p, err := ipmsg.Decode(append([]byte(nil), buf[:k]...)); err == nil && p.Cmd.Mode() == mode {
				return p, true
			}
		}
	}
	send(ipmsg.BrEntry, "Rob\x00\x00")
	if _, ok := expect(ipmsg.AnsEntry, 10*time.Second); !ok {
		t.Fatal("no answer to the first announcement")
	}
	a.wait(t, "peer_online", nil)
	src := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(src, []byte("payroll"), 0o600)
	offered := make(chan error, 1)
	go func() {
		_, err := a.SendFiles(context.Background(), "", []string{src}, netip.MustParseAddrPort(raw.LocalAddr().String()))
		offered <- err
	}()
	offer, ok := expect(ipmsg.SendMsg, 10*time.Second)
	if !ok {
		t.Fatal("no offer")
	}
	send(ipmsg.RecvMsg, fmt.Sprintf("%d\x00", offer.No))
	if err := <-offered; err != nil {
		t.Fatal(err)
	}

	// Another writer holds the database: the history waits up to its busy timeout (5 s).
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	send(ipmsg.ReleaseFiles, fmt.Sprintf("%d\x00", offer.No)) // the offer is declined: a record to write
	send(ipmsg.BrEntry, "Rob\x00\x00")
	_, answered := expect(ipmsg.AnsEntry, 3*time.Second)
	lock.ExecContext(context.Background(), "ROLLBACK")
	lock.Close()
	if !answered {
		t.Fatal("while the history was locked, the node did not answer an announcement within 3 s")
	}
	a.wait(t, "transfer_failed", nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, err := a.History.Query(history.Filter{})
		if err == nil && len(rs) == 1 && rs[0].Kind == history.KindFile && rs[0].State == xfer.StateDeclined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the declined offer was not recorded once the history was free: %+v %v", rs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two colleagues see the same safety code; confirming it marks the key verified, kept across
// a restart; a legacy or unknown name cannot be verified.
func TestVerifyColleague(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	pa, pb := freePort(t), freePort(t)
	a := startLoop(t, dirA, "Alice", pa, pb, nil)
	b := startLoop(t, dirB, "Bob", pb, pa, nil)
	a.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Secure })
	b.wait(t, "peer_online", func(ev lan.Event) bool { return ev.Peer.Secure })
	code := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if c, ok := strings.CutPrefix(l, "Safety code:"); ok {
				return strings.TrimSpace(c)
			}
		}
		return ""
	}
	outA, errA, c1 := run("verify", "--profile", dirA, "Bob")
	outB, errB, c2 := run("verify", "--profile", dirB, "Alice")
	if c1 != 0 || c2 != 0 || code(outA) == "" || code(outA) != code(outB) {
		t.Fatalf("safety codes differ or missing:\n%s%s\n%s%s", outA, errA, outB, errB)
	}
	bobKey := ""
	for _, l := range strings.Split(outA, "\n") {
		if k, ok := strings.CutPrefix(l, "Bob's key:"); ok {
			bobKey = strings.TrimSpace(k)
		}
	}
	// A key other than the one shown is refused; the one shown is verified.
	if out, e, c := run("verify", "--profile", dirA, "--confirm", "--key", strings.Repeat("a", 52), "Bob"); c != 1 || !strings.Contains(e, "changed") {
		t.Fatalf("verify --confirm with another key: %d %q %q", c, out, e)
	}
	if out, e, c := run("verify", "--profile", dirA, "--confirm", "--key", bobKey, "Bob"); c != 0 || !strings.Contains(out, "Bob is verified") {
		t.Fatalf("verify --confirm: %d %q %q", c, out, e)
	}
	verified := func() bool {
		resp, err := control.Call(a.prof.SocketPath(), control.Request{Cmd: "peers"})
		return err == nil && len(resp.Peers) == 1 && resp.Peers[0].Verified && resp.Peers[0].Secure
	}
	deadline := time.Now().Add(10 * time.Second)
	for !verified() {
		if time.Now().After(deadline) {
			t.Fatal("Bob is not shown verified")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.stop()
	a = startLoop(t, dirA, "Alice", pa, pb, nil)
	if ev := a.wait(t, "peer_online", nil); !ev.Peer.Verified {
		t.Fatalf("after a restart Bob is %+v", ev.Peer)
	}
	if _, e, c := run("verify", "--profile", dirA, "Nobody"); c != 1 || !strings.Contains(e, "not online") {
		t.Fatalf("verify of an unknown name: %d %q", c, e)
	}
}
