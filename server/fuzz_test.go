package server

import (
	"net/http"
	"testing"
)

// FuzzAPIBodies sends arbitrary bodies to every route that reads one, as
// anyone on the internet (or an official's client) may: the answer is a
// clear 4xx error or a success, never a 500 and never a panic.
func FuzzAPIBodies(f *testing.F) {
	ts := newTestServer(f)
	routes := []struct {
		method, path, ctype string
		token               string
	}{
		{"POST", "/v1/applications", "application/json", ""},
		{"POST", "/token", "application/x-www-form-urlencoded", ""},
		{"POST", "/credential", "application/json", "epa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"POST", "/credential/refresh", "application/json", ""},
		{"POST", "/v1/session", "application/json", ""},
		{"POST", "/v1/search", "application/json", ts.tokens["officer"]},
		{"POST", "/v1/endorsements", "application/json", ts.tokens["officer"]},
		{"POST", "/v1/admin/tokens", "application/json", ts.tokens["admin"]},
		{"POST", "/v1/applications/x/reject", "application/json", ts.tokens["officer"]},
	}
	f.Add(uint8(0), []byte(`{"application":{"name":"x"}}`))
	f.Add(uint8(1), []byte(`grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=epc_x`))
	f.Add(uint8(2), []byte(`{"credential_configuration_id":"epermit_residence_permit","proofs":{"jwt":["a.b.c"]}}`))
	f.Add(uint8(3), []byte(`{"permit_no":"x","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`))
	f.Add(uint8(4), []byte(`{"token":"ept_x"}`))
	f.Add(uint8(5), []byte(`{"citizen_id":"110105199208140517"}`))
	f.Add(uint8(6), []byte(`{"job":"j","first":0,"permits":["x"]}`))
	f.Add(uint8(7), []byte(`{"role":"officer","name":"x","ttl_days":3}`))
	f.Add(uint8(8), []byte(`{"reasons":["x"]}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		r := routes[int(which)%len(routes)]
		w := ts.do(req{method: r.method, path: r.path, body: body, ctype: r.ctype, token: r.token})
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Code != http.StatusTooManyRequests && errorCode(w) == "" {
			t.Fatalf("%s %s: %d without an error code: %s", r.method, r.path, w.Code, w.Body)
		}
	})
}
