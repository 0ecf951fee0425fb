package server

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/permit"
)

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	adult := func(n int) map[string]any { return person(t, n) }
	withPhotoForm := adult(1)
	delete(withPhotoForm, "photo_sha256")
	photo := testPNG(t, 64, 80)
	huge := testPNG(t, 600, 600) // noise-free but large: pad it past the cap below
	huge = append(huge, bytes.Repeat([]byte{0}, MaxPhoto)...)

	tests := []struct {
		name  string
		body  any
		ctype string
		code  int
		err   string
		check func(t *testing.T, body []byte)
	}{
		{name: "eligible", body: map[string]any{"application": adult(0)}, code: 201, check: func(t *testing.T, b []byte) {
			var a ApplicationResponse
			json.Unmarshal(b, &a)
			if a.State != issuer.AppPending || !a.Eligible || !strings.HasPrefix(a.Secret, "eps_") || a.Authority != testBase+"/hz" || a.MaskedID != "110105********0009" && !strings.Contains(a.MaskedID, "****") {
				t.Errorf("answer %+v", a)
			}
		}},
		{name: "ineligible lists every unmet condition", body: map[string]any{"application": readTestdata(t, "invalid-short-residence.json")}, code: 201, check: func(t *testing.T, b []byte) {
			var a ApplicationResponse
			json.Unmarshal(b, &a)
			if a.State != issuer.AppIneligible || a.Eligible || len(a.Unmet) == 0 || a.Unmet[0].Article == "" || a.Unmet[0].ZH == "" || a.Unmet[0].EN == "" {
				t.Errorf("answer %s", b)
			}
		}},
		{name: "guardian applies for a minor", body: map[string]any{"application": readTestdata(t, "application-minor-guardian.json")}, code: 201, check: func(t *testing.T, b []byte) {
			var a ApplicationResponse
			json.Unmarshal(b, &a)
			if a.State != issuer.AppPending || a.Authority != testBase+"/zj" {
				t.Errorf("answer %s", b)
			}
		}},
		{name: "with photo", body: map[string]any{"application": withPhotoForm, "photo": photo}, code: 201},
		{name: "invalid fields", body: map[string]any{"application": readTestdata(t, "invalid-id-checksum.json")}, code: 400, err: "invalid_application",
			check: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"problems"`)) || !bytes.Contains(b, []byte("citizen_id")) {
					t.Errorf("no problems listed: %s", b)
				}
			}},
		{name: "unknown top-level field", body: map[string]any{"application": adult(2), "admin": true}, code: 400, err: "malformed_body"},
		{name: "unknown form field", body: map[string]any{"application": merge(adult(3), map[string]any{"salary": 1})}, code: 400, err: "invalid_application"},
		{name: "every problem at once", body: map[string]any{"application": merge(adult(8), map[string]any{"salary": 1, "birth_date": "1992-02-30", "residence_since": 2024})}, code: 400, err: "invalid_application", check: func(t *testing.T, b []byte) {
			for _, want := range []string{`"salary"`, `"unknown_field"`, `"invalid_date"`, `"wrong_type"`} {
				if !bytes.Contains(b, []byte(want)) {
					t.Errorf("the answer lacks %s: %s", want, b)
				}
			}
		}},
		{name: "missing application", body: map[string]any{}, code: 400, err: "malformed_body"},
		{name: "malformed json", body: `{"application": {`, code: 400, err: "malformed_body"},
		{name: "trailing data", body: `{"application": {}} {}`, code: 400, err: "malformed_body"},
		{name: "not json", body: "name=x", ctype: "application/x-www-form-urlencoded", code: 415},
		{name: "photo digest mismatch", body: map[string]any{"application": merge(adult(4), map[string]any{"photo_sha256": "26R18dLLlQ4fTX0vcV_ICLeaMYfhJuLsLveq0gQgqVM"}), "photo": photo}, code: 400, err: "photo_digest_mismatch"},
		{name: "photo digest without a photo", body: map[string]any{"application": merge(adult(7), map[string]any{"photo_sha256": "26R18dLLlQ4fTX0vcV_ICLeaMYfhJuLsLveq0gQgqVM"})}, code: 400, err: "photo_digest_without_photo"},
		{name: "photo not an image", body: map[string]any{"application": withPhotoForm, "photo": []byte("GIF89a this is not it")}, code: 400, err: "photo_not_image"},
		{name: "photo truncated", body: map[string]any{"application": withPhotoForm, "photo": photo[:len(photo)/2]}, code: 400, err: "photo_not_image"},
		{name: "photo over 200 KB", body: map[string]any{"application": withPhotoForm, "photo": huge}, code: 413, err: "photo_too_large"},
		{name: "body over the cap", body: map[string]any{"application": adult(5), "photo": bytes.Repeat([]byte{1}, 600<<10)}, code: 413},
		{name: "no authority for the division", body: map[string]any{"application": merge(adult(6), map[string]any{"residence_division": "320106", "residence_address": "江苏省南京市示例路 1 号"})}, code: 422, err: "no_authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := ts.do(req{method: "POST", path: "/v1/applications", body: tc.body, ctype: tc.ctype})
			if w.Code != tc.code || (tc.err != "" && errorCode(w) != tc.err) {
				t.Fatalf("status %d %q, want %d %q: %s", w.Code, errorCode(w), tc.code, tc.err, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"request_id"`) {
				t.Errorf("error without request id: %s", w.Body)
			}
			if tc.check != nil {
				tc.check(t, w.Body.Bytes())
			}
		})
	}
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// TestDuplicates: a submission reveals nothing about other records to an
// anonymous caller (the answer to a made-up form for a known citizen ID is
// the answer to any form); officers see the duplicate flagged, and the real
// applicant is not locked out.
func TestDuplicates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	officer := ts.tokens[issuer.RoleOfficer]
	first := ts.apply(t, person(t, 10))
	p := ts.approve(t, first.ID)
	// A made-up form for the same citizen ID: the same answer as any.
	fake := merge(person(t, 10), map[string]any{"name": "冒名者", "residence_address": "浙江省杭州市西湖区别处 1 号"})
	var a, b ApplicationResponse
	wa := ts.must(t, req{method: "POST", path: "/v1/applications", body: map[string]any{"application": fake}}, 201, &a)
	wb := ts.must(t, req{method: "POST", path: "/v1/applications", body: map[string]any{"application": person(t, 11)}}, 201, &b)
	if strings.Contains(wa.Body.String(), p.Number) || a.State != b.State || a.Eligible != b.Eligible || len(wa.Body.String()) != len(wb.Body.String()) {
		t.Fatalf("the answer differs for a known person:\n%s\n%s", wa.Body, wb.Body)
	}
	// The officer sees who it is about.
	var v issuer.ApplicationView
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: officer}, 200, &v)
	if len(v.Flags) != 1 || v.Flags[0].Code != "holds_permit" || v.Flags[0].PermitNo != p.Number || v.Flags[0].ZH == "" {
		t.Fatalf("flags %+v", v.Flags)
	}
	if w := ts.do(req{method: "POST", path: "/v1/applications/" + a.ID + "/approve", token: officer}); w.Code != 409 || errorCode(w) != "duplicate_permit" {
		t.Fatalf("approving the duplicate: %d %s", w.Code, w.Body)
	}
	ts.must(t, req{method: "POST", path: "/v1/applications/" + a.ID + "/reject", token: officer, body: ReasonsRequest{Reasons: []string{"identity not confirmed"}}}, 200, nil)
	// Another city of the province is another permit.
	other := merge(person(t, 10), map[string]any{"residence_division": "330212", "residence_address": "浙江省宁波市鄞州区示例路 1 号"})
	ts.approve(t, ts.apply(t, other).ID)
	// Once revoked, the person may apply again in the first city, and be approved.
	ts.must(t, req{method: "POST", path: "/v1/permits/" + p.Number + "/revoke", token: ts.tokens[issuer.RoleRevoker], body: ReasonRequest{Reason: "moved away"}}, 200, nil)
	ts.approve(t, ts.apply(t, person(t, 10)).ID)
}

func TestApplicationStatus(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a := ts.apply(t, person(t, 1))
	var got ApplicationResponse
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: a.Secret}, 200, &got)
	if got.State != issuer.AppPending || got.Secret != "" || got.ID != a.ID {
		t.Fatalf("got %+v", got)
	}
	for _, tc := range []struct {
		name, path, token string
		code              int
	}{
		{"no secret", "/v1/applications/" + a.ID, "", 401},
		{"wrong secret", "/v1/applications/" + a.ID, "eps_wrong", 404},
		{"an unknown official's token", "/v1/applications/" + a.ID, "ept_unknown", 401},
		{"unknown id", "/v1/applications/nope", a.Secret, 404},
	} {
		if w := ts.do(req{method: "GET", path: tc.path, token: tc.token}); w.Code != tc.code {
			t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.code, w.Body)
		}
	}
	// An officer reads the application with its particulars.
	var v issuer.ApplicationView
	w := ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: ts.tokens[issuer.RoleOfficer]}, 200, &v)
	if v.Particulars == nil || v.Particulars.Name != "李明" || v.SecretHash != "" {
		t.Fatalf("officer's view %+v", v)
	}
	// No storage details: the secret's hash, the data key's number.
	for _, field := range []string{`"secret_hash"`, `"data_key"`, `"person_key"`, `"form"`} {
		if strings.Contains(w.Body.String(), field) {
			t.Errorf("officer's view has %s: %s", field, w.Body)
		}
	}
	p := ts.approve(t, a.ID)
	ts.must(t, req{method: "GET", path: "/v1/applications/" + a.ID, token: a.Secret}, 200, &got)
	if got.State != issuer.AppApproved || got.PermitNo != p.Number {
		t.Fatalf("after approval %+v", got)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 0.001, 3 })
	codes := map[int]int{}
	for range 6 {
		w := ts.do(req{method: "GET", path: "/v1/applications/x", token: "eps_x"})
		codes[w.Code]++
		if w.Code == http.StatusTooManyRequests && (w.Header().Get("Retry-After") == "" || errorCode(w) != "rate_limited") {
			t.Errorf("429 without Retry-After or code: %v %s", w.Header(), w.Body)
		}
	}
	if codes[404] != 3 || codes[429] != 3 {
		t.Fatalf("codes %v, want 3 answers then 3 refusals", codes)
	}
	// X-Forwarded-For does not give a client a fresh allowance.
	w := ts.do(req{method: "GET", path: "/v1/applications/x", token: "eps_x", header: map[string]string{"X-Forwarded-For": "203.0.113.9"}})
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("spoofed address: %d", w.Code)
	}
	// Officials' and public routes are not limited.
	ts.must(t, req{method: "GET", path: "/trust-list"}, 200, nil)
}

var _ = permit.MaskID
