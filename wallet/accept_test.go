//go:build !js

package wallet_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/wallet"
)

// The fake issuer's fixed protocol values.
const (
	acceptConfigID = "epermit_rp_sd_jwt"
	acceptCode     = "pre-auth-code-0123456789"
	acceptToken    = "access-token-abcdef"
	acceptNonce    = "c-nonce-7f3a9"
	acceptPermitNo = "33010626K7Q2MX"
	oneMiB         = 1 << 20 // the wallet's cap on an issuer's answer
)

var (
	acceptNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

	fakeIssuerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x11}, 32)) // published in the JWKS
	rogueKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x22}, 32)) // not published
	strangerKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x33}, 32)) // another device
)

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// The steps of a complete issuance, in the order the wallet takes them; the
// fake names each request it receives by its step.
const (
	stepIssuerMeta = "issuer-metadata"
	stepASMeta     = "as-metadata"
	stepVCMeta     = "vc-metadata"
	stepToken      = "token"
	stepCredential = "credential"
)

var fullFlow = []string{stepIssuerMeta, stepASMeta, stepVCMeta, stepToken, stepCredential}

// vcIssuerDoc is the JWT VC issuer metadata document.
type vcIssuerDoc struct {
	Issuer string          `json:"issuer"`
	JWKS   json.RawMessage `json:"jwks"`
}

// fakeIssuer is an OpenID4VCI issuer in an httptest.Server that signs
// credentials with the project's issuer package. Its knobs make it
// misbehave; they are set before the first request.
type fakeIssuer struct {
	t      *testing.T
	srv    *httptest.Server
	iss    string // credential issuer identifier: srv.URL + the path
	path   string // path of iss, "" or "/hz"
	permit permit.Permit

	editMeta func(*oid4vci.IssuerMetadata)
	editAS   func(*oid4vci.AuthServerMetadata)
	editVC   func(*vcIssuerDoc)
	override map[string]http.HandlerFunc // by step
	onToken  func()                      // called when the token request arrives

	signer     ed25519.PrivateKey
	kid        string
	bindTo     crypto.PublicKey // nil: the key the proof proved
	credIssuer string           // iss claim of the credential; "" means iss
	copies     int              // credentials in one response; 0 means 1

	mu         sync.Mutex
	steps      []string // requests received, by step
	paths      []string // "METHOD path" of every request received
	proofs     []string
	proofKeys  []crypto.PublicKey
	authHeader []string
	tokenForms []url.Values
}

func newFakeIssuer(t *testing.T, path string) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{
		t: t, path: path, permit: acceptPermit(t),
		signer: fakeIssuerKey, kid: keys.Thumbprint(pubOf(fakeIssuerKey)),
		override: map[string]http.HandlerFunc{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.iss = f.srv.URL + path
	return f
}

// acceptPermit is the permit of the example application, issued on the
// day of acceptNow.
func acceptPermit(t *testing.T) permit.Permit {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "accept", "application-adult-hangzhou.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := permit.ParseApplication(raw)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := permit.NewDate(2026, time.November, 27)
	if err != nil {
		t.Fatal(err)
	}
	p, err := permit.NewPermit(a, acceptPermitNo, "https://ep.example/hz", issued)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// offer is the credential offer URI the official hands over.
func (f *fakeIssuer) offer() string {
	return oid4vci.Offer{CredentialIssuer: f.iss, ConfigurationIDs: []string{acceptConfigID}, PreAuthorizedCode: acceptCode}.URI()
}

func (f *fakeIssuer) tokenURL() string      { return f.iss + "/token" }
func (f *fakeIssuer) credentialURL() string { return f.iss + "/credential" }

// wellKnownPath is the path where RFC 8414 section 3 puts a metadata
// document of an issuer whose identifier has path f.path.
func (f *fakeIssuer) wellKnownPath(suffix string) string { return "/.well-known/" + suffix + f.path }

func (f *fakeIssuer) stepOf(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == f.wellKnownPath(oid4vci.WellKnownIssuer):
		return stepIssuerMeta
	case r.Method == http.MethodGet && r.URL.Path == f.wellKnownPath(oid4vci.WellKnownAuthServer):
		return stepASMeta
	case r.Method == http.MethodGet && r.URL.Path == f.wellKnownPath("jwt-vc-issuer"):
		return stepVCMeta
	case r.Method == http.MethodPost && r.URL.Path == f.path+"/token":
		return stepToken
	case r.Method == http.MethodPost && r.URL.Path == f.path+"/credential":
		return stepCredential
	}
	return ""
}

func (f *fakeIssuer) serve(w http.ResponseWriter, r *http.Request) {
	step := f.stepOf(r)
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	if step != "" {
		f.steps = append(f.steps, step)
	}
	f.mu.Unlock()
	if h, ok := f.override[step]; ok {
		h(w, r)
		return
	}
	switch step {
	case stepIssuerMeta:
		m := oid4vci.NewIssuerMetadata(f.iss, f.credentialURL(), acceptConfigID, credential.VCT, map[string]string{"zh-CN": "杭州市公安局", "en": "Hangzhou PSB"})
		if f.editMeta != nil {
			f.editMeta(&m)
		}
		writeJSON(w, http.StatusOK, m)
	case stepASMeta:
		m := oid4vci.NewAuthServerMetadata(f.iss, f.tokenURL())
		if f.editAS != nil {
			f.editAS(&m)
		}
		writeJSON(w, http.StatusOK, m)
	case stepVCMeta:
		set, err := (&keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pubOf(fakeIssuerKey))}}).Marshal()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		d := vcIssuerDoc{Issuer: f.iss, JWKS: set}
		if f.editVC != nil {
			f.editVC(&d)
		}
		writeJSON(w, http.StatusOK, d)
	case stepToken:
		f.token(w, r)
	case stepCredential:
		f.credential(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeIssuer) token(w http.ResponseWriter, r *http.Request) {
	if f.onToken != nil {
		f.onToken()
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeInvalidRequest})
		return
	}
	f.mu.Lock()
	f.tokenForms = append(f.tokenForms, r.PostForm)
	f.mu.Unlock()
	tr, err := oid4vci.ParseTokenRequest(r.PostForm)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	if tr.PreAuthorizedCode != acceptCode {
		writeJSON(w, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeInvalidGrant})
		return
	}
	writeJSON(w, http.StatusOK, oid4vci.TokenResponse{AccessToken: acceptToken, TokenType: "Bearer", ExpiresIn: 300, CNonce: acceptNonce, CNonceExpiresIn: 300})
}

func (f *fakeIssuer) credential(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.authHeader = append(f.authHeader, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+acceptToken {
		writeJSON(w, http.StatusUnauthorized, &oid4vci.Error{Code: oid4vci.CodeInvalidToken})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, oid4vci.MaxCredentialRequest+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := oid4vci.ParseCredentialRequest(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	if req.ConfigurationID != acceptConfigID {
		writeJSON(w, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeUnknownCredentialConfiguration})
		return
	}
	proved, err := oid4vci.VerifyProof(req.Proofs[0], f.iss, acceptNonce, acceptNow, 5*time.Minute)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	f.mu.Lock()
	f.proofs = append(f.proofs, req.Proofs[0])
	f.proofKeys = append(f.proofKeys, proved)
	f.mu.Unlock()
	holder := proved
	if f.bindTo != nil {
		holder = f.bindTo
	}
	credIss := f.iss
	if f.credIssuer != "" {
		credIss = f.credIssuer
	}
	var resp oid4vci.CredentialResponse
	for range max(f.copies, 1) {
		c, err := issuer.Issue(f.signer, f.kid, f.permit, credIss, holder,
			statuslist.Reference{Idx: 7, URI: f.iss + "/status/1"}, acceptNow, rand.Reader)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp.Credentials = append(resp.Credentials, oid4vci.IssuedCredential{Credential: c})
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveRaw answers every request of a step with status and body.
func serveRaw(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// padded returns the JSON of v followed by spaces up to exactly n bytes:
// still valid JSON, so that only its size can make it unacceptable.
func padded(t *testing.T, v any, n int) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > n {
		t.Fatalf("JSON of %d bytes is already longer than %d", len(b), n)
	}
	return append(b, bytes.Repeat([]byte{' '}, n-len(b))...)
}

// issuedFor signs a good credential for holder with the published key.
func (f *fakeIssuer) issuedFor(t *testing.T, holder crypto.PublicKey) string {
	t.Helper()
	c, err := issuer.Issue(fakeIssuerKey, keys.Thumbprint(pubOf(fakeIssuerKey)), f.permit, f.iss, holder,
		statuslist.Reference{Idx: 7, URI: f.iss + "/status/1"}, acceptNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeIssuer) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.steps)
}

func (f *fakeIssuer) seenPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.paths)
}

// recordingTransport records every URL the wallet's client asks for,
// whatever its scheme, before handing the request on.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	return rt.next.RoundTrip(r)
}

func (rt *recordingTransport) seen() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.urls)
}

func (f *fakeIssuer) client() (*http.Client, *recordingTransport) {
	rt := &recordingTransport{next: f.srv.Client().Transport}
	return &http.Client{Transport: rt, Timeout: 10 * time.Second}, rt
}

func newAcceptWallet(t *testing.T) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Init(filepath.Join(t.TempDir(), "wallet"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// assertNothingStored checks that the wallet lists no credential and that
// its credentials directory holds no file at all, not even a temporary one.
func assertNothingStored(t *testing.T, w *wallet.Wallet) {
	t.Helper()
	list, err := w.List()
	if err != nil || len(list) != 0 {
		t.Errorf("List() = %v, %v; want nothing stored", list, err)
	}
	des, err := os.ReadDir(filepath.Join(w.Dir(), "credentials"))
	if err != nil || len(des) != 0 {
		t.Errorf("credentials directory holds %d files (%v)", len(des), err)
	}
}

// proofPayload decodes the unverified payload of a proof JWT.
func proofPayload(t *testing.T, jwt string) (aud, nonce string, iat int64) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("proof %q is not a compact JWS", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Aud   string `json:"aud"`
		Nonce string `json:"nonce"`
		Iat   int64  `json:"iat"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("proof payload %s: %v", raw, err)
	}
	return p.Aud, p.Nonce, p.Iat
}

func TestAcceptStoresCredential(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		credSize   int // >0: the credential response padded to this many bytes
	}{
		{name: "issuer with path", path: "/hz"},
		{name: "issuer with two path segments", path: "/zj/hz"},
		{name: "issuer at the root", path: ""},
		{name: "answer of exactly 1 MiB", path: "/hz", credSize: oneMiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIssuer(t, tt.path)
			w := newAcceptWallet(t)
			if tt.credSize > 0 {
				f.override[stepCredential] = func(rw http.ResponseWriter, r *http.Request) {
					f.mu.Lock()
					f.authHeader = append(f.authHeader, r.Header.Get("Authorization"))
					f.mu.Unlock()
					resp := oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: f.issuedFor(t, w.Public())}}}
					serveRaw(http.StatusOK, padded(t, resp, tt.credSize))(rw, r)
				}
			}
			client, rt := f.client()

			e, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.AnyIssuer())
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}

			if e.PermitNo != acceptPermitNo || e.Issuer != f.iss || e.Name != f.permit.Name || !e.IssuedAt.Equal(acceptNow) {
				t.Errorf("entry %+v", e)
			}
			got, issued, err := w.Get(acceptPermitNo)
			if err != nil || got != e || issued == "" {
				t.Fatalf("Get = %+v, %d bytes, %v; want %+v", got, len(issued), err, e)
			}
			if list, err := w.List(); err != nil || len(list) != 1 || list[0] != e {
				t.Errorf("List = %v, %v", list, err)
			}

			// The metadata came from the RFC 8414 well-known URLs, with the
			// issuer's path after the suffix, then the token and credential
			// endpoints, each exactly once.
			wantPaths := []string{
				"GET /.well-known/openid-credential-issuer" + tt.path,
				"GET /.well-known/oauth-authorization-server" + tt.path,
				"GET /.well-known/jwt-vc-issuer" + tt.path,
				"POST " + tt.path + "/token",
				"POST " + tt.path + "/credential",
			}
			if p := f.seenPaths(); !slices.Equal(p, wantPaths) {
				t.Errorf("fake saw %q, want %q", p, wantPaths)
			}
			for _, u := range rt.seen() {
				if !strings.HasPrefix(u, f.srv.URL+"/") {
					t.Errorf("client fetched %q, outside the issuer", u)
				}
			}

			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.tokenForms) != 1 || f.tokenForms[0].Get("grant_type") != oid4vci.GrantPreAuthorized ||
				f.tokenForms[0].Get("pre-authorized_code") != acceptCode {
				t.Errorf("token requests %v", f.tokenForms)
			}
			if len(f.authHeader) != 1 || f.authHeader[0] != "Bearer "+acceptToken {
				t.Errorf("credential request Authorization %q", f.authHeader)
			}
			if tt.credSize > 0 {
				return // the padded answer did not check the proof
			}
			if len(f.proofs) != 1 || len(f.proofKeys) != 1 {
				t.Fatalf("%d proofs received", len(f.proofs))
			}
			if !keys.SameKey(f.proofKeys[0], w.Public()) {
				t.Errorf("proof signed by %v, want the device key %v", f.proofKeys[0], w.Public())
			}
			aud, nonce, iat := proofPayload(t, f.proofs[0])
			if aud != f.iss || nonce != acceptNonce || iat != acceptNow.Unix() {
				t.Errorf("proof aud %q nonce %q iat %d; want %q %q %d", aud, nonce, iat, f.iss, acceptNonce, acceptNow.Unix())
			}
		})
	}
}

func TestAcceptRefuses(t *testing.T) {
	t.Parallel()
	const elsewhere = "https://evil.example/hz"
	tests := []struct {
		name  string
		setup func(f *fakeIssuer, w *wallet.Wallet)
		offer func(f *fakeIssuer) string          // nil: the fake's offer
		ctx   func(f *fakeIssuer) context.Context // nil: context.Background()
		// The error: errors.Is wantIs (if set), and exactly this OAuth code.
		wantIs   error
		wantCode string
		// steps is how many steps of fullFlow the fake saw, in order.
		steps int
	}{
		// 2: the credential names another device's key.
		{name: "bound to another key", steps: 5, wantIs: wallet.ErrNotMyKey,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.bindTo = pubOf(strangerKey) }},
		// 3: signatures the published JWKS does not vouch for.
		{name: "signed by an unpublished key under the published kid", steps: 5, wantIs: wallet.ErrIssuerSignature,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.signer = rogueKey }},
		{name: "signed by an unpublished key under its own kid", steps: 5, wantIs: wallet.ErrIssuerSignature,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.signer, f.kid = rogueKey, keys.Thumbprint(pubOf(rogueKey))
			}},
		{name: "jwks empty", steps: 5, wantIs: wallet.ErrIssuerSignature,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editVC = func(d *vcIssuerDoc) { d.JWKS = json.RawMessage(`{"keys":[]}`) }
			}},
		{name: "jwks publishes only another key", steps: 5, wantIs: wallet.ErrIssuerSignature,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editVC = func(d *vcIssuerDoc) {
					d.JWKS, _ = (&keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pubOf(rogueKey))}}).Marshal()
				}
			}},
		// 4: metadata published for another issuer; the code is not redeemed.
		{name: "issuer metadata names another credential_issuer", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editMeta = func(m *oid4vci.IssuerMetadata) { m.CredentialIssuer = elsewhere }
			}},
		{name: "issuer metadata credential_issuer with trailing slash", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editMeta = func(m *oid4vci.IssuerMetadata) { m.CredentialIssuer += "/" }
			}},
		{name: "jwt-vc-issuer names another issuer", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.editVC = func(d *vcIssuerDoc) { d.Issuer = elsewhere } }},
		{name: "jwt-vc-issuer without issuer", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.editVC = func(d *vcIssuerDoc) { d.Issuer = "" } }},
		{name: "authorization server names another issuer", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editAS = func(m *oid4vci.AuthServerMetadata) { m.Issuer = elsewhere }
			}},
		{name: "no credential_endpoint", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editMeta = func(m *oid4vci.IssuerMetadata) { m.CredentialEndpoint = "" }
			}},
		{name: "no token_endpoint", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editAS = func(m *oid4vci.AuthServerMetadata) { m.TokenEndpoint = "" }
			}},
		{name: "issuer metadata 404", steps: 1, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.override[stepIssuerMeta] = http.NotFound }},
		{name: "jwt-vc-issuer metadata 404", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.override[stepVCMeta] = http.NotFound }},
		// 5: token endpoint refusals.
		{name: "token invalid_grant", steps: 4, wantCode: oid4vci.CodeInvalidGrant,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusBadRequest, []byte(`{"error":"invalid_grant"}`))
			}},
		{name: "token 500 without a protocol error", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusInternalServerError, []byte("upstream unavailable"))
			}},
		{name: "token 400 with an empty error code", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusBadRequest, []byte(`{"error":""}`))
			}},
		{name: "token without access_token", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusOK, []byte(`{"token_type":"Bearer","c_nonce":"n"}`))
			}},
		// Credential endpoint refusals.
		{name: "credential invalid_nonce", steps: 5, wantCode: oid4vci.CodeInvalidNonce,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepCredential] = serveRaw(http.StatusBadRequest, []byte(`{"error":"invalid_nonce"}`))
			}},
		// 6: offers that must not lead to any request.
		{name: "offer garbage", steps: 0, wantIs: oid4vci.ErrInvalidOffer,
			offer: func(*fakeIssuer) string { return "\x00\x01 not an offer %%%" }},
		{name: "offer empty", steps: 0, wantIs: oid4vci.ErrInvalidOffer,
			offer: func(*fakeIssuer) string { return "" }},
		{name: "offer without credential_offer", steps: 0, wantIs: oid4vci.ErrInvalidOffer,
			offer: func(f *fakeIssuer) string { return oid4vci.OfferScheme + "?foo=bar" }},
		{name: "offer JSON not an offer", steps: 0, wantIs: oid4vci.ErrInvalidOffer,
			offer: func(f *fakeIssuer) string {
				return oid4vci.OfferScheme + "?credential_offer=" + url.QueryEscape(`{"credential_issuer":"`+f.iss+`"}`)
			}},
		{name: "offer by reference", steps: 0, wantIs: oid4vci.ErrOfferByReference,
			offer: func(f *fakeIssuer) string {
				return oid4vci.OfferScheme + "?credential_offer_uri=" + url.QueryEscape(f.iss+"/offer/1")
			}},
		{name: "offer of a file issuer", steps: 0, wantIs: oid4vci.ErrInvalidOffer,
			offer: func(*fakeIssuer) string {
				return oid4vci.Offer{CredentialIssuer: "file:///etc", ConfigurationIDs: []string{acceptConfigID}, PreAuthorizedCode: acceptCode}.URI()
			}},
		// 7: oversized and non-JSON answers.
		{name: "issuer metadata over 1 MiB", steps: 1, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				m := oid4vci.NewIssuerMetadata(f.iss, f.credentialURL(), acceptConfigID, credential.VCT, nil)
				f.override[stepIssuerMeta] = serveRaw(http.StatusOK, padded(f.t, m, oneMiB+1))
			}},
		{name: "token answer over 1 MiB", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				tr := oid4vci.TokenResponse{AccessToken: acceptToken, TokenType: "Bearer", CNonce: acceptNonce}
				f.override[stepToken] = serveRaw(http.StatusOK, padded(f.t, tr, oneMiB+1))
			}},
		{name: "token error over 1 MiB", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusBadRequest, padded(f.t, &oid4vci.Error{Code: oid4vci.CodeInvalidGrant}, oneMiB+1))
			}},
		{name: "credential answer over 1 MiB", steps: 5,
			setup: func(f *fakeIssuer, w *wallet.Wallet) {
				resp := oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: f.issuedFor(f.t, w.Public())}}}
				f.override[stepCredential] = serveRaw(http.StatusOK, padded(f.t, resp, oneMiB+1))
			}},
		{name: "credential answer of 64 MiB", steps: 5,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepCredential] = func(w http.ResponseWriter, _ *http.Request) {
					chunk := bytes.Repeat([]byte{' '}, 64<<10)
					for range 1024 {
						if _, err := w.Write(chunk); err != nil {
							return // the wallet hung up, as it should
						}
					}
				}
			}},
		{name: "issuer metadata not JSON", steps: 1, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepIssuerMeta] = serveRaw(http.StatusOK, []byte("<html>maintenance</html>"))
			}},
		{name: "jwt-vc-issuer not JSON", steps: 3, wantIs: wallet.ErrIssuerMetadata,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.override[stepVCMeta] = serveRaw(http.StatusOK, []byte("{")) }},
		{name: "token answer not JSON", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepToken] = serveRaw(http.StatusOK, []byte("access_token=x"))
			}},
		{name: "credential answer not JSON", steps: 5,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepCredential] = serveRaw(http.StatusOK, []byte("eyJhbGciOiJFZERTQSJ9.e30.sig~"))
			}},
		// 8: anything but exactly one credential.
		{name: "two credentials", steps: 5, setup: func(f *fakeIssuer, _ *wallet.Wallet) { f.copies = 2 }},
		{name: "no credentials", steps: 5,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepCredential] = serveRaw(http.StatusOK, []byte(`{"credentials":[]}`))
			}},
		{name: "deferred issuance", steps: 5,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.override[stepCredential] = serveRaw(http.StatusAccepted, []byte(`{"transaction_id":"tx-1"}`))
			}},
		// 9: endpoints that are not http(s) URLs are never fetched.
		{name: "credential_endpoint file URL", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editMeta = func(m *oid4vci.IssuerMetadata) { m.CredentialEndpoint = "file:///etc/passwd" }
			}},
		{name: "credential_endpoint scheme-relative", steps: 4,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editMeta = func(m *oid4vci.IssuerMetadata) {
					m.CredentialEndpoint = strings.TrimPrefix(m.CredentialEndpoint, "http:")
				}
			}},
		{name: "token_endpoint file URL", steps: 3,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editAS = func(m *oid4vci.AuthServerMetadata) { m.TokenEndpoint = "file:///etc/passwd" }
			}},
		{name: "token_endpoint ftp URL", steps: 3,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editAS = func(m *oid4vci.AuthServerMetadata) {
					m.TokenEndpoint = "ftp://" + strings.TrimPrefix(m.TokenEndpoint, "http://")
				}
			}},
		{name: "token_endpoint javascript URL", steps: 3,
			setup: func(f *fakeIssuer, _ *wallet.Wallet) {
				f.editAS = func(m *oid4vci.AuthServerMetadata) { m.TokenEndpoint = "javascript:alert(1)" }
			}},
		// 10: cancellation and deadlines.
		{name: "context cancelled before", steps: 0, wantIs: context.Canceled,
			ctx: func(*fakeIssuer) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			}},
		{name: "context cancelled during the token request", steps: 4, wantIs: context.Canceled,
			ctx: func(f *fakeIssuer) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				f.onToken = cancel
				return ctx
			}},
		{name: "deadline while the issuer hangs", steps: 1, wantIs: context.DeadlineExceeded,
			ctx: func(f *fakeIssuer) context.Context {
				f.override[stepIssuerMeta] = func(_ http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				f.t.Cleanup(cancel)
				return ctx
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIssuer(t, "/hz")
			w := newAcceptWallet(t)
			if tt.setup != nil {
				tt.setup(f, w)
			}
			offer := f.offer()
			if tt.offer != nil {
				offer = tt.offer(f)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(f)
			}
			client, rt := f.client()

			e, err := w.Accept(ctx, offer, client, acceptNow, wallet.AnyIssuer())
			t.Log(err)
			if err == nil {
				t.Fatalf("Accept succeeded with %+v", e)
			}
			if e != (wallet.Entry{}) {
				t.Errorf("entry %+v returned with an error", e)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want one matching %v", err, tt.wantIs)
			}
			if got := oid4vci.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tt.wantCode)
			}
			if !strings.HasPrefix(err.Error(), "wallet: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			assertNothingStored(t, w)
			if got, want := f.seen(), fullFlow[:tt.steps]; !slices.Equal(got, want) {
				t.Errorf("fake saw %q, want %q", got, want)
			}
			for _, u := range rt.seen() {
				if !strings.HasPrefix(u, f.srv.URL+"/") {
					t.Errorf("client fetched %q, outside the issuer", u)
				}
			}
		})
	}
}

// TestAcceptKeepsHeldCredential checks that a refused issuance leaves a
// credential the wallet already holds for the same permit as it was.
func TestAcceptKeepsHeldCredential(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, "/hz")
	w := newAcceptWallet(t)
	held, err := w.Add(f.issuedFor(t, w.Public()), &keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pubOf(fakeIssuerKey))}})
	if err != nil {
		t.Fatal(err)
	}
	_, before, err := w.Get(held.PermitNo)
	if err != nil {
		t.Fatal(err)
	}
	f.bindTo = pubOf(strangerKey)
	client, _ := f.client()
	if _, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.AnyIssuer()); !errors.Is(err, wallet.ErrNotMyKey) {
		t.Fatalf("Accept: %v, want ErrNotMyKey", err)
	}
	list, err := w.List()
	if err != nil || len(list) != 1 || list[0] != held {
		t.Fatalf("List = %v, %v; want only %+v", list, err, held)
	}
	if _, after, err := w.Get(held.PermitNo); err != nil || after != before {
		t.Fatalf("held credential changed (%v)", err)
	}
}

// TestAcceptRefusesCredentialOfAnotherIssuer: a credential whose iss is not
// the issuer of the offer, even if signed with a key that issuer publishes,
// is not that issuer's statement and must not be stored under its name.
func TestAcceptRefusesCredentialOfAnotherIssuer(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, "/hz")
	w := newAcceptWallet(t)
	f.credIssuer = "https://ep.other.example/nb"
	client, _ := f.client()
	e, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.AnyIssuer())
	if err == nil {
		t.Fatalf("Accept stored a credential with iss %q offered by %q (entry %+v): accept.go never compares the credential's iss with o.CredentialIssuer", e.Issuer, f.iss, e)
	}
	assertNothingStored(t, w)
}

// TestAcceptErrorTextIsSafe: text from the issuer's answer that reaches the
// error message must not carry control characters (terminal escapes) from
// an untrusted server.
func TestAcceptErrorTextIsSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"plain error body", "\x1b]0;pwned\x07\x1b[2J boom"},
		{"protocol error description", `{"error":"invalid_grant","error_description":"\u001b[2J\u001b[31mcall +86 000"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIssuer(t, "/hz")
			w := newAcceptWallet(t)
			f.override[stepToken] = serveRaw(http.StatusBadRequest, []byte(tt.body))
			client, _ := f.client()
			_, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.AnyIssuer())
			if err == nil {
				t.Fatal("Accept succeeded")
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Fatalf("the issuer's answer reaches the error text unescaped: %q", err.Error())
			}
		})
	}
}

// TestInWindowMonthEnd follows permit's rule for the window of a permit due
// at the end of a month: one calendar month before, clamped.
func TestInWindowMonthEnd(t *testing.T) {
	cn := permit.ChinaTime()
	e := wallet.Entry{Expires: time.Date(2028, 3, 31, 0, 0, 0, 0, cn)}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2028, 2, 28, 23, 59, 0, 0, cn), false},
		{time.Date(2028, 2, 29, 0, 0, 0, 0, cn), true},
		{time.Date(2028, 3, 30, 23, 59, 0, 0, cn), true},
		{time.Date(2028, 3, 31, 0, 0, 0, 0, cn), false},
	} {
		if got := e.InWindow(tc.now); got != tc.want {
			t.Errorf("InWindow(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}
