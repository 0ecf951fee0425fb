package server

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/internal/vectors"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/verifier"
)

// smallOrderProof is an OpenID4VCI proof whose jwk is the point x, with
// the signature R = identity, S = 0: for the identity point it verifies as
// a bare Ed25519 signature, without any private key.
func smallOrderProof(x []byte, aud, nonce string, iat time.Time) string {
	hdr := `{"alg":"EdDSA","typ":"openid4vci-proof+jwt","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(x) + `"}}`
	body, _ := jws.Marshal(map[string]any{"aud": aud, "iat": iat.Unix(), "nonce": nonce})
	sig := make([]byte, 64)
	sig[0] = 1
	return base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestCredentialRefusesSmallOrderKey is issue 10, hole 2, at the issuer: a
// proof whose jwk is a small-order point (anyone can sign for it) gets no
// credential, for each of the eight points, and binds nothing: the access
// token still gets the credential for a real key afterwards.
func TestCredentialRefusesSmallOrderKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	tr := ts.redeem(t, p.Offer.URI)
	pts := vectors.SmallOrderEd25519()
	identity := pts[0].Encoded
	forged := smallOrderProof(identity, p.Issuer, tr.CNonce, ts.clock())
	dot := strings.LastIndexByte(forged, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(forged[dot+1:])
	if !ed25519.Verify(identity, []byte(forged[:dot]), sig) {
		t.Fatal("the forged proof does not verify as a bare signature: the test would prove nothing")
	}
	for _, pt := range pts {
		body, _ := oid4vci.CredentialRequest{ConfigurationID: ConfigurationID, Proofs: []string{smallOrderProof(pt.Encoded, p.Issuer, tr.CNonce, ts.clock())}}.MarshalJSON()
		w := ts.do(req{method: "POST", path: "/credential", token: tr.AccessToken, body: body})
		if w.Code != 400 || errorCode(w) != "invalid_proof" || !strings.Contains(w.Body.String(), "small-order") {
			t.Errorf("proof jwk %x: %d %s", pt.Encoded, w.Code, w.Body)
		}
	}
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleOfficer]}, 200, &rec)
	if len(rec.Credentials) != 0 {
		t.Fatalf("a refused proof bound the permit to %s", rec.Credentials[0].HolderKid)
	}
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, testKey(21), p.Issuer), 200, &cr)
}

// TestCredentialP256Holder issues to a P-256 device key (an ES256 proof):
// cnf.jwk is the EC key, the officials' view names its thumbprint, the
// presentation verifies offline, and a re-issue must prove the same key.
func TestCredentialP256Holder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	dev, err := keys.GenerateDeviceKey(keys.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	p := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	tr := ts.redeem(t, p.Offer.URI)
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, dev, p.Issuer), 200, &cr)
	issued := cr.Credentials[0].Credential
	ps, err := sdjwt.Split(issued)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(ps.IssuerJWT, ".")[1])
	if !strings.Contains(string(payload), `"cnf":{"jwk":{"kty":"EC","crv":"P-256"`) {
		t.Fatalf("cnf: %s", payload)
	}
	j, _ := keys.HolderJWK(dev.Public())
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleOfficer]}, 200, &rec)
	if len(rec.Credentials) != 1 || rec.Credentials[0].HolderKid != j.Kid {
		t.Errorf("credentials %+v, want one bound to %q", rec.Credentials, j.Kid)
	}

	now := ts.clock()
	trustList := ts.must(t, req{method: "GET", path: "/trust-list"}, 200, nil).Body.String()
	tru, err := verifier.LoadTrustList(trustList, keys.Thumbprint(ts.root.Public().(ed25519.PublicKey)), now)
	if err != nil {
		t.Fatal(err)
	}
	status := ts.must(t, req{method: "GET", path: "/status/hz-1"}, 200, nil).Body.String()
	if err := tru.AddStatusList(status, now); err != nil {
		t.Fatal(err)
	}
	ps.Disclosures = nil
	shown, err := sdjwt.Bind(ps, dev, credential.AnyAudience, "n-p256", now)
	if err != nil {
		t.Fatal(err)
	}
	if r := verifier.Verify(shown.String(), verifier.Options{Trust: tru, Now: now}); !r.Valid || !r.HolderBound {
		t.Fatalf("%+v", r.Reasons)
	}

	// After the endorsement, the refresh goes to the same P-256 key only.
	ts.setNow(time.Date(2027, 11, 10, 2, 0, 0, 0, time.UTC))
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/endorse", token: ts.tokens[issuer.RoleOfficer]}, 200, nil)
	refresh := func(k crypto.Signer) *httptest.ResponseRecorder {
		nonce, _, _ := ts.svc.NewNonce(ts.clock())
		jwt, err := oid4vci.NewProof(k, p.Issuer, nonce, ts.clock())
		if err != nil {
			t.Fatal(err)
		}
		return ts.do(req{method: "POST", path: "/credential/refresh", body: map[string]any{"permit_no": p.Number, "proof": map[string]string{"proof_type": "jwt", "jwt": jwt}}})
	}
	other, _ := keys.GenerateDeviceKey(keys.AlgES256)
	for name, k := range map[string]crypto.Signer{"another P-256 key": other, "an Ed25519 key": testKey(22)} {
		if w := refresh(k); w.Code != 400 || errorCode(w) != "invalid_proof" {
			t.Errorf("refresh by %s: %d %s", name, w.Code, w.Body)
		}
	}
	if w := refresh(dev); w.Code != 200 {
		t.Fatalf("refresh by the bound P-256 key: %d %s", w.Code, w.Body)
	}
}
