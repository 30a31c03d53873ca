//go:build !windows

package control

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// The same with the process really out of descriptors: accept4 fails with EMFILE while a
// client waits, and the client is answered once descriptors are free again.
func TestServeSurvivesEMFILE(t *testing.T) {
	failed := make(chan error, 100)
	path, served := startServe(t, func(ln net.Listener) net.Listener { return &reportingListener{Listener: ln, failed: failed} }, defaultLimits)
	status(t, path, served)

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = 256
	if low.Cur > old.Cur {
		t.Skipf("descriptor limit %d already low", old.Cur)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var hog []*os.File
	release := func() {
		for _, f := range hog {
			f.Close()
		}
		hog = nil
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	}
	defer release()
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hog = append(hog, f)
	}
	// One descriptor for the client's socket; then none is left for the server's accept.
	hog[len(hog)-1].Close()
	hog = hog[:len(hog)-1]
	c, err := net.Dial("unix", path)
	if err != nil {
		release()
		t.Fatalf("dial with one descriptor free: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"cmd":"status"}` + "\n")); err != nil {
		release()
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, syscall.EMFILE) {
			release()
			t.Fatalf("accept failed with %v, want EMFILE", err)
		}
	case <-time.After(5 * time.Second):
		release()
		t.Fatal("accept did not fail with the descriptors used up")
	}
	release()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil || !resp.OK {
		t.Fatalf("answer after EMFILE: %+v, %v", resp, err)
	}
	status(t, path, served)
}
