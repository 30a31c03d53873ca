// Package trust is FeiGo's identity and its binding to the wire: each profile's long-term
// Ed25519 key, the fingerprint that names a colleague, the safety code two colleagues compare
// aloud, the keys pinned on first sight, and the TLS 1.3 configurations that make a channel
// between two FeiGo nodes mutually authenticated by exactly those keys.
//
// Channels are TLS 1.3 (Go's crypto/tls) with a certificate made afresh at each start from
// the long-term key, self-signed: what a peer proves in the handshake is that it holds the
// private key of the public key in its certificate, and the certificate's issuer, names and
// dates carry no meaning. A client names the key it expects and the handshake fails for any
// other; a server learns the client's key from the handshake (PeerKey). This is the scheme of
// Syncthing's device IDs and libp2p's TLS handshake: no new protocol, only the standard one
// with the key as the identity. TLS 1.3 gives each connection fresh ECDHE keys (forward
// secrecy), authenticated encryption and replay protection.
package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeyFile is the private key's file name in the profile directory.
const KeyFile = "identity.key"

// Identity is this node's long-term key and the certificate it presents this run.
type Identity struct {
	priv ed25519.PrivateKey
	Pub  ed25519.PublicKey
	cert tls.Certificate
}

// LoadOrCreate reads the identity key kept in dir, or makes one and keeps it there,
// readable by the owner only. A key file that exists but cannot be read as a key is an
// error, never silently replaced: colleagues have pinned that key.
func LoadOrCreate(dir string) (*Identity, error) {
	id, err := Load(dir)
	if !errors.Is(err, os.ErrNotExist) {
		return id, err
	}
	return create(dir)
}

// Load reads the identity key of the profile in dir, without making one: an error wrapping
// os.ErrNotExist when there is none.
func Load(dir string) (*Identity, error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		priv, err := parseKey(b)
		if err != nil {
			return nil, fmt.Errorf("identity key %s: %w (move it away to make a new identity; colleagues will see a new key)", path, err)
		}
		return newIdentity(priv)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading the identity key: %w", err)
	}
	return nil, err
}

// create makes a new identity key in dir.
func create(dir string) (*Identity, error) {
	path := filepath.Join(dir, KeyFile)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("saving the identity key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("saving the identity key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("saving the identity key: %w", err)
	}
	return newIdentity(priv)
}

func parseKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return priv, nil
}

// NewIdentity wraps a private key (tests, and keys kept elsewhere).
func NewIdentity(priv ed25519.PrivateKey) (*Identity, error) { return newIdentity(priv) }

func newIdentity(priv ed25519.PrivateKey) (*Identity, error) {
	pub := priv.Public().(ed25519.PublicKey)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "feigo " + Fingerprint(sha256.Sum256(pub)).String()},
		NotBefore:    now.Add(-48 * time.Hour), // clocks on a LAN disagree; dates carry no meaning here
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("making the certificate: %w", err)
	}
	return &Identity{priv: priv, Pub: pub, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}}, nil
}

// Fingerprint names a public key: the SHA-256 of its 32 raw bytes.
type Fingerprint [32]byte

// FingerprintOf returns pub's fingerprint.
func FingerprintOf(pub ed25519.PublicKey) Fingerprint { return sha256.Sum256(pub) }

// Fingerprint returns this identity's fingerprint.
func (id *Identity) Fingerprint() Fingerprint { return FingerprintOf(id.Pub) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// String is the fingerprint in lower-case base32 (52 characters): FeiGo's peer ID.
func (f Fingerprint) String() string { return strings.ToLower(b32.EncodeToString(f[:])) }

// ParseFingerprint reads what String wrote.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	b, err := b32.DecodeString(strings.ToUpper(strings.TrimSpace(s)))
	if err != nil || len(b) != len(f) {
		return f, fmt.Errorf("%q is not a FeiGo key fingerprint", s)
	}
	copy(f[:], b)
	return f, nil
}

// SafetyCode is what two colleagues compare to verify each other's keys, read aloud:
// twenty-five digits in five groups, about 83 bits of the SHA-256 of both public keys (taken
// in byte order, so both sides compute the same code). Each group is 5 bytes of the hash
// modulo 100000; the bias of the modulo is below 1e-7.
func SafetyCode(a, b ed25519.PublicKey) string {
	first, second := a, b
	if string(second) < string(first) {
		first, second = second, first
	}
	h := sha256.New()
	h.Write([]byte("feigo safety code v1\x00"))
	h.Write(first)
	h.Write(second)
	sum := h.Sum(nil)
	groups := make([]string, 5)
	for i := range groups {
		var v uint64
		for _, c := range sum[5*i : 5*i+5] {
			v = v<<8 | uint64(c)
		}
		groups[i] = fmt.Sprintf("%05d", v%100000)
	}
	return strings.Join(groups, " ")
}

// ALPN names FeiGo's channel protocol in the TLS handshake.
const ALPN = "feigo/1"

// ErrWrongKey is the handshake's error when the peer proves a key other than the expected one.
var ErrWrongKey = errors.New("the peer holds another key than the colleague's")

// ClientConfig is the TLS configuration for dialling the colleague whose key is expect: the
// handshake succeeds only if the other side proves that key, and proves ours to it.
func (id *Identity) ClientConfig(expect ed25519.PublicKey) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		// Certificates are self-signed: the chain and names mean nothing; the key is checked.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			pub, err := keyOf(raw)
			if err != nil {
				return err
			}
			if !pub.Equal(expect) {
				return ErrWrongKey
			}
			return nil
		},
		NextProtos: []string{ALPN},
		ServerName: "feigo",
	}
}

// ServerConfig is the TLS configuration for accepting channels: the client must prove an
// Ed25519 key, which PeerKey then returns; whether that key may do what it asks is the
// caller's decision.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		// Every channel is a full handshake with new ephemeral keys; clients keep no tickets.
		SessionTicketsDisabled: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := keyOf(raw)
			return err
		},
		NextProtos: []string{ALPN},
	}
}

// PeerKey returns the key the other side of a completed handshake proved.
func PeerKey(cs tls.ConnectionState) (ed25519.PublicKey, error) {
	if !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
		return nil, errors.New("no completed handshake")
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("the peer's key is not Ed25519")
	}
	return pub, nil
}

// maxCert bounds the certificate a peer may present; FeiGo's are under 400 bytes.
const maxCert = 4096

func keyOf(raw [][]byte) (ed25519.PublicKey, error) {
	if len(raw) != 1 || len(raw[0]) > maxCert {
		return nil, errors.New("a FeiGo peer presents exactly one small certificate")
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("the peer's key is not Ed25519")
	}
	return pub, nil
}

// Sign signs msg with the identity key (Ed25519, RFC 8032).
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.priv, msg) }
