package server

import (
	"bytes"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/store"
)

func TestApproveAndReject(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[store.RoleOfficer]
	a := ts.apply(t, person(t, 1))
	p := ts.approve(t, a.ID)
	if p.State != store.PermitActive || !strings.HasPrefix(p.Number, "33010626") || p.Issuer != testBase+"/hz" ||
		!strings.HasPrefix(p.StatusList, testBase+"/status/hz-") || p.Offer == nil {
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
	if rej.State != store.AppRejected || len(rej.Rejected) != 1 {
		t.Fatalf("rejected application %+v", rej)
	}
}

// statusOf fetches the served status list and returns the permit's status.
func (ts *testServer) statusOf(t *testing.T, p PermitResponse) statuslist.Status {
	t.Helper()
	w := ts.must(t, req{method: "GET", path: strings.TrimPrefix(p.StatusList, testBase)}, 200, nil)
	if ct := w.Header().Get("Content-Type"); ct != statuslist.ContentType {
		t.Fatalf("content type %q", ct)
	}
	v, err := statuslist.VerifyToken(w.Body.String(), ts.keyFunc(t), 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Lookup(statuslist.Reference{Idx: p.StatusIdx, URI: p.StatusList})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	revoker := ts.tokens[store.RoleRevoker]
	a := ts.apply(t, person(t, 1))
	p := ts.approve(t, a.ID)
	steps := []struct {
		action string
		body   any
		code   int
		err    string
		state  store.PermitState
		status statuslist.Status
	}{
		{"reinstate", ReasonRequest{Reason: "x"}, 409, "permit_active", store.PermitActive, statuslist.Valid},
		{"suspend", ReasonRequest{}, 400, "reason_required", store.PermitActive, statuslist.Valid},
		{"suspend", `{"reason": "x", "until": "2027"}`, 400, "malformed_body", store.PermitActive, statuslist.Valid},
		{"suspend", ReasonRequest{Reason: "under investigation"}, 200, "", store.PermitSuspended, statuslist.Suspended},
		{"suspend", ReasonRequest{Reason: "again"}, 409, "permit_suspended", store.PermitSuspended, statuslist.Suspended},
		{"reinstate", ReasonRequest{Reason: "cleared"}, 200, "", store.PermitActive, statuslist.Valid},
		{"revoke", ReasonRequest{Reason: "obtained by fraud"}, 200, "", store.PermitRevoked, statuslist.Invalid},
		{"revoke", ReasonRequest{Reason: "again"}, 409, "permit_revoked", store.PermitRevoked, statuslist.Invalid},
		{"reinstate", ReasonRequest{Reason: "x"}, 409, "permit_revoked", store.PermitRevoked, statuslist.Invalid},
	}
	for i, st := range steps {
		w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/" + st.action, token: revoker, body: st.body})
		if w.Code != st.code || errorCode(w) != st.err {
			t.Fatalf("step %d %s: %d %q, want %d %q: %s", i, st.action, w.Code, errorCode(w), st.code, st.err, w.Body)
		}
		var rec PermitResponse
		ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[store.RoleAuditor]}, 200, &rec)
		if rec.State != st.state {
			t.Fatalf("step %d: state %s, want %s", i, rec.State, st.state)
		}
		// The served status list changes at once, without waiting for its ttl.
		if got := ts.statusOf(t, p); got != st.status {
			t.Fatalf("step %d: status %v, want %v", i, got, st.status)
		}
	}
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: ts.tokens[store.RoleOfficer]}, 200, &rec)
	if len(rec.History) != 4 || rec.History[3].Action != "revoke" || rec.History[3].Reason != "obtained by fraud" {
		t.Fatalf("history %+v", rec.History)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/nope/revoke", token: revoker, body: ReasonRequest{Reason: "x"}}); w.Code != 404 {
		t.Fatalf("unknown permit: %d", w.Code)
	}
}

func TestEndorse(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[store.RoleOfficer]
	holder := testKey(9)
	p, _ := ts.issue(t, 1, holder)
	path := "/v1/permits/" + p.Number + "/endorse"
	w := ts.do(req{method: "POST", path: path, token: officer})
	if w.Code != 409 || errorCode(w) != "endorsement_too_early" || !strings.Contains(w.Body.String(), "2027-10-27") {
		t.Fatalf("early endorsement: %d %s", w.Code, w.Body)
	}
	// Inside the window: valid one more year from the anniversary.
	ts.setNow(time.Date(2027, 11, 10, 2, 0, 0, 0, time.UTC))
	var e PermitResponse
	ts.must(t, req{method: "POST", path: path, token: officer}, 200, &e)
	if e.ValidUntil.String() != "2028-11-27" || e.Offer == nil || e.Since.String() != "2024-03-15" {
		t.Fatalf("endorsed %+v", e)
	}
	// The new offer re-issues to the same holder key only.
	tr := ts.redeem(t, e.Offer.URI)
	w = ts.do(ts.credentialRequest(t, tr, testKey(10), e.Issuer))
	if w.Code != 400 || errorCode(w) != "invalid_proof" {
		t.Fatalf("re-issue to another key: %d %s", w.Code, w.Body)
	}
	var cr oid4vci.CredentialResponse
	ts.must(t, ts.credentialRequest(t, tr, holder, e.Issuer), 200, &cr)

	// Late: the permit is overdue; endorsement restores it and restarts residence.
	ts.setNow(time.Date(2029, 1, 5, 2, 0, 0, 0, time.UTC))
	ts.must(t, req{method: "POST", path: path, token: officer}, 200, &e)
	if e.ValidUntil.String() != "2030-01-05" || e.Since.String() != "2029-01-05" {
		t.Fatalf("late endorsement %+v", e)
	}
	// A suspended permit is not endorsed until reinstated.
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[store.RoleRevoker], body: ReasonRequest{Reason: "check"}}, 200, nil)
	ts.setNow(time.Date(2029, 12, 20, 2, 0, 0, 0, time.UTC))
	if w := ts.do(req{method: "POST", path: path, token: officer}); w.Code != 409 || errorCode(w) != "permit_suspended" {
		t.Fatalf("endorse suspended: %d %s", w.Code, w.Body)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/nope/endorse", token: officer}); w.Code != 404 {
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
	w := ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number + "/photo", token: ts.tokens[store.RoleOfficer]}, 200, nil)
	if !bytes.Equal(w.Body.Bytes(), photo) || w.Header().Get("Content-Type") != "image/png" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("photo: %v", w.Header())
	}
	noPhoto := ts.approve(t, ts.apply(t, person(t, 2)).ID)
	if w := ts.do(req{method: "GET", path: "/v1/permits/" + noPhoto.Number + "/photo", token: ts.tokens[store.RoleOfficer]}); w.Code != 404 {
		t.Fatalf("permit without photo: %d", w.Code)
	}

	var log struct {
		Entries []struct {
			Seq                uint64
			Action, Hash, Prev string
			Detail             map[string]string
		}
	}
	ts.must(t, req{method: "GET", path: "/v1/audit?limit=1000", token: ts.tokens[store.RoleAuditor]}, 200, &log)
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
	ts.must(t, req{method: "GET", path: "/v1/audit?after=3&limit=2", token: ts.tokens[store.RoleAuditor]}, 200, &log)
	if len(log.Entries) != 2 || log.Entries[0].Seq != 4 {
		t.Fatalf("paging: %+v", log.Entries)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?after=-1", "?limit=5000"} {
		if w := ts.do(req{method: "GET", path: "/v1/audit" + q, token: ts.tokens[store.RoleAuditor]}); w.Code != 400 {
			t.Errorf("audit%s: %d", q, w.Code)
		}
	}

	w = ts.must(t, req{method: "GET", path: "/v1/admin/backup", token: ts.tokens[store.RoleAdmin]}, 200, nil)
	if w.Body.Len() < 4096 || w.Header().Get("Content-Disposition") == "" {
		t.Fatalf("backup of %d bytes", w.Body.Len())
	}

	var tok struct {
		Token, ID string
		Role      store.Role
	}
	ts.must(t, req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[store.RoleAdmin], body: TokenRequest{Role: store.RoleRevoker, Name: "desk 4"}}, 201, &tok)
	if !strings.HasPrefix(tok.Token, store.TokenPrefix) || tok.Role != store.RoleRevoker {
		t.Fatalf("token %+v", tok)
	}
	ts.must(t, req{method: "POST", path: "/v1/permits/" + noPhoto.Number + "/suspend", token: tok.Token, body: ReasonRequest{Reason: "check"}}, 200, nil)
	for _, body := range []any{TokenRequest{Role: "root", Name: "x"}, TokenRequest{Role: store.RoleAuditor}, `{"role":"auditor","name":"x","expires":1}`} {
		if w := ts.do(req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[store.RoleAdmin], body: body}); w.Code != 400 {
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
	p := ts.approve(t, ts.apply(t, person(t, 1)).ID)
	for _, reason := range []string{"line one\nline two", "holder 110105199208140517 moved", "\x1b[2J"} {
		w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[store.RoleRevoker], body: ReasonRequest{Reason: reason}})
		if w.Code != 400 || errorCode(w) != "invalid_text" {
			t.Errorf("reason %q: %d %s", reason, w.Code, w.Body)
		}
	}
	if got := ts.statusOf(t, p); got != statuslist.Valid {
		t.Fatalf("status changed to %v", got)
	}
	w := ts.do(req{method: "POST", path: "/v1/admin/tokens", token: ts.tokens[store.RoleAdmin], body: TokenRequest{Role: store.RoleAuditor, Name: "a\tb"}})
	if w.Code != 400 {
		t.Fatalf("token name with a tab: %d %s", w.Code, w.Body)
	}
}
