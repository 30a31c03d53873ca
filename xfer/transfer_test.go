package xfer

import (
	"feigo/ipmsg"
	"os"
	"path/filepath"
	"testing"
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
