package server

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/verifier"
	"github.com/epermit/epermit/wallet"
)

// TestIssuanceVerifiesOffline runs apply → approve → token → credential into
// a real wallet, then verifies its presentation offline against the served
// trust list and status list, before and after a revocation.
func TestIssuanceVerifiesOffline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	w, err := wallet.Init(t.TempDir() + "/wallet")
	if err != nil {
		t.Fatal(err)
	}
	a := ts.apply(t, person(t, 1))
	p := ts.approve(t, a.ID)
	tr := ts.redeem(t, p.Offer.URI)
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, w.Signer(), p.Issuer), 200, &cr)
	jwksBody := ts.must(t, req{method: "GET", path: "/.well-known/jwks.json"}, 200, nil).Body.Bytes()
	set, err := keys.ParseJWKS(jwksBody)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(cr.Credentials[0].Credential, &set); err != nil {
		t.Fatalf("wallet refused the credential: %v", err)
	}

	verify := func() *verifier.Result {
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
		shown, err := w.Present(p.Number, wallet.Request{Purpose: "public-service", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return verifier.Verify(shown, verifier.Options{Trust: tru, Purpose: "public-service", Now: now.Add(2 * time.Second)})
	}
	if r := verify(); !r.Valid || !r.HolderBound || r.Claims.PermitNo != p.Number || r.Issuer.ID != testBase+"/hz" {
		t.Fatalf("fresh credential: %+v", r)
	}
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/revoke", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "left the city"}}, 200, nil)
	if r := verify(); r.Valid || !r.Has(verifier.CodeRevoked) {
		t.Fatalf("revoked credential: %+v", r)
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	o, _ := oid4vci.ParseOfferURI(p.Offer.URI)
	form := func(v url.Values) req {
		return req{method: "POST", path: "/token", body: v.Encode(), ctype: "application/x-www-form-urlencoded"}
	}
	good := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o.PreAuthorizedCode}}
	for _, tc := range []struct {
		name string
		r    req
		code int
		err  string
	}{
		{"json instead of a form", req{method: "POST", path: "/token", body: map[string]string{"grant_type": oid4vci.GrantPreAuthorized}}, 400, "invalid_request"},
		{"other grant", form(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}), 400, "unsupported_grant_type"},
		{"no code", form(url.Values{"grant_type": {oid4vci.GrantPreAuthorized}}), 400, "invalid_request"},
		{"unknown code", form(url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {"nope"}}), 400, "invalid_grant"},
		{"good", form(good), 200, ""},
		{"reused code", form(good), 400, "invalid_grant"},
	} {
		w := ts.do(tc.r)
		if w.Code != tc.code || errorCode(w) != tc.err {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, w.Code, errorCode(w), tc.code, tc.err, w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, w.Header().Get("Cache-Control"))
		}
	}
	// An offer expires after 15 minutes.
	p2 := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	ts.setNow(ts.clock().Add(15*time.Minute + time.Second))
	o2, _ := oid4vci.ParseOfferURI(p2.Offer.URI)
	if w := ts.do(form(url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o2.PreAuthorizedCode}})); w.Code != 400 || errorCode(w) != "invalid_grant" {
		t.Fatalf("expired offer: %d %s", w.Code, w.Body)
	}
}

func TestCredentialEndpoint(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	holder := testKey(20)
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	tr := ts.redeem(t, p.Offer.URI)
	good := ts.credentialRequest(t, tr, holder, p.Issuer)
	proof := func(key byte, aud, nonce string, iat time.Time) req {
		j, err := oid4vci.NewProof(testKey(key), aud, nonce, iat)
		if err != nil {
			t.Fatal(err)
		}
		return req{method: "POST", path: "/credential", token: tr.AccessToken, body: map[string]any{"credential_configuration_id": ConfigurationID, "proofs": map[string]any{"jwt": []string{j}}}}
	}
	withToken := func(r req, tok string) req { r.token = tok; return r }
	for _, tc := range []struct {
		name string
		r    req
		code int
		err  string
	}{
		{"no access token", withToken(good, ""), 401, "invalid_token"},
		{"unknown access token", withToken(good, "epa_nope"), 401, "invalid_token"},
		{"a pre-authorized code is not an access token", withToken(good, "x"), 401, "invalid_token"},
		{"wrong nonce", proof(20, p.Issuer, "other-nonce", ts.clock()), 400, "invalid_nonce"},
		{"wrong audience", proof(20, testBase+"/zj", tr.CNonce, ts.clock()), 400, "invalid_proof"},
		{"stale proof", proof(20, p.Issuer, tr.CNonce, ts.clock().Add(-time.Hour)), 400, "invalid_proof"},
		{"alg none", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_configuration_id":"` + ConfigurationID + `","proofs":{"jwt":["eyJhbGciOiJub25lIiwidHlwIjoib3BlbmlkNHZjaS1wcm9vZitqd3QifQ.eyJub25jZSI6IngifQ."]}}`}, 400, "invalid_proof"},
		{"unknown configuration", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_configuration_id":"mdl","proofs":{"jwt":["x.y.z"]}}`}, 400, "unknown_credential_configuration"},
		{"unknown field", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_configuration_id":"` + ConfigurationID + `","proofs":{"jwt":["x.y.z"]},"credential_response_encryption":{}}`}, 400, "invalid_credential_request"},
		{"malformed body", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{`}, 400, "invalid_credential_request"},
		{"good", good, 200, ""},
		{"access token used", good, 401, "invalid_token"},
	} {
		w := ts.do(tc.r)
		if w.Code != tc.code || errorCode(w) != tc.err {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, w.Code, errorCode(w), tc.code, tc.err, w.Body)
		}
	}
	// A revoked permit gets no new credential.
	p2 := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	tr2 := ts.redeem(t, p2.Offer.URI)
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p2.Number + "/revoke", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "x"}}, 200, nil)
	if w := ts.do(ts.credentialRequest(t, tr2, holder, p2.Issuer)); w.Code != http.StatusConflict {
		t.Fatalf("credential for a revoked permit: %d %s", w.Code, w.Body)
	}
}

// failingSigner is an issuer key whose signer has failed (a hardware
// module gone away, say).
type failingSigner struct{ ed25519.PrivateKey }

func (f failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("signer unavailable")
}

// TestCredentialSignerFailure: when the credential cannot be signed, the
// access token is not lost.
func TestCredentialSignerFailure(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	tr := ts.redeem(t, p.Offer.URI)
	hz := ts.svc.Authority("hz")
	good := hz.Keys
	bad, err := keys.NewRing(keys.Entry{Signer: failingSigner{testKey(2)}})
	if err != nil {
		t.Fatal(err)
	}
	hz.Keys = bad
	if w := ts.do(ts.credentialRequest(t, tr, testKey(50), p.Issuer)); w.Code != 500 {
		t.Fatalf("with a failing signer: %d %s", w.Code, w.Body)
	}
	hz.Keys = good
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, testKey(50), p.Issuer), 200, &cr)
}
