package server

import (
	"compress/gzip"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
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

// TestPublicDocuments: every public document has an ETag and Cache-Control,
// answers conditional requests, may be read from any origin, and goes
// gzip-compressed to clients that take it. The OpenID4VCI metadata is also
// served where clients of earlier drafts look for it.
func TestPublicDocuments(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.issue(t, 1, testKey(25))
	for _, path := range []string{
		"/.well-known/jwks.json", "/trust-list", "/status/hz-1",
		"/.well-known/jwt-vc-issuer", "/.well-known/jwt-vc-issuer/hz",
		"/.well-known/openid-credential-issuer", "/.well-known/openid-credential-issuer/hz", "/hz/.well-known/openid-credential-issuer",
		"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/hz", "/hz/.well-known/oauth-authorization-server",
	} {
		w := ts.must(t, req{method: "GET", path: path}, 200, nil)
		h := w.Header()
		etag := h.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasPrefix(h.Get("Cache-Control"), "public, max-age=") ||
			h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Content-Encoding") != "" || h.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: headers %v", path, h)
			continue
		}
		if w := ts.do(req{method: "GET", path: path, header: map[string]string{"If-None-Match": etag}}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d", path, w.Code)
		}
		if w := ts.do(req{method: "HEAD", path: path}); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
			t.Errorf("HEAD %s: %d %v", path, w.Code, w.Header())
		}
		gz := ts.must(t, req{method: "GET", path: path, header: map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.8"}}, 200, nil)
		if gz.Header().Get("Content-Encoding") != "gzip" {
			// Only documents that shrink are compressed.
			if gz.Body.String() != w.Body.String() || w.Body.Len() > 512 {
				t.Errorf("GET %s (%d bytes) with gzip: not compressed", path, w.Body.Len())
			}
			continue
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != w.Body.String() || gz.Header().Get("ETag") != "W/"+etag || gz.Body.Len() >= w.Body.Len() {
			t.Errorf("GET %s gzipped: etag %q, %d -> %d bytes, %v", path, gz.Header().Get("ETag"), w.Body.Len(), gz.Body.Len(), err)
		}
		if w := ts.do(req{method: "GET", path: path, header: map[string]string{"If-None-Match": "W/" + etag, "Accept-Encoding": "gzip"}}); w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its weak ETag: %d", path, w.Code)
		}
		if w := ts.do(req{method: "GET", path: path, header: map[string]string{"Accept-Encoding": "gzip;q=0"}}); w.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip sent to a client that refuses it", path)
		}
	}
	// The metadata at the appended path is the same document.
	a := ts.must(t, req{method: "GET", path: "/.well-known/openid-credential-issuer/hz"}, 200, nil)
	b := ts.must(t, req{method: "GET", path: "/hz/.well-known/openid-credential-issuer"}, 200, nil)
	if a.Body.String() != b.Body.String() {
		t.Fatal("the two metadata locations differ")
	}
	for _, path := range []string{"/nope/.well-known/openid-credential-issuer", "/nope/.well-known/oauth-authorization-server"} {
		if w := ts.do(req{method: "GET", path: path}); w.Code != 404 || errorCode(w) != "not_found" {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	if w := ts.do(req{method: "POST", path: "/hz/.well-known/openid-credential-issuer"}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST to metadata: %d", w.Code)
	}
}

// TestIssuerMetadataDisplay: the metadata names the nonce endpoint, the
// accepted proof algorithms, and the authority and the permit card in
// Chinese and English.
func TestIssuerMetadataDisplay(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var m oid4vci.IssuerMetadata
	ts.must(t, req{method: "GET", path: "/.well-known/openid-credential-issuer/hz"}, 200, &m)
	if m.NonceEndpoint != testBase+"/nonce" || len(m.Display) != 2 || m.Display[0] != (oid4vci.Display{Name: "杭州市公安局", Locale: "zh-CN"}) ||
		m.Display[1] != (oid4vci.Display{Name: "Hangzhou PSB", Locale: "en"}) {
		t.Fatalf("metadata %+v", m)
	}
	cc := m.CredentialConfigurationsSupported[ConfigurationID]
	if got := cc.ProofTypesSupported["jwt"].ProofSigningAlgValuesSupported; !slices.Equal(got, []string{"EdDSA", "Ed25519", "ES256"}) {
		t.Fatalf("proof algorithms %v", got)
	}
	d := cc.CredentialMetadata.Display
	if len(d) != 2 || d[0].Locale != "zh-CN" || d[0].Name != "电子居住证" || !strings.Contains(d[0].Description, "杭州市公安局") ||
		d[1].Locale != "en" || !strings.Contains(d[1].Description, "Hangzhou PSB") || !strings.Contains(d[1].Description, "not an identity card") {
		t.Fatalf("credential display %+v", d)
	}
	// Every claim of the credential has a name in both languages, and every
	// named claim is in the credential.
	_, cred := ts.issue(t, 1, testKey(41))
	pres, err := sdjwt.Split(cred)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(pres.IssuerJWT, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, enc := range pres.Disclosures {
		dis, err := sdjwt.ParseDisclosure(enc)
		if err != nil {
			t.Fatal(err)
		}
		claims[dis.Name] = dis.Value
	}
	named := map[string]bool{}
	for _, c := range cc.CredentialMetadata.Claims {
		var v any = claims
		for _, seg := range c.Path {
			obj, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("claim %v: not in the credential", c.Path)
			}
			v = obj[seg.(string)]
		}
		if (v == nil && c.Mandatory) || len(c.Display) != 2 || c.Display[0].Locale != "zh-CN" || c.Display[1].Locale != "en" {
			t.Errorf("claim %v: value %v, display %+v", c.Path, v, c.Display)
		}
		named[fmt.Sprint(c.Path)] = true
	}
	for name := range claims {
		switch name {
		case "iss", "vct", "iat", "exp", "status", "cnf", "_sd", "_sd_alg":
		default:
			if !named[fmt.Sprint([]any{name})] {
				t.Errorf("claim %q has no display name", name)
			}
		}
	}
}

func TestReservedSlug(t *testing.T) {
	t.Parallel()
	for _, slug := range []string{"nonce", "v1", "status", "wallet"} {
		ring, _ := keys.NewRing(keys.Entry{Signer: testKey(5)})
		svc := newService(t, time.Now, &Authority{Slug: slug, Region: "33", Name: trust.Text{ZH: "x", EN: "x"}, Keys: ring})
		_, err := New(Config{BaseURL: testBase, Root: testKey(1), Service: svc})
		if err == nil || !strings.Contains(err.Error(), "path of the service") {
			t.Errorf("slug %q: %v", slug, err)
		}
	}
}
