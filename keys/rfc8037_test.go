package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rfc8037 holds RFC 8037 Appendix A, from testdata/rfc8037.json.
type rfc8037 struct {
	PrivateJWK      json.RawMessage `json:"private_jwk"`
	PublicJWK       json.RawMessage `json:"public_jwk"`
	ThumbprintInput string          `json:"thumbprint_input"`
	Thumbprint      string          `json:"thumbprint_sha256_b64url"`
	JWSPayload      string          `json:"jws_payload"`
	JWSCompact      string          `json:"jws_compact"`

	priv ed25519.PrivateKey // from d
	x    string
}

func loadRFC8037(tb testing.TB) rfc8037 {
	tb.Helper()
	data, err := os.ReadFile("testdata/rfc8037.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v rfc8037
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	var priv struct{ D, X string }
	if err := json.Unmarshal(v.PrivateJWK, &priv); err != nil {
		tb.Fatal(err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(priv.D)
	if err != nil || len(seed) != ed25519.SeedSize {
		tb.Fatalf("d: %d bytes, %v", len(seed), err)
	}
	v.priv = ed25519.NewKeyFromSeed(seed)
	v.x = priv.X
	return v
}

// TestRFC8037AppendixA checks A.1 to A.3: key derivation, the JWK, and the
// RFC 7638 thumbprint.
func TestRFC8037AppendixA(t *testing.T) {
	t.Parallel()
	v := loadRFC8037(t)
	pub := v.priv.Public().(ed25519.PublicKey)

	if got := base64.RawURLEncoding.EncodeToString(pub); got != v.x {
		t.Errorf("public key from d = %s, want x %s", got, v.x)
	}
	if got := thumbprintInput(pub); got != v.ThumbprintInput {
		t.Errorf("thumbprint input = %s, want %s", got, v.ThumbprintInput)
	}
	if got := Thumbprint(pub); got != v.Thumbprint {
		t.Errorf("Thumbprint = %s, want %s", got, v.Thumbprint)
	}
	if v.Thumbprint != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Errorf("testdata thumbprint changed: %s", v.Thumbprint)
	}

	jwk := PublicJWK(pub)
	want := JWK{Kty: "OKP", Crv: "Ed25519", X: v.x, Kid: v.Thumbprint, Use: "sig", Alg: "EdDSA"}
	if jwk != want {
		t.Errorf("PublicJWK = %+v, want %+v", jwk, want)
	}

	parsed, err := ParseJWK(v.PublicJWK)
	if err != nil {
		t.Fatalf("ParseJWK(A.2 public JWK): %v", err)
	}
	got, err := parsed.PublicKey()
	if err != nil || !got.Equal(pub) {
		t.Errorf("A.2 PublicKey = %x, %v; want %x", got, err, pub)
	}

	// A.1 is a private JWK: never acceptable as a public key.
	if _, err := ParseJWK(v.PrivateJWK); !errors.Is(err, ErrPrivateJWK) || !errors.Is(err, ErrInvalidJWK) {
		t.Errorf("ParseJWK(A.1 private JWK) error = %v, want ErrPrivateJWK and ErrInvalidJWK", err)
	}
}

// TestRFC8037JWS checks A.4 with golang-jwt: the published signature
// verifies, and signing again through a crypto.Signer reproduces it
// (Ed25519 is deterministic).
func TestRFC8037JWS(t *testing.T) {
	t.Parallel()
	v := loadRFC8037(t)
	pub := v.priv.Public().(ed25519.PublicKey)

	parts := strings.Split(v.JWSCompact, ".")
	if len(parts) != 3 {
		t.Fatalf("jws_compact has %d parts", len(parts))
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if string(header) != `{"alg":"EdDSA"}` || string(payload) != v.JWSPayload {
		t.Fatalf("header %s payload %q", header, payload)
	}
	signingString := parts[0] + "." + parts[1]
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}

	if err := jwt.SigningMethodEdDSA.Verify(signingString, sig, pub); err != nil {
		t.Errorf("Verify(A.4 JWS) = %v", err)
	}
	if err := jwt.SigningMethodEdDSA.Verify(signingString+"x", sig, pub); err == nil {
		t.Error("Verify accepted an altered signing string")
	}

	// Sign through the key ring's crypto.Signer, as the issuer does, and
	// verify with the key the ring hands out for the kid.
	ring, err := NewRing(Entry{Signer: v.priv})
	if err != nil {
		t.Fatal(err)
	}
	kid, signer, err := ring.Active()
	if err != nil {
		t.Fatal(err)
	}
	if kid != v.Thumbprint {
		t.Errorf("active kid = %s, want %s", kid, v.Thumbprint)
	}
	again, err := jwt.SigningMethodEdDSA.Sign(signingString, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, sig) {
		t.Errorf("re-signed signature = %s, want %s", base64.RawURLEncoding.EncodeToString(again), parts[2])
	}
	vpub, err := ring.Verifier(kid, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := jwt.SigningMethodEdDSA.Verify(signingString, again, vpub); err != nil {
		t.Errorf("Verify with ring key = %v", err)
	}
}

// TestRFC8037PEM checks that the Appendix A key written by OpenSSL as PKCS#8
// parses to the same key, and that MarshalPrivateKeyPEM writes the same bytes.
func TestRFC8037PEM(t *testing.T) {
	t.Parallel()
	v := loadRFC8037(t)
	pemData, err := os.ReadFile("testdata/rfc8037_private.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKeyPEM(pemData)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(v.priv) {
		t.Errorf("parsed key differs from the key derived from d")
	}
	out, err := MarshalPrivateKeyPEM(v.priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, pemData) {
		t.Errorf("MarshalPrivateKeyPEM =\n%s\nwant (OpenSSL)\n%s", out, pemData)
	}
}
