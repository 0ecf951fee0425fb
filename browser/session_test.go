package browser

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
)

func TestCheckTrust(t *testing.T) {
	t.Parallel()
	good := goodTrust(t)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[5] = map[bool]byte{true: 'B', false: 'A'}[sig[5] == 'A'] // still base64url, another signature
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	older := trustList(t, rootKey, 2, t0.Add(-2*time.Hour), trust.DefaultPolicy())
	otherRoot := trustList(t, otherKey, 3, t0.Add(-time.Hour), trust.DefaultPolicy())

	for _, tc := range []struct {
		name        string
		token, pin  string
		held        int64
		wantCode    Code
		wantVersion int64
	}{
		{"first", good, pin, 0, "", 3},
		{"same version", good, pin, 3, "", 3},
		{"newer", good, pin, 2, "", 3},
		{"white space", "\n " + good + "\r\n", pin, 0, "", 3},
		{"rollback", older, pin, 3, CodeRollback, 0},
		{"wrong pin", good, keys.Thumbprint(pub(otherKey)), 0, CodeRootMismatch, 0},
		{"other root", otherRoot, pin, 0, CodeRootMismatch, 0},
		{"tampered", tampered, pin, 0, CodeBadSignature, 0},
		{"garbage", "not a jwt", pin, 0, CodeInvalid, 0},
		{"empty", "", pin, 0, CodeBadInput, 0},
		{"empty pin", good, "", 0, CodeBadInput, 0},
		{"negative held", good, pin, -1, CodeBadInput, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			info := NewSession().CheckTrust(tc.token, tc.pin, tc.held)
			if info.Code != tc.wantCode || info.OK != (tc.wantCode == "") {
				t.Fatalf("CheckTrust: ok %v code %q (%s), want code %q", info.OK, info.Code, info.Error, tc.wantCode)
			}
			if !info.OK {
				if info.Error == "" {
					t.Error("failure without an error message")
				}
				return
			}
			if info.Version != tc.wantVersion || info.IssuedAt != ms(t0.Add(-time.Hour)) || info.ExpiresAt != ms(t0.Add(-time.Hour+7*24*time.Hour)) {
				t.Errorf("got version %d, dates %d %d", info.Version, info.IssuedAt, info.ExpiresAt)
			}
			if len(info.Issuers) != 1 || info.Issuers[0].ID != testIss || info.Issuers[0].NameZH != "杭州市公安局" ||
				info.Issuers[0].Region != "330100" || !slices.Equal(info.Issuers[0].StatusLists, []string{testStatus}) {
				t.Errorf("issuers %+v", info.Issuers)
			}
		})
	}
}

func TestCheckTrustSameVersionOtherContent(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	reissued := trustList(t, rootKey, 3, t0.Add(-30*time.Minute), trust.DefaultPolicy())
	if info := s.CheckTrust(reissued, pin, 3); info.Code != CodeRollback {
		t.Fatalf("version 3 with other content against the loaded version 3: %+v", info.Outcome)
	}
	// Without the held list at hand only the version can be compared.
	if info := NewSession().CheckTrust(reissued, pin, 3); !info.OK {
		t.Fatalf("fresh session: %+v", info.Outcome)
	}
	// CheckTrust never changes the loaded trust.
	if l := s.list(); l == nil || !l.IssuedAt.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("loaded list changed: %+v", l)
	}
}

func TestLoadTrust(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	now := ms(t0.Add(5 * time.Second))
	live := s.Present(deviceKey(t, holderKey, pub(holderKey)), issue(t, pub(holderKey), idxValid), "", "", "", now)
	if !live.OK {
		t.Fatal(live.Outcome)
	}
	if r := s.Verify(live.Text, "", now); !r.Valid || r.Status != "valid" {
		t.Fatalf("before reload: %+v", r)
	}

	// An older list is refused and the loaded one kept.
	older := trustList(t, rootKey, 2, t0.Add(-2*time.Hour), trust.DefaultPolicy())
	if info := s.LoadTrust(older, pin, now); info.Code != CodeRollback {
		t.Fatalf("older list: %+v", info.Outcome)
	}
	if r := s.Verify(live.Text, "", now); !r.Valid {
		t.Fatalf("after refused reload: %+v", r.Reasons)
	}
	// A bad one leaves the loaded one too.
	if info := s.LoadTrust(goodTrust(t), keys.Thumbprint(pub(otherKey)), now); info.Code != CodeRootMismatch {
		t.Fatalf("wrong pin: %+v", info.Outcome)
	}

	// A newer list replaces it and drops the status lists.
	newer := trustList(t, rootKey, 4, t0.Add(-time.Minute), trust.DefaultPolicy())
	if info := s.LoadTrust(newer, pin, now); !info.OK || info.Version != 4 {
		t.Fatalf("newer list: %+v", info)
	}
	r := s.Verify(live.Text, "", now)
	if r.Valid || !hasCode(r.Reasons, "status_list_missing") || r.Status != "" {
		t.Fatalf("after reload: valid %v status %q reasons %+v", r.Valid, r.Status, r.Reasons)
	}
}

func TestAddStatusList(t *testing.T) {
	t.Parallel()
	good := statusToken(t, issuerKey, testStatus)
	for _, tc := range []struct {
		name     string
		noTrust  bool
		token    string
		wantCode Code
	}{
		{"ok", false, good, ""},
		{"white space", false, " " + good + "\n", ""},
		{"no trust", true, good, CodeNoTrust},
		{"other signer", false, statusToken(t, otherKey, testStatus), CodeUnknownKey},
		{"not listed", false, statusToken(t, issuerKey, otherStatus), CodeInvalid},
		{"forged", false, good[:len(good)-4] + "AAAA", CodeBadSignature},
		{"garbage", false, "a.b.c", CodeInvalid},
		{"empty", false, "  ", CodeBadInput},
		{"trust list instead", false, goodTrust(t), CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewSession()
			if !tc.noTrust {
				s.LoadTrust(goodTrust(t), pin, ms(t0))
			}
			info := s.AddStatusList(tc.token, ms(t0))
			if info.Code != tc.wantCode || info.OK != (tc.wantCode == "") {
				t.Fatalf("ok %v code %q (%s), want %q", info.OK, info.Code, info.Error, tc.wantCode)
			}
			if info.OK && (info.URI != testStatus || info.IssuedAt != ms(t0.Add(-10*time.Minute)) || info.ExpiresAt != ms(t0.Add(24*time.Hour))) {
				t.Errorf("got %+v", info)
			}
		})
	}
}

func hasCode(rs []Reason, code string) bool {
	return slices.ContainsFunc(rs, func(r Reason) bool { return r.Code == code })
}

func TestVerify(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	holder := deviceKey(t, holderKey, pub(holderKey))
	now := t0.Add(5 * time.Second)
	show := func(idx int, purpose string) string {
		r := s.Present(holder, issue(t, pub(holderKey), idx), purpose, "", "", ms(now.Add(-3*time.Second)))
		if !r.OK {
			t.Fatal(r.Outcome)
		}
		return r.Text
	}
	valid, police, revoked := show(idxValid, ""), show(idxValid, trust.PurposePoliceCheck), show(idxRevoked, "")
	packed, err := qr.Pack(police)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, text, purpose string
		session             *Session
		wantValid           bool
		wantCode            string // a reason that must be there
		wantStatus          string
		wantDisclosed       []string
	}{
		{"valid", valid, "", s, true, "", "valid", []string{}},
		{"packed with scanner CR", packed + "\r\n", trust.PurposePoliceCheck, s, true, "", "valid", []string{"idn"}},
		{"lower-case prefix", strings.ToLower(packed[:4]) + packed[4:], trust.PurposePoliceCheck, s, true, "", "valid", []string{"idn"}},
		{"revoked", revoked, "", s, false, "revoked", "revoked", []string{}},
		{"not disclosed", valid, trust.PurposePoliceCheck, s, false, "claims_not_disclosed", "valid", []string{}},
		{"purpose refused", police, trust.PurposeIdentityCard, s, false, "purpose_refused", "valid", []string{"idn"}},
		{"unknown purpose", valid, "shopping", s, false, "purpose_unknown", "valid", []string{}},
		{"garbage", "hello world", "", s, false, "malformed", "", nil},
		{"bad packing", "ep1:012x", "", s, false, "malformed", "", nil},
		{"blank", " \n", "", s, false, "malformed", "", nil},
		{"too large", strings.Repeat("A", 40000), "", s, false, "too_large", "", nil},
		{"no trust", valid, "", NewSession(), false, "trust_missing", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.session.Verify(tc.text, tc.purpose, ms(now))
			if r.Valid != tc.wantValid || (tc.wantCode != "" && !hasCode(r.Reasons, tc.wantCode)) || r.Status != tc.wantStatus {
				t.Fatalf("valid %v status %q reasons %+v; want valid %v status %q reason %q", r.Valid, r.Status, r.Reasons, tc.wantValid, tc.wantStatus, tc.wantCode)
			}
			for _, x := range append(r.Reasons, r.Warnings...) {
				if x.ZH == "" || x.EN == "" {
					t.Errorf("reason %q without its messages", x.Code)
				}
			}
			if tc.wantDisclosed == nil {
				if r.Claims != nil && tc.wantCode != "trust_missing" {
					t.Errorf("claims %v", r.Claims)
				}
				return
			}
			if got := r.Claims["disclosed"].([]string); !slices.Equal(got, tc.wantDisclosed) {
				t.Errorf("disclosed %v, want %v", got, tc.wantDisclosed)
			}
			if r.Claims["name"] != "李明" || r.Claims["permit_no"] != testPermit || r.Claims["issued_at"] != ms(t0) {
				t.Errorf("claims %v", r.Claims)
			}
			if !r.HolderBound || !r.Fresh || r.Issuer.ID != testIss || r.TrustAgeSec != 3605 || r.StatusAge != 65 {
				t.Errorf("bound %v fresh %v issuer %+v ages %d %d", r.HolderBound, r.Fresh, r.Issuer, r.TrustAgeSec, r.StatusAge)
			}
		})
	}

	// The detail of bad packing is the unpacking error, not the parser's.
	r := s.Verify("ep1:012x", "", ms(now))
	if !strings.Contains(r.Reasons[0].Detail, "non-digit") {
		t.Errorf("detail %q", r.Reasons[0].Detail)
	}
}

// TestVerifyJSON pins the JSON names of the contract.
func TestVerifyJSON(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	live := s.Present(deviceKey(t, holderKey, pub(holderKey)), issue(t, pub(holderKey), idxValid), trust.PurposePublicService, "", "", ms(t0))
	b, err := json.Marshal(s.Verify(live.Text, trust.PurposePublicService, ms(t0.Add(time.Second))))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, "result", m, "valid", "purpose", "reasons", "warnings", "claims", "issuer", "holder_bound", "fresh", "status", "trust_age_s", "status_age_s")
	checkKeys(t, "issuer", m["issuer"].(map[string]any), "iss", "name_zh", "name_en")
	claims := m["claims"].(map[string]any)
	checkKeys(t, "claims", claims, "name", "masked_id", "region", "permit_no", "expires", "issued_at", "disclosed",
		"residence_address", "household_address", "household_division", "residence_since", "basis", "issue_date")
	if claims["expires"].(float64) != float64(time.Date(2027, 11, 27, 0, 0, 0, 0, time.FixedZone("", 8*3600)).UnixMilli()) {
		t.Errorf("expires %v", claims["expires"])
	}

	b, _ = json.Marshal(s.Verify("x", "", ms(t0)))
	m = map[string]any{}
	_ = json.Unmarshal(b, &m)
	reason := m["reasons"].([]any)[0].(map[string]any)
	checkKeys(t, "reason", reason, "code", "zh", "en", "detail")
	if m["claims"] != nil || m["warnings"] == nil {
		t.Errorf("claims %v warnings %v", m["claims"], m["warnings"])
	}
}

func checkKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys %v, want %v", what, got, want)
	}
}

func TestPurposes(t *testing.T) {
	t.Parallel()
	s := NewSession()
	def := s.Purposes()
	if len(def) != 6 {
		t.Fatalf("%d purposes", len(def))
	}
	byID := map[string]PurposeInfo{}
	for _, p := range def {
		byID[p.ID] = p
	}
	if p := byID[trust.PurposeIdentityCard]; p.Allowed || p.Refusal == nil || p.Refusal.EN == "" {
		t.Errorf("identity-card %+v", p)
	}
	if p := byID[trust.PurposeResidenceProof]; !p.Allowed || p.Refusal != nil || p.HolderBinding || len(p.Required) != 0 || len(p.Fields.EN) != 4 || len(p.Fields.ZH) != 4 {
		t.Errorf("residence-proof %+v", p)
	}
	if p := byID[trust.PurposePublicService]; !p.HolderBinding || !slices.Equal(p.Required, []string{"res"}) ||
		!slices.Contains(p.Fields.EN, "residence address") || slices.Contains(p.Fields.EN, "citizen ID number") || len(p.Fields.ZH) != len(p.Fields.EN) {
		t.Errorf("public-service %+v", p)
	}
	if p := byID[trust.PurposePoliceCheck]; !slices.Contains(p.Fields.ZH, "公民身份号码") || p.Title.EN != "police check" {
		t.Errorf("police-check %+v", p)
	}
	b, _ := json.Marshal(def[0])
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	checkKeys(t, "purpose", m, "id", "allowed", "holderBinding", "required", "refusal", "title", "fields")
	if m["refusal"] != nil || m["required"] == nil {
		t.Errorf("residence-proof JSON %s", b)
	}

	// A loaded trust list's policy replaces the default.
	p := trust.DefaultPolicy()
	p.Purposes = append(p.Purposes[:1:1], trust.Purpose{ID: "library", Allowed: true, Required: []string{"res", "xyz"}, Title: trust.Text{ZH: "图书馆", EN: "library"}})
	if info := s.LoadTrust(trustList(t, rootKey, 5, t0, p), pin, ms(t0)); !info.OK {
		t.Fatal(info.Outcome)
	}
	got := s.Purposes()
	if len(got) != 2 || got[1].ID != "library" || !slices.Contains(got[1].Fields.EN, `claim group "xyz"`) || len(got[1].Fields.ZH) != len(got[1].Fields.EN) {
		t.Errorf("loaded policy: %+v", got)
	}
}
