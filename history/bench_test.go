package history

import (
	"database/sql"
	"feigo/event"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Benchmarks of the history: how fast messages are stored (each in its own transaction, as
// the node stores them before acknowledging), how long a search over 1,000,000 messages
// takes, and how long a page of a 100,000-message conversation takes to read. Each has a
// baseline in the same run: a plain SQLite table with no index and no full-text index, and
// a LIKE scan instead of the FTS5 trigram index.
//
//	go test -run '^$' -bench . -benchtime 2s ./history

var words = []string{"周报", "会议", "会议室", "季度报表", "下午三点", "发布", "服务器", "路径", "文件", "好的", "收到", "谢谢",
	"明天", "今天", "晚上", "午饭", "打印机", "报销", "deploy", "build", "release", "the", "server", "please", "check",
	"meeting", "report", "lunch", "ok", "thanks", "/srv/share", "ticket", "review", "merge", "branch"}

// sentence makes a message of a few words; i decides the planted words: "nightly-build" in
// 1 of 1,000 messages, "预算审批" in 1 of 100 (including those).
func sentence(r *rand.Rand, i int) string {
	n := 3 + r.IntN(8)
	parts := make([]string, n)
	for k := range parts {
		parts[k] = words[r.IntN(len(words))]
	}
	if i%1000 == 7 {
		parts = append(parts, "nightly-build")
	}
	if i%100 == 7 {
		parts = append(parts, "预算审批")
	}
	return strings.Join(parts, " ")
}

// benchData is the version of what bigStore generates: change it with sentence.
const benchData = 2

// bigStore returns a store of n messages among 200 peers, peer "p000" holding a tenth of
// them. It is built once per size and kept in the temporary directory (building 1,000,000
// takes a minute or two); the benchmarks only read it.
func bigStore(b *testing.B, n int) *Store {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("feigo-bench-history-%d-s%d-d%d.db", n, len(migrations), benchData))
	if s, err := Open(path); err == nil {
		var have int
		s.db.QueryRow("SELECT COUNT(*) FROM messages").Scan(&have)
		if have == n {
			return s
		}
		s.Close()
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
	}
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	const batch = 50_000
	for i := 0; i < n; i += batch {
		rs := make([]Record, 0, batch)
		for k := i; k < min(i+batch, n); k++ {
			peer := fmt.Sprintf("p%03d", r.IntN(200))
			if k%10 == 0 {
				peer = "p000"
			}
			dir := event.In
			if r.IntN(2) == 0 {
				dir = "out"
			}
			rs = append(rs, Record{Peer: peer, PeerID: peer, Nick: "nick-" + peer, Direction: dir, Text: sentence(r, k),
				State: StateDelivered, Time: t0.Add(time.Duration(k) * 30 * time.Second)})
		}
		if err := s.AddAll(rs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d messages in %v (%s)", n, time.Since(start).Round(time.Second), path)
	return s
}

func BenchmarkInsert(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	b.Run("store", func(b *testing.B) {
		s, err := Open(filepath.Join(b.TempDir(), "h.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Add(Record{PeerID: "bob", User: "bob", Host: "pc1", Addr: "10.0.0.2:2425", Nick: "Bob",
				Direction: "in", Text: sentence(r, i), State: StateReceived}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	// The baseline: the same database settings and columns, no index, no full-text index, no
	// peers row: what one committed INSERT costs at least.
	b.Run("baseline-plain-table", func(b *testing.B) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "p.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.Exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, time INTEGER, peer TEXT, peer_id TEXT, user TEXT, host TEXT,
			addr TEXT, nick TEXT, direction TEXT, kind TEXT, text TEXT, state TEXT, error TEXT, packet_no INTEGER, files TEXT, folder TEXT)`); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if _, err := db.Exec(`INSERT INTO m(time, peer, peer_id, user, host, addr, nick, direction, kind, text, state, error, packet_no, files, folder)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, time.Now().UnixMilli(), "bob", "bob", "bob", "pc1", "10.0.0.2:2425", "Bob",
				"in", KindText, sentence(r, i), StateReceived, "", 0, "", ""); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkSearch1M searches 1,000,000 messages as the window does (the newest 500 matches).
func BenchmarkSearch1M(b *testing.B) {
	s := bigStore(b, 1_000_000)
	defer s.Close()
	for _, c := range []struct{ name, words string }{
		{"english-rare", "nightly-build"},         // 1 in 1,000 messages
		{"chinese-4-chars-rare", "预算审批"},          // 1 in 100, FTS5 trigram
		{"chinese-3-chars", "会议室"},                // common
		{"chinese-2-chars", "周报"},                 // under 3 characters: the LIKE scan, stops at 500
		{"two-words", "nightly-build 预算审批"},       // both: 1 in 1,000
		{"chinese-2-chars-rare-combo", "周报 预算审批"}, // FTS narrows, then LIKE on the rest
		{"chinese-2-chars-absent", "请假"},          // the worst case: the scan reads every message
		{"english-absent", "kubernetes"},          // FTS: no trigram list holds it
	} {
		b.Run(c.name, func(b *testing.B) {
			var found int
			for b.Loop() {
				rs, err := s.Query(Filter{Search: c.words, Limit: 500})
				if err != nil {
					b.Fatal(err)
				}
				found = len(rs)
			}
			b.ReportMetric(float64(found), "found")
		})
	}
	// The baseline: the rare English word by a scan of every message, as without FTS5.
	b.Run("baseline-like-scan-english-rare", func(b *testing.B) {
		var found int
		for b.Loop() {
			rows, err := s.db.Query(`SELECT id FROM messages WHERE text LIKE '%nightly-build%' ORDER BY id DESC LIMIT 500`)
			if err != nil {
				b.Fatal(err)
			}
			found = 0
			for rows.Next() {
				found++
			}
			rows.Close()
		}
		b.ReportMetric(float64(found), "found")
	})
}

// BenchmarkConversationPage reads the newest page (50) of a 100,000-message conversation,
// and the page 50,000 messages back, among 1,000,000 messages: what opening a conversation
// and paging back cost in the store.
func BenchmarkConversationPage(b *testing.B) {
	s := bigStore(b, 1_000_000)
	defer s.Close()
	newest, err := s.Query(Filter{Peer: "p000", Limit: 1})
	if err != nil || len(newest) != 1 {
		b.Fatal(err)
	}
	var mid int64
	s.db.QueryRow(`SELECT id FROM messages WHERE peer = 'p000' ORDER BY id DESC LIMIT 1 OFFSET 50000`).Scan(&mid)
	for _, c := range []struct {
		name   string
		before int64
	}{{"newest", 0}, {"50000-back", mid}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rs, err := s.Query(Filter{Peer: "p000", Before: c.before, Limit: 50})
				if err != nil || len(rs) != 50 {
					b.Fatalf("%d records, %v", len(rs), err)
				}
			}
		})
	}
}
