package browser

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
)

func TestWalletStatus(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}})
	if err != nil {
		t.Fatal(err)
	}
	jwks := string(b)
	valid, revoked := issue(t, pub(holderKey), idxValid), issue(t, pub(holderKey), idxRevoked)
	tok := statusToken(t, issuerKey, testStatus)
	cn := time.FixedZone("CST", 8*3600)
	inWindow := time.Date(2027, 11, 1, 0, 0, 0, 0, cn)
	s := loaded(t)

	for _, tc := range []struct {
		name, cred, token, held string
		session                 *Session
		now                     time.Time
		wantCode                Code
		wantStatus              string
		wantLive, wantRefresh   bool
	}{
		{"valid", valid, tok, "", s, t0, "", "valid", true, false},
		{"revoked", revoked, tok, "", s, t0, "", "revoked", false, false},
		{"no token, nothing held", valid, "", "", s, t0, "", "unknown", true, false},
		{"no token, held superseded", valid, "", "superseded", s, t0, "", "superseded", false, true},
		{"no token, held suspended", valid, "", "suspended", s, t0, "", "suspended", true, false},
		{"in the endorsement window", valid, tok, "", s, inWindow, "", "valid", true, true},
		// A year on the list is long expired: still what the issuer said, dated.
		{"overdue, an old list", valid, tok, "", s, t0.AddDate(1, 0, 0), "", "valid", true, true},
		{"held status unknown to the contract", valid, "", "lost", s, t0, CodeBadInput, "", false, false},
		{"list of another issuer's key", valid, statusToken(t, otherKey, testStatus), "revoked", s, t0, CodeUnknownKey, "revoked", false, false},
		{"another list", valid, statusToken(t, issuerKey, otherStatus), "", s, t0, CodeInvalid, "unknown", true, false},
		{"no trust list", valid, tok, "valid", NewSession(), t0, CodeNoTrust, "valid", true, false},
		{"another device's credential", issue(t, pub(otherKey), idxValid), tok, "", s, t0, CodeNotMyKey, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.session.WalletStatus(tc.cred, jwks, pub(holderKey), tc.token, tc.held, ms(tc.now))
			if r.Code != tc.wantCode || r.OK != (tc.wantCode == "") {
				t.Fatalf("outcome %+v, want code %q", r.Outcome, tc.wantCode)
			}
			if r.Status != tc.wantStatus || r.LiveCode != tc.wantLive || r.Refresh != tc.wantRefresh {
				t.Errorf("status %q live %v refresh %v, want %q %v %v", r.Status, r.LiveCode, r.Refresh, tc.wantStatus, tc.wantLive, tc.wantRefresh)
			}
			if tc.wantStatus != "" && (r.Entry == nil || r.Entry.PermitNo != testPermit || r.URI != testStatus) {
				t.Errorf("entry %+v, uri %q", r.Entry, r.URI)
			}
			if tc.token != "" && r.OK && r.ListIssuedAt != ms(t0.Add(-10*time.Minute)) {
				t.Errorf("list issued %d", r.ListIssuedAt)
			}
		})
	}
}

func TestWalletText(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"invalid_grant", "invalid_proof", "up_to_date", "revoked", "superseded", string(CodeNotMyKey), string(CodeUntrustedIssuer)} {
		r := WalletText(code)
		if !r.OK || !strings.ContainsAny(r.ZH, "。，") || r.EN == "" || strings.ContainsAny(r.EN, "。，") {
			t.Errorf("%s: %+v", code, r)
		}
	}
	if r := WalletText("no_such_code"); r.OK || r.Code != CodeBadInput {
		t.Errorf("unknown code: %+v", r)
	}
}
