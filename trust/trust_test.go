package trust

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
)

var (
	t0      = time.Unix(1795766400, 0)
	rootKey = ed25519.NewKeyFromSeed(make([]byte, 32))
	issKey  = ed25519.NewKeyFromSeed(append(make([]byte, 31), 9))
)

func list(version int64) List {
	return List{
		Version: version, IssuedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour),
		Issuers: []Issuer{{ID: "https://ep.example/hz", Name: Text{"杭州市公安局", "Hangzhou PSB"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(issKey.Public().(ed25519.PublicKey))}}, StatusLists: []string{"https://ep.example/hz/status/1"}}},
		Policy: DefaultPolicy(),
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	pin := keys.Thumbprint(rootKey.Public().(ed25519.PublicKey))
	tok, err := Sign(rootKey, list(7))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Verify(tok, pin)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 7 || !l.IssuedAt.Equal(t0) || l.Issuers[0].Name.EN != "Hangzhou PSB" {
		t.Fatalf("list %+v", l)
	}
	s, err := NewStore(l)
	if err != nil {
		t.Fatal(err)
	}
	if _, is, ok := s.Key(keys.Thumbprint(issKey.Public().(ed25519.PublicKey))); !ok || is.ID != "https://ep.example/hz" {
		t.Fatal("issuer key not found")
	}
	if p, ok := s.Policy().Purpose(PurposeCreditLoan); !ok || p.Allowed || !strings.Contains(p.Refusal.EN, "credit loans") {
		t.Fatalf("credit-loan policy %+v", p)
	}
	if p, ok := s.Policy().Purpose(PurposeIdentityCard); !ok || p.Allowed || !strings.Contains(p.Refusal.EN, "not an identity card") {
		t.Fatalf("identity-card policy %+v", p)
	}

	other := ed25519.NewKeyFromSeed(append(make([]byte, 31), 5))
	forged, _ := Sign(other, list(8))
	tests := []struct {
		name string
		tok  string
		pin  string
		want error
	}{
		{"other root", forged, pin, ErrRootMismatch},
		{"wrong pin", tok, keys.Thumbprint(other.Public().(ed25519.PublicKey)), ErrRootMismatch},
		{"tampered", tok[:len(tok)-3] + "AAA", pin, jws.ErrSignature},
		{"garbage", "x.y.z", pin, jws.ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := Verify(tt.tok, tt.pin); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSignRefusesInvalidLists(t *testing.T) {
	t.Parallel()
	mutate := map[string]func(*List){
		"version 0":       func(l *List) { l.Version = 0 },
		"expires first":   func(l *List) { l.ExpiresAt = l.IssuedAt },
		"issuer twice":    func(l *List) { l.Issuers = append(l.Issuers, l.Issuers[0]) },
		"no purposes":     func(l *List) { l.Policy.Purposes = nil },
		"refusal without": func(l *List) { l.Policy.Purposes[4].Refusal = Text{} },
		"bad key":         func(l *List) { l.Issuers[0].JWKS.Keys[0].X = "short" },
	}
	for name, m := range mutate {
		l := list(1)
		l.Policy = DefaultPolicy()
		m(&l)
		if _, err := Sign(rootKey, l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	a, b := list(5), list(6)
	if err := Replace(&b, &a); !errors.Is(err, ErrRollback) {
		t.Fatalf("older list accepted: %v", err)
	}
	if err := Replace(&a, &b); err != nil {
		t.Fatalf("newer list refused: %v", err)
	}
	same := list(5)
	same.IssuedAt = t0.Add(time.Hour)
	if err := Replace(&a, &same); !errors.Is(err, ErrRollback) {
		t.Fatalf("same version, other content accepted: %v", err)
	}
	if err := Replace(nil, &a); err != nil {
		t.Fatal(err)
	}
}

func TestNotBeforeAndValidAt(t *testing.T) {
	t.Parallel()
	pin := keys.Thumbprint(rootKey.Public().(ed25519.PublicKey))
	l := list(3)
	l.NotBefore = t0.Add(time.Hour)
	tok, err := Sign(rootKey, l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(tok, pin)
	if err != nil {
		t.Fatal(err)
	}
	if !got.NotBefore.Equal(l.NotBefore) {
		t.Fatalf("NotBefore = %v, want %v", got.NotBefore, l.NotBefore)
	}
	skew := 10 * time.Second
	grace := got.Policy.ExpiryGrace.Duration()
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"before nbf", t0.Add(30 * time.Minute), ErrNotYetValid},
		{"nbf beyond skew", t0.Add(time.Hour - skew - time.Second), ErrNotYetValid},
		{"nbf within skew", t0.Add(time.Hour - skew), nil},
		{"valid", t0.Add(2 * time.Hour), nil},
		{"in grace", got.ExpiresAt.Add(grace), nil},
		{"after grace", got.ExpiresAt.Add(grace + time.Second), ErrExpired},
	} {
		if err := got.ValidAt(tc.now, skew); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: ValidAt = %v, want %v", tc.name, err, tc.want)
		}
	}
	noNbf, _ := Verify(mustSign(t, list(4)), pin)
	if !noNbf.NotBefore.IsZero() || noNbf.ValidAt(t0, 0) != nil {
		t.Errorf("a list without nbf: %v", noNbf.NotBefore)
	}
}

func mustSign(t *testing.T, l List) string {
	t.Helper()
	tok, err := Sign(rootKey, l)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyRefusesWeakIssuerKey: a root-signed list naming a small-order
// issuer key (anyone could sign credentials with it) is refused whole.
func TestVerifyRefusesWeakIssuerKey(t *testing.T) {
	t.Parallel()
	l := list(5)
	identity := keys.JWK{Kty: "OKP", Crv: "Ed25519", X: "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	l.Issuers[0].JWKS.Keys = append(l.Issuers[0].JWKS.Keys, identity)
	if _, err := Sign(rootKey, l); !errors.Is(err, keys.ErrSmallOrderKey) {
		t.Errorf("Sign: %v, want keys.ErrSmallOrderKey", err)
	}
	body, _ := jws.Marshal(wire{Iat: t0.Unix(), Exp: t0.Add(time.Hour).Unix(), Version: 5, Issuers: l.Issuers, Policy: l.Policy})
	j := keys.PublicJWK(rootKey.Public().(ed25519.PublicKey))
	tok, err := jws.Sign(rootKey, jws.Header{Typ: Type, Kid: j.Kid, JWK: &jws.HeaderJWK{Kty: j.Kty, Crv: j.Crv, X: j.X}}, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, j.Kid); !errors.Is(err, keys.ErrSmallOrderKey) || !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify: %v, want ErrInvalid and keys.ErrSmallOrderKey", err)
	}
}
