package server

import (
	"net/http"
	"testing"

	"github.com/epermit/epermit/issuer"
)

// TestOfficialsAuthMatrix sends every official endpoint no token, an
// unknown token, a token of every role: 401, 401, then 403 for the roles
// the route does not admit and anything but 401/403 for those it does.
func TestOfficialsAuthMatrix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	routes := []struct {
		method, path string
		roles        []issuer.Role
		body         any
	}{
		{"POST", "/v1/applications/x/approve", []issuer.Role{issuer.RoleOfficer}, nil},
		{"POST", "/v1/applications/x/reject", []issuer.Role{issuer.RoleOfficer}, ReasonsRequest{Reasons: []string{"r"}}},
		{"POST", "/v1/permits/x/endorse", []issuer.Role{issuer.RoleOfficer}, nil},
		{"POST", "/v1/permits/x/revoke", []issuer.Role{issuer.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"POST", "/v1/permits/x/suspend", []issuer.Role{issuer.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"POST", "/v1/permits/x/reinstate", []issuer.Role{issuer.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"GET", "/v1/permits/x", []issuer.Role{issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor}, nil},
		{"GET", "/v1/applications", []issuer.Role{issuer.RoleOfficer}, nil},
		{"GET", "/v1/applications/x/photo", []issuer.Role{issuer.RoleOfficer}, nil},
		{"POST", "/v1/search", []issuer.Role{issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor}, issuer.SearchQuery{PermitNo: "x"}},
		{"POST", "/v1/permits/x/offers", []issuer.Role{issuer.RoleOfficer}, nil},
		{"POST", "/v1/endorsements", []issuer.Role{issuer.RoleOfficer}, EndorseBatchRequest{Job: "j", Permits: []string{"x"}}},
		{"GET", "/v1/audit/checkpoint", []issuer.Role{issuer.RoleAuditor}, nil},
		{"GET", "/v1/admin/tokens", []issuer.Role{}, nil},
		{"DELETE", "/v1/admin/tokens/x", []issuer.Role{}, nil},
		{"GET", "/v1/permits/x/photo", []issuer.Role{issuer.RoleOfficer}, nil},
		{"GET", "/v1/audit", []issuer.Role{issuer.RoleAuditor}, nil},
		{"POST", "/v1/admin/tokens", []issuer.Role{}, TokenRequest{Role: "auditor", Name: "n"}},
		{"GET", "/v1/admin/backup", []issuer.Role{}, nil},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			if w := ts.do(req{method: rt.method, path: rt.path, body: rt.body}); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("no token: %d %s", w.Code, w.Body)
			}
			for _, bad := range []string{"ept_unknown", "not-a-token", ts.tokens[issuer.RoleOfficer] + "x"} {
				if w := ts.do(req{method: rt.method, path: rt.path, token: bad, body: rt.body}); w.Code != http.StatusUnauthorized {
					t.Errorf("token %q: %d %s", bad, w.Code, w.Body)
				}
			}
			for role, tok := range ts.tokens {
				allowed := role == issuer.RoleAdmin
				for _, r := range rt.roles {
					allowed = allowed || r == role
				}
				w := ts.do(req{method: rt.method, path: rt.path, token: tok, body: rt.body})
				switch {
				case allowed && (w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden):
					t.Errorf("role %s refused: %d %s", role, w.Code, w.Body)
				case !allowed && w.Code != http.StatusForbidden:
					t.Errorf("role %s: %d, want 403: %s", role, w.Code, w.Body)
				}
			}
		})
	}
}

// TestBearerParsing covers the Authorization header forms.
func TestBearerParsing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		h    string
		want string
		ok   bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tc.h)
		got, ok := bearer(r)
		if got != tc.want || ok != tc.ok {
			t.Errorf("bearer(%q) = %q, %v", tc.h, got, ok)
		}
	}
}
