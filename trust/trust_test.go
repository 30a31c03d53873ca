package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8032 §7.1, tests 1 and 2: the keys and signatures FeiGo's identity makes are standard
// Ed25519, and the fingerprint and safety code derived from them are fixed.
func TestVectors(t *testing.T) {
	seed1 := mustHex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	pub1 := mustHex(t, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	sig1 := mustHex(t, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
	seed2 := mustHex(t, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	pub2 := mustHex(t, "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
	sig2 := mustHex(t, "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")

	id1, err := NewIdentity(ed25519.NewKeyFromSeed(seed1))
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := NewIdentity(ed25519.NewKeyFromSeed(seed2))
	if !bytes.Equal(id1.Pub, pub1) || !bytes.Equal(id2.Pub, pub2) {
		t.Fatal("public keys differ from RFC 8032")
	}
	if got := id1.Sign(nil); !bytes.Equal(got, sig1) {
		t.Fatalf("signature of the empty message: %x", got)
	}
	if got := id2.Sign([]byte{0x72}); !bytes.Equal(got, sig2) {
		t.Fatalf("signature of 0x72: %x", got)
	}
	if fp := id1.Fingerprint().String(); fp != "eh7ddx5bksrgcytl7bkai36se4nxx3klnk7elksyq57pi74xeg4q" {
		t.Fatalf("fingerprint %s", fp)
	}
	if back, err := ParseFingerprint(id1.Fingerprint().String()); err != nil || back != id1.Fingerprint() {
		t.Fatalf("fingerprint round trip: %v", err)
	}
	if _, err := ParseFingerprint("not-a-fingerprint"); err == nil {
		t.Fatal("junk parsed as a fingerprint")
	}
	const code = "27890 15532 61950 95701 10923"
	if a, b := SafetyCode(id1.Pub, id2.Pub), SafetyCode(id2.Pub, id1.Pub); a != code || b != code {
		t.Fatalf("safety code %q / %q, want %q on both sides", a, b, code)
	}
	other, _ := NewIdentity(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if SafetyCode(id1.Pub, other.Pub) == code {
		t.Fatal("another key gives the same code")
	}
}

func TestKeyKeptOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Fatalf("key file %v %v", st, err)
	}
	b, err := LoadOrCreate(dir)
	if err != nil || !a.Pub.Equal(b.Pub) {
		t.Fatalf("the key changed on reload: %v", err)
	}
	// A damaged key is an error, never silently replaced by a new identity.
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600)
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, KeyFile)); string(got) != "garbage" {
		t.Fatal("a damaged key file was replaced")
	}
}

// handshake runs a TLS handshake over loopback TCP and returns both sides' errors and what
// the server saw.
func handshake(t *testing.T, client, server *tls.Config) (cerr, serr error, cs tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(c, server)
		serr = s.Handshake()
		cs = s.ConnectionState()
		if serr == nil {
			// TLS 1.3 clients learn of a rejected certificate on their first read.
			s.Write([]byte{1})
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, client)
	if cerr = tc.Handshake(); cerr == nil {
		_, cerr = tc.Read(make([]byte, 1))
	}
	<-done
	return
}

func TestChannelBoundToKeys(t *testing.T) {
	alice, _ := LoadOrCreate(t.TempDir())
	bob, _ := LoadOrCreate(t.TempDir())
	mallory, _ := LoadOrCreate(t.TempDir())

	cerr, serr, cs := handshake(t, alice.ClientConfig(bob.Pub), bob.ServerConfig())
	if cerr != nil || serr != nil {
		t.Fatalf("alice → bob: %v / %v", cerr, serr)
	}
	if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != ALPN {
		t.Fatalf("version %x, protocol %q", cs.Version, cs.NegotiatedProtocol)
	}
	if k, err := PeerKey(cs); err != nil || !k.Equal(alice.Pub) {
		t.Fatalf("bob sees %x, %v; want alice's key", k, err)
	}
	// Mallory answers where Alice expects Bob: the handshake fails on Alice's side.
	cerr, _, _ = handshake(t, alice.ClientConfig(bob.Pub), mallory.ServerConfig())
	if !errors.Is(cerr, ErrWrongKey) {
		t.Fatalf("alice accepted mallory as bob: %v", cerr)
	}
	// A client without a certificate is refused.
	anon := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{ALPN}}
	if _, serr, _ := handshake(t, anon, bob.ServerConfig()); serr == nil {
		t.Fatal("bob accepted a client that proved no key")
	}
	// TLS 1.2 is refused.
	old := alice.ClientConfig(bob.Pub)
	old.MinVersion, old.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if _, serr, _ := handshake(t, old, bob.ServerConfig()); serr == nil {
		t.Fatal("bob accepted TLS 1.2")
	}
}
