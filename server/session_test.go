package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
)

// login opens a console session with the token and returns the session
// cookie ("name=value") and the answer.
func (ts *testServer) login(t *testing.T, token string) (string, SessionResponse, *http.Cookie) {
	t.Helper()
	var s SessionResponse
	w := ts.must(t, req{method: "POST", path: "/v1/session", body: SessionRequest{Token: token}}, http.StatusCreated, &s)
	cs := (&http.Response{Header: w.Header()}).Cookies()
	if len(cs) != 1 || cs[0].Name != sessionCookie {
		t.Fatalf("login cookies %v", w.Header()["Set-Cookie"])
	}
	return cs[0].Name + "=" + cs[0].Value, s, cs[0]
}

// TestConsoleSession: the console exchanges a token for an HttpOnly,
// SameSite=Strict cookie; requests that change anything need the
// session's CSRF token; an idle session ends; revoking the token ends its
// sessions; logout needs the CSRF token too.
func TestConsoleSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p, _ := ts.issue(t, 1, testKey(31))
	officer := ts.tokens[issuer.RoleOfficer]
	ck, s, cookie := ts.login(t, officer)
	// The service's public URL is https: the cookie is Secure even when TLS
	// ends at a proxy in front of it.
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || !cookie.Secure || cookie.Path != "/" || cookie.MaxAge != 900 {
		t.Errorf("cookie %+v", cookie)
	}
	if s.CSRF == "" || s.Role != issuer.RoleOfficer || s.IdleSeconds != 900 || len(s.Authorities) != 2 || s.Expires.IsZero() {
		t.Fatalf("session %+v", s)
	}
	withCookie := func(r req, csrf string) req {
		r.header = map[string]string{"Cookie": ck}
		if csrf != "" {
			r.header[csrfHeader] = csrf
		}
		return r
	}
	var who SessionResponse
	ts.must(t, withCookie(req{method: "GET", path: "/v1/session"}, ""), 200, &who)
	if who.CSRF != s.CSRF || who.Name != "test officer" {
		t.Fatalf("whoami %+v", who)
	}
	ts.must(t, withCookie(req{method: "GET", path: "/v1/permits/" + p.Number}, ""), 200, nil)
	offers := req{method: "POST", path: "/v1/permits/" + p.Number + "/offers"}
	for _, bad := range []string{"", "wrong", s.CSRF + "x"} {
		if w := ts.do(withCookie(offers, bad)); w.Code != 403 || errorCode(w) != "csrf" {
			t.Errorf("CSRF token %q: %d %s", bad, w.Code, w.Body)
		}
	}
	ts.must(t, withCookie(offers, s.CSRF), 201, nil)
	// A bearer token needs no CSRF token: it is not sent by the browser on its own.
	ts.must(t, req{method: "POST", path: offers.path, token: officer}, 201, nil)
	// Each request moves the idle deadline on; 15 minutes without one end the session.
	// The browser keeps the cookie each answer sets.
	for range 2 {
		ts.setNow(ts.clock().Add(14 * time.Minute))
		w := ts.must(t, withCookie(req{method: "GET", path: "/v1/session"}, ""), 200, nil)
		cs := (&http.Response{Header: w.Header()}).Cookies()
		if len(cs) != 1 || cs[0].MaxAge != 900 {
			t.Fatalf("the deadline did not move: %v", w.Header()["Set-Cookie"])
		}
		ck = cs[0].Name + "=" + cs[0].Value
	}
	ts.setNow(ts.clock().Add(16 * time.Minute))
	if w := ts.do(withCookie(req{method: "GET", path: "/v1/session"}, "")); w.Code != 401 || errorCode(w) != "session_expired" {
		t.Fatalf("idle session: %d %s", w.Code, w.Body)
	}
	// However busy, a session ends after 12 hours.
	ck, _, _ = ts.login(t, officer)
	for range 12*60/10 - 1 {
		ts.setNow(ts.clock().Add(10 * time.Minute))
		w := ts.must(t, withCookie(req{method: "GET", path: "/v1/session"}, ""), 200, nil)
		cs := (&http.Response{Header: w.Header()}).Cookies()
		ck = cs[0].Name + "=" + cs[0].Value
	}
	ts.setNow(ts.clock().Add(10 * time.Minute))
	if w := ts.do(withCookie(req{method: "GET", path: "/v1/session"}, "")); w.Code != 401 || errorCode(w) != "session_expired" {
		t.Fatalf("a session used for 12 hours: %d %s", w.Code, w.Body)
	}
	// Revoking the token ends its sessions at once.
	ck, s, _ = ts.login(t, ts.tokens[issuer.RoleAuditor])
	var toks struct{ Tokens []TokenResponse }
	ts.must(t, req{method: "GET", path: "/v1/admin/tokens", token: ts.tokens[issuer.RoleAdmin]}, 200, &toks)
	for _, tk := range toks.Tokens {
		if tk.Role == issuer.RoleAuditor {
			ts.must(t, req{method: "DELETE", path: "/v1/admin/tokens/" + tk.ID, token: ts.tokens[issuer.RoleAdmin]}, 200, nil)
		}
	}
	// One Set-Cookie, which clears the cookie (RFC 6265 section 4.1: no two
	// for the same name).
	if w := ts.do(withCookie(req{method: "GET", path: "/v1/audit"}, "")); w.Code != 401 || len(w.Header()["Set-Cookie"]) != 1 || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("session of a revoked token: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// Logout needs the CSRF token, and clears the cookie.
	ck, s, _ = ts.login(t, officer)
	if w := ts.do(withCookie(req{method: "DELETE", path: "/v1/session"}, "")); w.Code != 403 || errorCode(w) != "csrf" {
		t.Fatalf("logout without CSRF: %d %s", w.Code, w.Body)
	}
	w := ts.must(t, withCookie(req{method: "DELETE", path: "/v1/session"}, s.CSRF), 204, nil)
	if !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout kept the cookie: %v", w.Header())
	}
	// A login needs a live official's token, sent as JSON.
	for _, tc := range []struct {
		r    req
		code int
	}{
		{req{method: "POST", path: "/v1/session", body: SessionRequest{Token: "ept_unknown"}}, 401},
		{req{method: "POST", path: "/v1/session", body: SessionRequest{Token: ts.tokens[issuer.RoleAuditor]}}, 401},
		{req{method: "POST", path: "/v1/session", body: `{"token":"` + officer + `"}`, ctype: "text/plain"}, 415},
		{req{method: "POST", path: "/v1/session", body: `{"token":"` + officer + `","remember":true}`}, 400},
		{req{method: "GET", path: "/v1/session", header: map[string]string{"Cookie": sessionCookie + "=forged"}}, 401},
	} {
		if w := ts.do(tc.r); w.Code != tc.code || w.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s %v: %d %v %s", tc.r.method, tc.r.body, w.Code, w.Header()["Set-Cookie"], w.Body)
		}
	}
}

// TestConsoleCookieOverHTTP: a service whose public URL is plain http (make
// run on a laptop) gives a cookie without Secure, or the browser would drop it.
func TestConsoleCookieOverHTTP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" })
	_, _, cookie := ts.login(t, ts.tokens[issuer.RoleOfficer])
	if cookie.Secure || !cookie.HttpOnly {
		t.Fatalf("cookie %+v", cookie)
	}
}
