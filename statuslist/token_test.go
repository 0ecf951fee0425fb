package statuslist

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
)

const testURI = "https://status.example.zj.gov.cn/lists/7"

var (
	testKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	otherKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	testIat   = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	testKeyID = "zj-status-1"
)

func keyFor(h jws.Header) (ed25519.PublicKey, error) {
	if h.Kid != testKeyID {
		return nil, fmt.Errorf("kid %q: %w", h.Kid, jws.ErrUnknownKey)
	}
	return testKey.Public().(ed25519.PublicKey), nil
}

func exampleList(t testing.TB) *List {
	t.Helper()
	v := loadVectors(t)["example_2bit"]
	l, err := New(v.Bits, len(v.Statuses))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range v.Statuses {
		if err := l.Set(i, s); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// segments returns the decoded header and payload of a compact token.
func segments(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for k, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[k])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func TestSignVerifyToken(t *testing.T) {
	t.Parallel()
	l := exampleList(t)
	claims := TokenClaims{Sub: testURI, IssuedAt: testIat.Add(500 * time.Millisecond), ExpiresAt: testIat.Add(24 * time.Hour), TTL: 12 * time.Hour, List: l}
	tok, err := SignToken(testKey, testKeyID, claims)
	if err != nil {
		t.Fatal(err)
	}
	h, p := segments(t, tok)
	if h["typ"] != "statuslist+jwt" || h["alg"] != "EdDSA" || h["kid"] != testKeyID {
		t.Errorf("header %v", h)
	}
	wantPayload := map[string]any{
		"sub": testURI, "iat": float64(testIat.Unix()), "exp": float64(testIat.Unix() + 86400), "ttl": float64(43200),
		"status_list": map[string]any{"bits": float64(2), "lst": p["status_list"].(map[string]any)["lst"]},
	}
	if fmt.Sprint(p) != fmt.Sprint(wantPayload) {
		t.Errorf("payload %v, want %v", p, wantPayload)
	}

	v, err := VerifyToken(tok, keyFor, DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	if v.Sub != testURI || !v.IssuedAt.Equal(testIat) || !v.ExpiresAt.Equal(testIat.Add(24*time.Hour)) || v.TTL != 12*time.Hour || v.Kid != testKeyID {
		t.Errorf("verified %+v", v)
	}
	if !bytes.Equal(v.List.Bytes(), l.Bytes()) || v.List.Bits() != 2 {
		t.Errorf("verified list %x bits %d, want %x", v.List.Bytes(), v.List.Bits(), l.Bytes())
	}
	if s, err := v.Lookup(Reference{Idx: 1, URI: testURI}); err != nil || s != Suspended {
		t.Errorf("Lookup(1) = %v, %v, want SUSPENDED", s, err)
	}
}

func TestSignTokenOptionalClaimsOmitted(t *testing.T) {
	t.Parallel()
	tok, err := SignToken(testKey, testKeyID, TokenClaims{Sub: testURI, IssuedAt: testIat, List: exampleList(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, p := segments(t, tok)
	for _, k := range []string{"exp", "ttl"} {
		if _, ok := p[k]; ok {
			t.Errorf("payload has %q: %v", k, p)
		}
	}
	v, err := VerifyToken(tok, keyFor, DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ExpiresAt.IsZero() || v.TTL != 0 {
		t.Errorf("ExpiresAt %v TTL %v, want zero", v.ExpiresAt, v.TTL)
	}
}

func TestSignTokenRejects(t *testing.T) {
	t.Parallel()
	l := exampleList(t)
	tests := []struct {
		name string
		c    TokenClaims
	}{
		{"no sub", TokenClaims{IssuedAt: testIat, List: l}},
		{"no iat", TokenClaims{Sub: testURI, List: l}},
		{"iat before 1970", TokenClaims{Sub: testURI, IssuedAt: time.Unix(-5, 0), List: l}},
		{"no list", TokenClaims{Sub: testURI, IssuedAt: testIat}},
		{"exp equal to iat", TokenClaims{Sub: testURI, IssuedAt: testIat, ExpiresAt: testIat, List: l}},
		{"exp before iat", TokenClaims{Sub: testURI, IssuedAt: testIat, ExpiresAt: testIat.Add(-time.Hour), List: l}},
		{"negative ttl", TokenClaims{Sub: testURI, IssuedAt: testIat, TTL: -time.Hour, List: l}},
		{"sub-second ttl", TokenClaims{Sub: testURI, IssuedAt: testIat, TTL: time.Millisecond, List: l}},
		{"fractional ttl", TokenClaims{Sub: testURI, IssuedAt: testIat, TTL: 1500 * time.Millisecond, List: l}},
	}
	for _, tt := range tests {
		if _, err := SignToken(testKey, testKeyID, tt.c); !errors.Is(err, ErrInvalidClaims) {
			t.Errorf("%s: SignToken error = %v, want ErrInvalidClaims", tt.name, err)
		}
	}
}

// signRaw signs an arbitrary payload, to test claims SignToken never writes.
func signRaw(t *testing.T, typ, payload string) string {
	t.Helper()
	tok, err := jws.Sign(testKey, jws.Header{Typ: typ, Kid: testKeyID}, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyTokenRejects(t *testing.T) {
	t.Parallel()
	good, err := SignToken(testKey, testKeyID, TokenClaims{Sub: testURI, IssuedAt: testIat, List: exampleList(t)})
	if err != nil {
		t.Fatal(err)
	}
	otherSigned, err := SignToken(otherKey, testKeyID, TokenClaims{Sub: testURI, IssuedAt: testIat, List: exampleList(t)})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	const sl = `"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}`
	tests := []struct {
		name  string
		token string
		max   int
		want  error
	}{
		{"wrong typ", signRaw(t, "JWT", `{"sub":"`+testURI+`","iat":1,`+sl+`}`), 16, jws.ErrType},
		{"no typ", signRaw(t, "", `{"sub":"`+testURI+`","iat":1,`+sl+`}`), 16, jws.ErrType},
		{"other key", otherSigned, 16, jws.ErrSignature},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","iat":1,`+sl+`}`)) + "." + parts[2], 16, jws.ErrSignature},
		{"unknown kid", strings.Replace(good, parts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"statuslist+jwt","kid":"x"}`)), 1), 16, jws.ErrUnknownKey},
		{"missing sub", signRaw(t, TokenType, `{"iat":1,`+sl+`}`), 16, ErrInvalidClaims},
		{"empty sub", signRaw(t, TokenType, `{"sub":"","iat":1,`+sl+`}`), 16, ErrInvalidClaims},
		{"missing iat", signRaw(t, TokenType, `{"sub":"u",`+sl+`}`), 16, ErrInvalidClaims},
		{"null iat", signRaw(t, TokenType, `{"sub":"u","iat":null,`+sl+`}`), 16, ErrInvalidClaims},
		{"zero iat", signRaw(t, TokenType, `{"sub":"u","iat":0,`+sl+`}`), 16, ErrInvalidClaims},
		{"string iat", signRaw(t, TokenType, `{"sub":"u","iat":"1",`+sl+`}`), 16, ErrInvalidClaims},
		{"fractional iat", signRaw(t, TokenType, `{"sub":"u","iat":1.5,`+sl+`}`), 16, ErrInvalidClaims},
		{"exp equal to iat", signRaw(t, TokenType, `{"sub":"u","iat":5,"exp":5,`+sl+`}`), 16, ErrInvalidClaims},
		{"zero ttl", signRaw(t, TokenType, `{"sub":"u","iat":5,"ttl":0,`+sl+`}`), 16, ErrInvalidClaims},
		{"negative ttl", signRaw(t, TokenType, `{"sub":"u","iat":5,"ttl":-1,`+sl+`}`), 16, ErrInvalidClaims},
		{"huge ttl", signRaw(t, TokenType, `{"sub":"u","iat":5,"ttl":9223372036854775807,`+sl+`}`), 16, ErrInvalidClaims},
		{"missing status_list", signRaw(t, TokenType, `{"sub":"u","iat":5}`), 16, ErrInvalidClaims},
		{"null status_list", signRaw(t, TokenType, `{"sub":"u","iat":5,"status_list":null}`), 16, ErrInvalidClaims},
		{"duplicate sub", signRaw(t, TokenType, `{"sub":"u","sub":"v","iat":5,`+sl+`}`), 16, ErrInvalidClaims},
		{"case variant", signRaw(t, TokenType, `{"SUB":"u","iat":5,`+sl+`}`), 16, ErrInvalidClaims},
		{"bits 3", signRaw(t, TokenType, `{"sub":"u","iat":5,"status_list":{"bits":3,"lst":"eNrbuRgAAhcBXQ"}}`), 16, ErrInvalidBits},
		{"bits as string", signRaw(t, TokenType, `{"sub":"u","iat":5,"status_list":{"bits":"1","lst":"eNrbuRgAAhcBXQ"}}`), 16, ErrInvalidClaims},
		{"list beyond max entries", signRaw(t, TokenType, `{"sub":"u","iat":5,`+sl+`}`), 8, ErrTooLarge},
		{"padded lst", signRaw(t, TokenType, `{"sub":"u","iat":5,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ=="}}`), 16, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := VerifyToken(tt.token, keyFor, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyToken error = %v, want %v", err, tt.want)
			}
			if v != nil {
				t.Error("VerifyToken returned a token with an error")
			}
		})
	}
	// The same forged-claims helper yields an accepted token when the
	// claims are right, so the refusals above are about the claims.
	if _, err := VerifyToken(signRaw(t, TokenType, `{"sub":"u","iat":5,"exp":6,"ttl":1,"aggregation_uri":"x",`+sl+`}`), keyFor, 16); err != nil {
		t.Errorf("well-formed raw token refused: %v", err)
	}
}

// TestNotBeforeRoundTrip: an nbf given to SignToken comes back from
// VerifyToken and is honoured by ValidAt.
func TestNotBeforeRoundTrip(t *testing.T) {
	t.Parallel()
	l, _ := New(1, 16)
	nbf := testIat.Add(time.Hour)
	tok, err := SignToken(testKey, testKeyID, TokenClaims{Sub: testURI, IssuedAt: testIat, NotBefore: nbf, List: l})
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyToken(tok, keyFor, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !v.NotBefore.Equal(nbf) {
		t.Fatalf("NotBefore = %v", v.NotBefore)
	}
	if err := v.ValidAt(testIat.Add(time.Minute), time.Minute); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("ValidAt before nbf: %v", err)
	}
	if _, err := VerifyToken(signRaw(t, TokenType, `{"sub":"u","iat":5,"nbf":"6","status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`), keyFor, 16); !errors.Is(err, ErrInvalidClaims) {
		t.Errorf("nbf as a string: %v", err)
	}
	if v, err := VerifyToken(signRaw(t, TokenType, `{"sub":"u","iat":5,"nbf":6,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`), keyFor, 16); err != nil || v.NotBefore.Unix() != 6 {
		t.Errorf("nbf as a number: %v", err)
	}
}

func TestValidAt(t *testing.T) {
	t.Parallel()
	v := &VerifiedToken{Sub: testURI, IssuedAt: testIat, ExpiresAt: testIat.Add(time.Hour)}
	noExp := &VerifiedToken{Sub: testURI, IssuedAt: testIat}
	nbf := &VerifiedToken{Sub: testURI, IssuedAt: testIat, NotBefore: testIat.Add(time.Hour), ExpiresAt: testIat.Add(2 * time.Hour)}
	skew := time.Minute
	tests := []struct {
		name string
		v    *VerifiedToken
		now  time.Time
		want error
	}{
		{"inside", v, testIat.Add(30 * time.Minute), nil},
		{"at iat", v, testIat, nil},
		{"iat within skew", v, testIat.Add(-skew), nil},
		{"iat beyond skew", v, testIat.Add(-skew - time.Second), ErrNotYetValid},
		{"exp within skew", v, testIat.Add(time.Hour + skew - time.Second), nil},
		{"exp plus skew", v, testIat.Add(time.Hour + skew), ErrExpired},
		{"long expired", v, testIat.Add(48 * time.Hour), ErrExpired},
		{"no exp", noExp, testIat.Add(24 * 365 * time.Hour), nil},
		{"before nbf", nbf, testIat.Add(30 * time.Minute), ErrNotYetValid},
		{"nbf beyond skew", nbf, testIat.Add(time.Hour - skew - time.Second), ErrNotYetValid},
		{"nbf within skew", nbf, testIat.Add(time.Hour - skew), nil},
		{"after nbf", nbf, testIat.Add(90 * time.Minute), nil},
	}
	for _, tt := range tests {
		if err := tt.v.ValidAt(tt.now, skew); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: ValidAt error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	v := &VerifiedToken{Sub: testURI, List: exampleList(t)}
	tests := []struct {
		ref  Reference
		want Status
		err  error
	}{
		{Reference{Idx: 0, URI: testURI}, Invalid, nil},
		{Reference{Idx: 2, URI: testURI}, Valid, nil},
		{Reference{Idx: 11, URI: testURI}, 3, nil},
		{Reference{Idx: 12, URI: testURI}, 0, ErrIndexOutOfRange},
		{Reference{Idx: -1, URI: testURI}, 0, ErrInvalidReference},
		{Reference{Idx: 0, URI: ""}, 0, ErrInvalidReference},
		{Reference{Idx: 0, URI: testURI + "/"}, 0, ErrURIMismatch},
		{Reference{Idx: 0, URI: "https://status.example.zj.gov.cn/lists/8"}, 0, ErrURIMismatch},
	}
	for _, tt := range tests {
		s, err := v.Lookup(tt.ref)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) || s != tt.want {
			t.Errorf("Lookup(%+v) = %v, %v, want %v, %v", tt.ref, s, err, tt.want, tt.err)
		}
	}
}

func TestStatusClaimJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		want error
	}{
		{`{"status_list":{"idx":42,"uri":"` + testURI + `"}}`, nil},
		{`{}`, ErrInvalidReference},
		{`{"status_list":{"idx":-3,"uri":"` + testURI + `"}}`, ErrInvalidReference},
		{`{"status_list":{"idx":1}}`, ErrInvalidReference},
	}
	for _, tt := range tests {
		var c StatusClaim
		if err := jws.DecodeStrict([]byte(tt.json), &c); err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		if err := c.Validate(); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Validate error = %v, want %v", tt.json, err, tt.want)
		}
	}
	out, err := jws.Marshal(StatusClaim{StatusList: &Reference{Idx: 42, URI: testURI}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status_list":{"idx":42,"uri":"` + testURI + `"}}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
}
