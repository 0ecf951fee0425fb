package server

import (
	"net/http"
	"testing"

	"github.com/epermit/epermit/store"
)

// TestOfficialsAuthMatrix sends every official endpoint no token, an
// unknown token, a token of every role: 401, 401, then 403 for the roles
// the route does not admit and anything but 401/403 for those it does.
func TestOfficialsAuthMatrix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	routes := []struct {
		method, path string
		roles        []store.Role
		body         any
	}{
		{"POST", "/v1/applications/x/approve", []store.Role{store.RoleOfficer}, nil},
		{"POST", "/v1/applications/x/reject", []store.Role{store.RoleOfficer}, ReasonsRequest{Reasons: []string{"r"}}},
		{"POST", "/v1/permits/x/endorse", []store.Role{store.RoleOfficer}, nil},
		{"POST", "/v1/permits/x/revoke", []store.Role{store.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"POST", "/v1/permits/x/suspend", []store.Role{store.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"POST", "/v1/permits/x/reinstate", []store.Role{store.RoleRevoker}, ReasonRequest{Reason: "r"}},
		{"GET", "/v1/permits/x", []store.Role{store.RoleOfficer, store.RoleAuditor}, nil},
		{"GET", "/v1/permits/x/photo", []store.Role{store.RoleOfficer}, nil},
		{"GET", "/v1/audit", []store.Role{store.RoleAuditor}, nil},
		{"POST", "/v1/admin/tokens", []store.Role{}, TokenRequest{Role: "auditor", Name: "n"}},
		{"GET", "/v1/admin/backup", []store.Role{}, nil},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			if w := ts.do(req{method: rt.method, path: rt.path, body: rt.body}); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("no token: %d %s", w.Code, w.Body)
			}
			for _, bad := range []string{"ept_unknown", "not-a-token", ts.tokens[store.RoleOfficer] + "x"} {
				if w := ts.do(req{method: rt.method, path: rt.path, token: bad, body: rt.body}); w.Code != http.StatusUnauthorized {
					t.Errorf("token %q: %d %s", bad, w.Code, w.Body)
				}
			}
			for role, tok := range ts.tokens {
				allowed := role == store.RoleAdmin
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
