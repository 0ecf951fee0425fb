// Package trustcache keeps an offline verifier's copy of the trust data: the
// root-signed trust list and every status list it names, in a directory,
// refreshed from an issuer service when the network is there.
//
// [Cache.Sync] fetches with conditional requests (If-None-Match), checks
// every signature, and the trust list's version against the one held,
// before it replaces anything; each file is replaced atomically (a
// temporary file and a rename), and on any failure the copy already held
// stays. [Cache.Trust] loads what is held for [verifier.Verify], with the
// time each piece was last confirmed, so the verifier can warn about or
// refuse data older than the policy allows.
package trustcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

// MaxDocument caps a fetched trust list or status list token, in bytes.
const MaxDocument = 8 << 20

// Errors of a cache.
var (
	// ErrEmpty: nothing has been synced into the directory yet.
	ErrEmpty = errors.New("trust cache is empty: run a sync first")
	// ErrPinChanged: a sync was asked with a root key other than the one the cache was made with.
	ErrPinChanged = errors.New("root key pin differs from the cache's")
)

const (
	metaFile  = "meta.json"
	trustFile = "trust-list.jwt"
)

// meta is the cache's index, meta.json.
type meta struct {
	From   string            `json:"from"`
	Pin    string            `json:"pin"`
	Trust  *entry            `json:"trust,omitempty"`
	Status map[string]*entry `json:"status,omitempty"` // by status list URI
}

// entry is one cached document.
type entry struct {
	File string `json:"file"`
	ETag string `json:"etag,omitempty"`
	// Version is the trust list's version, kept so that a rollback is
	// refused even when the held file is lost or damaged.
	Version int64 `json:"version,omitempty"`
	// Fetched is when the document was last fetched or confirmed unchanged.
	Fetched time.Time `json:"fetched"`
}

// Cache is a directory of trust data. It is not safe for concurrent use by
// several processes; one verifier owns its directory.
type Cache struct {
	dir  string
	meta meta
}

// Open opens the cache in dir, creating the directory if needed.
func Open(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trustcache: %w", err)
	}
	c := &Cache{dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("trustcache: %w", err)
	default:
		if err := json.Unmarshal(data, &c.meta); err != nil {
			return nil, fmt.Errorf("trustcache: %s: %w", filepath.Join(dir, metaFile), err)
		}
	}
	if c.meta.Status == nil {
		c.meta.Status = map[string]*entry{}
	}
	files := []*entry{c.meta.Trust}
	for _, e := range c.meta.Status {
		files = append(files, e)
	}
	for _, e := range files {
		if e != nil && (e.File == "" || filepath.Base(e.File) != e.File || !filepath.IsLocal(e.File)) {
			return nil, fmt.Errorf("trustcache: %s names the file %q outside the cache", filepath.Join(dir, metaFile), e.File)
		}
	}
	return c, nil
}

// Pin returns the thumbprint of the root key the cache trusts, "" before the first sync.
func (c *Cache) Pin() string { return c.meta.Pin }

// Item is what a sync did with one document.
type Item struct {
	// Kind is "trust list" or "status list".
	Kind string
	URL  string
	// Result is "updated", "not modified" or "kept" (the fetch or a check failed: Err says why).
	Result string
	Err    error
	// IssuedAt is when the document held now was issued (its iat), and
	// Fetched when it was last fetched or confirmed.
	IssuedAt, Fetched time.Time
}

// Report lists what a sync did, trust list first.
type Report struct {
	Items []Item
}

// Err returns the failures of a sync joined, or nil.
func (r *Report) Err() error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, it := range r.Items {
		if it.Err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", it.Kind, it.URL, it.Err))
		}
	}
	return errors.Join(errs...)
}

// Sync refreshes the cache from the issuer service at from (its base URL;
// the trust list is at from/trust-list) and returns what it did. pin is the
// RFC 7638 thumbprint of the root key; it may be "" after the first sync,
// and may not change. The report's Err says which documents could not be
// refreshed; the copies held of those are kept.
func (c *Cache) Sync(ctx context.Context, client *http.Client, from, pin string, now time.Time) (*Report, error) {
	if pin == "" {
		pin = c.meta.Pin
	}
	if pin == "" {
		return nil, fmt.Errorf("trustcache: the first sync needs the root key's thumbprint (--pin)")
	}
	if c.meta.Pin != "" && pin != c.meta.Pin {
		return nil, fmt.Errorf("trustcache: %w: have %s; to trust another root, sync into a new directory", ErrPinChanged, c.meta.Pin)
	}
	if from == "" {
		from = c.meta.From
	}
	if err := checkURL(from); err != nil {
		return nil, fmt.Errorf("trustcache: --from: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	from = strings.TrimSuffix(from, "/")
	rep := &Report{}

	held, _ := c.heldList()
	list, item := c.syncTrust(ctx, client, from+"/trust-list", pin, held, now)
	rep.Items = append(rep.Items, item)
	if list == nil {
		list = held
	}
	if list != nil {
		for _, is := range list.Issuers {
			for _, uri := range is.StatusLists {
				rep.Items = append(rep.Items, c.syncStatus(ctx, client, uri, list, now))
			}
		}
	}
	// A pin is kept once something has verified under it: a mistyped pin on
	// a first sync must not lock the directory.
	if c.meta.Trust != nil {
		c.meta.Pin = pin
	}
	c.meta.From = from
	if err := c.writeMeta(); err != nil {
		return rep, err
	}
	return rep, nil
}

// checkURL accepts https URLs, and http ones on the loopback interface only:
// a 304 answer is not signed, so over plain HTTP anyone on the path could
// keep a verifier on an old status list.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
		return fmt.Errorf("%q: plain http only to this machine (loopback); use https", s)
	}
	return fmt.Errorf("%q is not an http(s) URL", s)
}

// heldList returns the trust list held, verified again.
func (c *Cache) heldList() (*trust.List, error) {
	if c.meta.Trust == nil {
		return nil, ErrEmpty
	}
	data, err := os.ReadFile(filepath.Join(c.dir, c.meta.Trust.File))
	if err != nil {
		return nil, err
	}
	return trust.Verify(string(data), c.meta.Pin)
}

func (c *Cache) syncTrust(ctx context.Context, client *http.Client, u, pin string, held *trust.List, now time.Time) (*trust.List, Item) {
	it := Item{Kind: "trust list", URL: u, Result: "kept"}
	if held != nil {
		it.IssuedAt, it.Fetched = held.IssuedAt, c.meta.Trust.Fetched
	}
	etag := ""
	if c.meta.Trust != nil && held != nil {
		etag = c.meta.Trust.ETag
	}
	body, newTag, err := fetch(ctx, client, u, etag)
	if err != nil {
		it.Err = err
		return nil, it
	}
	if body == nil { // 304: what we hold is current
		c.meta.Trust.Fetched = later(c.meta.Trust.Fetched, now)
		it.Fetched, it.Result = c.meta.Trust.Fetched, "not modified"
		return held, it
	}
	next, err := trust.Verify(string(body), pin)
	if err != nil {
		it.Err = err
		return nil, it
	}
	if err := trust.Replace(held, next); err != nil {
		it.Err = err
		return nil, it
	}
	if c.meta.Trust != nil && next.Version < c.meta.Trust.Version {
		it.Err = fmt.Errorf("%w: version %d, held %d", trust.ErrRollback, next.Version, c.meta.Trust.Version)
		return nil, it
	}
	if err := atomicfile.Write(filepath.Join(c.dir, trustFile), body, 0o644); err != nil {
		it.Err = err
		return nil, it
	}
	c.meta.Trust = &entry{File: trustFile, ETag: newTag, Fetched: now, Version: next.Version}
	it.Result, it.IssuedAt, it.Fetched = "updated", next.IssuedAt, now
	return next, it
}

// later returns the later of two times: a confirmation never moves a
// document's age back because of a clock that was set back.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func statusFile(uri string) string {
	h := sha256.Sum256([]byte(uri))
	return "status-" + hex.EncodeToString(h[:8]) + ".jwt"
}

func (c *Cache) syncStatus(ctx context.Context, client *http.Client, uri string, list *trust.List, now time.Time) Item {
	it := Item{Kind: "status list", URL: uri, Result: "kept"}
	if err := checkURL(uri); err != nil {
		it.Err = err
		return it
	}
	old := c.meta.Status[uri]
	var oldTok *statuslist.VerifiedToken
	if old != nil {
		if data, err := os.ReadFile(filepath.Join(c.dir, old.File)); err == nil {
			oldTok, _ = verifyStatus(list, uri, string(data), now)
		}
		if oldTok != nil {
			it.IssuedAt, it.Fetched = oldTok.IssuedAt, old.Fetched
		}
	}
	etag := ""
	if oldTok != nil {
		etag = old.ETag
	}
	body, newTag, err := fetch(ctx, client, uri, etag)
	if err != nil {
		it.Err = err
		return it
	}
	if body == nil {
		old.Fetched = later(old.Fetched, now)
		it.Fetched, it.Result = old.Fetched, "not modified"
		return it
	}
	tok, err := verifyStatus(list, uri, string(body), now)
	if err != nil {
		it.Err = err
		return it
	}
	if oldTok != nil && tok.IssuedAt.Before(oldTok.IssuedAt) {
		it.Err = fmt.Errorf("rollback: issued %s, held one issued %s", tok.IssuedAt.UTC().Format(time.RFC3339), oldTok.IssuedAt.UTC().Format(time.RFC3339))
		return it
	}
	name := statusFile(uri)
	if err := atomicfile.Write(filepath.Join(c.dir, name), body, 0o644); err != nil {
		it.Err = err
		return it
	}
	c.meta.Status[uri] = &entry{File: name, ETag: newTag, Fetched: now}
	it.Result, it.IssuedAt, it.Fetched = "updated", tok.IssuedAt, now
	return it
}

// verifyStatus checks the status list token served at uri against the keys
// of the issuer the trust list names it for.
func verifyStatus(list *trust.List, uri, token string, now time.Time) (*statuslist.VerifiedToken, error) {
	s, err := trust.NewStore(list)
	if err != nil {
		return nil, err
	}
	t := verifier.NewTrust(s, now)
	if err := t.AddStatusList(token, now); err != nil {
		return nil, err
	}
	tok, _, ok := t.StatusList(uri)
	if !ok {
		return nil, fmt.Errorf("the token served at %s is for another list", uri)
	}
	return tok, nil
}

func (c *Cache) writeMeta() error {
	data, err := json.MarshalIndent(c.meta, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(c.dir, metaFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("trustcache: %w", err)
	}
	return nil
}

// fetch GETs u, conditionally on etag; it returns a nil body for 304.
func fetch(ctx context.Context, client *http.Client, u, etag string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		return nil, etag, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("%s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocument+1))
	if err != nil {
		return nil, "", err
	}
	if len(body) > MaxDocument {
		return nil, "", fmt.Errorf("larger than %d bytes", MaxDocument)
	}
	return []byte(strings.TrimSpace(string(body))), resp.Header.Get("ETag"), nil
}

// Trust loads the held trust list and status lists for verification, each
// with the time it was last fetched or confirmed.
func (c *Cache) Trust() (*verifier.Trust, error) {
	if c.meta.Trust == nil {
		return nil, fmt.Errorf("trustcache: %s: %w", c.dir, ErrEmpty)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, c.meta.Trust.File))
	if err != nil {
		return nil, fmt.Errorf("trustcache: %w", err)
	}
	t, err := verifier.LoadTrustList(string(data), c.meta.Pin, c.meta.Trust.Fetched)
	if err != nil {
		return nil, fmt.Errorf("trustcache: held trust list: %w", err)
	}
	for uri, e := range c.meta.Status {
		data, err := os.ReadFile(filepath.Join(c.dir, e.File))
		if err != nil {
			return nil, fmt.Errorf("trustcache: status list %s: %w", uri, err)
		}
		// A list the current trust list no longer names is left out.
		if err := t.AddStatusList(string(data), e.Fetched); err != nil {
			continue
		}
	}
	return t, nil
}
