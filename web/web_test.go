package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h, err := New(Config{Pin: "PIN123", Issuer: "https://ep.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		code         int
		ctype        string
		has          string
	}{
		{"GET", "/verify/", 200, "text/html", "<html"},
		{"GET", "/wallet/", 200, "text/html", "<html"},
		{"GET", "/officer/", 200, "text/html", "<html"},
		{"GET", "/officer/officer.js", 200, "text/javascript", "X-CSRF-Token"},
		{"GET", "/officer", 301, "", ""},
		{"GET", "/app/names.json", 200, "application/json", `"330106":["浙江省杭州市西湖区","Xihu District, Hangzhou, Zhejiang"]`},
		{"GET", "/app/names.json", 200, "application/json", `"01":["汉族",`},
		{"GET", "/verify/index.html", 200, "text/html", "<html"},
		{"GET", "/verify/sw.js", 200, "text/javascript", ""},
		{"GET", "/verify/manifest.webmanifest", 200, "application/manifest+json", `"start_url"`},
		{"GET", "/app/epermit.js", 200, "text/javascript", ""},
		{"GET", "/app/style.css", 200, "text/css", ""},
		{"HEAD", "/wallet/", 200, "text/html", ""},
		{"GET", "/verify", 301, "", ""},
		{"GET", "/verify/nothing.js", 404, "", ""},
		{"GET", "/app/../keys/root.key", 404, "", ""},
		{"POST", "/verify/", 405, "", ""},
	} {
		w := get(t, h, tc.method, tc.path, nil)
		if w.Code != tc.code || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(w.Body.String(), tc.has) {
			t.Errorf("%s %s: %d %q, want %d %q containing %q", tc.method, tc.path, w.Code, w.Header().Get("Content-Type"), tc.code, tc.ctype, tc.has)
		}
	}
	w := get(t, h, "GET", "/verify/", nil)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "'wasm-unsafe-eval'") || strings.Contains(csp, "unsafe-eval'") && !strings.Contains(csp, "wasm-unsafe-eval") {
		t.Errorf("CSP %q", csp)
	}
	if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") == "" {
		t.Errorf("caching headers %v", w.Header())
	}
	if w2 := get(t, h, "GET", "/verify/", map[string]string{"If-None-Match": w.Header().Get("ETag")}); w2.Code != 304 {
		t.Errorf("conditional GET: %d", w2.Code)
	}

	var conf map[string]string
	w = get(t, h, "GET", "/verify/config.json", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &conf); err != nil || conf["pin"] != "PIN123" || conf["trust_list"] != "/trust-list" || conf["issuer"] != "https://ep.example" {
		t.Errorf("config %s: %v", w.Body, err)
	}

	// Large files go compressed to clients that take gzip, and unchanged to others.
	plain := get(t, h, "GET", "/app/style.css", nil)
	gz := get(t, h, "GET", "/app/style.css", map[string]string{"Accept-Encoding": "br, gzip"})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("no gzip: %v", gz.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Equal(body, plain.Body.Bytes()) || gz.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzip body differs or is not smaller (%d vs %d)", gz.Body.Len(), plain.Body.Len())
	}
	if w := get(t, h, "GET", "/app/style.css", map[string]string{"Accept-Encoding": "gzip;q=0"}); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refuses it")
	}
	if w := get(t, h, "GET", "/app/style.css", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gz.Header().Get("ETag")}); w.Code != 304 {
		t.Errorf("conditional gzip GET: %d", w.Code)
	}

	// The module: served when built into this binary, else a 503 that says how.
	w = get(t, h, "GET", "/app/epermit.wasm", nil)
	switch {
	case h.Built() && (w.Code != 200 || w.Header().Get("Content-Type") != "application/wasm"):
		t.Errorf("module: %d %q", w.Code, w.Header().Get("Content-Type"))
	case !h.Built() && (w.Code != 503 || !strings.Contains(w.Body.String(), "make wasm")):
		t.Errorf("missing module: %d %s", w.Code, w.Body)
	}
}

// TestExport writes every app, the console and the names table among them,
// as files a static web server can serve.
func TestExport(t *testing.T) {
	t.Parallel()
	h, err := New(Config{Pin: "PIN123", Issuer: "https://ep.example"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := h.Export(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"verify/index.html", "verify/config.json", "wallet/index.html", "officer/index.html",
		"officer/officer.js", "officer/officer.css", "app/names.js", "app/names.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	names, err := os.ReadFile(filepath.Join(dir, "app", "names.json"))
	if err != nil || !strings.Contains(string(names), `"330000":["浙江省","Zhejiang"]`) {
		t.Errorf("names.json: %v %.200s", err, names)
	}
}
