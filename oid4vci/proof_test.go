package oid4vci

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/internal/vectors"
	"github.com/epermit/epermit/keys"
)

const aud = "https://ep.example/zj/hz"

var (
	now       = time.Unix(1_780_000_000, 0)
	holder    = ed25519.NewKeyFromSeed(seedFromRFC8037())
	holderPub = holder.Public().(ed25519.PublicKey)
)

// seedFromRFC8037 reads the RFC 8037 Appendix A private key seed.
func seedFromRFC8037() []byte {
	b, err := os.ReadFile("testdata/rfc8037.json")
	if err != nil {
		panic(err)
	}
	var v struct {
		PrivateJWK struct{ D string } `json:"private_jwk"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(v.PrivateJWK.D)
	if err != nil {
		panic(err)
	}
	return seed
}

// forge signs an arbitrary header and payload with holder.
func forge(header, payload string) string {
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(holder, []byte(in)))
}

func TestProofRoundTrip(t *testing.T) {
	t.Parallel()
	p, err := NewProof(holder, aud, "n0nce", now)
	if err != nil {
		t.Fatal(err)
	}
	h, err := jws.ParseHeader(p)
	if err != nil || h.Alg != "EdDSA" || h.Typ != ProofType || h.JWK == nil || h.JWK.X != keys.PublicJWK(holderPub).X || h.Kid != "" {
		t.Fatalf("header %+v %v", h, err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(p, ".")[1])
	if string(payload) != `{"aud":"`+aud+`","iat":1780000000,"nonce":"n0nce"}` {
		t.Fatalf("payload %s", payload)
	}
	pub, err := VerifyProof(p, aud, "n0nce", now, 5*time.Minute)
	if err != nil || !keys.SameKey(pub, holderPub) {
		t.Fatalf("VerifyProof: %v", err)
	}
	// The RFC 8037 key: x is 11qYAYKx...
	if keys.PublicJWK(pub.(ed25519.PublicKey)).X != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatal("unexpected test key")
	}
	noNonce, _ := NewProof(holder, aud, "", now)
	if _, err := VerifyProof(noNonce, aud, "", now, time.Minute); err != nil {
		t.Fatalf("without nonce: %v", err)
	}
	if _, err := NewProof(holder[:10], aud, "", now); err == nil {
		t.Fatal("short key")
	}
	if _, err := VerifyProof(p, aud, "n0nce", now, 0); err == nil || CodeOf(err) != "" {
		t.Fatalf("maxAge 0: %v", err)
	}
}

func TestVerifyProofRefuses(t *testing.T) {
	t.Parallel()
	x := keys.PublicJWK(holderPub).X
	jwk := `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`
	hdr := `{"alg":"EdDSA","typ":"openid4vci-proof+jwt","jwk":` + jwk + `}`
	body := `{"aud":"` + aud + `","iat":1780000000,"nonce":"n"}`
	if _, err := VerifyProof(forge(hdr, body), aud, "n", now, time.Minute); err != nil {
		t.Fatalf("control: %v", err)
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	byOther, _ := NewProof(other, aud, "n", now)
	otherParts := strings.Split(byOther, ".")
	good, _ := NewProof(holder, aud, "n", now)
	goodParts := strings.Split(good, ".")
	rep := func(s, old, new string) string { return strings.Replace(s, old, new, 1) }
	tests := []struct {
		name, jwt, code string
	}{
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(rep(hdr, "EdDSA", "none"))) + "." + goodParts[1] + ".", CodeInvalidProof},
		{"alg HS256", forge(rep(hdr, "EdDSA", "HS256"), body), CodeInvalidProof},
		{"alg ES256 with an Ed25519 jwk", forge(rep(hdr, "EdDSA", "ES256"), body), CodeInvalidProof},
		{"no alg", forge(rep(hdr, `"alg":"EdDSA",`, ""), body), CodeInvalidProof},
		{"typ JWT", forge(rep(hdr, ProofType, "JWT"), body), CodeInvalidProof},
		{"no typ", forge(rep(hdr, `"typ":"openid4vci-proof+jwt",`, ""), body), CodeInvalidProof},
		{"kid instead of jwk", forge(`{"alg":"EdDSA","typ":"openid4vci-proof+jwt","kid":"did:example:1#k"}`, body), CodeInvalidProof},
		{"kid and jwk", forge(rep(hdr, `"jwk"`, `"kid":"k","jwk"`), body), CodeInvalidProof},
		{"x5c", forge(`{"alg":"EdDSA","typ":"openid4vci-proof+jwt","x5c":["MIIB"]}`, body), CodeInvalidProof},
		{"x5c and jwk", forge(rep(hdr, `"jwk"`, `"x5c":["MIIB"],"jwk"`), body), CodeInvalidProof},
		{"no key", forge(`{"alg":"EdDSA","typ":"openid4vci-proof+jwt"}`, body), CodeInvalidProof},
		{"private jwk", forge(rep(hdr, `"crv"`, `"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","crv"`), body), CodeInvalidProof},
		{"EC jwk", forge(rep(hdr, `"kty":"OKP","crv":"Ed25519"`, `"kty":"EC","crv":"P-256"`), body), CodeInvalidProof},
		{"X25519 jwk", forge(rep(hdr, `"Ed25519"`, `"X25519"`), body), CodeInvalidProof},
		{"short x", forge(rep(hdr, x, x[:40]), body), CodeInvalidProof},
		{"identity point jwk", forge(rep(hdr, x, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), body), CodeInvalidProof},
		{"nbf ahead", forge(hdr, rep(body, `"nonce"`, `"nbf":1780000061,"nonce"`)), CodeInvalidProof},
		{"crit", forge(rep(hdr, `"jwk"`, `"crit":["exp"],"jwk"`), body), CodeInvalidProof},
		{"duplicate header member", forge(rep(hdr, `"typ"`, `"alg":"EdDSA","typ"`), body), CodeInvalidProof},
		{"signed by other key", otherParts[0][:0] + goodParts[0] + "." + goodParts[1] + "." + otherParts[2], CodeInvalidProof},
		{"jwk of other key", otherParts[0] + "." + goodParts[1] + "." + goodParts[2], CodeInvalidProof},
		{"tampered payload", goodParts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(rep(body, `"n"`, `"m"`))) + "." + goodParts[2], CodeInvalidProof},
		{"wrong aud", forge(hdr, rep(body, aud, "https://evil.example")), CodeInvalidProof},
		{"aud prefix", forge(hdr, rep(body, aud, aud+"/x")), CodeInvalidProof},
		{"aud array without", forge(hdr, rep(body, `"`+aud+`"`, `["https://a"]`)), CodeInvalidProof},
		{"no aud", forge(hdr, `{"iat":1780000000,"nonce":"n"}`), CodeInvalidProof},
		{"numeric aud", forge(hdr, rep(body, `"`+aud+`"`, `1`)), CodeInvalidProof},
		{"no iat", forge(hdr, `{"aud":"`+aud+`","nonce":"n"}`), CodeInvalidProof},
		{"string iat", forge(hdr, rep(body, `1780000000`, `"1780000000"`)), CodeInvalidProof},
		{"old iat", forge(hdr, rep(body, `1780000000`, `1779999939`)), CodeInvalidProof},
		{"future iat", forge(hdr, rep(body, `1780000000`, `1780000061`)), CodeInvalidProof},
		{"expired", forge(hdr, rep(body, `"nonce"`, `"exp":1780000000,"nonce"`)), CodeInvalidProof},
		{"no nonce", forge(hdr, `{"aud":"`+aud+`","iat":1780000000}`), CodeInvalidProof},
		{"numeric nonce", forge(hdr, rep(body, `"n"}`, `1}`)), CodeInvalidProof},
		{"wrong nonce", forge(hdr, rep(body, `"n"}`, `"m"}`)), CodeInvalidNonce},
		{"duplicate payload member", forge(hdr, rep(body, `"nonce":"n"`, `"nonce":"m","nonce":"n"`)), CodeInvalidProof},
		{"case variant payload member", forge(hdr, rep(body, `"nonce":"n"`, `"nonce":"n","Nonce":"m"`)), CodeInvalidProof},
		{"two parts", goodParts[0] + "." + goodParts[1], CodeInvalidProof},
		{"garbage", "%%%", CodeInvalidProof},
		{"empty", "", CodeInvalidProof},
		{"huge", strings.Repeat("a", 9000), CodeInvalidProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, err := VerifyProof(tt.jwt, aud, "n", now, time.Minute)
			t.Log(err)
			if pub != nil {
				t.Fatal("returned a key with an error")
			}
			wantCode(t, err, tt.code)
		})
	}
	// Window edges, nbf within the skew and the array form of aud are
	// accepted.
	for _, b := range []string{rep(body, `1780000000`, `1779999940`), rep(body, `1780000000`, `1780000060`), rep(body, `"`+aud+`"`, `["https://a","`+aud+`"]`),
		rep(body, `"nonce"`, `"nbf":1780000060,"nonce"`)} {
		if _, err := VerifyProof(forge(hdr, b), aud, "n", now, time.Minute); err != nil {
			t.Errorf("refused %s: %v", b, err)
		}
	}
	// The RFC 9864 name of Ed25519, and a jwk with a kid name (RFC 7517
	// leaves it free; the key is the jwk itself).
	for _, h := range []string{rep(hdr, "EdDSA", "Ed25519"), rep(hdr, `"x"`, `"kid":"device-1","x"`)} {
		if _, err := VerifyProof(forge(h, body), aud, "n", now, time.Minute); err != nil {
			t.Errorf("refused %s: %v", h, err)
		}
	}
	// A proof with a nonce when none was issued cannot carry a server nonce.
	if _, err := VerifyProof(forge(hdr, body), aud, "", now, time.Minute); CodeOf(err) != CodeInvalidNonce {
		t.Errorf("unexpected nonce: %v", err)
	}
}

func BenchmarkVerifyProof(b *testing.B) {
	p, _ := NewProof(holder, aud, "n0nce", now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyProof(p, aud, "n0nce", now, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	msg := []byte(strings.Repeat("x", 300))
	sig := ed25519.Sign(holder, msg)
	for b.Loop() {
		if !ed25519.Verify(holderPub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

// TestProofP256 covers proofs by an ECDSA P-256 device key: ES256 with an
// EC jwk is accepted and gives the key back; the ways such a proof can be
// wrong are refused.
func TestProofP256(t *testing.T) {
	t.Parallel()
	dev, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProof(dev, aud, "n", now)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := jws.ParseHeader(p)
	if h.Alg != "ES256" || h.JWK == nil || h.JWK.Kty != "EC" || h.JWK.Crv != "P-256" || h.JWK.Y == "" {
		t.Fatalf("header %+v", h)
	}
	pub, err := VerifyProof(p, aud, "n", now, time.Minute)
	if err != nil || !keys.SameKey(pub, &dev.PublicKey) {
		t.Fatalf("VerifyProof = %v, %v", pub, err)
	}

	j, _ := keys.HolderJWK(&dev.PublicKey)
	ecHdr := func(alg, x, y string) string {
		return `{"alg":"` + alg + `","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}}`
	}
	body := `{"aud":"` + aud + `","iat":1780000000,"nonce":"n"}`
	// sign makes an ES256 signature over header.body with dev, as r||s
	// or, with der, in ASN.1 DER.
	sign := func(header string, der bool) string {
		in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(body))
		sig := esSign(t, dev, in)
		if der {
			b, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
			sig = b
		}
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	if _, err := VerifyProof(sign(ecHdr("ES256", j.X, j.Y), false), aud, "n", now, time.Minute); err != nil {
		t.Fatalf("control: %v", err)
	}
	zero := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	ff := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32)))
	tests := []struct {
		name string
		jwt  string
		want error
	}{
		{"DER signature", sign(ecHdr("ES256", j.X, j.Y), true), jws.ErrSignature},
		{"alg EdDSA with an EC jwk", sign(ecHdr("EdDSA", j.X, j.Y), false), jws.ErrAlgorithm},
		{"alg ES384", sign(ecHdr("ES384", j.X, j.Y), false), jws.ErrAlgorithm},
		{"point at infinity", sign(ecHdr("ES256", zero, zero), false), keys.ErrInvalidPoint},
		{"off the curve", sign(ecHdr("ES256", j.X, j.X), false), keys.ErrInvalidPoint},
		{"x not below p", sign(ecHdr("ES256", ff, j.Y), false), keys.ErrNonCanonicalKey},
		{"short y", sign(ecHdr("ES256", j.X, j.Y[:42]), false), keys.ErrInvalidJWK},
	}
	for _, tt := range tests {
		pub, err := VerifyProof(tt.jwt, aud, "n", now, time.Minute)
		if pub != nil || CodeOf(err) != CodeInvalidProof || !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want invalid_proof wrapping %v", tt.name, err, tt.want)
		}
	}
}

// esSign signs in with key, ES256, r||s.
func esSign(t *testing.T, key *ecdsa.PrivateKey, in string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// TestProofSmallOrderKeys refuses each of the eight Ed25519 points of
// small order as a proof's jwk, with the forged signature R = identity,
// S = 0 that the identity point accepts.
func TestProofSmallOrderKeys(t *testing.T) {
	t.Parallel()
	for _, p := range vectors.SmallOrderEd25519() {
		jwt := smallOrderProof(p.Encoded)
		pub, err := VerifyProof(jwt, aud, "n", now, time.Minute)
		if pub != nil || CodeOf(err) != CodeInvalidProof || !errors.Is(err, keys.ErrSmallOrderKey) {
			t.Errorf("%x: %v", p.Encoded, err)
		}
	}
	// The identity's forgery does verify as a bare signature: the refusal
	// above is what stops it.
	identity := ed25519.PublicKey(append([]byte{1}, make([]byte, 31)...))
	jwt := smallOrderProof(identity)
	dot := strings.LastIndexByte(jwt, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(jwt[dot+1:])
	if !ed25519.Verify(identity, []byte(jwt[:dot]), sig) {
		t.Fatal("the forgery does not verify as a bare signature")
	}
}

// smallOrderProof is a proof for the jwk x, "signed" with R = identity,
// S = 0.
func smallOrderProof(x []byte) string {
	hdr := `{"alg":"EdDSA","typ":"openid4vci-proof+jwt","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(x) + `"}}`
	body := `{"aud":"` + aud + `","iat":1780000000,"nonce":"n"}`
	in := base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + base64.RawURLEncoding.EncodeToString([]byte(body))
	sig := make([]byte, 64)
	sig[0] = 1
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func BenchmarkVerifyProofES256(b *testing.B) {
	dev, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, _ := NewProof(dev, aud, "n0nce", now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyProof(p, aud, "n0nce", now, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
