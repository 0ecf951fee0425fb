package server

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/statuslist"
)

func TestApproveAndReject(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[issuer.RoleOfficer]
	a := ts.apply(t, person(t, 1))
	p := ts.approve(t, a.ID)
	if p.State != issuer.PermitActive || !strings.HasPrefix(p.Number, "33010626") || p.Issuer != testBase+"/hz" ||
		len(p.Credentials) != 0 || p.Offer == nil || p.Offer.Kind != issuer.OfferIssue {
		t.Fatalf("permit %+v", p)
	}
	// The offer is a URI and the same URI as a QR code a wallet can scan.
	o, err := oid4vci.ParseOfferURI(p.Offer.URI)
	if err != nil || o.CredentialIssuer != p.Issuer || o.ConfigurationIDs[0] != ConfigurationID {
		t.Fatalf("offer %q: %+v %v", p.Offer.URI, o, err)
	}
	img, err := png.Decode(bytes.NewReader(p.Offer.QRPNG))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qr.Decode(img); err != nil || string(got) != p.Offer.URI {
		t.Fatalf("offer QR decodes to %q, %v", got, err)
	}
	if want := ts.clock().Add(15 * time.Minute); !p.Offer.Expires.Equal(want) {
		t.Errorf("offer expires %v, want %v", p.Offer.Expires, want)
	}

	b := ts.apply(t, person(t, 2))
	ineligible := ts.apply(t, readTestdata(t, "invalid-short-residence.json"))
	for _, tc := range []struct {
		name, path string
		body       any
		code       int
		err        string
	}{
		{"approve twice", "/v1/applications/" + a.ID + "/approve", nil, 409, "not_pending"},
		{"approve ineligible", "/v1/applications/" + ineligible.ID + "/approve", nil, 409, "not_pending"},
		{"approve unknown", "/v1/applications/nope/approve", nil, 404, "not_found"},
		{"approve with a body", "/v1/applications/" + b.ID + "/approve", map[string]any{"force": true}, 400, "malformed_body"},
		{"reject without reasons", "/v1/applications/" + b.ID + "/reject", ReasonsRequest{}, 400, "reason_required"},
		{"reject with an empty reason", "/v1/applications/" + b.ID + "/reject", ReasonsRequest{Reasons: []string{" "}}, 400, "reason_required"},
		{"reject unknown field", "/v1/applications/" + b.ID + "/reject", map[string]any{"reasons": []string{"x"}, "x": 1}, 400, "malformed_body"},
		{"reject approved", "/v1/applications/" + a.ID + "/reject", ReasonsRequest{Reasons: []string{"x"}}, 409, "not_pending"},
		{"reject unknown", "/v1/applications/nope/reject", ReasonsRequest{Reasons: []string{"x"}}, 404, "not_found"},
		{"reject", "/v1/applications/" + b.ID + "/reject", ReasonsRequest{Reasons: []string{"evidence could not be confirmed"}}, 200, ""},
		{"approve rejected", "/v1/applications/" + b.ID + "/approve", nil, 409, "not_pending"},
	} {
		w := ts.do(req{method: "POST", path: tc.path, token: officer, body: tc.body})
		if w.Code != tc.code || errorCode(w) != tc.err {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, w.Code, errorCode(w), tc.code, tc.err, w.Body)
		}
	}
	var rej ApplicationResponse
	ts.must(t, req{method: "GET", path: "/v1/applications/" + b.ID, token: b.Secret}, 200, &rej)
	if rej.State != issuer.AppRejected || len(rej.Rejected) != 1 {
		t.Fatalf("rejected application %+v", rej)
	}
}

// statusOf fetches the served status list and returns the status of the
// permit's credential n (from 1), or of its latest when n is 0.
func (ts *testServer) statusOf(t *testing.T, p PermitResponse, n ...int) statuslist.Status {
	t.Helper()
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleAuditor]}, 200, &rec)
	if len(rec.Credentials) == 0 {
		t.Fatalf("permit %s has no credential", p.Number)
	}
	c := rec.Credentials[len(rec.Credentials)-1]
	if len(n) > 0 && n[0] > 0 {
		c = rec.Credentials[n[0]-1]
	}
	w := ts.must(t, req{method: "GET", path: strings.TrimPrefix(c.StatusList, testBase)}, 200, nil)
	if ct := w.Header().Get("Content-Type"); ct != statuslist.ContentType {
		t.Fatalf("content type %q", ct)
	}
	v, err := statuslist.VerifyToken(w.Body.String(), ts.keyFunc(t), 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Lookup(statuslist.Reference{Idx: c.StatusIdx, URI: c.StatusList})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	revoker := ts.tokens[issuer.RoleRevoker]
	p, _ := ts.issue(t, 1, testKey(20))
	steps := []struct {
		action string
		body   any
		code   int
		err    string
		state  issuer.PermitState
		status statuslist.Status
	}{
		{"reinstate", ReasonRequest{Reason: "x"}, 409, "permit_active", issuer.PermitActive, statuslist.Valid},
		{"suspend", ReasonRequest{}, 400, "reason_required", issuer.PermitActive, statuslist.Valid},
		{"suspend", `{"reason": "x", "until": "2027"}`, 400, "malformed_body", issuer.PermitActive, statuslist.Valid},
		{"suspend", ReasonRequest{Reason: "under investigation"}, 200, "", issuer.PermitSuspended, statuslist.Suspended},
		{"suspend", ReasonRequest{Reason: "again"}, 409, "permit_suspended", issuer.PermitSuspended, statuslist.Suspended},
		{"reinstate", ReasonRequest{Reason: "cleared"}, 200, "", issuer.PermitActive, statuslist.Valid},
		{"revoke", ReasonRequest{Reason: "obtained by fraud"}, 200, "", issuer.PermitRevoked, statuslist.Invalid},
		{"revoke", ReasonRequest{Reason: "again"}, 409, "permit_revoked", issuer.PermitRevoked, statuslist.Invalid},
		{"reinstate", ReasonRequest{Reason: "x"}, 409, "permit_revoked", issuer.PermitRevoked, statuslist.Invalid},
	}
	for i, st := range steps {
		w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/" + st.action, token: revoker, body: st.body})
		if w.Code != st.code || errorCode(w) != st.err {
			t.Fatalf("step %d %s: %d %q, want %d %q: %s", i, st.action, w.Code, errorCode(w), st.code, st.err, w.Body)
		}
		var rec PermitResponse
		ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleAuditor]}, 200, &rec)
		if rec.State != st.state {
			t.Fatalf("step %d: state %s, want %s", i, rec.State, st.state)
		}
		// The served status list changes at once, without waiting for its ttl.
		if got := ts.statusOf(t, p); got != st.status {
			t.Fatalf("step %d: status %v, want %v", i, got, st.status)
		}
	}
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[issuer.RoleOfficer]}, 200, &rec)
	if len(rec.History) != 5 || rec.History[4].Action != "revoke" || rec.History[4].Reason != "obtained by fraud" {
		t.Fatalf("history %+v", rec.History)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/nope/revoke", token: revoker, body: ReasonRequest{Reason: "x"}}); w.Code != 404 {
		t.Fatalf("unknown permit: %d", w.Code)
	}
}

func TestEndorse(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	holder := testKey(9)
	p, _ := ts.issue(t, 1, holder)
	path := "/v1/permits/" + p.Number + "/endorse"
	w := ts.do(req{method: "POST", path: path, token: ts.tokens[issuer.RoleOfficer]})
	if w.Code != 409 || errorCode(w) != "endorsement_too_early" || !strings.Contains(w.Body.String(), "2027-10-27") {
		t.Fatalf("early endorsement: %d %s", w.Code, w.Body)
	}
	// Inside the window: valid one more year from the anniversary.
	ts.setNow(time.Date(2027, 11, 10, 2, 0, 0, 0, time.UTC))
	var e PermitResponse
	ts.must(t, req{method: "POST", path: path, token: ts.tokens[issuer.RoleOfficer]}, 200, &e)
	if e.ValidUntil.String() != "2028-11-27" || e.Offer == nil || e.Offer.Kind != issuer.OfferEndorse || e.ResidenceSince.String() != "2024-03-15" {
		t.Fatalf("endorsed %+v", e)
	}
	// The offer gives the endorsed credential to the wallet that scans it,
	// and supersedes the old one.
	tr := ts.redeem(t, e.Offer.URI)
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, holder, e.Issuer), 200, &cr)
	if ts.statusOf(t, p, 1) != statuslist.Superseded || ts.statusOf(t, p, 2) != statuslist.Valid {
		t.Fatal("the endorsed credential did not supersede the first")
	}

	// Late: the permit is overdue; endorsement restores it and restarts residence.
	ts.setNow(time.Date(2029, 1, 5, 2, 0, 0, 0, time.UTC))
	ts.must(t, req{method: "POST", path: path, token: ts.tokens[issuer.RoleOfficer]}, 200, &e)
	if e.ValidUntil.String() != "2030-01-05" || e.ResidenceSince.String() != "2029-01-05" {
		t.Fatalf("late endorsement %+v", e)
	}
	// A suspended permit is not endorsed until reinstated.
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "check"}}, 200, nil)
	ts.setNow(time.Date(2029, 12, 20, 2, 0, 0, 0, time.UTC))
	if w := ts.do(req{method: "POST", path: path, token: ts.tokens[issuer.RoleOfficer]}); w.Code != 409 || errorCode(w) != "permit_suspended" {
		t.Fatalf("endorse suspended: %d %s", w.Code, w.Body)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/nope/endorse", token: ts.tokens[issuer.RoleOfficer]}); w.Code != 404 {
		t.Fatalf("unknown permit: %d", w.Code)
	}
}

func TestPhotoAuditBackupTokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	form := person(t, 1)
	delete(form, "photo_sha256")
	photo := testPNG(t, 48, 64)
	var a ApplicationResponse
	ts.must(t, req{method: "POST", path: "/v1/applications", body: map[string]any{"application": form, "photo": photo}}, 201, &a)
	p := ts.approve(t, a.ID)
	w := ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number + "/photo", token: ts.tokens[issuer.RoleOfficer]}, 200, nil)
	if !bytes.Equal(w.Body.Bytes(), photo) || w.Header().Get("Content-Type") != "image/png" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("photo: %v", w.Header())
	}
	noPhoto := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	if w := ts.do(req{method: "GET", path: "/v1/permits/" + noPhoto.Number + "/photo", token: ts.tokens[issuer.RoleOfficer]}); w.Code != 404 {
		t.Fatalf("permit without photo: %d", w.Code)
	}

	var log struct {
		Entries []struct {
			Seq                uint64
			Action, Hash, Prev string
			Detail             map[string]string
		}
	}
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: ts.tokens[issuer.RoleAuditor]}, 200, &log)
	actions := map[string]int{}
	for i, e := range log.Entries {
		actions[e.Action]++
		if i > 0 && e.Prev != log.Entries[i-1].Hash {
			t.Fatalf("entry %d does not chain", e.Seq)
		}
		for _, v := range e.Detail {
			if strings.Contains(v, "110105199208") {
				t.Fatalf("full citizen ID in the audit log: %v", e.Detail)
			}
		}
	}
	if actions["application.submit"] != 2 || actions["permit.approve"] != 2 || actions["token.create"] != 4 {
		t.Fatalf("actions %v", actions)
	}
	ts.must(t, req{method: "GET", path: "/v1/audit?after=3&limit=2", token: ts.tokens[issuer.RoleAuditor]}, 200, &log)
	if len(log.Entries) != 2 || log.Entries[0].Seq != 4 {
		t.Fatalf("paging: %+v", log.Entries)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?after=-1", "?limit=5000"} {
		if w := ts.do(req{method: "GET", path: "/v1/audit" + q, token: ts.tokens[issuer.RoleAuditor]}); w.Code != 400 {
			t.Errorf("audit%s: %d", q, w.Code)
		}
	}

	w = ts.must(t, req{method: "GET", path: "/v1/admin/backup", token: ts.tokens[issuer.RoleAdmin]}, 200, nil)
	if w.Body.Len() < 4096 || w.Header().Get("Content-Disposition") == "" || w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("backup of %d bytes", w.Body.Len())
	}

	var tok struct {
		Token, ID string
		Role      issuer.Role
	}
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[issuer.RoleAdmin], body: TokenRequest{Role: issuer.RoleRevoker, Name: "desk 4"}}, 201, &tok)
	if !strings.HasPrefix(tok.Token, issuer.TokenPrefix) || tok.Role != issuer.RoleRevoker {
		t.Fatalf("token %+v", tok)
	}
	ts.must(t, req{method: "POST", path: "/v1/permits/" + noPhoto.Number + "/suspend", token: tok.Token, body: ReasonRequest{Reason: "check"}}, 200, nil)
	for _, body := range []any{TokenRequest{Role: "root", Name: "x"}, TokenRequest{Role: issuer.RoleAuditor}, `{"role":"auditor","name":"x","expires":1}`} {
		if w := ts.do(req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[issuer.RoleAdmin], body: body}); w.Code != 400 {
			t.Errorf("token request %v: %d %s", body, w.Code, w.Body)
		}
	}
	var _ = json.Valid
}

// TestReasonText refuses reasons the audit log cannot hold, with 400, and
// changes nothing.
func TestReasonText(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	p, _ := ts.issue(t, 1, testKey(21))
	for _, reason := range []string{"line one\nline two", "holder 110105199208140517 moved", "\x1b[2J"} {
		w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: reason}})
		if w.Code != 400 || errorCode(w) != "invalid_text" {
			t.Errorf("reason %q: %d %s", reason, w.Code, w.Body)
		}
	}
	if got := ts.statusOf(t, p); got != statuslist.Valid {
		t.Fatalf("status changed to %v", got)
	}
	// Rejection reasons are kept with the application and shown to the
	// applicant: the same rules, and the application stays pending.
	a := ts.apply(t, person(t, 2))
	for _, reason := range []string{"holder 110105199208140517 moved", "\x1b[2J", "line one\nline two"} {
		w := ts.do(req{method: "POST", path: "/v1/applications/" + a.ID + "/reject", token: ts.tokens[issuer.RoleOfficer],
			body: ReasonsRequest{Reasons: []string{"documents do not match", reason}}})
		if w.Code != 400 || errorCode(w) != "invalid_text" {
			t.Errorf("rejection reason %q: %d %s", reason, w.Code, w.Body)
		}
	}
	var got ApplicationResponse
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: a.Secret}, 200, &got)
	if got.State != issuer.AppPending {
		t.Fatalf("after refused rejections: %+v", got)
	}
	w := ts.do(req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[issuer.RoleAdmin], body: TokenRequest{Role: issuer.RoleAuditor, Name: "a\tb"}})
	if w.Code != 400 {
		t.Fatalf("token name with a tab: %d %s", w.Code, w.Body)
	}
}

// TestAuthorityTokens limits a token to one issuing authority.
func TestAuthorityTokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.tokens[issuer.RoleAdmin]
	hz, _ := ts.issue(t, 1, testKey(23))                                                                                         // Hangzhou: authority hz
	zjApp := ts.apply(t, merge(person(t, 2), map[string]any{"residence_division": "330212", "residence_address": "宁波市示例路 1 号"})) // Ningbo: the province, zj
	var tok struct{ Token, Authority string }
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleAdmin, Name: "hz admin", Authority: "hz"}}, 201, &tok)
	if tok.Authority != "hz" {
		t.Fatalf("token %+v", tok)
	}
	hzAdmin := tok.Token
	for _, tc := range []struct {
		name string
		r    req
		code int
	}{
		{"own permit", req{method: "GET", path: "/v1/permits/" + hz.Number, token: hzAdmin}, 200},
		// Another authority's records are not found, as if they did not exist.
		{"other authority's application", req{method: "POST", path: "/v1/applications/" + zjApp.ID + "/approve", token: hzAdmin}, 404},
		{"other authority's rejection", req{method: "POST", path: "/v1/applications/" + zjApp.ID + "/reject", token: hzAdmin, body: ReasonsRequest{Reasons: []string{"x"}}}, 404},
		{"other authority's application read", req{method: "GET", path: "/v1/applications/" + zjApp.ID, token: hzAdmin}, 404},
		{"a provincial token from a city admin", req{method: "POST", path: "/v1/admin/tokens", token: hzAdmin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "x"}}, 403},
		{"a token for another city", req{method: "POST", path: "/v1/admin/tokens", token: hzAdmin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "x", Authority: "zj"}}, 403},
		{"a token for its own city", req{method: "POST", path: "/v1/admin/tokens", token: hzAdmin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "x", Authority: "hz"}}, 201},
		{"an unknown authority", req{method: "POST", path: "/v1/admin/tokens", token: admin, body: TokenRequest{Role: issuer.RoleOfficer, Name: "x", Authority: "sh"}}, 400},
		{"own revocation", req{method: "POST", path: "/v1/permits/" + hz.Number + "/suspend", token: hzAdmin, body: ReasonRequest{Reason: "x"}}, 200},
	} {
		if w := ts.do(tc.r); w.Code != tc.code {
			t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.code, w.Body)
		}
	}
	zj := ts.approve(t, zjApp.ID)
	ts.must(t, ts.credentialRequest(t, ts.redeem(t, zj.Offer.URI), testKey(22), zj.Issuer), 200, nil)
	for _, p := range []string{"/v1/permits/" + zj.Number, "/v1/permits/" + zj.Number + "/photo"} {
		if w := ts.do(req{method: "GET", path: p, token: hzAdmin}); w.Code != 404 || errorCode(w) != "not_found" {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/" + zj.Number + "/revoke", token: hzAdmin, body: ReasonRequest{Reason: "x"}}); w.Code != 404 {
		t.Errorf("revoke another authority's permit: %d", w.Code)
	}
	if got := ts.statusOf(t, zj); got != statuslist.Valid {
		t.Fatalf("status changed: %v", got)
	}
}

// TestNoStoreAndLimits: answers with secrets or personal data are not
// cached; oversized or 16-bit photos are refused before decoding.
func TestNoStoreAndLimits(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	w := ts.do(req{method: "POST", path: "/v1/applications", body: map[string]any{"application": person(t, 1)}})
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("submit: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	p := ts.approve(t, errorFreeID(t, w))
	for _, path := range []string{"/v1/permits/" + p.Number} {
		if w := ts.do(req{method: "GET", path: path, token: ts.tokens[issuer.RoleOfficer]}); w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, w.Header().Get("Cache-Control"))
		}
	}
	form := person(t, 2)
	delete(form, "photo_sha256")
	big := testPNG(t, 1700, 40)
	var wide bytes.Buffer
	img16 := image.NewGray16(image.Rect(0, 0, 64, 64))
	if err := png.Encode(&wide, img16); err != nil {
		t.Fatal(err)
	}
	for name, photo := range map[string][]byte{"too wide": big, "16-bit": wide.Bytes()} {
		if w := ts.do(req{method: "POST", path: "/v1/applications", body: map[string]any{"application": form, "photo": photo}}); w.Code != 400 || errorCode(w) != "photo_not_image" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	// A made-up method makes no new metric series.
	ts.do(req{method: "BREW", path: "/v1/applications"})
	if m := ts.must(t, req{method: "GET", path: "/metrics"}, 200, nil).Body.String(); strings.Contains(m, "BREW") {
		t.Error("the method label takes any method")
	}
}

func errorFreeID(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var a ApplicationResponse
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.ID == "" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	return a.ID
}
