package server

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
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
		{"a tx_code the offer does not ask for", form(url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o.PreAuthorizedCode}, "tx_code": {"493536"}}), 400, "invalid_request"},
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
	proof := func(key byte, aud, nonce string, iat time.Time) string {
		j, err := oid4vci.NewProof(testKey(key), aud, nonce, iat)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	final := func(jwt string, extra string) req {
		return req{method: "POST", path: "/credential", token: tr.AccessToken,
			body: `{"credential_configuration_id":"` + ConfigurationID + `","proofs":{"jwt":["` + jwt + `"]}` + extra + `}`}
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
		{"nonce never handed out", final(proof(20, p.Issuer, "other-nonce", ts.clock()), ""), 400, "invalid_nonce"},
		{"no nonce", final(proof(20, p.Issuer, "", ts.clock()), ""), 400, "invalid_proof"},
		{"wrong audience", final(proof(20, testBase+"/zj", ts.newNonce(t), ts.clock()), ""), 400, "invalid_proof"},
		{"stale proof", final(proof(20, p.Issuer, ts.newNonce(t), ts.clock().Add(-time.Hour)), ""), 400, "invalid_proof"},
		{"alg none", final("eyJhbGciOiJub25lIiwidHlwIjoib3BlbmlkNHZjaS1wcm9vZitqd3QifQ.eyJub25jZSI6IngifQ.", ""), 400, "invalid_proof"},
		{"unknown configuration", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_configuration_id":"mdl","proofs":{"jwt":["x.y.z"]}}`}, 400, "unknown_credential_configuration"},
		{"response encryption", final("x.y.z", `,"credential_response_encryption":{"jwk":{"kty":"EC"},"enc":"A128GCM"}`), 400, "invalid_encryption_parameters"},
		{"credential identifier", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_identifier":"a","proofs":{"jwt":["x.y.z"]}}`}, 400, "unknown_credential_identifier"},
		{"draft 13, another type", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"format":"vc+sd-jwt","vct":"urn:other","proof":{"proof_type":"jwt","jwt":"x.y.z"}}`}, 400, "unsupported_credential_type"},
		{"draft 13, another format", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"format":"jwt_vc_json","proof":{"proof_type":"jwt","jwt":"x.y.z"}}`}, 400, "unsupported_credential_format"},
		{"malformed body", req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{`}, 400, "invalid_credential_request"},
		{"unknown members are ignored", final(proof(20, p.Issuer, ts.newNonce(t), ts.clock()), `,"claims":[{"path":["nm"]}],"wallet_hint":{"x":1}`), 200, ""},
		{"access token used", good, 401, "invalid_token"},
	} {
		w := ts.do(tc.r)
		if w.Code != tc.code || errorCode(w) != tc.err {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, w.Code, errorCode(w), tc.code, tc.err, w.Body)
		}
		if tc.code == 400 && strings.Contains(w.Body.String(), `"c_nonce":`) {
			t.Errorf("%s: a 1.0 error carries a c_nonce: %s", tc.name, w.Body)
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

// TestNonces covers the nonce endpoint and the single use of nonces at the
// credential endpoint: a nonce from the endpoint or from the token response
// works once, before it expires.
func TestNonces(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	seen := map[string]bool{}
	for range 20 {
		w := ts.must(t, req{method: "POST", path: "/nonce", body: `{"ignored":true}`}, 200, nil)
		n, err := oid4vci.ParseNonceResponse(w.Body.Bytes())
		if err != nil || seen[n.CNonce] || len(n.CNonce) < 22 {
			t.Fatalf("nonce %q %v", n.CNonce, err)
		}
		seen[n.CNonce] = true
		if w.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("headers %v", w.Header())
		}
	}
	if w := ts.do(req{method: "GET", path: "/nonce"}); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /nonce: %d", w.Code)
	}

	offer := func(n int) (PermitResponse, oid4vci.TokenResponse) {
		p := ts.approve(t, ts.apply(t, person(t, n)).ID)
		return p, ts.redeem(t, p.Offer.URI)
	}
	send := func(tr oid4vci.TokenResponse, aud, nonce string) *httptest.ResponseRecorder {
		j, err := oid4vci.NewProof(testKey(21), aud, nonce, ts.clock())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := oid4vci.CredentialRequest{ConfigurationID: ConfigurationID, Proofs: []string{j}}.MarshalJSON()
		return ts.do(req{method: "POST", path: "/credential", token: tr.AccessToken, body: body})
	}

	// The token response's nonce, for wallets of earlier drafts.
	p1, tr1 := offer(1)
	if tr1.CNonce == "" || tr1.CNonceExpiresIn != 300 || tr1.ExpiresIn != 300 {
		t.Fatalf("token response nonce %q, %d s", tr1.CNonce, tr1.CNonceExpiresIn)
	}
	if w := send(tr1, p1.Issuer, tr1.CNonce); w.Code != 200 {
		t.Fatalf("proof over the token's nonce: %d %s", w.Code, w.Body)
	}
	// A nonce works once: the same proof nonce for another offer is refused.
	p2, tr2 := offer(2)
	if w := send(tr2, p2.Issuer, tr1.CNonce); w.Code != 400 || errorCode(w) != "invalid_nonce" {
		t.Fatalf("nonce used twice: %d %s", w.Code, w.Body)
	}
	// A refused proof (wrong audience) does not use up its nonce.
	n := ts.newNonce(t)
	if w := send(tr2, testBase+"/zj", n); w.Code != 400 || errorCode(w) != "invalid_proof" {
		t.Fatalf("wrong audience: %d %s", w.Code, w.Body)
	}
	if w := send(tr2, p2.Issuer, n); w.Code != 200 {
		t.Fatalf("same nonce after a refused proof: %d %s", w.Code, w.Body)
	}
	// A nonce expires.
	p3, tr3 := offer(3)
	old := ts.newNonce(t)
	ts.setNow(ts.clock().Add(5 * time.Minute))
	tr3 = ts.redeem(t, ts.reissueOffer(t, p3.Number))
	if w := send(tr3, p3.Issuer, old); w.Code != 400 || errorCode(w) != "invalid_nonce" {
		t.Fatalf("expired nonce: %d %s", w.Code, w.Body)
	}
	if w := send(tr3, p3.Issuer, ts.newNonce(t)); w.Code != 200 {
		t.Fatalf("fresh nonce: %d %s", w.Code, w.Body)
	}
}

// TestDraft13Credential: a draft-13 request (format and vct, the single
// proof, no credential_configuration_id) gets the draft's answer, a
// top-level credential, and a refused proof gets a fresh c_nonce to sign
// over next, as draft 13 section 7.3.2 has it.
func TestDraft13Credential(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	tr := ts.redeem(t, p.Offer.URI)
	draft13 := func(nonce string) req {
		j, err := oid4vci.NewProof(testKey(22), p.Issuer, nonce, ts.clock())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := oid4vci.CredentialRequest{Draft: oid4vci.Draft13, Format: oid4vci.FormatDraft, VCT: credential.VCT, Proofs: []string{j}}.MarshalJSON()
		if !strings.Contains(string(body), `"proof":{"proof_type":"jwt"`) || strings.Contains(string(body), "credential_configuration_id") {
			t.Fatalf("not a draft-13 request: %s", body)
		}
		return req{method: "POST", path: "/credential", token: tr.AccessToken, body: body}
	}
	// Draft 13 §7.3.2: a request without a proof, or with a refused one,
	// gets a nonce to sign over.
	var e oid4vci.Error
	ts.must(t, req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"format":"vc+sd-jwt","vct":"` + credential.VCT + `"}`}, 400, &e)
	if e.Code != "invalid_proof" || e.CNonce == "" || e.CNonceExpiresIn <= 0 {
		t.Fatalf("draft-13 request without a proof: %+v", e)
	}
	e = oid4vci.Error{}
	ts.must(t, draft13("not-a-nonce"), 400, &e)
	if e.Code != "invalid_nonce" || e.CNonce == "" || e.CNonceExpiresIn <= 0 {
		t.Fatalf("refused draft-13 proof: %+v", e)
	}
	var cr oid4vci.Draft13CredentialResponse
	w := ts.must(t, draft13(e.CNonce), 200, &cr)
	if strings.Contains(w.Body.String(), `"credentials"`) || strings.Count(cr.Credential, "~") != 3 {
		t.Fatalf("draft-13 answer %s", w.Body)
	}
	if _, err := sdjwt.Split(cr.Credential); err != nil {
		t.Fatal(err)
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
