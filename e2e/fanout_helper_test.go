//go:build linux

package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"feigo/internal/lab"
)

// Ports of the fan-out helper (BenchmarkLabRoom50's baselines), beside FeiGo's 2425.
const (
	fanoutUDPPort = 2427
	fanoutTLSPort = 2428
)

// TestFanoutHelper is not a test of its own: BenchmarkLabRoom50 runs the test binary with
// FEIGO_FANOUT_HELPER=1 on each receiving lab host, as the baselines' receivers. It prints a
// JSON line with the time of each UDP datagram (port 2427) and each line read on a TLS 1.3
// connection (port 2428, answered "ok"): the least a process can do to learn of a message,
// on the same hosts and cores as the room's members.
func TestFanoutHelper(t *testing.T) {
	if os.Getenv("FEIGO_FANOUT_HELPER") != "1" {
		t.Skip("BenchmarkLabRoom50 runs this on lab hosts as its baselines' receiver")
	}
	var mu sync.Mutex
	out := json.NewEncoder(os.Stdout)
	say := func(typ, text string) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		out.Encode(map[string]string{"type": typ, "text": text, "time": now.Format(time.RFC3339Nano)})
	}
	uc, err := net.ListenPacket("udp4", net.JoinHostPort("", strconv.Itoa(fanoutUDPPort)))
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t)
	ln, err := tls.Listen("tcp4", net.JoinHostPort("", strconv.Itoa(fanoutTLSPort)), &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			say("udp", string(buf[:n]))
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					say("tls", sc.Text())
					if _, err := c.Write([]byte("ok\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	say("ready", "")
	select {} // until the benchmark kills it
}

// selfSigned is a throwaway Ed25519 certificate, as FeiGo's channels use.
func selfSigned(t testing.TB) tls.Certificate {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// fanout is the sending side of the baselines, on a lab host: a UDP socket and a TLS 1.3
// connection to the helper on each receiving host.
type fanout struct {
	udp   *net.UDPConn
	conns []*tls.Conn
	acks  []*bufio.Reader
}

// dialFanout opens, inside from's namespace, a UDP socket and a TLS connection to each of to
// (where TestFanoutHelper runs). The helpers' certificates are throwaway ones: the baseline
// measures the channel's cost, not who is at the other end.
func dialFanout(tb testing.TB, from *lab.Host, to []*lab.Host) *fanout {
	tb.Helper()
	f := &fanout{}
	err := from.Do(func() (err error) {
		if f.udp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(from.Addr.AsSlice())}); err != nil {
			return err
		}
		for _, h := range to {
			c, err := tls.Dial("tcp4", netip.AddrPortFrom(h.Addr, fanoutTLSPort).String(),
				&tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
			if err != nil {
				return err
			}
			f.conns, f.acks = append(f.conns, c), append(f.acks, bufio.NewReader(c))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		f.udp.Close()
		for _, c := range f.conns {
			c.Close()
		}
	})
	return f
}

// sendTLS writes text to the first n connections at once, one goroutine each (as a room
// message is pushed to its members), and waits for every "ok".
func (f *fanout) sendTLS(tb testing.TB, n int, text string) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.conns[i].Write([]byte(text + "\n")); err != nil {
				errs <- err
				return
			}
			if _, err := f.acks[i].ReadString('\n'); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// sendUDP sends text in one datagram to addr.
func (f *fanout) sendUDP(tb testing.TB, addr netip.Addr, text string) {
	if _, err := f.udp.WriteToUDPAddrPort([]byte(text), netip.AddrPortFrom(addr, fanoutUDPPort)); err != nil {
		tb.Fatal(err)
	}
}
