package xfer

import (
	"context"
	"encoding/json"
	"feigo/ipmsg"
	"feigo/peers"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestTransfersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts, _ := loadTransfers(dir)
	x := ts.add(Transfer{Direction: "out", State: StateOffered, PacketNo: 42, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}},
		Recipients: []Recipient{{State: StateOffered, Key: []byte("k1"), Token: "00ff"}, {State: StateOffered}}})
	y := ts.add(Transfer{Direction: "in", State: StateActive, PacketNo: 43, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "b"}, Part: "b.part"}},
		SenderKey: []byte("k2"), Token: "abcd"})
	if err := ts.save(); err != nil {
		t.Fatal(err)
	}
	ts2, err := loadTransfers(dir)
	if err != nil {
		t.Fatal(err)
	}
	x2, ok := ts2.get(x.t.ID)
	if !ok || x2.t.PacketNo != 42 || ts2.nextID != y.t.ID+1 {
		t.Fatalf("reloaded %+v next %d", x2, ts2.nextID)
	}
	// The tokens come back with their offers (and are never in what is shown).
	y2, _ := ts2.get(y.t.ID)
	if x2.t.Recipients[0].Token != "00ff" || x2.t.Recipients[1].Token != "" || y2.t.Token != "abcd" || y2.t.Files[0].Part != "b.part" {
		t.Fatalf("reloaded %+v / %+v", x2.t, y2.t)
	}
	if b, _ := json.Marshal(x2.snapshot()); strings.Contains(string(b), "00ff") {
		t.Fatalf("the token is shown: %s", b)
	}
	// Owner-only.
	for _, p := range []string{filepath.Join(dir, "transfers"), filepath.Join(dir, "transfers", fmt.Sprint(x.t.ID)+".json")} {
		fi, err := os.Stat(p)
		want := os.FileMode(0o600)
		if fi != nil && fi.IsDir() {
			want = 0o700
		}
		// On Windows modes say nothing of access: the profile's access list guards these.
		if err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != want) {
			t.Fatalf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	// A damaged file is kept aside, not lost, and the others load.
	bad := filepath.Join(dir, "transfers", fmt.Sprint(x.t.ID)+".json")
	os.WriteFile(bad, []byte("{nope"), 0o600)
	ts3, err := loadTransfers(dir)
	if err != nil || len(ts3.all) != 1 {
		t.Fatalf("%v %v", ts3.all, err)
	}
	if _, ok := ts3.get(y.t.ID); !ok {
		t.Fatal("the sound transfer was not loaded")
	}
	if _, err := os.Stat(bad + ".damaged"); err != nil {
		t.Fatal(err)
	}
	// So is one that names another transfer than its own.
	b, _ := os.ReadFile(filepath.Join(dir, "transfers", fmt.Sprint(y.t.ID)+".json"))
	os.WriteFile(filepath.Join(dir, "transfers", "77.json"), b, 0o600)
	if ts4, err := loadTransfers(dir); err != nil || len(ts4.all) != 1 || ts4.nextID != y.t.ID+1 {
		t.Fatalf("%v %v", ts4.all, err)
	}
}

// One change writes one small file, whatever the number of transfers the table holds; a
// forgotten transfer's file goes.
func TestUpdateWritesOneFile(t *testing.T) {
	cost := func(n int) (files, bytes int64) {
		dir := t.TempDir()
		e, err := New(Config{StateDir: dir}, nil, peers.New(nil))
		if err != nil {
			t.Fatal(err)
		}
		var last *xfer
		for i := range n {
			last = e.xfers.add(Transfer{Direction: "in", State: StateOffered, PacketNo: uint32(i), Nick: "Bob",
				Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: fmt.Sprintf("report-%04d.xlsx", i), Size: 1 << 20}}}})
		}
		if err := e.xfers.save(); err != nil {
			t.Fatal(err)
		}
		w0, b0 := e.xfers.writes.Load(), e.xfers.wrote.Load()
		e.update(last, "", func(t *Transfer) { t.Files[0].Part = "report.xlsx.part" })
		return e.xfers.writes.Load() - w0, e.xfers.wrote.Load() - b0
	}
	f10, b10 := cost(10)
	f500, b500 := cost(500)
	// (The IDs and numbers in it are a few digits longer among 500.)
	if f10 != 1 || f500 != 1 || b500 > b10+16 {
		t.Fatalf("one update wrote %d files (%d bytes) among 10 transfers, %d files (%d bytes) among 500", f10, b10, f500, b500)
	}
	// Pruned: its file goes.
	dir := t.TempDir()
	e, err := New(Config{StateDir: dir}, nil, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	for range keepFinal + 5 {
		x := e.xfers.add(Transfer{Direction: "in", State: StateOffered, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}}})
		e.update(x, "", func(t *Transfer) { t.State = StateDeclined })
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "transfers"))
	if len(ents) != keepFinal {
		t.Fatalf("%d files for %d transfers kept", len(ents), len(e.Transfers()))
	}
	if _, err := os.Stat(filepath.Join(dir, "transfers", "1.json")); !os.IsNotExist(err) {
		t.Fatalf("the oldest, forgotten, still has its file: %v", err)
	}
}

// transfers.json as FeiGo wrote it before the transfers folder: an outgoing offer to a
// colleague with a key, a partial download and an ended one.
const oldTransfersJSON = `{
 "next_id": 9,
 "transfers": [
  {
   "id": 3,
   "direction": "out",
   "state": "offered",
   "packet_no": 3735928559,
   "nick": "Bob",
   "addr": "10.213.0.2:2425",
   "files": [
    {"id": 0, "name": "payroll.xlsx", "size": 5000, "mtime": 1700000000, "attr": 1, "path": "/home/a/payroll.xlsx", "done": 0, "state": "pending"}
   ],
   "recipients": [
    {"peer_id": "id-bob", "nick": "Bob", "user": "bob", "host": "pc", "addr": "10.213.0.2:2425", "state": "offered", "done": 0, "feigo": true, "key": "AAEC"}
   ],
   "total": 5000, "done": 0, "rate": 0,
   "created": "2026-11-20T10:00:00Z", "updated": "2026-11-20T10:00:00Z", "expires": "2026-11-21T10:00:00Z"
  },
  {
   "id": 5,
   "direction": "in",
   "state": "active",
   "packet_no": 77,
   "nick": "Carol",
   "addr": "10.213.0.3:2425",
   "files": [
    {"id": 0, "name": "big.iso", "size": 9000000, "mtime": 0, "attr": 1, "part": "big.iso.feigo-part", "done": 4000000, "state": "pending"}
   ],
   "dest": "/home/a/Downloads",
   "total": 9000000, "done": 4000000, "rate": 0,
   "created": "2026-11-20T10:00:00Z", "updated": "2026-11-20T10:00:00Z",
   "feigo": true, "charset": "utf-8"
  },
  {
   "id": 8, "direction": "in", "state": "declined", "packet_no": 78, "files": [], "total": 0, "done": 0, "rate": 0,
   "created": "2026-11-20T10:00:00Z", "updated": "2026-11-20T10:00:00Z"
  }
 ]
}`

// A profile from the previous FeiGo: its transfers.json is moved into the folder once and
// removed; the offers and the partial download are there after the move and after the next
// start.
func TestTransfersJSONMigrated(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "transfers.json")
	if err := os.WriteFile(old, []byte(oldTransfersJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ts, err := loadTransfers(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Fatalf("transfers.json is still there: %v", err)
		}
		out, ok1 := ts.get(3)
		in, ok2 := ts.get(5)
		_, ok3 := ts.get(8)
		if !ok1 || !ok2 || !ok3 || len(ts.all) != 3 {
			t.Fatalf("migrated %v", ts.all)
		}
		if r := out.t.Recipients[0]; out.t.PacketNo != 3735928559 || string(r.Key) != "\x00\x01\x02" || r.Token != "" || out.t.Files[0].Path != "/home/a/payroll.xlsx" {
			t.Fatalf("outgoing %+v", out.t)
		}
		if f := in.t.Files[0]; in.t.State != StateActive || f.Part != "big.iso.feigo-part" || in.t.Dest != "/home/a/Downloads" || !in.t.FeiGo {
			t.Fatalf("incoming %+v", in.t)
		}
		if ts.nextID != 9 {
			t.Fatalf("next ID %d, want the old file's 9", ts.nextID)
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "transfers"))
		if len(ents) != 3 {
			t.Fatalf("%d files in the folder", len(ents))
		}
	}
	// A damaged transfers.json is set aside, as before.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "transfers.json"), []byte("{nope"), 0o600)
	if ts, err := loadTransfers(dir2); err != nil || len(ts.all) != 0 {
		t.Fatalf("%v %v", ts, err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "transfers.json.damaged")); err != nil {
		t.Fatal(err)
	}
}

// runEngine runs an engine with its state in dir on a loopback listener; the returned stop
// waits for Run to return.
func runEngine(t *testing.T, dir string) (*Engine, func()) {
	t.Helper()
	e, err := New(Config{StateDir: dir}, nil, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := runOnLoopback(t, e)
	<-e.up
	t.Cleanup(stop)
	return e, stop
}

// runOnLoopback runs e on a loopback listener; stop (which may be called again) cancels it
// and waits for Run to return.
func runOnLoopback(t *testing.T, e *Engine) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, ln) }()
	stopped := false
	return func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}

func TestSavesAreCoalesced(t *testing.T) {
	dir := t.TempDir()
	e, stop := runEngine(t, dir)
	x := e.xfers.add(Transfer{Direction: "in", State: StateOffered, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}}})
	start := time.Now()
	const updates = 200
	for i := range updates {
		e.update(x, "", func(t *Transfer) { t.Files[0].Part = fmt.Sprint(i) })
	}
	elapsed := time.Since(start)
	// At most one write per saveEvery, and one more for the last.
	if w, most := e.xfers.writes.Load(), 2+int64(elapsed/saveEvery); w > most {
		t.Errorf("%d updates in %v wrote the transfer's file %d times, want at most %d", updates, elapsed, w, most)
	}
	// Stopping writes what is left.
	stop()
	ts, err := loadTransfers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if y, ok := ts.get(x.t.ID); !ok || y.t.Files[0].Part != fmt.Sprint(updates-1) {
		t.Fatalf("after stop the file holds %+v", y)
	}
}

func TestEndedTransfersArePruned(t *testing.T) {
	e, err := New(Config{}, nil, peers.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 * keepFinal / 2 {
		x := e.xfers.add(Transfer{Direction: "in", State: StateOffered, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}}})
		e.update(x, "", func(t *Transfer) { t.State = StateDeclined })
	}
	live := e.xfers.add(Transfer{Direction: "in", State: StateOffered, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}}})
	all := e.Transfers()
	if len(all) != keepFinal+1 {
		t.Fatalf("%d transfers kept, want the newest %d ended ones and the live one", len(all), keepFinal)
	}
	if all[0].ID != 3*keepFinal/2-keepFinal+1 || all[len(all)-1].ID != live.t.ID {
		t.Fatalf("kept %d … %d", all[0].ID, all[len(all)-1].ID)
	}
}
