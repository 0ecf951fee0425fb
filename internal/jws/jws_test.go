package jws

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
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
