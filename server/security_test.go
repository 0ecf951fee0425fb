package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
)

// The tests of this file pin down the holes an independent review found
// (issue 10): each failed on the service as it was, and passes now.

// TestAuthorityLimitedTokensSeeNothingElse (hole 1): a token limited to one
// authority never sees another authority's data on any route, a backup of
// the whole store is for provincial administrators only, and a limited
// auditor reads its authority's audit entries only.
func TestAuthorityLimitedTokensSeeNothingElse(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.tokens[issuer.RoleAdmin]
	mk := func(role issuer.Role) string {
		var tok TokenResponse
		ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: role, Name: "hz " + string(role), Authority: "hz"}}, 201, &tok)
		return tok.Secret
	}
	hzAdmin, hzAuditor := mk(issuer.RoleAdmin), mk(issuer.RoleAuditor)
	hz, _ := ts.issue(t, 1, testKey(30))
	zjApp := ts.apply(t, merge(person(t, 2), map[string]any{"residence_division": "330212", "residence_address": "宁波市示例路 1 号"}))
	zj := ts.approve(t, zjApp.ID)

	if w := ts.do(req{method: "GET", path: "/v1/admin/backup", token: hzAdmin}); w.Code != 403 || errorCode(w) != "provincial_only" {
		t.Fatalf("backup by a city admin: %d %s", w.Code, w.Body)
	}
	var log struct{ Entries []struct{ Subject string } }
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: hzAuditor}, 200, &log)
	if len(log.Entries) == 0 {
		t.Fatal("the hz auditor sees no entry")
	}
	for _, e := range log.Entries {
		if strings.Contains(e.Subject, zj.Number) || strings.Contains(e.Subject, zjApp.ID) {
			t.Fatalf("the hz auditor sees the province's entry %q", e.Subject)
		}
	}
	for _, r := range []req{
		{method: "GET", path: "/v1/permits/" + zj.Number, token: hzAuditor},
		{method: "GET", path: "/v1/applications/" + zjApp.ID, token: hzAdmin},
		{method: "POST", path: "/v1/permits/" + zj.Number + "/offers", token: hzAdmin},
		{method: "POST", path: "/v1/permits/" + zj.Number + "/endorse", token: hzAdmin},
	} {
		if w := ts.do(r); w.Code != 404 {
			t.Errorf("%s %s by a city token: %d %s", r.method, r.path, w.Code, w.Body)
		}
	}
	var hits struct{ Hits []issuer.Hit }
	ts.must(t, req{method: "POST", path: "/v1/search", token: hzAuditor, body: issuer.SearchQuery{PermitNo: zj.Number}}, 200, &hits)
	if len(hits.Hits) != 0 {
		t.Fatalf("a city auditor found the province's permit: %+v", hits)
	}
	ts.must(t, req{method: "GET", path: "/v1/permits/" + hz.Number, token: hzAuditor}, 200, nil)
	// The queue of another authority is refused.
	if w := ts.do(req{method: "GET", path: "/v1/applications?authority=zj", token: hzAdmin}); w.Code != 403 {
		t.Fatalf("another authority's queue: %d %s", w.Code, w.Body)
	}
}

// TestBackupClientThatStopsReading (hole 4): a backup client that never
// reads holds up no write: the snapshot is taken into a file before the
// first byte is sent.
func TestBackupClientThatStopsReading(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 1e6, 1e6 })
	// A store larger than the sockets' buffers, so the sender blocks.
	for i := range 60 {
		photo := make([]byte, 180<<10)
		rand.Read(photo)
		form := person(t, 100+i)
		data, _ := json.Marshal(form)
		f, err := permit.ParseApplication(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.svc.Submit(context.Background(), issuer.Submission{Form: f, Photo: photo, PhotoType: "image/png"}, ts.clock()); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := ts.issue(t, 1, testKey(31))
	hs := httptest.NewServer(ts.s.Handler())
	defer hs.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/admin/backup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", ts.tokens[issuer.RoleAdmin])
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("backup: %q %v", status, err)
	}
	// The client now reads nothing more. Writes go on, the file grows.
	done := make(chan error, 1)
	go func() {
		for i := range 20 {
			form := person(t, 300+i)
			data, _ := json.Marshal(map[string]any{"application": form, "photo": testPNG(t, 300, 300)})
			resp, err := http.Post(hs.URL+"/v1/applications", "application/json", strings.NewReader(string(data)))
			if err != nil {
				done <- err
				return
			}
			resp.Body.Close()
		}
		r, _ := http.NewRequest("POST", hs.URL+"/v1/permits/"+p.Number+"/revoke", strings.NewReader(`{"reason":"while a backup stalls"}`))
		r.Header.Set("Authorization", "Bearer "+ts.tokens[issuer.RoleRevoker])
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("revoke: %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("writes froze behind a backup client that stopped reading")
	}
}

// TestTokensExpireAndAreRevoked (hole 5): officials' tokens expire, can be
// listed and revoked, and a revoked or expired token gets 401 at once.
func TestTokensExpireAndAreRevoked(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.tokens[issuer.RoleAdmin]
	var tok TokenResponse
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "counter 9", TTLDays: 2}}, 201, &tok)
	if !tok.Expires.Equal(ts.clock().Add(48 * time.Hour)) {
		t.Fatalf("expires %v", tok.Expires)
	}
	ts.must(t, req{method: "GET", path: "/v1/applications?authority=hz", token: tok.Secret}, 200, nil)
	var list struct{ Tokens []TokenResponse }
	ts.must(t, req{method: "GET", path: "/v1/admin/tokens", token: admin}, 200, &list)
	found := false
	for _, l := range list.Tokens {
		if l.ID == tok.ID {
			found = l.Secret == "" && !l.LastUsed.IsZero() && l.Role == issuer.RoleOfficer
		}
	}
	if !found {
		t.Fatalf("the list lacks the token, its last use, or shows its secret: %+v", list)
	}
	ts.must(t, req{method: "DELETE", path: "/v1/admin/tokens/" + tok.ID, token: admin}, 200, nil)
	if w := ts.do(req{method: "GET", path: "/v1/applications?authority=hz", token: tok.Secret}); w.Code != 401 {
		t.Fatalf("revoked token: %d", w.Code)
	}
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "short", TTLDays: 1}}, 201, &tok)
	ts.mu.Lock()
	ts.now = ts.now.Add(25 * time.Hour)
	ts.mu.Unlock()
	if w := ts.do(req{method: "GET", path: "/v1/applications?authority=hz", token: tok.Secret}); w.Code != 401 {
		t.Fatalf("expired token: %d", w.Code)
	}
}

// TestReadsOfPersonalDataAreAudited (hole 9).
func TestReadsOfPersonalDataAreAudited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	form := person(t, 1)
	var a ApplicationResponse
	ts.must(t, req{method: "POST", path: "/v1/applications", body: map[string]any{"application": form, "photo": testPNG(t, 48, 64)}}, 201, &a)
	officer := ts.tokens[issuer.RoleOfficer]
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: officer}, 200, nil)
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID + "/photo", token: officer}, 200, nil)
	p := ts.approve(t, a.ID)
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleAuditor]}, 200, nil)
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number + "/photo", token: officer}, 200, nil)
	ts.must(t, req{method: "POST", path: "/v1/search", token: officer, body: issuer.SearchQuery{CitizenID: form["citizen_id"].(string)}}, 200, nil)
	ts.must(t, req{method: "GET", path: "/v1/admin/backup", token: ts.tokens[issuer.RoleAdmin]}, 200, nil)
	var log struct {
		Entries []struct {
			Action, Actor, Role, Subject string
		}
	}
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: ts.tokens[issuer.RoleAuditor]}, 200, &log)
	reads := map[string]string{}
	for _, e := range log.Entries {
		reads[e.Action] = e.Actor + "/" + e.Role
	}
	for _, want := range []string{"application.read", "photo.read", "permit.read", "search", "store.backup"} {
		if !strings.Contains(reads[want], "test ") {
			t.Errorf("no audit entry %s naming the official: %v", want, reads)
		}
	}
}

// TestTokenEndpointRateLimited (hole 12): /token is rate-limited per client,
// and bogus codes are refused without a write.
func TestTokenEndpointRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 0.001, 3 })
	form := "grant_type=" + oid4vci.GrantPreAuthorized + "&pre-authorized_code=epc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	var codes []int
	for range 5 {
		codes = append(codes, ts.do(req{method: "POST", path: "/token", body: form, ctype: "application/x-www-form-urlencoded"}).Code)
	}
	if codes[0] != 400 || codes[4] != 429 {
		t.Fatalf("codes %v: want invalid_grant, then 429", codes)
	}
}
