package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// RFC 7517 Appendix A.1: an EC P-256 public key.
const (
	ecX = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
	ecY = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
)

func ecJSON(x, y string, extra string) string {
	return `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"` + extra + `}`
}

func TestHolderKeyP256(t *testing.T) {
	t.Parallel()
	p := elliptic.P256().Params().P
	pad := func(n *big.Int) string { return b64.EncodeToString(n.FillBytes(make([]byte, 32))) }
	zero := b64.EncodeToString(make([]byte, 32))
	one := pad(big.NewInt(1))
	tests := []struct {
		name    string
		json    string
		wantErr error // nil: accepted
	}{
		{"RFC 7517 A.1", ecJSON(ecX, ecY, ``), nil},
		{"with kid name, use and alg", ecJSON(ecX, ecY, `,"kid":"1","use":"sig","alg":"ES256"`), nil},
		{"point at infinity (0, 0)", ecJSON(zero, zero, ``), ErrInvalidPoint},
		{"not on the curve", ecJSON(one, one, ``), ErrInvalidPoint},
		{"x swapped with y", ecJSON(ecY, ecX, ``), ErrInvalidPoint},
		{"x = p", ecJSON(pad(p), ecY, ``), ErrNonCanonicalKey},
		{"y = p", ecJSON(ecX, pad(p), ``), ErrNonCanonicalKey},
		{"x = 2^256 - 1", ecJSON(b64.EncodeToString([]byte(strings.Repeat("\xff", 32))), ecY, ``), ErrNonCanonicalKey},
		{"31-byte x", ecJSON(b64.EncodeToString(make([]byte, 31)), ecY, ``), ErrInvalidJWK},
		{"33-byte y (leading zero)", ecJSON(ecX, b64.EncodeToString(append([]byte{0}, mustB64(ecY)...)), ``), ErrInvalidJWK},
		{"padded x", ecJSON(ecX+"=", ecY, ``), ErrInvalidJWK},
		{"missing y", `{"kty":"EC","crv":"P-256","x":"` + ecX + `"}`, ErrInvalidJWK},
		{"y not a string", `{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":7}`, ErrInvalidJWK},
		{"P-384", `{"kty":"EC","crv":"P-384","x":"` + ecX + `","y":"` + ecY + `"}`, ErrInvalidJWK},
		{"secp256k1", `{"kty":"EC","crv":"secp256k1","x":"` + ecX + `","y":"` + ecY + `"}`, ErrInvalidJWK},
		{"alg EdDSA", ecJSON(ecX, ecY, `,"alg":"EdDSA"`), ErrInvalidJWK},
		{"alg ES384", ecJSON(ecX, ecY, `,"alg":"ES384"`), ErrInvalidJWK},
		{"use enc", ecJSON(ecX, ecY, `,"use":"enc"`), ErrInvalidJWK},
		{"private d", ecJSON(ecX, ecY, `,"d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"`), ErrPrivateJWK},
		{"Ed25519 still accepted", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseHolderJWK([]byte(tt.json))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidJWK) {
					t.Fatalf("ParseHolderJWK error = %v, want %v and ErrInvalidJWK", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "870MB6") {
					t.Errorf("error %q leaks private key material", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, err := k.HolderKey()
			if err != nil {
				t.Fatal(err)
			}
			back, err := HolderJWK(pub)
			if err != nil {
				t.Fatal(err)
			}
			if back.X != k.X || back.Y != k.Y || back.Kty != k.Kty {
				t.Errorf("HolderJWK(HolderKey) = %+v, want %+v", back, k)
			}
			tp, err := k.Thumbprint()
			if err != nil || tp != back.Kid {
				t.Errorf("Thumbprint = %q, %v; HolderJWK kid %q", tp, err, back.Kid)
			}
		})
	}
}

func mustB64(s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestECThumbprint checks the RFC 7638 input of an EC key against
// encoding/json with the required members in lexicographic order.
func TestECThumbprint(t *testing.T) {
	t.Parallel()
	in, _ := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}{"P-256", "EC", ecX, ecY})
	got, err := JWK{Kty: "EC", Crv: "P-256", X: ecX, Y: ecY, Kid: "ignored", Alg: "ES256"}.Thumbprint()
	if err != nil {
		t.Fatal(err)
	}
	if want := thumbprintOf(in); got != want {
		t.Errorf("Thumbprint = %s, want %s (of %s)", got, want, in)
	}
	ed, _ := JWK{Kty: "OKP", Crv: "Ed25519", X: vecX}.Thumbprint()
	if ed != vecKid {
		t.Errorf("Ed25519 Thumbprint = %s, want %s", ed, vecKid)
	}
}

func TestHolderJWKRefuses(t *testing.T) {
	t.Parallel()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pub := range map[string]any{
		"P-384":           &p384.PublicKey,
		"nil ecdsa":       (*ecdsa.PublicKey)(nil),
		"short ed25519":   ed25519.PublicKey(make([]byte, 31)),
		"bytes":           []byte("key"),
		"private key":     p384,
		"nil":             nil,
		"off-curve ecdsa": &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)},
	} {
		if _, err := HolderJWK(pub); !errors.Is(err, ErrInvalidJWK) {
			t.Errorf("%s: HolderJWK error = %v, want ErrInvalidJWK", name, err)
		}
	}
}

func TestSameKey(t *testing.T) {
	t.Parallel()
	a, _ := GenerateDeviceKey(AlgES256)
	b, _ := GenerateDeviceKey(AlgES256)
	c, _ := GenerateDeviceKey(AlgEdDSA)
	if !SameKey(a.Public(), a.Public()) || SameKey(a.Public(), b.Public()) || SameKey(a.Public(), c.Public()) ||
		SameKey(c.Public(), a.Public()) || SameKey(nil, nil) || SameKey(c.Public(), nil) {
		t.Error("SameKey is wrong")
	}
}

func TestDeviceKeyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		key, err := GenerateDeviceKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, alg+".key")
		if err := WriteDeviceKeyFile(path, key); err != nil {
			t.Fatal(err)
		}
		if err := WriteDeviceKeyFile(path, key); err == nil {
			t.Errorf("%s: second write succeeded", alg)
		}
		back, err := LoadDeviceKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !SameKey(back.Public(), key.Public()) {
			t.Errorf("%s: loaded another key", alg)
		}
		_, err = LoadPrivateKeyFile(path)
		if alg == AlgES256 && !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("LoadPrivateKeyFile of a P-256 key: %v, want ErrInvalidPrivateKey (issuer keys are Ed25519)", err)
		}
		if alg == AlgEdDSA && err != nil {
			t.Error(err)
		}
	}
	if _, err := GenerateDeviceKey("RS256"); err == nil {
		t.Error("GenerateDeviceKey(RS256) succeeded")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err := WriteDeviceKeyFile(filepath.Join(dir, "p384.key"), p384); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("P-384 device key written: %v", err)
	}
}

func BenchmarkHolderKeyP256(b *testing.B) {
	k := JWK{Kty: "EC", Crv: "P-256", X: ecX, Y: ecY}
	for b.Loop() {
		if _, err := k.HolderKey(); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseHolderJWK checks that ParseHolderJWK never panics, and that a
// key it accepts is a usable holder key with exactly one encoding: the JWK
// HolderJWK makes of it has the same members and thumbprint.
func FuzzParseHolderJWK(f *testing.F) {
	for _, s := range []string{
		ecJSON(ecX, ecY, ``),
		ecJSON(ecX, ecY, `,"kid":"1","alg":"ES256"`),
		ecJSON(ecY, ecX, ``),
		ecJSON(b64.EncodeToString(make([]byte, 32)), b64.EncodeToString(make([]byte, 32)), ``),
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		`{"kty":"EC","crv":"P-256","x":"` + ecX + `"}`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseHolderJWK(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidJWK) {
				t.Fatalf("error %v does not wrap ErrInvalidJWK", err)
			}
			return
		}
		pub, err := k.HolderKey()
		if err != nil {
			t.Fatalf("accepted %+v fails HolderKey: %v", k, err)
		}
		canon, err := HolderJWK(pub)
		if err != nil {
			t.Fatalf("HolderJWK of an accepted key: %v", err)
		}
		tp, err := k.Thumbprint()
		if err != nil || canon.X != k.X || canon.Y != k.Y || canon.Kty != k.Kty || tp != canon.Kid {
			t.Fatalf("accepted non-canonical %+v, canonical %+v (%v)", k, canon, err)
		}
	})
}
