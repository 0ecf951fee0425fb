package browser

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// t0 is when the fixture's credential is issued and shown.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

const (
	testIss     = "https://ep.zjga.example/hz"
	testStatus  = "https://ep.zjga.example/hz/status/1"
	otherStatus = "https://ep.zjga.example/hz/status/9" // not in the trust list
	testPermit  = "33010626K7Q2MX"

	idxValid   = 5
	idxRevoked = 6
)

var (
	rootKey   = ed25519.NewKeyFromSeed(seed(1))
	issuerKey = ed25519.NewKeyFromSeed(seed(2))
	holderKey = ed25519.NewKeyFromSeed(seed(3))
	otherKey  = ed25519.NewKeyFromSeed(seed(4))

	pin = keys.Thumbprint(pub(rootKey))
)

func seed(b byte) []byte {
	s := make([]byte, 32)
	s[0] = b
	return s
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func ms(t time.Time) int64 { return t.UnixMilli() }

// trustList signs a trust list of version with the root key (or another
// key), naming the issuer and testStatus.
func trustList(t testing.TB, root ed25519.PrivateKey, version int64, iat time.Time, policy trust.Policy) string {
	t.Helper()
	tl, err := trust.Sign(root, trust.List{
		Version: version, IssuedAt: iat, ExpiresAt: iat.Add(7 * 24 * time.Hour),
		Issuers: []trust.Issuer{{
			ID: testIss, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou Public Security Bureau"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}}, StatusLists: []string{testStatus},
		}},
		Policy: policy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// goodTrust is trust list version 3, issued an hour before t0.
func goodTrust(t testing.TB) string {
	return trustList(t, rootKey, 3, t0.Add(-time.Hour), trust.DefaultPolicy())
}

// statusToken signs a status list for uri with key, idxRevoked revoked.
func statusToken(t testing.TB, key ed25519.PrivateKey, uri string) string {
	t.Helper()
	l, err := statuslist.New(2, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(idxRevoked, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	tok, err := statuslist.SignToken(key, keys.Thumbprint(pub(key)), statuslist.TokenClaims{
		Sub: uri, IssuedAt: t0.Add(-10 * time.Minute), ExpiresAt: t0.Add(24 * time.Hour), TTL: time.Hour, List: l,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// issue issues the example application's permit to holder with status
// index idx, at t0, with issuer.Issue.
func issue(t testing.TB, holder crypto.PublicKey, idx int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "application-adult-hangzhou.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := permit.ParseApplication(raw)
	if err != nil {
		t.Fatal(err)
	}
	day, err := permit.NewDate(2026, time.November, 27)
	if err != nil {
		t.Fatal(err)
	}
	p, err := permit.NewPermit(a, testPermit, testIss, day)
	if err != nil {
		t.Fatal(err)
	}
	s, err := issuer.Issue(issuerKey, keys.Thumbprint(pub(issuerKey)), p, testIss, holder,
		statuslist.Reference{Idx: idx, URI: testStatus}, t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loaded is a Session with the good trust list and status list.
func loaded(t testing.TB) *Session {
	t.Helper()
	s := NewSession()
	if info := s.LoadTrust(goodTrust(t), pin, ms(t0.Add(-time.Minute))); !info.OK {
		t.Fatalf("LoadTrust: %+v", info.Outcome)
	}
	if info := s.AddStatusList(statusToken(t, issuerKey, testStatus), ms(t0.Add(-time.Minute))); !info.OK {
		t.Fatalf("AddStatusList: %+v", info.Outcome)
	}
	return s
}

// deviceKey is a DeviceKey signing with k, claiming public key pubKey.
func deviceKey(t testing.TB, k ed25519.PrivateKey, pubKey ed25519.PublicKey) *DeviceKey {
	t.Helper()
	d, err := NewDeviceKey(pubKey, func(m []byte) ([]byte, error) { return ed25519.Sign(k, m), nil })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// webP256 is a P-256 device key as WebCrypto holds it: the raw public key
// (65 bytes, uncompressed) and a DeviceKey whose SignFunc returns r||s, as
// crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, ...) does.
func webP256(t testing.TB) (*ecdsa.PrivateKey, []byte, *DeviceKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDeviceKey(raw, p1363(k))
	if err != nil {
		t.Fatal(err)
	}
	return k, raw, d
}

// p1363 signs like WebCrypto's ECDSA: SHA-256 of the message, r||s.
func p1363(k *ecdsa.PrivateKey) SignFunc {
	return func(m []byte) ([]byte, error) {
		sum := sha256.Sum256(m)
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
}
