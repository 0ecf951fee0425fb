package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
)

// TestWalletP256 makes a wallet with an ECDSA P-256 device key, has a
// permit issued to it, shows it and verifies it: the KB-JWT is ES256.
func TestWalletP256(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.dir, "p256")
	o := must(t, t0, "wallet", "init", "--dir", dir, "--alg", "ES256")
	if !strings.Contains(o.stdout, "ECDSA P-256") {
		t.Errorf("wallet init does not say which key it made: %v", o)
	}
	jwk, err := os.ReadFile(filepath.Join(dir, "device.jwk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := keys.ParseHolderJWK(jwk); err != nil || k.Kty != "EC" || k.Crv != "P-256" {
		t.Fatalf("device.jwk.json %s: %v", jwk, err)
	}
	cred := filepath.Join(f.dir, "p256.sd-jwt")
	must(t, t0, "issue", "--app", adultApp, "--holder", filepath.Join(dir, "device.jwk.json"), "--key", f.issuerKey, "--iss", testIss,
		"--status-uri", testStatus, "--idx", testIdx, "--out", cred)
	must(t, t0, "wallet", "add", "--dir", dir, "--jwks", f.issuerSet, cred)
	shown := strings.TrimSpace(must(t, t0, "wallet", "show", "--dir", dir, "--purpose", "police-check").stdout)
	p, err := sdjwt.Split(shown)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := jws.ParseHeader(p.KeyBinding); h.Alg != "ES256" {
		t.Fatalf("KB-JWT alg %q", h.Alg)
	}
	o = must(t, t0, f.verifyArgs("police-check", "--json", shown)...)
	var r struct {
		Valid       bool `json:"valid"`
		HolderBound bool `json:"holder_bound"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &r); err != nil || !r.Valid || !r.HolderBound {
		t.Fatalf("verify: %v %v", o, err)
	}
	if o := cli(t0, "", "wallet", "init", "--dir", filepath.Join(f.dir, "rsa"), "--alg", "RS256"); o.code != 2 {
		t.Errorf("wallet init --alg RS256: %v", o)
	}
}

// TestVerifySmallOrderHolder is issue 10, hole 2, at the counter: a
// credential signed by the trusted issuer but bound to the identity point,
// shown with a KB-JWT nobody signed (R = identity, S = 0), is refused by
// permit verify for every purpose.
func TestVerifySmallOrderHolder(t *testing.T) {
	f := newFixture(t)
	raw, err := os.ReadFile(f.credential)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sdjwt.Split(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := base64.RawURLEncoding.DecodeString(strings.Split(p.IssuerJWT, ".")[1])
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["cnf"] = map[string]any{"jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}
	body, _ = jws.Marshal(m)
	issuer, kid, err := loadKey(f.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.IssuerJWT, err = jws.Sign(issuer, jws.Header{Typ: sdjwt.TypeVC, Kid: kid}, body); err != nil {
		t.Fatal(err)
	}
	kb, _ := jws.Marshal(sdjwt.KeyBindingClaims{IssuedAt: t0.Unix(), Audience: "urn:epermit:any", Nonce: "forged", SDHash: p.SDHash()})
	sig := make([]byte, 64)
	sig[0] = 1
	p.KeyBinding = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"kb+jwt"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(kb) + "." + base64.RawURLEncoding.EncodeToString(sig)
	for _, purpose := range []string{"residence-proof", "public-service", "police-check"} {
		o := cli(t0, "", f.verifyArgs(purpose, p.String())...)
		if o.code != 1 || !strings.Contains(o.stdout, "REFUSED") || !strings.Contains(o.stdout, "holder_key_weak") {
			t.Errorf("%s: %v", purpose, o)
		}
	}
}

// TestWalletAcceptTrust: the CLI wallet takes offers only from issuers
// named in the trust list it holds ("permit wallet trust"), refuses a
// phishing issuer without contacting it, and needs a loud flag to skip the
// check.
func TestWalletAcceptTrust(t *testing.T) {
	f := newFixture(t)
	offer := func(iss string) string {
		return oid4vci.Offer{CredentialIssuer: iss, ConfigurationIDs: []string{"epermit_rp_sd_jwt"}, PreAuthorizedCode: "code-123"}.URI()
	}
	var mu sync.Mutex
	var seen []string
	trustJWT, err := os.ReadFile(f.trust)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/trust-list" {
			w.Write(trustJWT)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	// No trust list yet: refused, and the message says what to do.
	o := cli(t0, "", "wallet", "accept", "--dir", f.wallet, offer(srv.URL+"/hz"))
	if o.code != 1 || !strings.Contains(o.stderr, "permit wallet trust --dir") {
		t.Fatalf("accept without a trust list: %v", o)
	}

	o = must(t, t0, "wallet", "trust", "--dir", f.wallet, "--from", srv.URL, "--pin", f.pin)
	if !strings.Contains(o.stdout, testIss) || !strings.Contains(o.stdout, "trust list version") {
		t.Fatalf("wallet trust: %v", o)
	}
	if o := cli(t0, "", "wallet", "trust", "--dir", f.wallet, "--from", srv.URL, "--pin", strings.Repeat("A", 43)); o.code != 1 {
		t.Errorf("wallet trust with another pin: %v", o)
	}

	// A phishing offer: an issuer the list does not name.
	mu.Lock()
	seen = nil
	mu.Unlock()
	o = cli(t0, "", "wallet", "accept", "--dir", f.wallet, offer(srv.URL+"/hz"))
	if o.code != 1 || !strings.Contains(o.stderr, "not named in the trust list") {
		t.Fatalf("phishing offer: %v", o)
	}
	mu.Lock()
	if len(seen) != 0 {
		t.Errorf("the wallet contacted the phishing issuer: %v", seen)
	}
	mu.Unlock()

	// The override warns, loudly, and then talks to the issuer.
	o = cli(t0, "", "wallet", "accept", "--dir", f.wallet, "--insecure-any-issuer", offer(srv.URL+"/hz"))
	if o.code != 1 || !strings.Contains(o.stderr, "WARNING: --insecure-any-issuer") || !strings.Contains(o.stderr, "警告") {
		t.Fatalf("--insecure-any-issuer: %v", o)
	}
	mu.Lock()
	if len(seen) == 0 {
		t.Error("with the override the wallet did not contact the issuer")
	}
	mu.Unlock()

	// The permit held is untouched by all this.
	if o := must(t, t0, "wallet", "list", "--dir", f.wallet); !strings.Contains(o.stdout, f.permitNo) {
		t.Errorf("wallet list: %v", o)
	}
}
