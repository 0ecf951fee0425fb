package trustcache_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/verifier"
)

// t0 is when the fake world is made and first synced.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

const (
	issuerID  = "https://ep.example/hz"
	credIdx   = 9 // status index of the credential the tests issue
	trustPath = "/trust-list"
)

var (
	rootKey   = ed25519.NewKeyFromSeed(seed(1))
	issuerKey = ed25519.NewKeyFromSeed(seed(2))
	holderKey = ed25519.NewKeyFromSeed(seed(3))
	otherKey  = ed25519.NewKeyFromSeed(seed(4))
)

func seed(b byte) []byte {
	s := make([]byte, 32)
	s[0] = b
	return s
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// doc is what the fake issuer service answers at one path.
type doc struct {
	body   []byte
	etag   string
	status int           // answer this status code instead of the document
	delay  time.Duration // wait this long before answering
	size   int64         // serve this many filler bytes instead of body
}

// request is one request the fake saw.
type request struct {
	path, ifNoneMatch string
}

// world is a fake issuer service with its keys: a root-signed trust list at
// /trust-list naming one issuer with two status lists, /status/1 and
// /status/2. Each test changes what the service answers.
type world struct {
	fail func(error)
	srv  *httptest.Server

	mu   sync.Mutex
	docs map[string]doc
	seen []request

	version int64
	lists   map[string]*statuslist.List // by URI
	uris    []string
}

// newWorld starts a fake service publishing trust list version 3 (issued
// t0-1h) and both status lists (issued t0-10m), all valid.
func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := buildWorld(func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	})
	tb.Cleanup(w.srv.Close)
	return w
}

func buildWorld(fail func(error)) *world {
	w := &world{fail: fail, docs: map[string]doc{}, lists: map[string]*statuslist.List{}}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	w.uris = []string{w.url("/status/1"), w.url("/status/2")}
	for _, u := range w.uris {
		l, err := statuslist.New(2, 1<<12)
		w.fail(err)
		w.lists[u] = l
	}
	w.publishTrust(3, t0.Add(-time.Hour))
	for _, u := range w.uris {
		w.publishStatus(u, t0.Add(-10*time.Minute))
	}
	return w
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	d, ok := w.docs[r.URL.Path]
	w.seen = append(w.seen, request{r.URL.Path, r.Header.Get("If-None-Match")})
	w.mu.Unlock()
	if d.delay > 0 {
		select {
		case <-time.After(d.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case !ok:
		http.NotFound(rw, r)
	case d.status != 0:
		http.Error(rw, http.StatusText(d.status), d.status)
	case d.etag != "" && r.Header.Get("If-None-Match") == d.etag:
		rw.Header().Set("ETag", d.etag)
		rw.WriteHeader(http.StatusNotModified)
	case d.size > 0:
		_, _ = io.Copy(rw, io.LimitReader(filler{}, d.size))
	default:
		if d.etag != "" {
			rw.Header().Set("ETag", d.etag)
		}
		_, _ = rw.Write(d.body)
	}
}

// filler is an endless stream of 'A'.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func (w *world) url(path string) string { return w.srv.URL + path }

// set replaces what the service answers at path.
func (w *world) set(path string, d doc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.docs[path] = d
}

// body returns the document the service serves at path.
func (w *world) body(path string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.docs[path].body
}

// requests returns the requests seen so far and forgets them.
func (w *world) requests() []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen
	w.seen = nil
	return s
}

// trustList signs a trust list naming the issuer and its status lists.
func (w *world) trustList(root ed25519.PrivateKey, version int64, iat time.Time) string {
	tl, err := trust.Sign(root, trust.List{
		Version: version, IssuedAt: iat, ExpiresAt: iat.Add(30 * 24 * time.Hour),
		Issuers: []trust.Issuer{{
			ID: issuerID, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou Public Security Bureau"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}}, StatusLists: w.uris,
		}},
		Policy: trust.DefaultPolicy(),
	})
	w.fail(err)
	return tl
}

// publishTrust serves a new trust list signed by the root key.
func (w *world) publishTrust(version int64, iat time.Time) {
	w.version = version
	w.set(trustPath, doc{body: []byte(w.trustList(rootKey, version, iat)), etag: fmt.Sprintf(`"tl-%d-%d"`, version, iat.Unix())})
}

// statusToken signs the list held for uri under sub, with key.
func (w *world) statusToken(key ed25519.PrivateKey, uri, sub string, iat time.Time) string {
	tok, err := statuslist.SignToken(key, keys.Thumbprint(pub(key)), statuslist.TokenClaims{
		Sub: sub, IssuedAt: iat, ExpiresAt: iat.Add(7 * 24 * time.Hour), TTL: time.Hour, List: w.lists[uri],
	})
	w.fail(err)
	return tok
}

// publishStatus serves the status list of uri, signed by the issuer at iat.
func (w *world) publishStatus(uri string, iat time.Time) {
	w.set(pathOf(uri), doc{body: []byte(w.statusToken(issuerKey, uri, uri, iat)), etag: fmt.Sprintf(`"sl-%d"`, iat.UnixNano())})
}

// pathOf returns the path part of a URI of the service.
func pathOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Path
}

// credential issues the example permit bound to the holder key, with
// status entry credIdx in the first status list.
func (w *world) credential(iat time.Time) string {
	raw, err := os.ReadFile(filepath.Join("testdata", "application-adult-hangzhou.json"))
	w.fail(err)
	a, err := permit.ParseApplication(raw)
	w.fail(err)
	issued, err := permit.NewDate(2026, time.November, 27)
	w.fail(err)
	p, err := permit.NewPermit(a, "33010626K7Q2MX", issuerID, issued)
	w.fail(err)
	s, err := issuer.Issue(issuerKey, keys.Thumbprint(pub(issuerKey)), p, issuerID, pub(holderKey),
		statuslist.Reference{Idx: credIdx, URI: w.uris[0]}, iat, rand.Reader)
	w.fail(err)
	return s
}

// present shows cred with every disclosure and a key-binding JWT made at now.
func (w *world) present(cred string, now time.Time) string {
	p, err := sdjwt.Split(cred)
	w.fail(err)
	nonce := make([]byte, 12)
	_, err = rand.Read(nonce)
	w.fail(err)
	b, err := sdjwt.Bind(p, holderKey, credential.AnyAudience, base64.RawURLEncoding.EncodeToString(nonce), now)
	w.fail(err)
	return b.String()
}

var pin = keys.Thumbprint(pub(rootKey))

// syncAt runs a sync of c from w at now and fails on a sync error (not on
// the report's).
func syncAt(t *testing.T, c *trustcache.Cache, w *world, now time.Time) *trustcache.Report {
	t.Helper()
	rep, err := c.Sync(context.Background(), w.srv.Client(), w.srv.URL, pin, now)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// synced returns a cache in a new directory, synced from w at t0.
func synced(t *testing.T, w *world) (*trustcache.Cache, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := trustcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := syncAt(t, c, w, t0).Err(); err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// verify presents cred at now against the cache's trust data.
func verify(t *testing.T, c *trustcache.Cache, w *world, cred string, now time.Time) *verifier.Result {
	t.Helper()
	tr, err := c.Trust()
	if err != nil {
		t.Fatal(err)
	}
	return verifier.Verify(w.present(cred, now), verifier.Options{Trust: tr, Now: now})
}

func codes(rs []verifier.Reason) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, string(r.Code))
	}
	slices.Sort(out)
	return out
}

// files returns the directory's files by name.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

// holds reports the name of the file in dir whose content is body.
func holds(t *testing.T, dir string, body []byte) (string, bool) {
	t.Helper()
	for name, b := range files(t, dir) {
		if bytes.Equal(b, body) {
			return name, true
		}
	}
	return "", false
}

// checkTidy fails if dir holds anything but meta.json, the trust list and
// the status lists: no temporary files may be left.
func checkTidy(t *testing.T, dir string) {
	t.Helper()
	for name := range files(t, dir) {
		ok := name == "meta.json" || name == "trust-list.jwt" ||
			(strings.HasPrefix(name, "status-") && strings.HasSuffix(name, ".jwt") && !strings.Contains(name, "tmp"))
		if !ok {
			t.Errorf("unexpected file %q left in the cache directory", name)
		}
	}
}

func TestSyncArguments(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		name, from, pin string
	}{
		{"first sync without pin", w.srv.URL, ""},
		{"no from on an empty cache", "", pin},
		{"from not http", "ftp://ep.example/", pin},
		{"from without host", "https:///trust", pin},
		{"from unparsable", "http://[::1", pin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c, err := trustcache.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := c.Sync(context.Background(), w.srv.Client(), tt.from, tt.pin, t0)
			if err == nil {
				t.Fatalf("sync accepted: report %+v", rep)
			}
			if c.Pin() != "" {
				t.Errorf("pin %q recorded by a refused sync", c.Pin())
			}
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("refused sync wrote %d files", len(got))
			}
		})
	}
}

func TestFirstSyncAndRevocation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cred := w.credential(t0)
	dir := t.TempDir()
	c, err := trustcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pin() != "" {
		t.Fatalf("new cache has pin %q", c.Pin())
	}
	rep := syncAt(t, c, w, t0)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind, url string
		iat       time.Time
	}{
		{"trust list", w.url(trustPath), t0.Add(-time.Hour)},
		{"status list", w.uris[0], t0.Add(-10 * time.Minute)},
		{"status list", w.uris[1], t0.Add(-10 * time.Minute)},
	}
	if len(rep.Items) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(rep.Items), len(want), rep.Items)
	}
	for i, it := range rep.Items {
		if it.Kind != want[i].kind || it.URL != want[i].url || it.Result != "updated" || it.Err != nil ||
			!it.IssuedAt.Equal(want[i].iat) || !it.Fetched.Equal(t0) {
			t.Errorf("item %d: %+v, want %s %s updated, issued %s, fetched %s", i, it, want[i].kind, want[i].url, want[i].iat, t0)
		}
	}
	if c.Pin() != pin {
		t.Errorf("Pin() = %q, want %q", c.Pin(), pin)
	}

	// The files hold exactly what was served.
	got := files(t, dir)
	if !bytes.Equal(got["trust-list.jwt"], w.body(trustPath)) {
		t.Error("trust-list.jwt is not the served trust list")
	}
	for _, u := range w.uris {
		if _, ok := holds(t, dir, w.body(pathOf(u))); !ok {
			t.Errorf("no file holds the status list of %s", u)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(got["meta.json"], &m); err != nil {
		t.Fatalf("meta.json: %v", err)
	}
	if len(got) != 4 {
		t.Errorf("%d files, want meta, trust list and two status lists", len(got))
	}
	checkTidy(t, dir)

	// A fresh Open of the directory verifies a real credential end to end.
	c2, err := trustcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Pin() != pin {
		t.Errorf("reopened Pin() = %q", c2.Pin())
	}
	r := verify(t, c2, w, cred, t0.Add(time.Minute))
	if !r.Valid || r.Status != "valid" || !r.HolderBound || r.Issuer.ID != issuerID {
		t.Fatalf("fresh credential: valid %v status %s holder %v issuer %q reasons %v warnings %v", r.Valid, r.Status, r.HolderBound, r.Issuer.ID, codes(r.Reasons), codes(r.Warnings))
	}

	// Revoked at the issuer: after a sync, the verifier refuses it.
	t1 := t0.Add(time.Hour)
	if err := w.lists[w.uris[0]].Set(credIdx, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	w.publishStatus(w.uris[0], t1)
	rep = syncAt(t, c2, w, t1)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if it := rep.Items[1]; it.Result != "updated" || !it.IssuedAt.Equal(t1) {
		t.Errorf("revoked list item %+v", it)
	}
	if it := rep.Items[2]; it.Result != "not modified" {
		t.Errorf("unchanged list item %+v", it)
	}
	r = verify(t, c2, w, cred, t1.Add(time.Minute))
	if r.Valid || r.Status != "revoked" || !r.Has(verifier.CodeRevoked) {
		t.Fatalf("revoked credential: valid %v status %s reasons %v", r.Valid, r.Status, codes(r.Reasons))
	}
}

func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cred := w.credential(t0)
	c, dir := synced(t, w)
	first := w.requests()
	for _, rq := range first {
		if rq.ifNoneMatch != "" {
			t.Errorf("first sync sent If-None-Match %q for %s", rq.ifNoneMatch, rq.path)
		}
	}
	if len(first) != 3 {
		t.Fatalf("first sync made %d requests, want 3", len(first))
	}

	// Back-date every file so that a rewrite shows in its mtime.
	before := files(t, dir)
	old := t0.Add(-24 * time.Hour)
	for name := range before {
		if name == "meta.json" {
			continue
		}
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}

	t1 := t0.Add(20 * time.Hour)
	rep := syncAt(t, c, w, t1)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	etags := map[string]string{}
	w.mu.Lock()
	for p, d := range w.docs {
		etags[p] = d.etag
	}
	w.mu.Unlock()
	for _, rq := range w.requests() {
		if rq.ifNoneMatch != etags[rq.path] {
			t.Errorf("%s: If-None-Match %q, want %q", rq.path, rq.ifNoneMatch, etags[rq.path])
		}
	}
	for _, it := range rep.Items {
		if it.Result != "not modified" || !it.Fetched.Equal(t1) || it.IssuedAt.IsZero() || it.IssuedAt.After(t0) {
			t.Errorf("item %+v: want not modified, fetched %s, original iat", it, t1)
		}
	}
	after := files(t, dir)
	for name, b := range before {
		if name == "meta.json" {
			continue
		}
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s rewritten by a 304", name)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(old) {
			t.Errorf("%s: mtime %s, a 304 must not rewrite it", name, fi.ModTime())
		}
	}
	checkTidy(t, dir)

	// The 304 made the status list's age count from t1, not t0: ten hours
	// later it is not stale, where a cache that missed that sync is.
	now := t1.Add(10 * time.Hour)
	r := verify(t, c, w, cred, now)
	if r.StatusAge != 10*time.Hour || r.Has(verifier.CodeStatusStale) {
		t.Errorf("after a 304: status age %s, reasons %v", r.StatusAge, codes(r.Reasons))
	}
	reopened, err := trustcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := verify(t, reopened, w, cred, now); r.StatusAge != 10*time.Hour {
		t.Errorf("after a 304 and a reopen: status age %s: Fetched not persisted", r.StatusAge)
	}
	missed, _ := synced(t, w)
	if r := verify(t, missed, w, cred, now); r.StatusAge != 30*time.Hour || !r.Has(verifier.CodeStatusStale) {
		t.Errorf("without the second sync: status age %s, reasons %v", r.StatusAge, codes(r.Reasons))
	}
}

// TestKeepOnFailure breaks one document (or the service) at t1 while the
// others move on, and checks that the held copy of what broke stays, byte
// for byte, that the report names it, and that the rest is refreshed.
func TestKeepOnFailure(t *testing.T) {
	t.Parallel()
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name   string
		brk    func(w *world)
		fails  func(w *world) []string // URLs whose item must fail
		errIs  error
		errHas string // a part of the failing item's error, naming the check that failed
		// client, when set, replaces the service's client.
		client *http.Client
	}{
		{
			name:  "service down",
			brk:   func(w *world) { w.srv.Close() },
			fails: func(w *world) []string { return append([]string{w.url(trustPath)}, w.uris...) },
		},
		{
			name:   "trust list too slow",
			errHas: "Timeout",
			brk:    func(w *world) { w.set(trustPath, doc{body: w.body(trustPath), delay: 5 * time.Second}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
			client: &http.Client{Timeout: 300 * time.Millisecond},
		},
		{
			name:   "trust list 500",
			errHas: "500",
			brk:    func(w *world) { w.set(trustPath, doc{status: http.StatusInternalServerError}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
		},
		{
			name:   "trust list 404",
			errHas: "404",
			brk:    func(w *world) { w.set(trustPath, doc{status: http.StatusNotFound}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
		},
		{
			name: "trust list signed by another root",
			brk: func(w *world) {
				w.set(trustPath, doc{body: []byte(w.trustList(otherKey, 4, t1)), etag: `"other"`})
			},
			fails: func(w *world) []string { return []string{w.url(trustPath)} },
			errIs: trust.ErrRootMismatch,
		},
		{
			name:   "trust list garbage",
			errHas: "malformed",
			brk:    func(w *world) { w.set(trustPath, doc{body: []byte("<html>captive portal</html>"), etag: `"g"`}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
		},
		{
			name:   "trust list empty",
			errHas: "malformed",
			brk:    func(w *world) { w.set(trustPath, doc{body: []byte{}, etag: `"e"`}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
		},
		{
			name:   "trust list oversized",
			errHas: "larger than",
			brk:    func(w *world) { w.set(trustPath, doc{size: trustcache.MaxDocument + 1}) },
			fails:  func(w *world) []string { return []string{w.url(trustPath)} },
		},
		{
			name: "trust list rollback to a lower version",
			brk: func(w *world) {
				w.set(trustPath, doc{body: []byte(w.trustList(rootKey, 2, t1)), etag: `"v2"`})
			},
			fails: func(w *world) []string { return []string{w.url(trustPath)} },
			errIs: trust.ErrRollback,
		},
		{
			name: "trust list same version other content",
			brk: func(w *world) {
				w.set(trustPath, doc{body: []byte(w.trustList(rootKey, 3, t1)), etag: `"v3b"`})
			},
			fails: func(w *world) []string { return []string{w.url(trustPath)} },
			errIs: trust.ErrRollback,
		},
		{
			name:   "status list 500",
			errHas: "500",
			brk:    func(w *world) { w.set("/status/1", doc{status: http.StatusInternalServerError}) },
			fails:  func(w *world) []string { return w.uris[:1] },
		},
		{
			name:   "status list garbage",
			errHas: "malformed",
			brk:    func(w *world) { w.set("/status/1", doc{body: []byte("not.a.jwt"), etag: `"g"`}) },
			fails:  func(w *world) []string { return w.uris[:1] },
		},
		{
			name:   "status list oversized",
			errHas: "larger than",
			brk:    func(w *world) { w.set("/status/1", doc{size: trustcache.MaxDocument + 1}) },
			fails:  func(w *world) []string { return w.uris[:1] },
		},
		{
			name: "status list signed by a key not in the trust list",
			brk: func(w *world) {
				w.set("/status/1", doc{body: []byte(w.statusToken(otherKey, w.uris[0], w.uris[0], t1)), etag: `"k"`})
			},
			fails: func(w *world) []string { return w.uris[:1] },
			errIs: jws.ErrUnknownKey,
		},
		{
			name:   "status list for a URI the trust list does not name",
			errHas: "not one the trust list names",
			brk: func(w *world) {
				w.set("/status/1", doc{body: []byte(w.statusToken(issuerKey, w.uris[0], w.url("/status/9"), t1)), etag: `"u"`})
			},
			fails: func(w *world) []string { return w.uris[:1] },
		},
		{
			name:   "status list of another named URI",
			errHas: "for another list",
			brk: func(w *world) {
				w.set("/status/1", doc{body: w.body("/status/2"), etag: `"swap"`})
			},
			fails: func(w *world) []string { return w.uris[:1] },
		},
		{
			name:   "status list rollback",
			errHas: "rollback",
			brk: func(w *world) {
				w.set("/status/1", doc{body: []byte(w.statusToken(issuerKey, w.uris[0], w.uris[0], t0.Add(-20*time.Minute))), etag: `"old"`})
			},
			fails: func(w *world) []string { return w.uris[:1] },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			cred := w.credential(t0)
			c, dir := synced(t, w)
			held := map[string][]byte{w.url(trustPath): w.body(trustPath)}
			for _, u := range w.uris {
				held[u] = w.body(pathOf(u))
			}
			// The world moves on: both status lists are reissued at t1
			// (the trust list is unchanged), then one thing breaks.
			for _, u := range w.uris {
				w.publishStatus(u, t1)
			}
			tt.brk(w)
			fresh := map[string][]byte{}
			for _, u := range w.uris {
				fresh[u] = w.body(pathOf(u))
			}

			client := tt.client
			if client == nil {
				client = w.srv.Client()
			}
			rep, err := c.Sync(context.Background(), client, w.srv.URL, pin, t1)
			if err != nil {
				t.Fatal(err)
			}
			failing := tt.fails(w)
			joined := rep.Err()
			if joined == nil {
				t.Fatalf("report has no error: %+v", rep.Items)
			}
			t.Logf("report error: %v", joined)
			if tt.errIs != nil && !errors.Is(joined, tt.errIs) {
				t.Errorf("report error %v, want %v", joined, tt.errIs)
			}
			if !strings.Contains(joined.Error(), tt.errHas) {
				t.Errorf("report error %q does not say %q", joined, tt.errHas)
			}
			if len(rep.Items) != 3 {
				t.Fatalf("%d items, want 3: %+v", len(rep.Items), rep.Items)
			}
			for _, it := range rep.Items {
				if slices.Contains(failing, it.URL) {
					if it.Err == nil || it.Result != "kept" || !it.Fetched.Equal(t0) || it.IssuedAt.IsZero() {
						t.Errorf("failing item %+v: want kept with its error, fetched t0, iat of the held copy", it)
					}
					if !strings.Contains(joined.Error(), it.URL) {
						t.Errorf("report error %q does not name %s", joined, it.URL)
					}
					if _, ok := holds(t, dir, held[it.URL]); !ok {
						t.Errorf("held copy of %s not kept byte for byte", it.URL)
					}
					continue
				}
				switch {
				case it.Err != nil:
					t.Errorf("unaffected item %s failed: %v", it.URL, it.Err)
				case it.Kind == "trust list" && it.Result != "not modified":
					t.Errorf("unchanged trust list: %+v", it)
				case it.Kind == "status list" && (it.Result != "updated" || !it.IssuedAt.Equal(t1) || !it.Fetched.Equal(t1)):
					t.Errorf("reissued status list: %+v", it)
				}
				if it.Kind == "status list" {
					if _, ok := holds(t, dir, fresh[it.URL]); !ok {
						t.Errorf("the reissued status list of %s is not stored", it.URL)
					}
				}
			}
			checkTidy(t, dir)

			// The cache still verifies, now and after a reopen.
			for _, cc := range []*trustcache.Cache{c, reopen(t, dir)} {
				tr, err := cc.Trust()
				if err != nil {
					t.Fatal(err)
				}
				if _, _, ok := tr.StatusList(w.uris[0]); !ok {
					t.Fatal("status list 1 lost")
				}
				r := verifier.Verify(w.present(cred, t1), verifier.Options{Trust: tr, Now: t1})
				if !r.Valid {
					t.Fatalf("verify after a failed sync: %v", codes(r.Reasons))
				}
			}
		})
	}
}

func reopen(t *testing.T, dir string) *trustcache.Cache {
	t.Helper()
	c, err := trustcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTrustListUpdate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cred := w.credential(t0)
	c, dir := synced(t, w)
	t1 := t0.Add(2 * time.Hour)
	w.publishTrust(4, t1)
	rep := syncAt(t, c, w, t1)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if it := rep.Items[0]; it.Result != "updated" || !it.IssuedAt.Equal(t1) {
		t.Errorf("trust list item %+v", it)
	}
	if got := files(t, dir)["trust-list.jwt"]; !bytes.Equal(got, w.body(trustPath)) {
		t.Error("new trust list not stored")
	}
	if r := verify(t, c, w, cred, t1); !r.Valid || r.TrustAge != 0 {
		t.Errorf("after update: valid %v trust age %s %v", r.Valid, r.TrustAge, codes(r.Reasons))
	}
}

func TestPinChanged(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c, dir := synced(t, w)
	before := files(t, dir)
	other := keys.Thumbprint(pub(otherKey))
	rep, err := c.Sync(context.Background(), w.srv.Client(), w.srv.URL, other, t0.Add(time.Hour))
	if !errors.Is(err, trustcache.ErrPinChanged) {
		t.Fatalf("sync with another pin: report %v, error %v; want ErrPinChanged", rep, err)
	}
	if c.Pin() != pin {
		t.Errorf("Pin() = %q after a refused change", c.Pin())
	}
	after := files(t, dir)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed by a refused sync", name)
		}
	}
	// The same pin, or none, still syncs (and from defaults to the stored one).
	for _, p := range []string{pin, ""} {
		rep, err := c.Sync(context.Background(), w.srv.Client(), "", p, t0.Add(time.Hour))
		if err != nil || rep.Err() != nil {
			t.Errorf("sync with pin %q: %v %v", p, err, rep.Err())
		}
	}
}

// TestFailedFirstSyncPin: a first sync whose pin does not match the
// served trust list verifies nothing, so it should not tie the directory
// to that pin.
func TestFailedFirstSyncPin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c, err := trustcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(context.Background(), w.srv.Client(), w.srv.URL, keys.Thumbprint(pub(otherKey)), t0)
	if err != nil || !errors.Is(rep.Err(), trust.ErrRootMismatch) {
		t.Fatalf("first sync with a wrong pin: %v, %v", err, rep.Err())
	}
	rep, err = c.Sync(context.Background(), w.srv.Client(), w.srv.URL, pin, t0)
	if err != nil {
		t.Fatalf("sync with the right pin after a failed first sync: %v", err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyAndCorrupt(t *testing.T) {
	t.Parallel()
	t.Run("empty Trust", func(t *testing.T) {
		t.Parallel()
		c, err := trustcache.Open(filepath.Join(t.TempDir(), "new", "dir"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Trust(); !errors.Is(err, trustcache.ErrEmpty) {
			t.Fatalf("Trust() on an empty cache: %v, want ErrEmpty", err)
		}
	})
	t.Run("empty after a failed first sync", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.set(trustPath, doc{status: http.StatusServiceUnavailable})
		c, err := trustcache.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rep := syncAt(t, c, w, t0)
		if rep.Err() == nil || len(rep.Items) != 1 || rep.Items[0].Result != "kept" {
			t.Fatalf("report %+v", rep.Items)
		}
		if _, err := c.Trust(); !errors.Is(err, trustcache.ErrEmpty) {
			t.Fatalf("Trust(): %v, want ErrEmpty", err)
		}
	})
	for _, meta := range []string{"{", "not json", `{"pin": 7}`, `{"status": []}`} {
		t.Run("Open meta "+meta, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
				t.Fatal(err)
			}
			if c, err := trustcache.Open(dir); err == nil {
				t.Fatalf("Open accepted meta.json %q: pin %q", meta, c.Pin())
			}
		})
	}
	t.Run("Open on a file", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := trustcache.Open(f); err == nil {
			t.Fatal("Open accepted a regular file")
		}
	})
	t.Run("held trust list tampered", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		c, dir := synced(t, w)
		if err := os.WriteFile(filepath.Join(dir, "trust-list.jwt"), []byte(w.trustList(otherKey, 9, t0)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Trust(); !errors.Is(err, trust.ErrRootMismatch) {
			t.Fatalf("Trust() over a trust list signed by another root: %v", err)
		}
	})
}

// TestStaleness syncs at t0 and verifies later (or earlier) with the
// verifier's clock: the age limits of trust.DefaultPolicy apply.
func TestStaleness(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cred := w.credential(t0.Add(-3 * time.Hour))
	c, _ := synced(t, w)
	pol := trust.DefaultPolicy()
	trustExp := t0.Add(-time.Hour).Add(30 * 24 * time.Hour)
	tests := []struct {
		name          string
		now           time.Time
		refuse, warns []verifier.Code
	}{
		{"fresh", t0.Add(time.Hour), nil, nil},
		// The trust list's age counts from its iat (t0-1h), the status
		// list's from the sync.
		{"status list at its age limit", t0.Add(pol.StatusMaxAge.Duration()), nil, []verifier.Code{verifier.CodeTrustOld}},
		{"synced two days ago", t0.Add(48 * time.Hour),
			[]verifier.Code{verifier.CodeStatusStale}, []verifier.Code{verifier.CodeTrustOld}},
		{"trust list in grace", trustExp.Add(time.Hour),
			[]verifier.Code{verifier.CodeStatusStale}, []verifier.Code{verifier.CodeTrustGrace}},
		{"trust list past grace", trustExp.Add(pol.ExpiryGrace.Duration() + time.Hour),
			[]verifier.Code{verifier.CodeStatusStale, verifier.CodeTrustExpired}, nil},
		// The status list is dated after the clock: not yet valid (check
		// the clock), rather than stale (sync again).
		{"clock behind the trust list", t0.Add(-2 * time.Hour),
			[]verifier.Code{verifier.CodeStatusNotYetValid}, []verifier.Code{verifier.CodeClockBehind}},
	}
	str := func(cs []verifier.Code) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, string(c))
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := verify(t, c, w, cred, tt.now)
			if got, want := codes(r.Reasons), str(tt.refuse); !slices.Equal(got, want) {
				t.Errorf("refusals %v, want %v", got, want)
			}
			if got, want := codes(r.Warnings), str(tt.warns); !slices.Equal(got, want) {
				t.Errorf("warnings %v, want %v", got, want)
			}
			if r.Valid != (len(tt.refuse) == 0) {
				t.Errorf("valid %v", r.Valid)
			}
		})
	}
}

func TestNoTemporaryFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c, dir := synced(t, w)
	checkTidy(t, dir)
	// A rejected document and an accepted one in the same sync.
	t1 := t0.Add(time.Hour)
	w.publishStatus(w.uris[1], t1)
	w.set("/status/1", doc{body: []byte("garbage"), etag: `"x"`})
	if rep := syncAt(t, c, w, t1); rep.Err() == nil {
		t.Fatal("garbage accepted")
	}
	checkTidy(t, dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 4 {
		t.Errorf("%d entries, want 4", len(ents))
	}
}
