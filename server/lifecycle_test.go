package server

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/statuslist"
)

// refreshRequest is a POST /credential/refresh for permit no with a proof
// by holder over a fresh nonce.
func (ts *testServer) refreshRequest(t *testing.T, no string, holder ed25519.PrivateKey, aud string) req {
	t.Helper()
	nonce, _, err := ts.svc.NewNonce(ts.clock())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := oid4vci.NewProof(holder, aud, nonce, ts.clock())
	if err != nil {
		t.Fatal(err)
	}
	var r RefreshRequest
	r.PermitNo, r.Proof.ProofType, r.Proof.JWT = no, "jwt", proof
	return req{method: "POST", path: "/credential/refresh", body: r}
}

// TestReissueAndRefresh: a re-issue offer binds a new credential to a new
// phone and supersedes the old one; after an endorsement the wallet that
// holds the current credential refreshes it with a proof of its key, and
// nobody else can.
func TestReissueAndRefresh(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[issuer.RoleOfficer]
	oldPhone, newPhone := testKey(40), testKey(41)
	p, _ := ts.issue(t, 1, oldPhone)

	var re PermitResponse
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/offers", token: officer}, 201, &re)
	if re.Offer == nil || re.Offer.Kind != issuer.OfferReissue || re.Number != p.Number || re.Particulars != nil {
		t.Fatalf("re-issue %+v", re)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/offers", token: officer, body: `{"holder":"x"}`}); w.Code != 400 {
		t.Fatalf("re-issue with a body: %d %s", w.Code, w.Body)
	}
	ts.must(t, ts.credentialRequest(t, ts.redeem(t, re.Offer.URI), newPhone, p.Issuer), 200, nil)
	if ts.statusOf(t, p, 1) != statuslist.Superseded || ts.statusOf(t, p, 2) != statuslist.Valid {
		t.Fatal("the re-issued credential did not supersede the first")
	}
	var rec PermitResponse
	ts.must(t, req{method: "GET", path: "/v1/permits/" + p.Number, token: officer}, 200, &rec)
	if len(rec.Credentials) != 2 || rec.Credentials[0].Status != "superseded" || rec.Credentials[1].Status != "current" || rec.Credentials[1].Via != "reissue" {
		t.Fatalf("credentials %+v", rec.Credentials)
	}

	// Nothing to refresh before an endorsement.
	if w := ts.do(ts.refreshRequest(t, p.Number, newPhone, p.Issuer)); w.Code != 409 || errorCode(w) != "up_to_date" {
		t.Fatalf("refresh before endorsement: %d %s", w.Code, w.Body)
	}
	ts.setNow(time.Date(2027, 11, 10, 2, 0, 0, 0, time.UTC))
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/endorse", token: ts.tokens[issuer.RoleOfficer]}, 200, nil)
	// The old phone's key, a stranger's key and an unknown permit get the same answer.
	for name, r := range map[string]req{
		"superseded key": ts.refreshRequest(t, p.Number, oldPhone, p.Issuer),
		"stranger":       ts.refreshRequest(t, p.Number, testKey(42), p.Issuer),
		"unknown permit": ts.refreshRequest(t, "33010626AAAAAA", newPhone, p.Issuer),
	} {
		if w := ts.do(r); w.Code != 400 || errorCode(w) != "invalid_proof" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	if w := ts.do(ts.refreshRequest(t, p.Number, newPhone, "https://elsewhere.example/hz")); w.Code != 400 || errorCode(w) != "invalid_proof" {
		t.Errorf("proof for another audience: %d %s", w.Code, w.Body)
	}
	for _, body := range []string{`{"permit_no":"x"}`, `{"proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, `{"permit_no":"x","proof":{"proof_type":"cwt","jwt":"a.b.c"}}`} {
		if w := ts.do(req{method: "POST", path: "/credential/refresh", body: body}); w.Code != 400 || errorCode(w) != "invalid_request" {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	r := ts.refreshRequest(t, p.Number, newPhone, p.Issuer)
	var cr oid4vci.CredentialResponse
	w := ts.must(t, r, 200, &cr)
	if len(cr.Credentials) != 1 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("refresh: %s", w.Body)
	}
	if ts.statusOf(t, p, 2) != statuslist.Superseded || ts.statusOf(t, p, 3) != statuslist.Valid {
		t.Fatal("the refreshed credential did not supersede the current one")
	}
	// The same request again issues nothing.
	if w := ts.do(r); w.Code != 409 || errorCode(w) != "up_to_date" {
		t.Fatalf("the same request again: %d %s", w.Code, w.Body)
	}
	// A suspended permit is neither refreshed nor re-issued.
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/suspend", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "check"}}, 200, nil)
	officer = ts.tokens[issuer.RoleOfficer] // the clock moved a year: a new token
	if w := ts.do(req{method: "POST", path: "/v1/permits/" + p.Number + "/offers", token: officer}); w.Code != 409 || errorCode(w) != "permit_suspended" {
		t.Fatalf("re-issue of a suspended permit: %d %s", w.Code, w.Body)
	}
	if w := ts.do(req{method: "POST", path: "/v1/permits/nope/offers", token: officer}); w.Code != 404 {
		t.Fatalf("re-issue of an unknown permit: %d %s", w.Code, w.Body)
	}
}

// TestSearchAndQueue: officers find records by permit number, application
// id or citizen ID (in the body), and page through their authority's queue.
func TestSearchAndQueue(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[issuer.RoleOfficer]
	form := person(t, 1)
	p := ts.approve(t, ts.apply(t, form).ID)
	// The queue is in order of submission: a second between each.
	ts.setNow(ts.clock().Add(time.Second))
	again := ts.apply(t, person(t, 1)) // the same person applies again: flagged
	var apps []ApplicationResponse
	for n := 2; n <= 4; n++ {
		ts.setNow(ts.clock().Add(time.Second))
		apps = append(apps, ts.apply(t, person(t, n)))
	}
	search := func(token string, q issuer.SearchQuery) (int, []issuer.Hit) {
		var out struct{ Hits []issuer.Hit }
		w := ts.do(req{method: "POST", path: "/v1/search", token: token, body: q})
		if w.Code == 200 {
			ts.must(t, req{method: "POST", path: "/v1/search", token: token, body: q}, 200, &out)
		}
		return w.Code, out.Hits
	}
	if code, hits := search(officer, issuer.SearchQuery{CitizenID: form["citizen_id"].(string)}); code != 200 || len(hits) != 2 {
		t.Fatalf("by citizen ID: %d %+v", code, hits)
	}
	if code, hits := search(ts.tokens[issuer.RoleAuditor], issuer.SearchQuery{PermitNo: p.Number}); code != 200 || len(hits) != 1 || hits[0].Kind != "permit" || hits[0].State != "active" {
		t.Fatalf("by permit number: %d %+v", code, hits)
	}
	if code, hits := search(officer, issuer.SearchQuery{ApplicationID: again.ID}); code != 200 || len(hits) != 1 || hits[0].State != "pending" {
		t.Fatalf("by application id: %d %+v", code, hits)
	}
	if code, hits := search(officer, issuer.SearchQuery{PermitNo: "33010626AAAAAA"}); code != 200 || len(hits) != 0 {
		t.Fatalf("nothing found: %d %+v", code, hits)
	}
	for q, want := range map[issuer.SearchQuery]string{
		{}:                                       "one_field",
		{PermitNo: p.Number, ApplicationID: "x"}: "one_field",
		{CitizenID: "110105199208140510"}:        "invalid_citizen_id",
	} {
		if w := ts.do(req{method: "POST", path: "/v1/search", token: officer, body: q}); w.Code != 400 || errorCode(w) != want {
			t.Errorf("search %+v: %d %s", q, w.Code, w.Body)
		}
	}

	var page struct {
		Applications []issuer.QueueItem
		Next         string
	}
	if w := ts.do(req{method: "GET", path: "/v1/applications", token: officer}); w.Code != 400 || errorCode(w) != "authority_required" {
		t.Fatalf("queue without an authority: %d %s", w.Code, w.Body)
	}
	ts.must(t, req{method: "GET", path: "/v1/applications?authority=hz&limit=2", token: officer}, 200, &page)
	if len(page.Applications) != 2 || page.Next == "" || page.Applications[0].ID != again.ID || len(page.Applications[0].Flags) != 1 ||
		page.Applications[0].Flags[0].Code != "holds_permit" || page.Applications[0].Name == "" {
		t.Fatalf("first page %+v", page)
	}
	ts.must(t, req{method: "GET", path: "/v1/applications?authority=hz&limit=2&after=" + page.Next, token: officer}, 200, &page)
	if len(page.Applications) != 2 || page.Next != "" || page.Applications[1].ID != apps[2].ID {
		t.Fatalf("second page %+v", page)
	}
	ts.must(t, req{method: "GET", path: "/v1/applications?authority=hz&order=newest&limit=1", token: officer}, 200, &page)
	if len(page.Applications) != 1 || page.Applications[0].ID != apps[2].ID {
		t.Fatalf("newest first %+v", page)
	}
	for q, want := range map[string]string{"?authority=hz&limit=0": "bad_query", "?authority=hz&order=up": "bad_query",
		"?authority=hz&after=zz": "bad_cursor", "?authority=sh": "authority_required"} {
		if w := ts.do(req{method: "GET", path: "/v1/applications" + q, token: officer}); w.Code != 400 || errorCode(w) != want {
			t.Errorf("queue%s: %d %s", q, w.Code, w.Body)
		}
	}
	// An officer limited to Ningbo's province authority does not read Hangzhou's queue or find its records.
	zjOfficer, _, err := ts.svc.CreateToken(context.Background(), issuer.Official{Name: "test", Role: issuer.RoleAdmin}, issuer.NewToken{Role: issuer.RoleOfficer, Name: "zj desk", Authority: "zj"}, ts.clock())
	if err != nil {
		t.Fatal(err)
	}
	if w := ts.do(req{method: "GET", path: "/v1/applications?authority=hz", token: zjOfficer}); w.Code != 403 || errorCode(w) != "other_authority" {
		t.Errorf("another authority's queue: %d %s", w.Code, w.Body)
	}
	if code, hits := search(zjOfficer, issuer.SearchQuery{CitizenID: form["citizen_id"].(string)}); code != 200 || len(hits) != 0 {
		t.Errorf("another authority's records found: %d %+v", code, hits)
	}
	if w := ts.do(req{method: "GET", path: "/v1/applications", token: zjOfficer}); w.Code != 200 {
		t.Errorf("own queue: %d %s", w.Code, w.Body)
	}
}

// TestEndorseBatches: a bulk endorsement job endorses what it can, reports
// the rest with reasons, resumes without endorsing twice, and belongs to
// the authority that started it: another city's job of the same name is
// refused, not resumed.
func TestEndorseBatches(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	hz1, _ := ts.issue(t, 1, testKey(60))
	hz2, _ := ts.issue(t, 2, testKey(61))
	nb := ts.approve(t, ts.apply(t, merge(person(t, 3), map[string]any{"residence_division": "330212", "residence_address": "宁波市示例路 1 号"})).ID)
	ts.setNow(time.Date(2027, 11, 10, 2, 0, 0, 0, time.UTC))
	hzOfficer, zjOfficer := ts.limitedToken(t, issuer.RoleOfficer, "hz"), ts.limitedToken(t, issuer.RoleOfficer, "zj")
	type answer struct {
		Results []issuer.EndorseResult
		Job     issuer.Job
	}
	var a answer
	ts.must(t, req{method: "POST", path: "/v1/endorsements", token: hzOfficer,
		body: EndorseBatchRequest{Job: "endorse:2027.csv", First: 0, Permits: []string{hz1.Number, nb.Number, "nope"}}}, 200, &a)
	if len(a.Results) != 3 || !a.Results[0].Endorsed || a.Results[1].Code != "not_found" || a.Results[2].Code != "not_found" ||
		a.Job.Done != 3 || a.Job.Endorsed != 1 || a.Job.Skipped != 2 || a.Job.Authority != "hz" {
		t.Fatalf("first batch %+v", a)
	}
	// Resent lines are skipped; the next lines go on.
	ts.must(t, req{method: "POST", path: "/v1/endorsements", token: hzOfficer,
		body: EndorseBatchRequest{Job: "endorse:2027.csv", First: 2, Permits: []string{"nope", hz2.Number}}}, 200, &a)
	if len(a.Results) != 1 || !a.Results[0].Endorsed || a.Results[0].Line != 3 || a.Job.Done != 4 {
		t.Fatalf("second batch %+v", a)
	}
	for _, tc := range []struct {
		body EndorseBatchRequest
		code int
		err  string
	}{
		{EndorseBatchRequest{Job: "endorse:2027.csv", First: 9, Permits: []string{hz1.Number}}, 400, "job_gap"},
		{EndorseBatchRequest{Job: "", Permits: []string{hz1.Number}}, 400, "bad_job"},
		{EndorseBatchRequest{Job: "j", Permits: nil}, 400, "bad_batch"},
	} {
		if w := ts.do(req{method: "POST", path: "/v1/endorsements", token: hzOfficer, body: tc.body}); w.Code != tc.code || errorCode(w) != tc.err {
			t.Errorf("%+v: %d %s", tc.body, w.Code, w.Body)
		}
	}
	// Ningbo's officers name their own list the same: refused, and nothing
	// of Hangzhou's job is shown.
	w := ts.do(req{method: "POST", path: "/v1/endorsements", token: zjOfficer,
		body: EndorseBatchRequest{Job: "endorse:2027.csv", First: 0, Permits: []string{nb.Number}}})
	if w.Code != 409 || errorCode(w) != "job_other_authority" || strings.Contains(w.Body.String(), `"done"`) {
		t.Fatalf("another authority's job: %d %s", w.Code, w.Body)
	}
	ts.must(t, req{method: "POST", path: "/v1/endorsements", token: zjOfficer,
		body: EndorseBatchRequest{Job: "endorse:2027-nb.csv", First: 0, Permits: []string{nb.Number}}}, 200, &a)
	if len(a.Results) != 1 || !a.Results[0].Endorsed {
		t.Fatalf("Ningbo's own job %+v", a)
	}
}
