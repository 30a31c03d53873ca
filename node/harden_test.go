package node_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/history"
	"feigo/internal/wine"
	"feigo/ipmsg"
)

// A flood of messages from strangers, against a history that knows 10,000 colleagues,
// neither fills the history nor keeps the LAN's read loop from a colleague's message: the
// strangers are limited before any work is done on them, and the few let through cost an
// indexed lookup each, not a scan of every contact.
func TestStrangerFloodDoesNotStallReadLoop(t *testing.T) {
	dir := t.TempDir()
	h, err := history.Open(filepath.Join(dir, "history.db")) // the schema
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 9999)
		INSERT INTO peers(peer, user, host, addr, nick, last)
		SELECT 'user'||i||'@pc'||i, 'user'||i, 'pc'||i, '10.1.0.1:2425', 'colleague '||i, i FROM n`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	rob, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		wine.SkipUnsupported(t, err)
		t.Fatal(err)
	}
	defer rob.Close()
	a := startLoop(t, dir, "Alice", freePort(t), rob.LocalAddr().(*net.UDPAddr).Port, nil)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(a.port))
	pkt := func(no int, user string, cmd ipmsg.Command, body string) []byte {
		b, _ := ipmsg.Packet{Version: "1", No: uint32(no), User: []byte(user), Host: []byte("pc-" + user), Cmd: cmd, Body: []byte(body)}.Marshal()
		return b
	}
	// expect reads from c until a packet of mode numbered no arrives, or the deadline.
	expect := func(c *net.UDPConn, mode ipmsg.Command, body string, deadline time.Time) bool {
		buf := make([]byte, 65536)
		c.SetReadDeadline(deadline)
		for {
			k, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return false
			}
			if p, err := ipmsg.Decode(buf[:k]); err == nil && p.Cmd.Mode() == mode && (body == "" || string(ipmsg.FirstSection(p.Body)) == body) {
				return true
			}
		}
	}
	rob.WriteToUDPAddrPort(pkt(1, "rob", ipmsg.BrEntry, "Rob\x00\x00"), to)
	if !expect(rob, ipmsg.AnsEntry, "", time.Now().Add(10*time.Second)) {
		t.Fatal("Rob was not answered")
	}

	// The flood: 20 addresses, 50 messages each, every one from a new user@host.
	for s := range 20 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 2, byte(1+s))})
		if err != nil {
			wine.SkipUnsupported(t, err)
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 50 {
			c.WriteToUDPAddrPort(pkt(100+i, fmt.Sprint("stranger", s, "-", i), ipmsg.SendMsg|ipmsg.SendCheckOpt, strings.Repeat("spam ", 200)+"\x00"), to)
		}
	}
	// Rob's message, sent as a client does: again every 200 ms until acknowledged.
	start := time.Now()
	acked := false
	for !acked && time.Since(start) < 2*time.Second {
		rob.WriteToUDPAddrPort(pkt(2, "rob", ipmsg.SendMsg|ipmsg.SendCheckOpt, "are you there?\x00"), to)
		acked = expect(rob, ipmsg.RecvMsg, "2", time.Now().Add(200*time.Millisecond))
	}
	if !acked {
		t.Fatalf("a colleague's message was not acknowledged within 2 s of a stranger flood")
	}
	t.Logf("acknowledged after %v", time.Since(start).Round(time.Millisecond))
	rs, err := a.History.Query(history.Filter{Since: time.Now().Add(-time.Hour), Search: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) > 30 {
		t.Fatalf("%d stranger messages stored, want at most the overall burst of 30", len(rs))
	}
}
