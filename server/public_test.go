package server

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var vc struct {
		Issuer string
		JWKS   keys.JWKS
	}
	ts.must(t, req{method: "GET", path: "/.well-known/jwt-vc-issuer/hz"}, 200, &vc)
	if vc.Issuer != testBase+"/hz" || len(vc.JWKS.Keys) != 1 || vc.JWKS.Keys[0].Kid != keys.Thumbprint(testKey(2).Public().(ed25519.PublicKey)) {
		t.Fatalf("jwt-vc-issuer %+v", vc)
	}
	ts.must(t, req{method: "GET", path: "/.well-known/jwt-vc-issuer"}, 200, &vc)
	if vc.Issuer != testBase+"/zj" {
		t.Fatalf("default authority %q", vc.Issuer)
	}
	var m oid4vci.IssuerMetadata
	ts.must(t, req{method: "GET", path: "/.well-known/openid-credential-issuer/hz"}, 200, &m)
	if m.CredentialIssuer != testBase+"/hz" || m.CredentialEndpoint != testBase+"/credential" || m.CredentialConfigurationsSupported[ConfigurationID].Format != oid4vci.Format {
		t.Fatalf("issuer metadata %+v", m)
	}
	var as oid4vci.AuthServerMetadata
	ts.must(t, req{method: "GET", path: "/.well-known/oauth-authorization-server/hz"}, 200, &as)
	if as.TokenEndpoint != testBase+"/token" || as.Issuer != testBase+"/hz" {
		t.Fatalf("auth server metadata %+v", as)
	}
	var set keys.JWKS
	w := ts.must(t, req{method: "GET", path: "/.well-known/jwks.json"}, 200, &set)
	if len(set.Keys) != 2 || w.Header().Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks %+v %v", set, w.Header())
	}
	for _, p := range []string{"/.well-known/jwt-vc-issuer/nope", "/.well-known/openid-credential-issuer/x", "/status/nope-1", "/status/zj-99", "/nowhere"} {
		if w := ts.do(req{method: "GET", path: p}); w.Code != 404 || errorCode(w) == "" {
			t.Errorf("GET %s: %d %s", p, w.Code, w.Body)
		}
	}
}

func TestTrustListNamesEveryAuthority(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	pin := keys.Thumbprint(ts.root.Public().(ed25519.PublicKey))
	w := ts.must(t, req{method: "GET", path: "/trust-list"}, 200, nil)
	l, err := trust.Verify(w.Body.String(), pin)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Issuers) != 2 || l.Issuers[1].ID != testBase+"/hz" || l.Issuers[1].Region != "3301" ||
		len(l.Issuers[1].StatusLists) != 1 || l.Issuers[1].StatusLists[0] != testBase+"/status/hz-1" || len(l.Issuers[0].JWKS.Keys) != 1 {
		t.Fatalf("trust list %+v", l)
	}
	if _, ok := l.Policy.Purpose("credit-loan"); !ok {
		t.Fatal("policy without the refused purposes")
	}
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("caching headers %v", w.Header())
	}
	if w := ts.do(req{method: "GET", path: "/trust-list", header: map[string]string{"If-None-Match": etag}}); w.Code != http.StatusNotModified {
		t.Fatalf("conditional request: %d", w.Code)
	}
	// A key rotation changes the list, with a higher version; both keys stay.
	ts.svc.Authority("hz").Keys.Rotate(testKey(30), ts.clock())
	w2 := ts.must(t, req{method: "GET", path: "/trust-list", header: map[string]string{"If-None-Match": etag}}, 200, nil)
	l2, err := trust.Verify(w2.Body.String(), pin)
	if err != nil || l2.Version <= l.Version || len(l2.Issuers[1].JWKS.Keys) != 2 || trust.Replace(l, l2) != nil {
		t.Fatalf("after rotation: %+v %v", l2, err)
	}
	if trust.Replace(l2, l) == nil {
		t.Fatal("rollback accepted")
	}
}

func TestStatusListCaching(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p, _ := ts.issue(t, 1, testKey(24))
	path := "/status/hz-1"
	w := ts.must(t, req{method: "GET", path: path}, 200, nil)
	etag := w.Header().Get("ETag")
	if w.Header().Get("Cache-Control") != "public, max-age=300" || etag == "" {
		t.Fatalf("headers %v", w.Header())
	}
	v, err := statuslist.VerifyToken(w.Body.String(), ts.keyFunc(t), 1<<24)
	if err != nil || v.Sub != testBase+path || v.TTL != 5*time.Minute || v.List.Size() != 1<<16 {
		t.Fatalf("token %+v %v", v, err)
	}
	// Unchanged: the same signed token; 304 for a client that has it.
	if w2 := ts.do(req{method: "GET", path: path}); w2.Body.String() != w.Body.String() {
		t.Fatal("re-signed without a change")
	}
	if w2 := ts.do(req{method: "GET", path: path, header: map[string]string{"If-None-Match": `"x", ` + etag}}); w2.Code != 304 {
		t.Fatalf("conditional: %d", w2.Code)
	}
	if w2 := ts.do(req{method: "HEAD", path: path}); w2.Code != 200 || w2.Header().Get("ETag") != etag {
		t.Fatalf("HEAD: %d %v", w2.Code, w2.Header())
	}
	// Older than its ttl: re-signed with a fresh iat, same statuses.
	ts.setNow(ts.clock().Add(6 * time.Minute))
	w3 := ts.must(t, req{method: "GET", path: path}, 200, nil)
	if w3.Body.String() == w.Body.String() {
		t.Fatal("not re-signed after its ttl")
	}
	// A change: re-signed at once.
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "x"}}, 200, nil)
	if w4 := ts.do(req{method: "GET", path: path, header: map[string]string{"If-None-Match": w3.Header().Get("ETag")}}); w4.Code != 200 {
		t.Fatalf("after a change: %d", w4.Code)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.must(t, req{method: "GET", path: "/healthz"}, 200, nil)
	ts.must(t, req{method: "GET", path: "/readyz"}, 200, nil)
	ts.issue(t, 1, testKey(40))
	ts.do(req{method: "POST", path: "/credential", token: "epa_x", body: "{}"})
	w := ts.must(t, req{method: "GET", path: "/metrics"}, 200, nil)
	for _, want := range []string{
		`epermit_credentials_issued_total{authority="hz"} 1`,
		`epermit_http_request_duration_seconds_bucket{code="201",method="POST",route="/v1/applications",le=`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	p := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/revoke", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "x"}}, 200, nil)
	tr := ts.redeem(t, p.Offer.URI)
	ts.do(req{method: "POST", path: "/credential", token: tr.AccessToken, body: `{"credential_configuration_id":"` + ConfigurationID + `","proofs":{"jwt":["a.b.c"]}}`})
	w = ts.must(t, req{method: "GET", path: "/metrics"}, 200, nil)
	if !hasAll(w.Body.String(), `epermit_permit_status_changes_total{action="revoke",authority="hz"} 1`, `epermit_proof_verification_failures_total{reason="invalid_proof"} 1`) {
		t.Errorf("metrics:\n%s", grep(w.Body.String(), "epermit_"))
	}
	// Every answer carries a request id; errors repeat it in the body.
	w = ts.do(req{method: "GET", path: "/nowhere"})
	var e Error
	json.Unmarshal(w.Body.Bytes(), &e)
	if id := w.Header().Get("X-Request-Id"); id == "" || e.RequestID != id {
		t.Fatalf("request id %q vs %q", id, e.RequestID)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.MetricsToken = "scrape-me" })
	for _, tc := range []struct {
		token string
		code  int
	}{{"", 401}, {"wrong", 401}, {"scrape-me", 200}} {
		if w := ts.do(req{method: "GET", path: "/metrics", token: tc.token}); w.Code != tc.code {
			t.Errorf("token %q: %d, want %d", tc.token, w.Code, tc.code)
		}
	}
}
