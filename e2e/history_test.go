package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"feigo/control"
	"feigo/history"
	"feigo/internal/lab"
)

// historyOf returns what `feigo history --json` prints for n (optionally with a search).
func (n *node) historyOf(t *testing.T, args ...string) []history.Record {
	t.Helper()
	out, e, c := n.cli(append([]string{"history", "--json"}, args...)...)
	if c != 0 {
		t.Fatalf("feigo history: exit %d: %s", c, e)
	}
	var rs []history.Record
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("feigo history --json printed %q: %v", out, err)
	}
	return rs
}

func TestHistoryKeepsEveryAcknowledgedMessage(t *testing.T) {
	l := lab.New(t, 2)
	a := serve(t, l.Hosts[0], "Alice", "QA")
	prof := filepath.Join(t.TempDir(), "bob")
	b := serveProfile(t, l.Hosts[1], prof, "Bob", "QA")
	a.waitPeers(t, 1, 10*time.Second)
	b.waitPeers(t, 1, 10*time.Second)

	// Alice sends a stream of messages; Bob is killed in the middle of it.
	acked := map[string]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			text := fmt.Sprintf("第%d条消息：周报已更新 report-%d", k, k)
			resp, err := a.call(control.Request{Cmd: "send", To: []string{l.Hosts[1].Addr.String()}, Text: text})
			if err == nil && resp.OK {
				acked[text] = true
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for countMessages(b, "") < 40 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.Kill()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	if len(acked) < 40 {
		t.Fatalf("only %d messages acknowledged before the kill", len(acked))
	}
	// Restarted, Bob's history holds every message Alice saw acknowledged.
	b2 := serveProfile(t, l.Hosts[1], prof, "Bob", "QA")
	got := map[string]bool{}
	for _, r := range b2.historyOf(t) {
		if r.Direction == "in" {
			got[r.Text] = true
		}
	}
	for text := range acked {
		if !got[text] {
			t.Errorf("acknowledged but not in the history: %q", text)
		}
	}
	t.Logf("%d acknowledged before and after the kill; %d in the history", len(acked), len(got))
	// Search finds a Chinese word inside a sentence, and an English one, by peer too.
	if rs := b2.historyOf(t, "--search", "周报"); len(rs) != len(got) {
		t.Errorf("search 周报 found %d of %d", len(rs), len(got))
	}
	if rs := b2.historyOf(t, "Alice", "--search", "report-7"); len(rs) != 1 || !strings.Contains(rs[0].Text, "report-7") || rs[0].Nick != "Alice" {
		t.Errorf("search report-7 from Alice: %+v", rs)
	}
	// Alice's side keeps what it sent, with its outcome.
	delivered := 0
	for _, r := range a.historyOf(t, "Bob") {
		if r.Direction == "out" && r.State == "delivered" {
			delivered++
		}
	}
	if delivered != len(acked) {
		t.Errorf("Alice's history has %d delivered, %d were acknowledged", delivered, len(acked))
	}
}
