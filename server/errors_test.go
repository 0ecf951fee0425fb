package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestResidentErrorsBilingual: every error a resident can meet on the
// residents' routes says what went wrong in Chinese and in English, also
// those made by the framework (unknown path, method, body cap) and the
// middleware (rate limit).
func TestResidentErrorsBilingual(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 0.001, 12 })
	for _, tc := range []struct {
		name string
		r    req
		code int
		err  string
	}{
		{"malformed JSON", req{method: "POST", path: "/v1/applications", body: `{"application": {`}, 400, "malformed_body"},
		{"data after the object", req{method: "POST", path: "/v1/applications", body: `{"application": {}} {}`}, 400, "malformed_body"},
		{"unknown member", req{method: "POST", path: "/v1/applications", body: `{"application": {}, "x": 1}`}, 400, "malformed_body"},
		{"missing application", req{method: "POST", path: "/v1/applications", body: `{}`}, 400, "malformed_body"},
		{"not JSON", req{method: "POST", path: "/v1/applications", body: "name=x", ctype: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"body over the cap", req{method: "POST", path: "/v1/applications", body: bytes.Repeat([]byte("x"), 600<<10)}, 413, "request_entity_too_large"},
		{"no secret", req{method: "GET", path: "/v1/applications/x"}, 401, "unauthorized"},
		{"unknown path", req{method: "GET", path: "/v1/nothing-here"}, 404, "not_found"},
		{"method not allowed", req{method: "PUT", path: "/v1/applications"}, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ts.do(tc.r)
			checkBilingual(t, w.Code, w.Body.Bytes(), tc.code, tc.err)
		})
	}
	var w *struct {
		code int
		body []byte
	}
	for range 20 {
		r := ts.do(req{method: "GET", path: "/v1/applications/x", token: "eps_x"})
		if r.Code == http.StatusTooManyRequests {
			w = &struct {
				code int
				body []byte
			}{r.Code, r.Body.Bytes()}
			break
		}
	}
	if w == nil {
		t.Fatal("never rate-limited")
	}
	checkBilingual(t, w.code, w.body, http.StatusTooManyRequests, "rate_limited")
}

func checkBilingual(t *testing.T, code int, body []byte, wantCode int, wantErr string) {
	t.Helper()
	var e Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	if code != wantCode || e.Code != wantErr || e.Message == "" || e.MessageZH == "" || e.RequestID == "" {
		t.Errorf("%d %s, want %d %s with message, message_zh and request_id", code, body, wantCode, wantErr)
	}
}
