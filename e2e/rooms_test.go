//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"feigo/control"
	"feigo/internal/lab"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/room"
	"feigo/trust"
)

// roomCLI runs `feigo room SUB --json ARGS…` on n and decodes what it prints.
func roomCLI[T any](t *testing.T, n *node, sub string, args ...string) T {
	t.Helper()
	out, errOut, code := n.cli(append([]string{"room", sub, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("%s: feigo room %s: exit %d: %s", n.Host.NS, sub, code, errOut)
	}
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("feigo room %s --json printed %q: %v", sub, out, err)
	}
	return v
}

// roomTexts returns the texts of the room_message events n printed for room, in order.
func roomTexts(n *node, roomID string) []string {
	var out []string
	for _, ev := range n.Events() {
		if ev["type"] != "room_message" {
			continue
		}
		r, _ := ev["room"].(map[string]any)
		if r["room"] == roomID {
			out = append(out, r["text"].(string))
		}
	}
	return out
}

// waitRoomTexts waits until n has printed room_message events for every text in want.
func waitRoomTexts(t *testing.T, n *node, roomID string, want []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := roomTexts(n, roomID)
		missing := 0
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d room messages missing after %v; got %q; log:\n%s", n.Host.NS, missing, len(want), timeout, got, n.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// onlyFrom keeps the texts with prefix, in order.
func onlyFrom(texts []string, prefix string) []string {
	var out []string
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func fingerprint(t *testing.T, n *node) string {
	t.Helper()
	resp, err := n.call(control.Request{Cmd: "status"})
	if err != nil || resp.Self == nil {
		t.Fatalf("status: %v", err)
	}
	return resp.Self.ID
}

// Four FeiGo colleagues and one without a key (--no-key, as legacy clients are) on one LAN:
// Alice makes a room with Bob and Carol; Alice and Bob write at once; each member gets each
// message once, in its sender's order; Dave (not a member) and the legacy node get nothing;
// a capture of the LAN holds none of it. Carol is away while Alice writes, Alice quits, Carol
// comes back and gets it all from Bob. Carol is removed: she gets nothing afterwards and
// cannot post.
func TestLabRoom(t *testing.T) {
	l := lab.New(t, 5)
	profs := make([]string, 5)
	for i := range profs {
		profs[i] = filepath.Join(t.TempDir(), fmt.Sprint("p", i))
	}
	a := serveProfile(t, l.Hosts[0], profs[0], "Alice", "QA")
	b := serveProfile(t, l.Hosts[1], profs[1], "Bob", "QA")
	c := serveProfile(t, l.Hosts[2], profs[2], "Carol", "QA")
	d := serveProfile(t, l.Hosts[3], profs[3], "Dave", "QA")
	e := serveProfile(t, l.Hosts[4], profs[4], "Legacy", "QA", "--no-key")
	for _, n := range []*node{a, b, c, d} {
		n.waitPeers(t, 4, 15*time.Second) // the --no-key node is listed, unencrypted
	}
	pcap := filepath.Join(t.TempDir(), "lan.pcap")
	stopCapture := l.Capture(pcap)
	tag := make([]byte, 6)
	rand.Read(tag)
	secret := "机密-" + hex.EncodeToString(tag)

	// A colleague without a key cannot be put in a room.
	if _, errOut, code := a.cli("room", "create", "nope", "Legacy"); code != 1 || !strings.Contains(errOut, "cannot encrypt") {
		t.Fatalf("a room with the --no-key colleague: exit %d, %s", code, errOut)
	}
	created := roomCLI[room.Sent](t, a, "create", "项目组 "+secret, "Bob", "Carol")
	id := created.Room.ID
	if len(created.Deliveries) != 2 || !created.Deliveries[0].Delivered || !created.Deliveries[1].Delivered {
		t.Fatalf("the creation: %+v", created.Deliveries)
	}
	b.WaitEvent("room_changed", 10*time.Second, nil)

	// Alice and Bob write at once.
	var wg sync.WaitGroup
	var want = map[string][]string{}
	for _, w := range []struct {
		n      *node
		prefix string
	}{{a, "A"}, {b, "B"}} {
		var texts []string
		for i := range 8 {
			texts = append(texts, fmt.Sprintf("%s-%d %s 第%d条", w.prefix, i, secret, i))
		}
		want[w.prefix] = texts // written here only: the goroutine reads its own slice
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, text := range texts {
				s := roomCLI[room.Sent](t, w.n, "send", id, text)
				for _, dv := range s.Deliveries {
					if !dv.Delivered {
						t.Errorf("%q not delivered to %s: %+v", text, dv.Nick, dv)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range []*node{a, b, c} {
		var all []string
		if n != a {
			all = append(all, want["A"]...)
		}
		if n != b {
			all = append(all, want["B"]...)
		}
		waitRoomTexts(t, n, id, all, 20*time.Second)
		got := roomTexts(n, id)
		for _, p := range []string{"A-", "B-"} {
			if (n == a && p == "A-") || (n == b && p == "B-") {
				continue
			}
			if g, w := strings.Join(onlyFrom(got, p), "|"), strings.Join(want[p[:1]], "|"); g != w {
				t.Errorf("%s got %s's messages\n %s\nwant each once, in order\n %s", n.Host.NS, p[:1], g, w)
			}
		}
	}
	// The sender's record shows who has each message.
	lines := roomCLI[[]room.Line](t, a, "history", id)
	msgs := 0
	for _, ln := range lines {
		if ln.Kind == room.KindMsg && ln.Author == fingerprint(t, a) {
			msgs++
			if len(ln.DeliveredTo) != 2 {
				t.Errorf("Alice's record of %q: delivered to %v", ln.Text, ln.DeliveredTo)
			}
		}
	}
	if msgs != 8 {
		t.Errorf("Alice's room history holds %d of her 8 messages", msgs)
	}
	// Searchable like conversations.
	if rs := cliJSON[[]map[string]any](t, c, "history", "--search", "A-3 "+secret); len(rs) != 1 {
		t.Errorf("Carol's search for a room message found %d records", len(rs))
	}

	// Carol is away while Alice writes; Alice quits; Carol is back and gets it from Bob.
	if code := c.Stop(); code != 0 {
		t.Fatalf("Carol's serve exited %d", code)
	}
	a.waitPeers(t, 3, 10*time.Second)
	var missed []string
	for i := range 3 {
		text := fmt.Sprintf("missed-%d %s", i, secret)
		missed = append(missed, text)
		s := roomCLI[room.Sent](t, a, "send", id, text)
		for _, dv := range s.Deliveries {
			if dv.Member == fingerprint(t, b) && !dv.Delivered || dv.Nick == "Carol" && !dv.Queued {
				t.Errorf("while Carol is away: %+v", dv)
			}
		}
	}
	waitRoomTexts(t, b, id, missed, 10*time.Second)
	if code := a.Stop(); code != 0 {
		t.Fatalf("Alice's serve exited %d", code)
	}
	c = serveProfile(t, l.Hosts[2], profs[2], "Carol", "QA")
	c.waitPeers(t, 3, 15*time.Second)
	waitRoomTexts(t, c, id, missed, 30*time.Second)
	if got := onlyFrom(roomTexts(c, id), "missed-"); strings.Join(got, "|") != strings.Join(missed, "|") {
		t.Errorf("Carol, back after Alice quit, got %q", got)
	}

	// Alice is back and removes Carol: Carol gets nothing afterwards and cannot post.
	a = serveProfile(t, l.Hosts[0], profs[0], "Alice", "QA")
	for _, n := range []*node{a, b, c} {
		n.waitPeers(t, 4, 15*time.Second)
	}
	roomCLI[room.Sent](t, a, "remove", id, "Carol")
	after := "after-removal " + secret
	s := roomCLI[room.Sent](t, a, "send", id, after)
	for _, dv := range s.Deliveries {
		if dv.Nick == "Carol" {
			t.Errorf("a message after the removal went to Carol: %+v", dv)
		}
	}
	waitRoomTexts(t, b, id, []string{after}, 10*time.Second)
	if _, errOut, code := c.cli("room", "send", id, "still here "+secret); code == 0 {
		t.Error("the removed member could post")
	} else if !strings.Contains(errOut, "not a member") {
		t.Errorf("the removed member's send: %s", errOut)
	}
	c.cli("refresh") // ask everyone again: nothing more comes
	b.cli("refresh")
	time.Sleep(2 * time.Second) // nothing should arrive: give it the time to (not) arrive
	for _, ln := range roomCLI[[]room.Line](t, c, "history", id) {
		if strings.Contains(ln.Text, "after-removal") {
			t.Error("the removed member's history holds a message written after the removal")
		}
	}
	if slices.Contains(roomTexts(c, id), after) {
		t.Error("the removed member was shown a message written after the removal")
	}
	// Bob's room does not hold Carol's attempt either.
	for _, ln := range roomCLI[[]room.Line](t, b, "history", id) {
		if strings.Contains(ln.Text, "still here") {
			t.Error("Bob's room holds the removed member's message")
		}
	}

	// Dave (not a member) and the legacy node got nothing.
	for _, n := range []*node{d, e} {
		for _, ev := range n.Events() {
			if typ, _ := ev["type"].(string); strings.HasPrefix(typ, "room_") {
				t.Errorf("%s, not a member, got %v", n.Host.NS, ev)
			}
		}
	}
	if rs := roomCLI[[]room.Info](t, d, "list"); len(rs) != 0 {
		t.Errorf("Dave keeps rooms: %+v", rs)
	}
	if _, errOut, code := e.cli("room", "list"); code != 1 || !strings.Contains(errOut, "key") {
		t.Errorf("room list on the --no-key node: exit %d %s", code, errOut)
	}

	stopCapture()
	capture, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(capture, []byte{0x17, 0x03, 0x03}) {
		t.Fatal("the capture holds no TLS records")
	}
	for _, s := range []string{secret, hex.EncodeToString(tag), "A-3", "missed-1", "项目组"} {
		if bytes.Contains(capture, []byte(s)) {
			t.Errorf("%q crossed the LAN in clear", s)
		}
	}
	// No room request ever went out as an IPMsg datagram (its command, 0xE7, in decimal).
	if cmd := fmt.Sprintf(":%d:", uint32(lan.CmdRoom)); bytes.Contains(capture, []byte(cmd)) {
		t.Errorf("a packet with the room command (%s) crossed the LAN in clear", cmd)
	}
}

// Files to a room: one offer per member online, over each one's channel; each accepts (or
// declines) on their own; the room shows the offer to every member.
func TestLabRoomFiles(t *testing.T) {
	l := lab.New(t, 3)
	a := serve(t, l.Hosts[0], "Alice", "QA")
	b := serve(t, l.Hosts[1], "Bob", "QA")
	c := serve(t, l.Hosts[2], "Carol", "QA")
	for _, n := range []*node{a, b, c} {
		n.waitPeers(t, 2, 15*time.Second)
	}
	id := roomCLI[room.Sent](t, a, "create", "资料", "Bob", "Carol").Room.ID
	info := roomCLI[room.Info](t, c, "members", "资料")
	if info.ID != id || len(info.Members) != 3 || info.Creator != fingerprint(t, a) {
		t.Fatalf("Carol's room members: %+v", info)
	}
	for _, m := range info.Members {
		if !m.Online && !m.Me {
			t.Errorf("Carol sees %s offline", m.Nick)
		}
	}
	src := filepath.Join(t.TempDir(), "季度报告.txt")
	content := bytes.Repeat([]byte("room file\n"), 50000)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	s := roomCLI[room.Sent](t, a, "send-file", id, src, "--text", "请看")
	for _, dv := range s.Deliveries {
		if !dv.Delivered {
			t.Errorf("the room's record of the offer: %+v", dv)
		}
	}
	offered := func(n *node) int {
		ev := n.WaitEvent("transfer_offered", 10*time.Second, nil)
		return int(ev["transfer"].(map[string]any)["id"].(float64))
	}
	bid, cid := offered(b), offered(c)
	dl := t.TempDir()
	if _, e, code := b.cli("accept", fmt.Sprint(bid), "--to", dl, "--wait"); code != 0 {
		t.Fatalf("Bob's accept: %s", e)
	}
	if fileSum(t, src) != fileSum(t, filepath.Join(dl, "季度报告.txt")) {
		t.Fatal("Bob's copy differs")
	}
	if _, e, code := c.cli("decline", fmt.Sprint(cid)); code != 0 {
		t.Fatalf("Carol's decline: %s", e)
	}
	for _, n := range []*node{b, c} {
		found := false
		for _, ln := range roomCLI[[]room.Line](t, n, "history", id) {
			if ln.Kind == room.KindFiles && slices.Contains(ln.Files, "季度报告.txt") && ln.Text == "请看" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s's room does not show the offer", n.Host.NS)
		}
	}
}

// A colleague who is not in a room cannot write into it, even over a real channel with a
// proved key: Dave, not a member, pushes a message signed with his own key and one that
// claims to be Alice's, straight to Bob's node; Bob's room holds neither.
func TestLabRoomRefusesForgedEvents(t *testing.T) {
	l := lab.New(t, 3)
	profs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "d")}
	a := serveProfile(t, l.Hosts[0], profs[0], "Alice", "QA")
	b := serveProfile(t, l.Hosts[1], profs[1], "Bob", "QA")
	d := serveProfile(t, l.Hosts[2], profs[2], "Dave", "QA")
	for _, n := range []*node{a, b, d} {
		n.waitPeers(t, 2, 15*time.Second)
	}
	id := roomCLI[room.Sent](t, a, "create", "财务", "Bob").Room.ID
	roomCLI[room.Sent](t, a, "send", id, "real message")
	waitRoomTexts(t, b, id, []string{"real message"}, 10*time.Second)

	dave, err := trust.LoadOrCreate(profs[2])
	if err != nil {
		t.Fatal(err)
	}
	alice, err := trust.LoadOrCreate(profs[0])
	if err != nil {
		t.Fatal(err)
	}
	bob, err := trust.LoadOrCreate(profs[1])
	if err != nil {
		t.Fatal(err)
	}
	own := room.Event{Room: id, Seq: 1, Clock: 100, Kind: room.KindMsg, Time: time.Now().UnixMilli(),
		Body: room.NewBody(room.Body{Text: "dave writes in"})}
	room.Sign(dave, &own)
	asAlice := room.Event{Room: id, Seq: 3, Clock: 101, Kind: room.KindMsg, Time: time.Now().UnixMilli(),
		Body: room.NewBody(room.Body{Text: "alice says pay dave"})}
	room.Sign(dave, &asAlice)
	asAlice.Author, asAlice.Key = alice.Fingerprint().String(), alice.Pub // signed by Dave's key

	// Dave's channel to Bob, from Dave's host, with Dave's key: what Dave's node would open.
	var raw net.Conn
	if err := l.Hosts[2].Do(func() (err error) {
		raw, err = net.DialTimeout("tcp4", netip.AddrPortFrom(l.Hosts[1].Addr, 2425).String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, dave.ClientConfig(bob.Pub))
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, ev := range []room.Event{own, asAlice} {
		body, _ := json.Marshal(map[string]any{"op": "push", "room": id, "events": []room.Event{ev}})
		pkt, _ := ipmsg.Packet{Version: "1_feigo " + lan.Version, No: uint32(ev.Seq), User: []byte("dave"), Host: []byte("d"),
			Cmd: lan.CmdRoom, Body: body}.Marshal()
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(pkt)))
		if _, err := c.Write(append(frame, pkt...)); err != nil {
			t.Fatalf("writing to Bob's channel: %v", err)
		}
		var h [4]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			t.Fatalf("Bob's answer: %v", err)
		}
		ans := make([]byte, binary.BigEndian.Uint32(h[:]))
		if _, err := io.ReadFull(c, ans); err != nil {
			t.Fatal(err)
		}
		if p, err := ipmsg.Decode(ans); err != nil || p.Cmd.Mode() != lan.CmdRoom {
			t.Fatalf("Bob did not answer the room request as one (%v): %q", err, ans)
		}
	}
	roomCLI[room.Sent](t, a, "send", id, "after the forgeries")
	waitRoomTexts(t, b, id, []string{"after the forgeries"}, 10*time.Second)
	for _, ln := range roomCLI[[]room.Line](t, b, "history", id) {
		if strings.Contains(ln.Text, "dave") {
			t.Errorf("Bob's room holds a forged event: %+v", ln)
		}
	}
	for _, s := range roomTexts(b, id) {
		if strings.Contains(s, "dave") {
			t.Errorf("Bob was shown %q", s)
		}
	}
	if rs := cliJSON[[]map[string]any](t, b, "history", "--search", "dave"); len(rs) != 0 {
		t.Errorf("Bob's search finds the forgeries: %v", rs)
	}
}

// `feigo room history` and `feigo room list` read the profile's history themselves when no
// FeiGo runs with it (as `feigo history` does): Bob's node is stopped, and his room's messages
// and members are still shown, everyone offline, with nothing written to his history.
func TestLabRoomHistoryWithoutFeiGo(t *testing.T) {
	l := lab.New(t, 2)
	a := serve(t, l.Hosts[0], "Alice", "QA")
	prof := filepath.Join(t.TempDir(), "bob")
	b := serveProfile(t, l.Hosts[1], prof, "Bob", "QA")
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)
	id := roomCLI[room.Sent](t, a, "create", "周会", "Bob").Room.ID
	for _, text := range []string{"九点开会", "带上报告"} {
		roomCLI[room.Sent](t, a, "send", id, text)
	}
	if code := b.Stop(); code != 0 {
		t.Fatalf("Bob's node exited %d", code)
	}
	db := filepath.Join(prof, "history.db")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	lines := roomCLI[[]room.Line](t, b, "history", "周会")
	var texts []string
	for _, ln := range lines {
		if ln.Kind == room.KindMsg {
			texts = append(texts, ln.Text)
		}
	}
	if strings.Join(texts, ",") != "九点开会,带上报告" || lines[0].Kind != room.KindCreate {
		t.Fatalf("Bob's room history without FeiGo: %+v", lines)
	}
	out, errOut, code := b.cli("room", "history", id[:8], "-n", "1")
	if code != 0 || !strings.Contains(out, "带上报告") || strings.Contains(out, "九点开会") {
		t.Fatalf("room history -n 1: exit %d %q %q", code, out, errOut)
	}
	rooms := roomCLI[[]room.Info](t, b, "list")
	if len(rooms) != 1 || rooms[0].ID != id || len(rooms[0].Members) != 2 {
		t.Fatalf("Bob's rooms without FeiGo: %+v", rooms)
	}
	for _, m := range rooms[0].Members {
		if m.Online {
			t.Errorf("%s shown online with no FeiGo running", m.Nick)
		}
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Error("reading the rooms changed the history database")
	}
	if _, errOut, code := b.cli("room", "send", id, "hi"); code == 0 || !strings.Contains(errOut, "no FeiGo is running with this profile") {
		t.Errorf("room send with no FeiGo running: exit %d %q", code, errOut)
	}
}
