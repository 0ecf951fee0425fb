package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/vault"
)

// testServer is a Server on a temporary store with a settable clock and a
// token for every role.
type testServer struct {
	t      *testing.T
	s      *Server
	svc    *issuer.Service
	root   ed25519.PrivateKey
	tokens map[issuer.Role]string
	nowFn  func() time.Time

	mu  sync.Mutex
	now time.Time
}

var testBase = "https://ep.example"

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func newTestServer(t testing.TB, tweak ...func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{root: testKey(1), tokens: map[issuer.Role]string{},
		now: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	if tt, ok := t.(*testing.T); ok {
		ts.t = tt
	}
	ts.nowFn = ts.clock
	hz, _ := keys.NewRing(keys.Entry{Signer: testKey(2)})
	zj, _ := keys.NewRing(keys.Entry{Signer: testKey(3)})
	ts.svc = newService(t, func() time.Time { return ts.nowFn() },
		&Authority{Slug: "zj", Region: "33", Name: trust.Text{ZH: "浙江省公安厅", EN: "Zhejiang PSD"}, Keys: zj},
		&Authority{Slug: "hz", Region: "3301", Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou PSB"}, Keys: hz})
	cfg := Config{BaseURL: testBase, Root: ts.root, Service: ts.svc, Now: ts.clock, RateLimit: 1000, RateBurst: 1000, TempDir: t.TempDir()}
	for _, f := range tweak {
		f(&cfg)
	}
	ts.nowFn = cfg.Now
	var err error
	ts.s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []issuer.Role{issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor, issuer.RoleAdmin} {
		secret, _, err := ts.svc.CreateToken(context.Background(), issuer.Official{Name: "test", Role: issuer.RoleAdmin},
			issuer.NewToken{Role: r, Name: "test " + string(r)}, ts.clock())
		if err != nil {
			t.Fatal(err)
		}
		ts.tokens[r] = secret
	}
	return ts
}

// newService returns an issuing service on a temporary bbolt store, with
// its vault, hosting the authorities given.
func newService(t testing.TB, now func() time.Time, auths ...*Authority) *issuer.Service {
	t.Helper()
	dir := t.TempDir()
	st, err := boltdb.Open(filepath.Join(dir, "permitd.db"), boltdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, err := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	svc, err := issuer.New(context.Background(), issuer.Config{Storage: st, Vault: vault.New(kek, sf, nil), IndexKey: bytes.Repeat([]byte{7}, 32),
		AuditKey: testKey(9), BaseURL: testBase, Authorities: auths, Now: now, ListSize: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (ts *testServer) clock() time.Time {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.now
}

// setNow moves the clock, and gives the test's officials new tokens when
// theirs expired on the way (a test that travels years ahead).
func (ts *testServer) setNow(t time.Time) {
	ts.mu.Lock()
	ts.now = t
	ts.mu.Unlock()
	for r, secret := range ts.tokens {
		if _, err := ts.svc.Authenticate(context.Background(), secret, t); err != nil {
			ts.tokens[r], _, _ = ts.svc.CreateToken(context.Background(), issuer.Official{Name: "test", Role: issuer.RoleAdmin},
				issuer.NewToken{Role: r, Name: "test " + string(r)}, t)
		}
	}
}

// req is one request of a test.
type req struct {
	method, path string
	token        string // bearer
	body         any    // string and []byte are sent as they are, others as JSON
	ctype        string // default application/json when there is a body
	header       map[string]string
}

func (ts *testServer) do(r req) *httptest.ResponseRecorder {
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			panic(err)
		}
	}
	hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
	hr.RemoteAddr = "192.0.2.10:5555"
	if body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	ts.s.Handler().ServeHTTP(w, hr)
	return w
}

// must runs r and fails the test unless the status is want; it decodes the
// JSON answer into out when out is not nil.
func (ts *testServer) must(t testing.TB, r req, want int, out any) *httptest.ResponseRecorder {
	t.Helper()
	w := ts.do(r)
	if w.Code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, w.Code, want, w.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", r.method, r.path, err, w.Body.String())
		}
	}
	return w
}

// errorCode returns the error code of an answer.
func errorCode(w *httptest.ResponseRecorder) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return e.Error
}

func readTestdata(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// citizenID returns a valid GB 11643 number with the given 17-digit body.
func citizenID(body17 string) string {
	c, err := permit.IDCheckChar(body17)
	if err != nil {
		panic(err)
	}
	return body17 + string(c)
}

// person returns the adult example application for the n-th person.
func person(t testing.TB, n int) map[string]any {
	form := readTestdata(t, "application-adult-hangzhou.json")
	delete(form, "photo_sha256") // the service computes it from a photo
	day, year := 1+n/500%28, 1992-n/14000%40
	form["birth_date"] = fmt.Sprintf("%d-08-%02d", year, day)
	form["citizen_id"] = citizenID(fmt.Sprintf("110105%d08%02d%02d%d", year, day, n%100, n/100%5*2+1))
	return form
}

// apply submits a form and returns the answer.
func (ts *testServer) apply(t testing.TB, form map[string]any) ApplicationResponse {
	t.Helper()
	var a ApplicationResponse
	ts.must(t, req{method: "POST", path: "/v1/applications", body: map[string]any{"application": form}}, http.StatusCreated, &a)
	return a
}

// approve approves an application and returns the permit with its offer.
func (ts *testServer) approve(t testing.TB, id string) PermitResponse {
	t.Helper()
	var p PermitResponse
	ts.must(t, req{method: "POST", path: "/v1/applications/" + id + "/approve", token: ts.tokens[issuer.RoleOfficer]}, http.StatusCreated, &p)
	return p
}

// redeem exchanges an offer's code for an access token and nonce.
func (ts *testServer) redeem(t testing.TB, offerURI string) oid4vci.TokenResponse {
	t.Helper()
	o, err := oid4vci.ParseOfferURI(offerURI)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o.PreAuthorizedCode}}
	var tr oid4vci.TokenResponse
	ts.must(t, req{method: "POST", path: "/token", body: form.Encode(), ctype: "application/x-www-form-urlencoded"}, http.StatusOK, &tr)
	return tr
}

// newNonce gets a c_nonce from the nonce endpoint.
func (ts *testServer) newNonce(t testing.TB) string {
	t.Helper()
	var n oid4vci.NonceResponse
	ts.must(t, req{method: "POST", path: "/nonce"}, http.StatusOK, &n)
	return n.CNonce
}

// credentialRequest asks for the credential with a proof by holder over a
// fresh nonce from the nonce endpoint.
func (ts *testServer) credentialRequest(t testing.TB, tr oid4vci.TokenResponse, holder crypto.Signer, aud string) req {
	t.Helper()
	proof, err := oid4vci.NewProof(holder, aud, ts.newNonce(t), ts.clock())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := oid4vci.CredentialRequest{ConfigurationID: ConfigurationID, Proofs: []string{proof}}.MarshalJSON()
	return req{method: "POST", path: "/credential", token: tr.AccessToken, body: body}
}

// reissueOffer makes a new offer for a permit and returns its URI.
func (ts *testServer) reissueOffer(t testing.TB, no string) string {
	t.Helper()
	var p PermitResponse
	ts.must(t, req{method: "POST", path: "/v1/permits/" + no + "/offers", token: ts.tokens[issuer.RoleOfficer]}, http.StatusCreated, &p)
	return p.Offer.URI
}

// issue runs the whole flow for the n-th person and returns the permit and credential.
func (ts *testServer) issue(t testing.TB, n int, holder ed25519.PrivateKey) (PermitResponse, string) {
	t.Helper()
	a := ts.apply(t, person(t, n))
	p := ts.approve(t, a.ID)
	tr := ts.redeem(t, p.Offer.URI)
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, holder, p.Issuer), http.StatusOK, &cr)
	return p, cr.Credentials[0].Credential
}

func hasAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// keyFunc verifies with the keys served at /.well-known/jwks.json.
func (ts *testServer) keyFunc(t testing.TB) jws.KeyFunc {
	t.Helper()
	w := ts.must(t, req{method: "GET", path: "/.well-known/jwks.json"}, 200, nil)
	set, err := keys.ParseJWKS(w.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return func(h jws.Header) (ed25519.PublicKey, error) {
		k, ok := set.Lookup(h.Kid)
		if !ok {
			return nil, jws.ErrUnknownKey
		}
		return k, nil
	}
}
