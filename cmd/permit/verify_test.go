package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// verdict is one JSON verdict of verify --json.
type verdict struct {
	Valid    bool     `json:"valid"`
	Purpose  string   `json:"purpose"`
	Reasons  []reason `json:"reasons"`
	Warnings []reason `json:"warnings"`
	Claims   map[string]any
	Status   string `json:"status"`
	Holder   bool   `json:"holder_bound"`
	Fresh    bool   `json:"fresh"`
	Issuer   struct {
		ID     string `json:"iss"`
		NameZH string `json:"name_zh"`
		NameEN string `json:"name_en"`
	} `json:"issuer"`
}

type reason struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageZH string `json:"message_zh"`
	Detail    string `json:"detail"`
}

func codes(rs []reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	slices.Sort(out)
	return out
}

// decodeVerdicts decodes verify --json output: one object per line.
func decodeVerdicts(t *testing.T, stdout string) []verdict {
	t.Helper()
	var out []verdict
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var v verdict
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("verdict line is not JSON: %v: %.200q", err, line)
		}
		out = append(out, v)
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	type trustKind int
	const (
		trustList trustKind = iota // the signed trust list, with --pin
		trustJWKS                  // the issuer's JWKS file
	)
	tests := []struct {
		name string
		// statuses are set in turn on the permit's entry before the
		// verifier syncs the status list (at syncedAt).
		statuses []string
		syncedAt time.Duration
		trust    trustKind
		noStatus bool
		// The wallet shows for showPurpose with showArgs at shownAt; the
		// verifier checks for purpose ("" = showPurpose) at verifiedAt.
		showPurpose          string
		showArgs, verifyArgs []string
		shownAt, verifiedAt  time.Duration
		mangle               func(string) string
		purpose              string

		wantCode     int
		wantReasons  []string // exactly these codes, any order
		wantWarnings []string // at least these
		wantStatus   string
		wantText     string // in the text verdict
	}{
		{name: "valid", wantStatus: "valid", wantText: `permit 33010626`},
		{name: "valid with issuer JWKS as trust", trust: trustJWKS, wantStatus: "valid", wantText: "VALID 有效"},
		{name: "valid 60s after it was shown", verifiedAt: 60 * time.Second, wantStatus: "valid"},
		{name: "reinstated after suspension", statuses: []string{"suspended", "valid"}, wantStatus: "valid"},
		{name: "public service", showPurpose: "public-service", wantStatus: "valid", wantText: "purpose=public-service"},
		{name: "police check with challenge", showPurpose: "police-check",
			showArgs: []string{"--aud", "hz-police-07", "--nonce", "Zq0d7mX2"}, verifyArgs: []string{"--aud", "hz-police-07", "--nonce", "Zq0d7mX2"},
			wantStatus: "valid"},

		{name: "revoked", statuses: []string{"revoked"}, wantCode: 1, wantReasons: []string{"revoked"}, wantStatus: "revoked",
			wantText: "✗ revoked: 居住证已被注销 / the permit has been revoked"},
		{name: "suspended", statuses: []string{"suspended"}, wantCode: 1, wantReasons: []string{"suspended"}, wantStatus: "suspended",
			wantText: "✗ suspended: 居住证已暂停使用 / the permit is suspended"},
		{name: "revoked, issuer JWKS as trust", statuses: []string{"revoked"}, trust: trustJWKS, wantCode: 1,
			wantReasons: []string{"revoked"}, wantStatus: "revoked"},
		{name: "no status list", noStatus: true, wantCode: 1, wantReasons: []string{"status_list_missing"}, wantStatus: "unknown"},
		{name: "no status list, issuer JWKS as trust", noStatus: true, trust: trustJWKS, wantCode: 1,
			wantReasons: []string{"status_list_missing"}, wantStatus: "unknown"},
		{name: "credit loan", purpose: "credit-loan", wantCode: 1, wantReasons: []string{"purpose_refused"},
			wantText: "✗ purpose_refused: 居住证不能用于办理信用贷款 / a residence permit cannot be used for credit loans"},
		{name: "identity card", purpose: "identity-card", wantCode: 1, wantReasons: []string{"purpose_refused"},
			wantText: "✗ purpose_refused: 居住证不是身份证，不能代替身份证使用 / a residence permit is not an identity card"},
		{name: "unknown purpose", purpose: "tax-refund", wantCode: 1, wantReasons: []string{"purpose_unknown"}},
		{name: "police check needs the ID shown", purpose: "police-check", wantCode: 1, wantReasons: []string{"claims_not_disclosed"}},
		{name: "stale: verified 2 minutes later", verifiedAt: 2 * time.Minute, wantCode: 1, wantReasons: []string{"presentation_stale"},
			wantText: "a screenshot goes stale"},
		{name: "from the future", shownAt: 2 * time.Minute, wantCode: 1, wantReasons: []string{"presentation_from_future"}},
		{name: "wrong challenge nonce", showPurpose: "police-check",
			showArgs: []string{"--aud", "hz-police-07", "--nonce", "Zq0d7mX2"}, verifyArgs: []string{"--aud", "hz-police-07", "--nonce", "other"},
			wantCode: 1, wantReasons: []string{"wrong_nonce"}},
		{name: "addressed to another verifier", showArgs: []string{"--aud", "bank-12"}, verifyArgs: []string{"--aud", "hz-police-07"},
			wantCode: 1, wantReasons: []string{"wrong_audience"}},
		{name: "issuer signature altered", mangle: func(s string) string {
			i := strings.IndexByte(s, '~') - 2 // inside the issuer JWT's signature
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			return s[:i] + string(c) + s[i+1:]
		}, wantCode: 1, wantReasons: []string{"bad_signature"}},
		{name: "status list synced 25 h ago", shownAt: 25 * time.Hour, verifiedAt: 25 * time.Hour, wantCode: 1,
			wantReasons: []string{"status_list_stale"}, wantWarnings: []string{"trust_data_old"}},
		{name: "trust list expired past its grace", shownAt: 38 * 24 * time.Hour, verifiedAt: 38 * 24 * time.Hour, syncedAt: 38 * 24 * time.Hour,
			wantCode: 1, wantReasons: []string{"status_list_stale", "trust_list_expired"}},
		{name: "endorsement overdue", trust: trustJWKS, noStatus: true, shownAt: 366 * 24 * time.Hour, verifiedAt: 366 * 24 * time.Hour,
			wantCode: 1, wantReasons: []string{"endorsement_overdue", "status_list_missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status := copyFile(t, f.status, t.TempDir())
			for _, v := range tt.statuses {
				o := must(t, t0, "status", "set", "--token", status, "--key", f.issuerKey, "--idx", testIdx, "--value", v)
				if want := fmt.Sprintf("%s[%s] = %s\n", testStatus, testIdx, v); o.stdout != want {
					t.Fatalf("status set: stdout %q, want %q", o.stdout, want)
				}
			}
			synced(t, t0.Add(tt.syncedAt), status)
			showPurpose := tt.showPurpose
			if showPurpose == "" {
				showPurpose = "residence-proof"
			}
			o := must(t, t0.Add(tt.shownAt), append([]string{"wallet", "show", "--dir", f.wallet, "--purpose", showPurpose}, tt.showArgs...)...)
			text := strings.TrimSpace(o.stdout)
			if tt.mangle != nil {
				text = tt.mangle(text)
			}
			args := []string{"verify", "--trust", f.trust, "--pin", f.pin}
			if tt.trust == trustJWKS {
				args = []string{"verify", "--trust", f.issuerSet}
			}
			if !tt.noStatus {
				args = append(args, "--status", status)
			}
			purpose := tt.purpose
			if purpose == "" {
				purpose = showPurpose
			}
			args = append(append(args, "--purpose", purpose), tt.verifyArgs...)
			now := t0.Add(tt.verifiedAt)

			// The text verdict, for the person at the counter.
			o = cli(now, "", append(args, text)...)
			if o.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v", o.code, tt.wantCode, o)
			}
			head := "VALID 有效"
			if tt.wantCode != 0 {
				head = "REFUSED 拒绝"
			}
			if !strings.HasPrefix(strings.TrimSpace(o.stdout), head) || !strings.Contains(o.stdout, tt.wantText) {
				t.Errorf("text verdict does not start %q or lacks %q: %v", head, tt.wantText, o)
			}
			for _, c := range tt.wantReasons {
				if !strings.Contains(o.stdout, "\n  ✗ "+c+": ") {
					t.Errorf("text verdict lacks reason %s: %v", c, o)
				}
			}
			if o.stderr != "" {
				t.Errorf("verify wrote to stderr: %q", o.stderr)
			}

			// The JSON verdict, for scripts.
			o = cli(now, "", append(append(args, "--json"), text)...)
			if o.code != tt.wantCode {
				t.Fatalf("--json: exit %d, want %d: %v", o.code, tt.wantCode, o)
			}
			vs := decodeVerdicts(t, o.stdout)
			if len(vs) != 1 {
				t.Fatalf("--json printed %d verdicts, want 1: %v", len(vs), o)
			}
			v := vs[0]
			want := slices.Clone(tt.wantReasons)
			slices.Sort(want)
			if got := codes(v.Reasons); v.Valid != (tt.wantCode == 0) || !slices.Equal(got, want) {
				t.Errorf("valid %t, reasons %q; want %t, %q", v.Valid, got, tt.wantCode == 0, want)
			}
			for _, w := range tt.wantWarnings {
				if !slices.Contains(codes(v.Warnings), w) {
					t.Errorf("warnings %q lack %s", codes(v.Warnings), w)
				}
			}
			if tt.wantStatus != "" && v.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", v.Status, tt.wantStatus)
			}
			if v.Purpose != purpose {
				t.Errorf("purpose %q, want %q", v.Purpose, purpose)
			}
			for _, r := range v.Reasons {
				if r.Message == "" || r.MessageZH == "" {
					t.Errorf("reason %s has no message in both languages: %+v", r.Code, r)
				}
			}
		})
	}
}

// TestVerifyJSON pins the fields of a JSON verdict that scripts read.
func TestVerifyJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	text := f.show(t, t0, "residence-proof")
	o := cli(t0, "", f.verifyArgs("residence-proof", "--json", text)...)
	if o.code != 0 || strings.Count(o.stdout, "\n") != 1 {
		t.Fatalf("want exit 0 and one line: %v", o)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"valid", "purpose", "reasons", "warnings", "claims", "status", "holder_bound", "fresh", "issuer"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON verdict lacks %q: %s", k, o.stdout)
		}
	}
	for _, k := range []string{"reasons", "warnings"} {
		if string(raw[k]) != "[]" {
			t.Errorf("%s = %s, want [] (never null)", k, raw[k])
		}
	}
	v := decodeVerdicts(t, o.stdout)[0]
	if !v.Valid || v.Status != "valid" || !v.Holder || !v.Fresh || v.Purpose != "residence-proof" {
		t.Errorf("verdict %+v, want valid, status valid, holder-bound, fresh", v)
	}
	if v.Issuer.ID != testIss || v.Issuer.NameEN != "Hangzhou Public Security Bureau" || v.Issuer.NameZH != "杭州市公安局" {
		t.Errorf("issuer %+v", v.Issuer)
	}
	wantClaims := map[string]any{
		"name": "李明", "masked_id": "110105********0517", "region": "330106", "permit_no": f.permitNo,
		"issued_at": "2026-11-27T10:00:00+08:00", "valid_until": "2027-11-27T00:00:00+08:00",
	}
	for k, want := range wantClaims {
		if v.Claims[k] != want {
			t.Errorf("claims[%s] = %v, want %v", k, v.Claims[k], want)
		}
	}
	// Residence proof discloses nothing selectively: no full ID number.
	if _, ok := v.Claims["citizen_id"]; ok || strings.Contains(o.stdout, "110105199208140517") {
		t.Errorf("residence-proof verdict reveals the citizen ID: %s", o.stdout)
	}
}

// TestVerifyLoadErrors covers trust data the verifier cannot use: it fails
// as a configuration error (exit 2, never the 1 of a refused permit) with a
// message and no verdict.
func TestVerifyLoadErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A second issuer's status list for the same URI, not in the trust list.
	other := filepath.Join(f.dir, "other")
	must(t, t0, "keys", "new", "--out", other)
	otherStatus := filepath.Join(other, "status.jwt")
	must(t, t0, "status", "new", "--uri", testStatus, "--key", filepath.Join(other, "issuer.key"), "--out", otherStatus, "--size", "16")
	// The issuer's status list at a URI the trust list does not name.
	unnamed := filepath.Join(f.dir, "unnamed.jwt")
	must(t, t0, "status", "new", "--uri", testIss+"/status/9", "--key", f.issuerKey, "--out", unnamed, "--size", "16")
	text := f.show(t, t0, "residence-proof")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"wrong pin", []string{"--trust", f.trust, "--pin", strings.Repeat("A", 43), "--status", f.status},
			"permit: configuration error: verifier: trust: jws: unknown signing key: trust list not signed by the pinned root key (is --pin the root key thumbprint"},
		{"missing trust file", []string{"--trust", filepath.Join(f.dir, "nope.jwt"), "--pin", f.pin}, "no such file"},
		{"missing status file", []string{"--trust", f.trust, "--pin", f.pin, "--status", filepath.Join(f.dir, "nope.jwt")}, "no such file"},
		{"status list of an untrusted issuer", []string{"--trust", f.trust, "--pin", f.pin, "--status", otherStatus}, "status list"},
		{"status list the trust list does not name", []string{"--trust", f.trust, "--pin", f.pin, "--status", unnamed}, "is not one the trust list names"},
		{"credential as trust", []string{"--trust", f.credential, "--pin", f.pin}, "permit: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := cli(t0, "", append(append([]string{"verify"}, tt.args...), text)...)
			if o.code != 2 || o.stdout != "" || !strings.Contains(o.stderr, tt.wantStderr) {
				t.Fatalf("want exit 2, no verdict, stderr ~ %q; got %v", tt.wantStderr, o)
			}
		})
	}
}
