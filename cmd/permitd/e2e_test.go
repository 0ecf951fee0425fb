package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/verifier"
	"github.com/epermit/epermit/wallet"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	listeningRE = regexp.MustCompile(`permitd listening on (\S+)`)
	rootRE      = regexp.MustCompile(`root key (\S+)`)
	tokenRE     = regexp.MustCompile(`(?m)^\s+(ept_\S+)$`)
)

// service is a permitd run in this process.
type service struct {
	base, root, token string
	out, log          *syncBuffer
	stop              func() int
}

// startService runs permitd on a free loopback port with data in dir and
// waits until it listens.
func startService(t *testing.T, dir string, extra ...string) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errs := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--rate-limit", "1000"}, extra...)
	go func() { done <- run(ctx, args, out, errs, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Next:") {
		select {
		case code := <-done:
			t.Fatalf("permitd exited with %d: %s %s", code, out, errs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("permitd did not start: %s %s", out, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := &service{out: out, log: errs, base: listeningRE.FindStringSubmatch(out.String())[1], root: rootRE.FindStringSubmatch(out.String())[1]}
	if m := tokenRE.FindStringSubmatch(out.String()); m != nil {
		s.token = m[1]
	}
	var once sync.Once
	code := 0
	s.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// call sends a request and decodes a JSON answer into out; it returns the status.
func call(t *testing.T, method, u, token, ctype string, body []byte, out any) (int, []byte) {
	t.Helper()
	r, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		r.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, data)
		}
	}
	return resp.StatusCode, data
}

func mustCall(t *testing.T, want int, method, u, token string, body any, out any) []byte {
	t.Helper()
	var data []byte
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		data, ctype = []byte(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, _ = json.Marshal(b)
	}
	code, resp := call(t, method, u, token, ctype, data, out)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, u, code, want, resp)
	}
	return resp
}

// citizenID returns a valid GB 11643 number for the n-th test person, a man
// born on 1992-08-14.
func citizenID(n int) string {
	body := fmt.Sprintf("11010519920814%02d%d", n%100, n/100%5*2+1)
	c, err := permit.IDCheckChar(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

// application returns the example application for the n-th person.
func application(t *testing.T, n int) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../examples/application-adult-hangzhou.json")
	if err != nil {
		t.Fatal(err)
	}
	var form map[string]any
	json.Unmarshal(data, &form)
	form["citizen_id"] = citizenID(n)
	delete(form, "photo_sha256") // the service computes it from a photo
	return map[string]any{"application": form}
}

// approved applies for and approves the n-th person's permit.
func approved(t *testing.T, s *service, n int) server.PermitResponse {
	t.Helper()
	var a server.ApplicationResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications", "", application(t, n), &a)
	var p server.PermitResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications/"+a.ID+"/approve", s.token, nil, &p)
	return p
}

// issued applies for, approves and issues the n-th person's permit to a
// wallet key, and returns the permit record with its credential.
func issued(t *testing.T, s *service, n int) server.PermitResponse {
	t.Helper()
	p := approved(t, s, n)
	holder := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(n)}, 32))
	o, err := oid4vci.ParseOfferURI(p.Offer.URI)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o.PreAuthorizedCode}}
	var tr oid4vci.TokenResponse
	if code, body := call(t, "POST", s.base+"/token", "", "application/x-www-form-urlencoded", []byte(form.Encode()), &tr); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	proof, err := oid4vci.NewProof(holder, p.Issuer, tr.CNonce, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := oid4vci.CredentialRequest{ConfigurationID: server.ConfigurationID, Proofs: []string{proof}}.MarshalJSON()
	if code, body := call(t, "POST", s.base+"/credential", tr.AccessToken, "application/json", req, nil); code != 200 {
		t.Fatalf("credential: %d %s", code, body)
	}
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, s.token, nil, &rec)
	return rec
}

// syncedTrust syncs a new verifier cache from the service, as a counter's
// verifier does, and loads it for offline verification.
func syncedTrust(t *testing.T, s *service) *verifier.Trust {
	t.Helper()
	c, err := trustcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(context.Background(), nil, s.base, s.root, time.Now())
	if err != nil || rep.Err() != nil {
		t.Fatalf("sync: %v %v", err, rep.Err())
	}
	tru, err := c.Trust()
	if err != nil {
		t.Fatal(err)
	}
	return tru
}

// offlineVerify syncs the trust data, then verifies the wallet's
// presentation with no network.
func offlineVerify(t *testing.T, s *service, w *wallet.Wallet, no string) *verifier.Result {
	t.Helper()
	tru, now := syncedTrust(t, s), time.Now()
	shown, err := w.Present(no, wallet.Request{Purpose: "public-service", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return verifier.Verify(shown, verifier.Options{Trust: tru, Purpose: "public-service", Now: now})
}

// TestEndToEnd drives the real service on a loopback port: apply, approve,
// the wallet redeems the offer, offline verification, revocation, the
// refreshed status list, and a restart that keeps the revocation.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	if s.token == "" {
		t.Fatalf("no first token printed: %s", s.out)
	}
	p := approved(t, s, 1)

	// The wallet: redeem the offer, prove its key, store the credential.
	w, err := wallet.Init(filepath.Join(dir, "wallet"))
	if err != nil {
		t.Fatal(err)
	}
	// It takes offers from the issuers of the service's trust list.
	trusted := wallet.TrustedIssuers(syncedTrust(t, s).Store().List())
	if _, err := w.Accept(context.Background(), p.Offer.URI, nil, time.Now(), trusted); err != nil {
		t.Fatalf("wallet accept: %v", err)
	}
	// The code works once.
	if _, err := w.Accept(context.Background(), p.Offer.URI, nil, time.Now(), trusted); oid4vci.CodeOf(err) != "invalid_grant" {
		t.Fatalf("second accept: %v", err)
	}

	if r := offlineVerify(t, s, w, p.Number); !r.Valid || !r.HolderBound {
		t.Fatalf("issued permit refused: %+v", r.Reasons)
	}
	mustCall(t, 200, "POST", s.base+"/v1/permits/"+p.Number+"/revoke", s.token, server.ReasonRequest{Reason: "left the city"}, nil)
	if r := offlineVerify(t, s, w, p.Number); r.Valid || !r.Has(verifier.CodeRevoked) {
		t.Fatalf("revoked permit: %+v", r)
	}

	if code := s.stop(); code != 0 {
		t.Fatalf("permitd stopped with %d", code)
	}
	// The same address: the credential names its issuer and status list by URL.
	s2 := startService(t, dir, "--addr", strings.TrimPrefix(s.base, "http://"))
	if s2.token != "" || s2.root != s.root {
		t.Fatalf("restart printed a token or changed the root key: %s", s2.out)
	}
	s2.token = s.token
	if r := offlineVerify(t, s2, w, p.Number); r.Valid || !r.Has(verifier.CodeRevoked) {
		t.Fatalf("after restart: %+v", r)
	}
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s2.base+"/v1/permits/"+p.Number, s2.token, nil, &rec)
	if rec.State != issuer.PermitRevoked {
		t.Fatalf("after restart: %+v", rec)
	}

	// The logs name routes and statuses, never a token or a citizen ID number.
	logs := s.log.String() + s2.log.String()
	if !strings.Contains(logs, "route=/v1/permits/:no/revoke") {
		t.Fatalf("no access log: %s", logs)
	}
	for _, secret := range []string{s.token, citizenID(1), p.Number, "epa_", "epc_", "eps_"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
}

// statusAt reads the served status of a permit's current credential.
func statusAt(t *testing.T, s *service, p server.PermitResponse, set keys.JWKS) statuslist.Status {
	t.Helper()
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, s.token, nil, &rec)
	if len(rec.Credentials) == 0 {
		t.Fatalf("permit %s has no credential", p.Number)
	}
	c := rec.Credentials[len(rec.Credentials)-1]
	tok := mustCall(t, 200, "GET", c.StatusList, "", nil, nil)
	v, err := statuslist.VerifyToken(string(tok), jwksKeyFunc(set), 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.Lookup(statuslist.Reference{Idx: c.StatusIdx, URI: c.StatusList})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// jwksKeyFunc verifies with the keys of a JWKS.
func jwksKeyFunc(set keys.JWKS) jws.KeyFunc {
	return func(h jws.Header) (ed25519.PublicKey, error) {
		k, ok := set.Lookup(h.Kid)
		if !ok {
			return nil, jws.ErrUnknownKey
		}
		return k, nil
	}
}

// crashClient does not retry and gives up quickly on a dead server.
var crashClient = &http.Client{Timeout: 10 * time.Second}

func newRequest(method, u, token, body string) (*http.Request, error) {
	r, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r, nil
}

// jwsParseHeader returns the kid of a JWS.
func jwsParseHeader(tok string) (string, error) {
	h, err := jws.ParseHeader(tok)
	return h.Kid, err
}
