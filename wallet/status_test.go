package wallet

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// statusTrust is a trust list naming the fixture's issuer with its keys.
func statusTrust(iss string) *trust.List {
	return &trust.List{Version: 1, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(7 * 24 * time.Hour), Policy: trust.DefaultPolicy(),
		Issuers: []trust.Issuer{{ID: iss, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou PSB"}, Region: "330100", JWKS: *issuerJWKS()}}}
}

// statusToken signs a status list at uri, of bits per entry, in which
// entry 5 (the fixture's) is v.
func statusToken(t testing.TB, signer ed25519.PrivateKey, uri string, bits int, v statuslist.Status, iat time.Time) string {
	t.Helper()
	l, err := statuslist.New(bits, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(5, v); err != nil {
		t.Fatal(err)
	}
	tok, err := statuslist.SignToken(signer, keys.Thumbprint(pub(issuerKey)), statuslist.TokenClaims{
		Sub: uri, IssuedAt: iat, ExpiresAt: iat.Add(24 * time.Hour), TTL: time.Hour, List: l})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestReadStatus(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	e, err := w.Add(issueTo(t, w.Public(), testPermit), issuerJWKS())
	if err != nil {
		t.Fatal(err)
	}
	list := statusTrust(testIss)
	tests := []struct {
		name    string
		token   string
		list    *trust.List
		want    ListStatus
		wantErr error
	}{
		{"valid", statusToken(t, issuerKey, testStatus, 2, statuslist.Valid, t0), list, StatusValid, nil},
		{"revoked", statusToken(t, issuerKey, testStatus, 2, statuslist.Invalid, t0), list, StatusRevoked, nil},
		{"suspended", statusToken(t, issuerKey, testStatus, 2, statuslist.Suspended, t0), list, StatusSuspended, nil},
		{"superseded", statusToken(t, issuerKey, testStatus, 2, statuslist.Superseded, t0), list, StatusSuperseded, nil},
		// A value e-permit does not define counts as revoked, as verifiers count it.
		{"undefined value", statusToken(t, issuerKey, testStatus, 4, 0x0C, t0), list, StatusRevoked, nil},
		// Long expired: the wallet shows what the issuer said, dated.
		{"expired token", statusToken(t, issuerKey, testStatus, 2, statuslist.Suspended, t0.AddDate(-1, 0, 0)), list, StatusSuspended, nil},
		{"another list", statusToken(t, issuerKey, testStatus+"0", 2, statuslist.Valid, t0), list, StatusUnknown, statuslist.ErrURIMismatch},
		{"another signer", statusToken(t, otherKey, testStatus, 2, statuslist.Valid, t0), list, StatusUnknown, jws.ErrSignature},
		{"issuer not in the list", statusToken(t, issuerKey, testStatus, 2, statuslist.Valid, t0), statusTrust("https://elsewhere.example/x"), StatusUnknown, ErrUntrustedIssuer},
		{"no trust list", statusToken(t, issuerKey, testStatus, 2, statuslist.Valid, t0), nil, StatusUnknown, ErrNoTrustList},
		{"garbage", "eyJ.not.atoken", list, StatusUnknown, jws.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, vt, err := ReadStatus(e, tt.token, tt.list)
			if got != tt.want || (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("ReadStatus = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if err == nil && (vt == nil || vt.Sub != testStatus) {
				t.Fatalf("verified token %+v", vt)
			}
		})
	}
}

// statusServer serves one status list, as the test sets it, with an ETag,
// answering 304 to a request for the ETag it holds.
type statusServer struct {
	mu       sync.Mutex
	token    string
	down     bool
	requests []string // If-None-Match of each request
	srv      *httptest.Server
}

func newStatusServer(t *testing.T) *statusServer {
	s := &statusServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Header.Get("If-None-Match"))
		if s.down {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(s.token)))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", statuslist.ContentType)
		fmt.Fprint(w, s.token)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *statusServer) set(token string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.down = token, down
}

func (s *statusServer) lastRequest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

// statusWallet is a wallet holding a credential whose status list srv
// serves, and the credential's claims.
func statusWallet(t *testing.T) (*statusServer, *Wallet, credential.Claims) {
	t.Helper()
	srv := newStatusServer(t)
	w := newTestWallet(t)
	c := claimsFor(w.Public(), testPermit, t0.Add(-24*time.Hour), t0.Add(300*24*time.Hour))
	c.Status.URI = srv.srv.URL + "/status/1"
	if _, err := w.Add(issueWith(t, issuerKey, c), issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	return srv, w, c
}

// TestCheckStatus follows one credential's status as the wallet learns it:
// never checked, valid, confirmed unchanged, revoked (and no more codes),
// an older list refused, and the issuer unreachable (what was known stays,
// with when).
func TestCheckStatus(t *testing.T) {
	t.Parallel()
	srv, w, c := statusWallet(t)
	uri := c.Status.URI
	list := statusTrust(testIss)
	ctx := context.Background()
	check := func(now time.Time, l *trust.List) Status {
		t.Helper()
		sts, err := w.CheckStatus(ctx, nil, l, now)
		if err != nil || len(sts) != 1 {
			t.Fatalf("CheckStatus: %v, %v", sts, err)
		}
		held, err := w.HeldStatus()
		if err != nil || len(held) != 1 || held[0].List != sts[0].List || !held[0].Checked.Equal(sts[0].Checked) {
			t.Fatalf("held %+v, checked %+v (%v)", held, sts[0], err)
		}
		return sts[0]
	}
	present := func(now time.Time) error {
		_, err := w.Present("", Request{Now: now})
		return err
	}

	if st := check(t0, nil); st.List != StatusUnknown || !errors.Is(st.Err, ErrNoTrustList) || !st.Checked.IsZero() || !st.LiveCode() {
		t.Fatalf("without a trust list: %+v", st)
	}
	srv.set(statusToken(t, issuerKey, uri, 2, statuslist.Valid, t0), false)
	st := check(t0, list)
	if st.List != StatusValid || st.Err != nil || !st.Checked.Equal(t0) || !st.ListIssued.Equal(t0) || !st.LiveCode() {
		t.Fatalf("valid: %+v", st)
	}
	// Unchanged: the issuer confirms it with 304 to a conditional request.
	st = check(t0.Add(time.Hour), list)
	if st.List != StatusValid || !st.Checked.Equal(t0.Add(time.Hour)) || srv.lastRequest() == "" {
		t.Fatalf("not modified: %+v, If-None-Match %q", st, srv.lastRequest())
	}
	if err := present(t0.Add(time.Hour)); err != nil {
		t.Fatalf("a valid permit's code: %v", err)
	}
	// Suspended: still a code (see Status.LiveCode).
	srv.set(statusToken(t, issuerKey, uri, 2, statuslist.Suspended, t0.Add(2*time.Hour)), false)
	if st := check(t0.Add(2*time.Hour), list); st.List != StatusSuspended || !st.LiveCode() {
		t.Fatalf("suspended: %+v", st)
	} else if err := present(t0.Add(2 * time.Hour)); err != nil {
		t.Fatalf("a suspended permit's code: %v", err)
	}
	// Revoked: no more codes.
	srv.set(statusToken(t, issuerKey, uri, 2, statuslist.Invalid, t0.Add(3*time.Hour)), false)
	if st := check(t0.Add(3*time.Hour), list); st.List != StatusRevoked || st.LiveCode() || st.Refreshable(t0) {
		t.Fatalf("revoked: %+v", st)
	}
	var se *StatusError
	if err := present(t0.Add(3 * time.Hour)); !errors.As(err, &se) || se.Status != StatusRevoked || !errors.Is(err, ErrNoLiveCode) {
		t.Fatalf("a revoked permit's code: %v", err)
	}
	// An older copy of the list (a replay) does not hide the revocation.
	srv.set(statusToken(t, issuerKey, uri, 2, statuslist.Valid, t0.Add(time.Hour)), false)
	if st := check(t0.Add(4*time.Hour), list); st.List != StatusRevoked || st.Err == nil || !st.Checked.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("older list: %+v", st)
	}
	// A list signed by another key does not either.
	srv.set(statusToken(t, otherKey, uri, 2, statuslist.Valid, t0.Add(5*time.Hour)), false)
	if st := check(t0.Add(5*time.Hour), list); st.List != StatusRevoked || !errors.Is(st.Err, jws.ErrSignature) {
		t.Fatalf("forged list: %+v", st)
	}
	// Unreachable: the wallet says what it knew, and since when.
	srv.set("x", true)
	st = check(t0.Add(6*time.Hour), list)
	if st.List != StatusRevoked || st.Err == nil || !st.Checked.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("offline: %+v", st)
	}
	if text, ok := Explain(&StatusError{PermitNo: testPermit, Status: StatusRevoked}); !ok || text.ZH == "" || text.EN == "" {
		t.Fatalf("no words for a revoked permit: %+v", text)
	}
}

// TestStatusOfAReplacedCredential: what the wallet learnt of a credential
// does not carry over to the one that replaces it (another status entry).
func TestStatusOfAReplacedCredential(t *testing.T) {
	t.Parallel()
	srv, w, c := statusWallet(t)
	uri := c.Status.URI
	srv.set(statusToken(t, issuerKey, uri, 2, statuslist.Superseded, t0), false)
	if sts, err := w.CheckStatus(context.Background(), nil, statusTrust(testIss), t0); err != nil || sts[0].List != StatusSuperseded || !sts[0].Refreshable(t0) {
		t.Fatalf("superseded: %+v %v", sts, err)
	}
	if _, err := w.Present("", Request{Now: t0}); !errors.Is(err, ErrNoLiveCode) {
		t.Fatalf("a superseded credential's code: %v", err)
	}
	c.IssuedAt, c.Status.Idx = t0, 9
	if _, err := w.Add(issueWith(t, issuerKey, c), issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	held, err := w.HeldStatus()
	if err != nil || held[0].List != StatusUnknown || !held[0].Checked.IsZero() {
		t.Fatalf("the new credential's status: %+v %v", held, err)
	}
	if _, err := w.Present("", Request{Now: t0}); err != nil {
		t.Fatalf("the new credential's code: %v", err)
	}
}

func TestRefreshable(t *testing.T) {
	t.Parallel()
	e := Entry{Expires: time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC)}
	before, in, after := e.Expires.AddDate(0, -2, 0), e.Expires.AddDate(0, 0, -3), e.Expires.AddDate(0, 0, 3)
	for _, tt := range []struct {
		list ListStatus
		now  time.Time
		want bool
	}{
		{StatusValid, before, false}, {StatusValid, in, true}, {StatusValid, after, true},
		{StatusUnknown, in, true}, {StatusSuspended, after, true},
		{StatusSuperseded, before, true}, {StatusRevoked, in, false},
	} {
		if got := (Status{Entry: e, List: tt.list}).Refreshable(tt.now); got != tt.want {
			t.Errorf("%s at %s: Refreshable %v, want %v", tt.list, tt.now.Format(time.DateOnly), got, tt.want)
		}
	}
}

// BenchmarkReadStatus reads a credential's entry in a province-sized status
// list (2^20 two-bit entries, one in a hundred revoked), as wallet list and
// the web wallet do once per check: verifying and decompressing the token
// dominates.
func BenchmarkReadStatus(b *testing.B) {
	w := newTestWallet(b)
	e, err := w.Add(issueTo(b, w.Public(), testPermit), issuerJWKS())
	if err != nil {
		b.Fatal(err)
	}
	l, err := statuslist.New(2, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for range 1 << 20 / 100 {
		if i := r.IntN(1 << 20); i != 5 {
			l.Set(i, statuslist.Invalid)
		}
	}
	tok, err := statuslist.SignToken(issuerKey, keys.Thumbprint(pub(issuerKey)), statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0, List: l, Fast: true})
	if err != nil {
		b.Fatal(err)
	}
	list := statusTrust(testIss)
	b.SetBytes(int64(len(tok)))
	b.ResetTimer()
	for b.Loop() {
		if st, _, err := ReadStatus(e, tok, list); err != nil || st != StatusValid {
			b.Fatal(st, err)
		}
	}
}
