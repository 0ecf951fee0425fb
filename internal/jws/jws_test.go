package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

var (
	testKey = ed25519.NewKeyFromSeed(make([]byte, 32))
	testPub = testKey.Public().(ed25519.PublicKey)
)

func keyFor(h Header) (ed25519.PublicKey, error) {
	if h.Kid != "k1" {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, h.Kid)
	}
	return testPub, nil
}

func mustSign(t testing.TB, h Header, payload string) string {
	t.Helper()
	tok, err := Sign(testKey, h, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func enc(s string) string { return b64.EncodeToString([]byte(s)) }

func TestVerify(t *testing.T) {
	t.Parallel()
	good := mustSign(t, Header{Typ: "x+jwt", Kid: "k1"}, `{"a":1}`)
	parts := strings.Split(good, ".")
	hs256 := func() string {
		in := enc(`{"alg":"HS256","typ":"x+jwt","kid":"k1"}`) + "." + parts[1]
		m := hmac.New(sha256.New, testPub)
		m.Write([]byte(in))
		return in + "." + b64.EncodeToString(m.Sum(nil))
	}()
	otherKey := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	byOther, _ := Sign(otherKey, Header{Typ: "x+jwt", Kid: "k1"}, []byte(`{"a":1}`))
	rfc9864 := func() string {
		in := enc(`{"alg":"Ed25519","typ":"x+jwt","kid":"k1"}`) + "." + parts[1]
		return in + "." + b64.EncodeToString(ed25519.Sign(testKey, []byte(in)))
	}()
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", good, nil},
		{"RFC 9864 alg name", rfc9864, nil},
		{"alg none", enc(`{"alg":"none","typ":"x+jwt","kid":"k1"}`) + "." + parts[1] + ".", ErrAlgorithm},
		{"alg none with signature", enc(`{"alg":"none","typ":"x+jwt","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"HS256 keyed with the public key", hs256, ErrAlgorithm},
		{"wrong typ", mustSign(t, Header{Typ: "jwt", Kid: "k1"}, `{"a":1}`), ErrType},
		{"crit", mustSign(t, Header{Typ: "x+jwt", Kid: "k1", Crit: []string{"b64"}}, `{"a":1}`), ErrCritical},
		{"unknown kid", mustSign(t, Header{Typ: "x+jwt", Kid: "k2"}, `{"a":1}`), ErrUnknownKey},
		{"other key", byOther, ErrSignature},
		{"tampered payload", parts[0] + "." + enc(`{"a":2}`) + "." + parts[2], ErrSignature},
		{"duplicate alg", enc(`{"alg":"EdDSA","alg":"none","typ":"x+jwt","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"case variant header", enc(`{"alg":"EdDSA","Alg":"none","typ":"x+jwt","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", good + ".x", ErrMalformed},
		{"garbage", "%%%.%%%.%%%", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"payload not JSON", parts[0] + "." + enc("hello") + "." + parts[2], ErrMalformed},
		{"padded signature", good + "==", ErrMalformed},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrSignature},
		{"huge", strings.Repeat("a", MaxTokenSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := Verify(tt.token, "x+jwt", keyFor)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if string(tok.Payload) != `{"a":1}` {
					t.Fatalf("payload %q", tok.Payload)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	type inner struct {
		X string `json:"x"`
	}
	type claims struct {
		Exp   int64          `json:"exp"`
		Name  string         `json:"name"`
		In    inner          `json:"in"`
		List  []inner        `json:"list"`
		Extra map[string]any `json:"extra"`
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", `{"exp":1,"name":"张三 <&>","in":{"x":"y"},"list":[{"x":"1"}],"extra":{"a":[1,{"b":2}]}}`, true},
		{"unknown member ignored", `{"exp":1,"zzz":{"a":1}}`, true},
		{"escaped name", `{"\u0065xp":1}`, true},
		{"duplicate", `{"exp":1,"exp":2}`, false},
		{"escaped duplicate", `{"exp":1,"\u0065xp":2}`, false},
		{"case variant", `{"EXP":1}`, false},
		{"case duplicate", `{"exp":1,"Exp":2}`, false},
		{"kelvin sign fold", "{\"name\":\"a\",\"\u212aey\":1,\"key\":2}", false},
		{"nested duplicate", `{"in":{"x":"1","x":"2"}}`, false},
		{"nested case variant", `{"in":{"X":"1"}}`, false},
		{"duplicate in array element", `{"list":[{"x":"1","x":"2"}]}`, false},
		{"duplicate in map", `{"extra":{"a":1,"a":2}}`, false},
		{"duplicate in any", `{"extra":{"a":{"b":1,"b":2}}}`, false},
		{"trailing data", `{"exp":1} x`, false},
		{"two values", `{"exp":1}{"exp":2}`, false},
		{"string exp", `{"exp":"1"}`, false},
		{"deep", strings.Repeat(`{"extra":`, 40) + "1" + strings.Repeat("}", 40), false},
		{"unterminated", `{"exp":1`, false},
		{"bad escape", `{"name":"\q"}`, false},
		{"invalid utf8", "{\"name\":\"\xff\"}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c claims
			err := DecodeStrict([]byte(tt.in), &c)
			if tt.ok != (err == nil) {
				t.Fatalf("DecodeStrict(%s) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	t.Parallel()
	b, err := Marshal(map[string]string{"a": "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"a":"<&>"}` {
		t.Fatalf("Marshal = %s", b)
	}
}

func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"alg":"EdDSA","typ":"x","kid":"k","crit":["a"],"jwk":{"kty":"OKP"}}`))
	f.Add([]byte(`{"a":[1,2,{"b":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Header
		_ = DecodeStrict(data, &h)
		var m map[string]any
		_ = DecodeStrict(data, &m)
	})
}

func BenchmarkVerify(b *testing.B) {
	payload := `{"iss":"https://ep.example/hz","vct":"urn:epermit:rp","iat":1795766400,"exp":1827302400,"nm":"张三"}`
	tok := mustSign(b, Header{Typ: "x+jwt", Kid: "k1"}, payload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(tok, "x+jwt", keyFor); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	msg := []byte(strings.Repeat("x", 600))
	sig := ed25519.Sign(testKey, msg)
	for b.Loop() {
		if !ed25519.Verify(testPub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

// TestES256 covers holder tokens signed with a P-256 key: JOSE r||s
// signatures verify, DER and zero signatures do not, and the algorithm is
// the key's, not the header's.
func TestES256(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good, err := Sign(ec, Header{Typ: "kb+jwt", Alg: "EdDSA"}, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	if h, _ := ParseHeader(good); h.Alg != AlgES256 {
		t.Fatalf("alg %q, want ES256", h.Alg)
	}
	raw, _ := b64.DecodeString(parts[2])
	if len(raw) != 64 {
		t.Fatalf("signature of %d bytes, want 64", len(raw))
	}
	// The same signature in ASN.1 DER, as crypto.Signer returns it.
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	asDER := parts[0] + "." + parts[1] + "." + b64.EncodeToString(der)
	zero := parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 64))
	edHeader := enc(`{"alg":"EdDSA","typ":"kb+jwt"}`) + "." + parts[1] + "." + parts[2]
	noneHeader := enc(`{"alg":"none","typ":"kb+jwt"}`) + "." + parts[1] + "."
	es384 := enc(`{"alg":"ES384","typ":"kb+jwt"}`) + "." + parts[1] + "." + parts[2]
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edTok, _ := Sign(testKey, Header{Typ: "kb+jwt"}, []byte(`{"a":1}`))
	esAsEd := enc(`{"alg":"ES256","typ":"kb+jwt"}`) + "." + strings.Split(edTok, ".")[1] + "." + strings.Split(edTok, ".")[2]

	tests := []struct {
		name  string
		token string
		key   crypto.PublicKey
		want  error
	}{
		{"valid", good, &ec.PublicKey, nil},
		{"DER signature", asDER, &ec.PublicKey, ErrSignature},
		{"zero r and s", zero, &ec.PublicKey, ErrSignature},
		{"other key", good, &other.PublicKey, ErrSignature},
		{"EdDSA header on a P-256 key", edHeader, &ec.PublicKey, ErrAlgorithm},
		{"ES384", es384, &ec.PublicKey, ErrAlgorithm},
		{"none", noneHeader, &ec.PublicKey, ErrAlgorithm},
		{"ES256 header on an Ed25519 key", esAsEd, testPub, ErrAlgorithm},
		{"Ed25519 token, Ed25519 key", edTok, testPub, nil},
		{"Ed25519 token, P-256 key", edTok, &ec.PublicKey, ErrAlgorithm},
		{"wrong typ", good, &ec.PublicKey, nil},
		{"key of another type", good, []byte("k"), ErrUnknownKey},
		{"nil key", good, nil, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ := "kb+jwt"
			if tt.name == "wrong typ" {
				typ, tt.want = "jwt", ErrType
			}
			tok, err := VerifyWithKey(tt.token, typ, tt.key)
			if tt.want == nil {
				if err != nil || string(tok.Payload) != `{"a":1}` {
					t.Fatalf("VerifyWithKey = %v, %v", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyWithKey error = %v, want %v", err, tt.want)
			}
		})
	}
	// An issuer-signed token is Ed25519 only.
	if _, err := Verify(good, "kb+jwt", func(Header) (ed25519.PublicKey, error) { return testPub, nil }); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("Verify of an ES256 token: %v, want ErrAlgorithm", err)
	}
}

func TestVerifyAlsoTyp(t *testing.T) {
	t.Parallel()
	tok := mustSign(t, Header{Typ: "vc+sd-jwt", Kid: "k1"}, `{"a":1}`)
	if _, err := Verify(tok, "dc+sd-jwt", keyFor); !errors.Is(err, ErrType) {
		t.Errorf("without alsoTyp: %v", err)
	}
	if _, err := Verify(tok, "dc+sd-jwt", keyFor, "vc+sd-jwt"); err != nil {
		t.Errorf("with alsoTyp: %v", err)
	}
}

func TestSignRefusesOtherKeys(t *testing.T) {
	t.Parallel()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := Sign(p384, Header{}, []byte(`{}`)); err == nil {
		t.Error("signed with a P-384 key")
	}
	if _, err := Sign(nil, Header{}, []byte(`{}`)); err == nil {
		t.Error("signed with no key")
	}
}

func BenchmarkVerifyES256(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, _ := Sign(ec, Header{Typ: "kb+jwt"}, []byte(`{"iat":1700000000,"aud":"urn:epermit:any","nonce":"abcdefghijklmnop","sd_hash":"0123456789012345678901234567890123456789012"}`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyWithKey(tok, "kb+jwt", &ec.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}
