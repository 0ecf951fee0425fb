package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestVerifierSync runs verifier sync against a small issuer site: a first
// sync with a wrong pin is a configuration error that keeps nothing and
// claims to have kept nothing; a good one fills the cache; a failed refresh
// keeps the cached copy and says so; another pin is refused.
func TestVerifierSync(t *testing.T) {
	t.Parallel()
	site := t.TempDir()
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		http.ServeFile(w, r, filepath.Join(site, filepath.Base(r.URL.Path)))
	}))
	t.Cleanup(srv.Close)
	statusURI := srv.URL + "/status-1"
	now := time.Now() // sync checks expiry on the real clock: the documents are signed now
	must(t, now, "keys", "new", "--out", site)
	must(t, now, "keys", "new", "--out", site, "--name", "root")
	must(t, now, "status", "new", "--uri", statusURI, "--key", filepath.Join(site, "issuer.key"), "--out", filepath.Join(site, "status-1"), "--size", "16")
	o := must(t, now, "trust", "sign", "--root", filepath.Join(site, "root.key"), "--issuer-key", filepath.Join(site, "issuer.jwks.json"),
		"--iss", srv.URL+"/hz", "--status-uri", statusURI, "--out", filepath.Join(site, "trust-list"))
	pin := pinLine.FindStringSubmatch(o.stdout)[1]
	wrong := strings.Repeat("A", 43)
	cache := filepath.Join(t.TempDir(), "cache")

	o = cli(now, "", "verifier", "sync", "--from", srv.URL, "--pin", wrong, "--dir", cache)
	if o.code != 2 || strings.Contains(o.stderr, "kept") || !strings.Contains(o.stderr, "not signed by the root key --pin "+wrong+" names") ||
		!strings.Contains(o.stderr, "nothing was cached") || !strings.Contains(o.stdout, "failed, none held") {
		t.Fatalf("first sync with a wrong pin: want exit 2, nothing claimed kept; got %v", o)
	}
	if o := cli(now, "", "verify", "--cache", cache, "code"); o.code != 2 || !strings.Contains(o.stderr, "configuration error") {
		t.Errorf("verify --cache of an empty cache: %v", o)
	}
	// The mistyped pin did not lock the directory.
	o = cli(now, "", "verifier", "sync", "--from", srv.URL, "--pin", pin, "--dir", cache)
	if o.code != 0 || strings.Count(o.stdout, "updated") != 2 || o.stderr != "" {
		t.Fatalf("sync with the right pin: %v", o)
	}
	down.Store(true)
	o = cli(now.Add(time.Hour), "", "verifier", "sync", "--dir", cache)
	if o.code != 1 || strings.Count(o.stdout, "failed, kept the cached copy") != 2 || !strings.Contains(o.stderr, "503 Service Unavailable") ||
		!strings.Contains(o.stderr, "permit: kept the cached copy of what could not be refreshed") {
		t.Fatalf("sync with the site down: %v", o)
	}
	o = cli(now, "", "verifier", "sync", "--pin", wrong, "--dir", cache)
	if o.code != 2 || !strings.Contains(o.stderr, "root key pin differs from the cache's") {
		t.Fatalf("sync with another pin: %v", o)
	}
	// A first sync with the site down: nothing is held, and it says so.
	empty := filepath.Join(t.TempDir(), "cache")
	o = cli(now, "", "verifier", "sync", "--from", srv.URL, "--pin", pin, "--dir", empty)
	if o.code != 1 || strings.Contains(o.stderr, "kept") || !strings.Contains(o.stderr, "nothing is cached in "+empty+" yet") {
		t.Fatalf("first sync with the site down: %v", o)
	}
	if _, err := os.Stat(filepath.Join(empty, "trust-list.jwt")); err == nil {
		t.Error("a failed first sync wrote a trust list")
	}
}
