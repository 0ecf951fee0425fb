package server

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
)

// limitedToken makes a token of role limited to one authority.
func (ts *testServer) limitedToken(t *testing.T, role issuer.Role, authority string) string {
	t.Helper()
	secret, _, err := ts.svc.CreateToken(context.Background(), issuer.Official{Name: "test", Role: issuer.RoleAdmin},
		issuer.NewToken{Role: role, Name: authority + " " + string(role), Authority: authority}, ts.clock())
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestTokenLifecycle: tokens are listed with role, authority, expiry and
// last use; a revoked or expired token is refused at once; a limited
// administrator manages its own authority's tokens only.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.tokens[issuer.RoleAdmin]
	var made TokenResponse
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "desk 7", Authority: "hz", TTLDays: 1}}, 201, &made)
	if !strings.HasPrefix(made.Secret, issuer.TokenPrefix) || made.Authority != "hz" || !made.Expires.Equal(ts.clock().Add(24*time.Hour)) || made.CreatedBy == "" {
		t.Fatalf("token %+v", made)
	}
	for _, days := range []int{-1, 731} {
		if w := ts.do(req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "x", TTLDays: days}}); w.Code != 400 || errorCode(w) != "bad_token_request" {
			t.Errorf("ttl_days %d: %d %s", days, w.Code, w.Body)
		}
	}
	ts.must(t, req{method: "GET", path: "/v1/applications?authority=hz", token: made.Secret}, 200, nil)
	var list struct{ Tokens []TokenResponse }
	ts.must(t, req{method: "GET", path: "/v1/admin/tokens", token: admin}, 200, &list)
	found := false
	for _, tk := range list.Tokens {
		found = found || (tk.ID == made.ID && tk.Secret == "" && !tk.LastUsed.IsZero() && tk.Role == issuer.RoleOfficer)
	}
	if len(list.Tokens) != 5 || !found {
		t.Fatalf("list %+v", list.Tokens)
	}
	// A limited administrator sees and revokes its authority's tokens only.
	hzAdmin := ts.limitedToken(t, issuer.RoleAdmin, "hz")
	ts.must(t, req{method: "GET", path: "/v1/admin/tokens", token: hzAdmin}, 200, &list)
	for _, tk := range list.Tokens {
		if tk.Authority != "hz" {
			t.Fatalf("hz admin lists %+v", tk)
		}
	}
	var provincial string
	ts.must(t, req{method: "GET", path: "/v1/admin/tokens", token: admin}, 200, &list)
	for _, tk := range list.Tokens {
		if tk.Authority == "" && tk.Role == issuer.RoleAuditor {
			provincial = tk.ID
		}
	}
	if w := ts.do(req{method: "DELETE", path: "/v1/admin/tokens/" + provincial, token: hzAdmin}); w.Code != 404 {
		t.Fatalf("hz admin revokes a provincial token: %d %s", w.Code, w.Body)
	}
	var revoked TokenResponse
	ts.must(t, req{method: "DELETE", path: "/v1/admin/tokens/" + made.ID, token: hzAdmin}, 200, &revoked)
	if revoked.Revoked.IsZero() || revoked.Secret != "" {
		t.Fatalf("revoked %+v", revoked)
	}
	if w := ts.do(req{method: "GET", path: "/v1/applications?authority=hz", token: made.Secret}); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("a revoked token: %d %s", w.Code, w.Body)
	}
	if w := ts.do(req{method: "DELETE", path: "/v1/admin/tokens/" + made.ID, token: admin}); w.Code != 409 || errorCode(w) != "token_revoked" {
		t.Fatalf("revoked twice: %d %s", w.Code, w.Body)
	}
	if w := ts.do(req{method: "DELETE", path: "/v1/admin/tokens/nope", token: admin}); w.Code != 404 {
		t.Fatalf("unknown token: %d %s", w.Code, w.Body)
	}
	// An expired token is refused: the test's own tokens live 90 days.
	old := ts.tokens[issuer.RoleAuditor]
	ts.mu.Lock()
	ts.now = ts.now.Add(91 * 24 * time.Hour)
	ts.mu.Unlock()
	if w := ts.do(req{method: "GET", path: "/v1/audit", token: old}); w.Code != 401 {
		t.Fatalf("an expired token: %d %s", w.Code, w.Body)
	}
}

// TestAuthorityLimitsAuditAndBackup: an authority-limited auditor reads its
// own authority's audit entries only; a whole-store backup is for
// provincial administrators only; the checkpoint verifies.
func TestAuthorityLimitsAuditAndBackup(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.issue(t, 1, testKey(50))                                                                                         // Hangzhou
	ts.apply(t, merge(person(t, 2), map[string]any{"residence_division": "330212", "residence_address": "宁波市示例路 1 号"})) // Ningbo: zj
	var log struct{ Entries []audit.Entry }
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: ts.limitedToken(t, issuer.RoleAuditor, "hz")}, 200, &log)
	if len(log.Entries) == 0 {
		t.Fatal("the hz auditor sees nothing")
	}
	for _, e := range log.Entries {
		if e.Detail["authority"] != "hz" {
			t.Fatalf("the hz auditor sees %+v", e)
		}
	}
	if w := ts.do(req{method: "GET", path: "/v1/admin/backup", token: ts.limitedToken(t, issuer.RoleAdmin, "hz")}); w.Code != 403 || errorCode(w) != "provincial_only" {
		t.Fatalf("a city admin's backup: %d %s", w.Code, w.Body)
	}
	var cp issuer.Checkpoint
	ts.must(t, req{method: "GET", path: "/v1/audit/checkpoint", token: ts.tokens[issuer.RoleAuditor]}, 200, &cp)
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: ts.tokens[issuer.RoleAuditor]}, 200, &log)
	if cp.Token == "" || cp.Seq == 0 || cp.Seq > uint64(len(log.Entries)) || log.Entries[cp.Seq-1].Hash != cp.Head {
		t.Fatalf("checkpoint %+v", cp)
	}
	if _, err := issuer.VerifyAudit(context.Background(), ts.svc.Storage(), keys.Thumbprint(testKey(9).Public().(ed25519.PublicKey)), &cp); err != nil {
		t.Fatal(err)
	}
}
