package keys

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The RFC 8037 Appendix A public key and its thumbprint.
const (
	vecX   = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	vecKid = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func TestParseJWK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    JWK   // for accepted inputs
		wantErr error // nil: accepted
	}{
		{"minimal", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX}, nil},
		{"full", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + vecKid + `","use":"sig","alg":"EdDSA"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: vecKid, Use: "sig", Alg: "EdDSA"}, nil},
		{"RFC 9864 alg name", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","alg":"Ed25519"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Alg: "Ed25519"}, nil},
		{"other members ignored", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","key_ops":["verify"],"x5c":[],"exp":1}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX}, nil},

		{"private d", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`, JWK{}, ErrPrivateJWK},
		{"private d null", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","d":null}`, JWK{}, ErrPrivateJWK},
		{"symmetric k", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","k":"c2VjcmV0"}`, JWK{}, ErrPrivateJWK},
		{"wrong kty", `{"kty":"EC","crv":"Ed25519","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"lower-case kty", `{"kty":"okp","crv":"Ed25519","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"wrong crv X25519", `{"kty":"OKP","crv":"X25519","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"wrong crv Ed448", `{"kty":"OKP","crv":"Ed448","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"short x", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX[:42] + `"}`, JWK{}, ErrInvalidJWK},
		{"31-byte x", `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(make([]byte, 31)) + `"}`, JWK{}, ErrInvalidJWK},
		{"33-byte x", `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(make([]byte, 33)) + `"}`, JWK{}, ErrInvalidJWK},
		{"padded x", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `="}`, JWK{}, ErrInvalidJWK},
		{"standard alphabet x", `{"kty":"OKP","crv":"Ed25519","x":"` + strings.ReplaceAll(vecX, "_", "/") + `"}`, JWK{}, ErrInvalidJWK},
		{"non-canonical x trailing bits", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX[:42] + "p" + `"}`, JWK{}, ErrInvalidJWK},
		{"x with newline", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX[:21] + `\n` + vecX[22:] + `"}`, JWK{}, ErrInvalidJWK},
		{"x not a string", `{"kty":"OKP","crv":"Ed25519","x":12}`, JWK{}, ErrInvalidJWK},
		{"x null", `{"kty":"OKP","crv":"Ed25519","x":null}`, JWK{}, ErrInvalidJWK},
		{"missing kty", `{"crv":"Ed25519","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"case-variant member name", `{"KTY":"OKP","crv":"Ed25519","x":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"missing x", `{"kty":"OKP","crv":"Ed25519"}`, JWK{}, ErrInvalidJWK},
		// RFC 7517 section 4.5 leaves kid free: a name is kept, and the
		// key is still found by its thumbprint (TestJWKSLookup).
		{"kid name", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"key-1"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: "key-1"}, nil},
		{"kid of another key", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + Thumbprint(make([]byte, 32)) + `"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: Thumbprint(make([]byte, 32))}, nil},
		{"y of an OKP key ignored", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","y":"` + vecX + `"}`,
			JWK{Kty: "OKP", Crv: "Ed25519", X: vecX}, nil},
		{"identity point", `{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, JWK{}, ErrSmallOrderKey},
		{"EC key is not an issuer key", `{"kty":"EC","crv":"P-256","x":"` + vecX + `","y":"` + vecX + `"}`, JWK{}, ErrInvalidJWK},
		{"use enc", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","use":"enc"}`, JWK{}, ErrInvalidJWK},
		{"alg ES256", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","alg":"ES256"}`, JWK{}, ErrInvalidJWK},
		{"empty kid", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":""}`, JWK{}, ErrInvalidJWK},
		{"empty use", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","use":""}`, JWK{}, ErrInvalidJWK},
		{"kid not a string", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":1}`, JWK{}, ErrInvalidJWK},
		{"null", `null`, JWK{}, ErrInvalidJWK},
		{"array", `[]`, JWK{}, ErrInvalidJWK},
		{"not JSON", `kty=OKP`, JWK{}, ErrInvalidJWK},
		{"trailing data", `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"} {}`, JWK{}, ErrInvalidJWK},
		{"empty", ``, JWK{}, ErrInvalidJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseJWK([]byte(tt.json))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseJWK: %v", err)
				}
				if got != tt.want {
					t.Errorf("ParseJWK = %+v, want %+v", got, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseJWK error = %v, want %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "keys: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if strings.Contains(err.Error(), "nWGxne") {
				t.Errorf("error %q leaks private key material", err)
			}
		})
	}
}

func TestJWKPublicKey(t *testing.T) {
	t.Parallel()
	good := JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: vecKid, Use: "sig", Alg: "EdDSA"}
	tests := []struct {
		name    string
		mutate  func(*JWK)
		wantErr string // substring; "" means accepted
	}{
		{"valid", func(*JWK) {}, ""},
		{"no kid", func(k *JWK) { k.Kid = "" }, ""},
		{"wrong kty", func(k *JWK) { k.Kty = "RSA" }, `kty "RSA", want "OKP"`},
		{"wrong crv", func(k *JWK) { k.Crv = "P-256" }, `crv "P-256", want "Ed25519"`},
		{"short x", func(k *JWK) { k.X = vecX[:40] }, "x is 40 characters, want 43"},
		{"padded x", func(k *JWK) { k.X += "=" }, "padding"},
		{"standard alphabet", func(k *JWK) { k.X = strings.ReplaceAll(vecX, "_", "/") }, "standard base64 alphabet"},
		{"kid name", func(k *JWK) { k.Kid = "abc" }, ""},
		{"y", func(k *JWK) { k.Y = vecX }, `an OKP key has no member "y"`},
		{"small order", func(k *JWK) { k.X = b64.EncodeToString(make([]byte, 32)) }, "small-order"},
		{"use", func(k *JWK) { k.Use = "enc" }, `use "enc"`},
		{"alg", func(k *JWK) { k.Alg = "none" }, `alg "none"`},
		{"long value clipped", func(k *JWK) { k.Kty = strings.Repeat("A", 1000) }, `AAAA..."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := good
			tt.mutate(&k)
			pub, err := k.PublicKey()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b64.EncodeToString(pub) != vecX {
					t.Errorf("PublicKey = %x", pub)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidJWK) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("PublicKey error = %v, want ErrInvalidJWK containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestThumbprintDiffersPerKey(t *testing.T) {
	t.Parallel()
	a, b := make([]byte, 32), make([]byte, 32)
	b[31] = 1
	if Thumbprint(a) == Thumbprint(b) {
		t.Error("different keys share a thumbprint")
	}
	if got := len(Thumbprint(a)); got != 43 {
		t.Errorf("thumbprint length %d, want 43", got)
	}
}

func TestThumbprintAllocs(t *testing.T) {
	pub := make(ed25519.PublicKey, 32)
	if n := testing.AllocsPerRun(100, func() { _ = Thumbprint(pub) }); n > 1 {
		t.Errorf("Thumbprint allocates %v times, want at most 1 (the result)", n)
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	otherJWK, _ := json.Marshal(PublicJWK(other))
	vec := `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"}`
	vecWithKid := `{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + vecKid + `"}`

	tests := []struct {
		name    string
		json    string
		wantN   int
		wantErr error
	}{
		{"two keys", `{"keys":[` + vecWithKid + `,` + string(otherJWK) + `]}`, 2, nil},
		{"empty set", `{"keys":[]}`, 0, nil},
		{"other top-level members", `{"keys":[` + vec + `],"issuer":"x"}`, 1, nil},
		{"duplicate kid", `{"keys":[` + vecWithKid + `,` + vecWithKid + `]}`, 0, ErrDuplicateKey},
		{"duplicate key, one without kid", `{"keys":[` + vec + `,` + vecWithKid + `]}`, 0, ErrDuplicateKey},
		{"private member", `{"keys":[` + string(otherJWK) + `,{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","d":"AA"}]}`, 0, ErrPrivateJWK},
		{"invalid key", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, 0, ErrInvalidJWK},
		{"keys missing", `{}`, 0, ErrInvalidJWK},
		{"keys null", `{"keys":null}`, 0, ErrInvalidJWK},
		{"keys object", `{"keys":{}}`, 0, ErrInvalidJWK},
		{"key not object", `{"keys":["x"]}`, 0, ErrInvalidJWK},
		{"key null", `{"keys":[null]}`, 0, ErrInvalidJWK},
		{"not JSON", `{"keys":[`, 0, ErrInvalidJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := ParseJWKS([]byte(tt.json))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseJWKS error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != tt.wantN {
				t.Errorf("%d keys, want %d", len(set.Keys), tt.wantN)
			}
		})
	}
}

func TestJWKSLookup(t *testing.T) {
	t.Parallel()
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	otherKid := Thumbprint(other)
	set := JWKS{Keys: []JWK{
		// First, so that a lookup by the kid member would find it: it
		// names vecX's thumbprint but is another key.
		{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(other), Kid: vecKid},
		{Kty: "OKP", Crv: "Ed25519", X: "short", Kid: "bad"}, // built by hand, invalid
		{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: "key-1"},  // an ordinary kid name
	}}
	tests := []struct {
		kid    string
		wantX  string
		wantOK bool
	}{
		{vecKid, vecX, true},
		{otherKid, b64.EncodeToString(other), true},
		{"key-1", "", false}, // names are not looked up
		{"bad", "", false},
		{"", "", false},
		{"unknown", "", false},
	}
	for _, tt := range tests {
		pub, ok := set.Lookup(tt.kid)
		if ok != tt.wantOK || (ok && b64.EncodeToString(pub) != tt.wantX) {
			t.Errorf("Lookup(%q) = %x, %v; want %s, %v", tt.kid, pub, ok, tt.wantX, tt.wantOK)
		}
	}
}

// TestParseJWKSKidNames loads a JWKS whose members carry ordinary kid
// names (RFC 7517 section 4.5), as other issuers publish them.
func TestParseJWKSKidNames(t *testing.T) {
	t.Parallel()
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	data := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"2026-signing","use":"sig","alg":"EdDSA"},` +
		`{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(other) + `","kid":"2025-signing"}]}`
	set, err := ParseJWKS([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := set.Lookup(vecKid); !ok || b64.EncodeToString(pub) != vecX {
		t.Errorf("Lookup by thumbprint = %x, %v", pub, ok)
	}
	if set.Keys[0].Kid != "2026-signing" {
		t.Errorf("kid name not kept: %+v", set.Keys[0])
	}
	// Two names for one key are still one key twice.
	dup := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"a"},{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"b"}]}`
	if _, err := ParseJWKS([]byte(dup)); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("same key under two names: %v, want ErrDuplicateKey", err)
	}
}

func TestJWKSMarshal(t *testing.T) {
	t.Parallel()
	pub, _ := b64.DecodeString(vecX)
	got, err := JWKS{Keys: []JWK{PublicJWK(pub)}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + vecKid + `","use":"sig","alg":"EdDSA"}]}`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	back, err := ParseJWKS(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Keys[0] != PublicJWK(pub) {
		t.Errorf("round trip = %+v", back.Keys[0])
	}

	empty, err := JWKS{}.Marshal()
	if err != nil || string(empty) != `{"keys":[]}` {
		t.Errorf("empty Marshal = %s, %v", empty, err)
	}

	if _, err := (JWKS{Keys: []JWK{{Kty: "OKP", Crv: "Ed25519", X: "<&>"}}}).Marshal(); !errors.Is(err, ErrInvalidJWK) {
		t.Errorf("Marshal of invalid key: error = %v, want ErrInvalidJWK", err)
	}
}

// FuzzParseJWK checks that ParseJWK never panics and that whatever it accepts
// is a valid key with exactly one encoding.
func FuzzParseJWK(f *testing.F) {
	for _, s := range []string{
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + vecKid + `","use":"sig","alg":"EdDSA"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `="}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX[:42] + `p"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kty":"EC"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"\u0031` + vecX[1:] + `"}`,
		`{"keys":[]}`, `null`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseJWK(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidJWK) {
				t.Fatalf("error %v does not wrap ErrInvalidJWK", err)
			}
			return
		}
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatalf("accepted JWK %+v fails PublicKey: %v", k, err)
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("public key of %d bytes", len(pub))
		}
		canon := PublicJWK(pub)
		if k.X != canon.X {
			t.Fatalf("accepted non-canonical JWK %+v, canonical %+v", k, canon)
		}
		again, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParseJWK(again)
		if err != nil || k2 != k {
			t.Fatalf("re-parse of %s = %+v, %v", again, k2, err)
		}
	})
}

func BenchmarkThumbprint(b *testing.B) {
	pub, _ := b64.DecodeString(vecX)
	b.ReportAllocs()
	for b.Loop() {
		_ = Thumbprint(pub)
	}
}

// BenchmarkThumbprintJSON is the json.Marshal way, for comparison.
func BenchmarkThumbprintJSON(b *testing.B) {
	pub, _ := b64.DecodeString(vecX)
	b.ReportAllocs()
	for b.Loop() {
		in, _ := json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{"Ed25519", "OKP", b64.EncodeToString(pub)})
		_ = thumbprintOf(in)
	}
}

func BenchmarkJWKPublicKey(b *testing.B) {
	for _, bc := range []struct {
		name string
		k    JWK
	}{
		{"with kid", JWK{Kty: "OKP", Crv: "Ed25519", X: vecX, Kid: vecKid, Use: "sig", Alg: "EdDSA"}},
		{"no kid", JWK{Kty: "OKP", Crv: "Ed25519", X: vecX}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.k.PublicKey(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseJWK(b *testing.B) {
	data := []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + vecX + `","kid":"` + vecKid + `","use":"sig","alg":"EdDSA"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJWK(data); err != nil {
			b.Fatal(err)
		}
	}
}

// thumbprintOf hashes an RFC 7638 thumbprint input.
func thumbprintOf(in []byte) string {
	sum := sha256.Sum256(in)
	return b64.EncodeToString(sum[:])
}

// TestThumbprintMatchesJSON checks the hand-built thumbprint input against
// encoding/json output with the members in RFC 7638 order.
func TestThumbprintMatchesJSON(t *testing.T) {
	t.Parallel()
	for i := range 50 {
		seed := make([]byte, ed25519.SeedSize)
		seed[0], seed[31] = byte(i), byte(i*7)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		in, err := json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{"Ed25519", "OKP", b64.EncodeToString(pub)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Thumbprint(pub), thumbprintOf(in); got != want {
			t.Fatalf("key %d: Thumbprint = %s, json.Marshal way = %s", i, got, want)
		}
	}
}

func TestParseJWKSStrict(t *testing.T) {
	t.Parallel()
	k := `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", `{"keys":[` + k + `]}`, true},
		{"keys twice", `{"keys":[],"keys":[` + k + `]}`, false},
		{"case variant", `{"keys":[` + k + `],"Keys":[]}`, false},
	} {
		if _, err := ParseJWKS([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
