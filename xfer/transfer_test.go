package xfer

import (
	"context"
	"feigo/ipmsg"
	"feigo/peers"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTransfersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts, _ := loadTransfers(dir)
	x := ts.add(Transfer{Direction: "out", State: StateOffered, PacketNo: 42, Files: []TransferFile{{FileInfo: ipmsg.FileInfo{Name: "a"}}}})
	x.rcptDone = nil
	if err := ts.save(); err != nil {
		t.Fatal(err)
	}
	ts2, err := loadTransfers(dir)
	if err != nil {
		t.Fatal(err)
	}
	y, ok := ts2.get(x.t.ID)
	if !ok || y.t.PacketNo != 42 || ts2.nextID != x.t.ID+1 {
		t.Fatalf("reloaded %+v next %d", y, ts2.nextID)
	}
	// A damaged file is kept aside, not lost, and the node starts afresh.
	os.WriteFile(filepath.Join(dir, "transfers.json"), []byte("{nope"), 0o600)
	ts3, err := loadTransfers(dir)
	if err != nil || len(ts3.all) != 0 {
		t.Fatalf("%v %v", ts3, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "transfers.json.damaged")); err != nil {
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
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, ln) }()
	<-e.up
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return e, stop
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
		t.Errorf("%d updates in %v wrote transfers.json %d times, want at most %d", updates, elapsed, w, most)
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
