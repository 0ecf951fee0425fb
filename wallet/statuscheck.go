//go:build !js

package wallet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/trustcache"
)

// CheckStatus fetches the status list of every credential held (each list
// once), reads each credential's entry with ReadStatus against the keys the
// trust list gives its issuer, keeps what it learnt in the wallet directory
// with the time, and returns each credential's Status in the order of
// List. The wallet keeps the conclusion, not the list.
//
// A list that cannot be fetched (offline) or does not verify leaves what
// the wallet knew before: that credential's Status carries the failure in
// Err, with the status, and the time, of the last check that succeeded. A
// list issued before the one the wallet last read is refused the same way,
// so that an old copy cannot hide a revocation. Without a trust list (nil)
// nothing is fetched and every Err is ErrNoTrustList. Status lists are
// fetched over https, or http to this machine only (a "not modified"
// answer is not signed); requests are conditional on the list's ETag.
//
// The error is for a wallet that cannot be listed or whose status file
// cannot be written; a failed check is not one.
func (w *Wallet) CheckStatus(ctx context.Context, client *http.Client, list *trust.List, now time.Time) ([]Status, error) {
	entries, err := w.List()
	if err != nil {
		return nil, err
	}
	held := w.readHeld()
	out := make([]Status, len(entries))
	byURI := map[string][]int{}
	var uris []string
	for i, e := range entries {
		h, ok := held[statusKey(e)]
		out[i] = statusFrom(e, h, ok)
		if list == nil {
			out[i].Err = fmt.Errorf("wallet: status: %w", ErrNoTrustList)
			continue
		}
		if _, seen := byURI[e.Status.URI]; !seen {
			uris = append(uris, e.Status.URI)
		}
		byURI[e.Status.URI] = append(byURI[e.Status.URI], i)
	}
	if client == nil {
		client = http.DefaultClient
	}
	h := &issuerClient{ctx: ctx, c: client}
	for _, uri := range uris {
		idx := byURI[uri]
		// A "not modified" answer says nothing of an entry the wallet has
		// not read: conditional only when every one was read in this copy.
		etag := held[statusKey(entries[idx[0]])].ETag
		for _, i := range idx {
			if hs := held[statusKey(entries[i])]; out[i].Checked.IsZero() || hs.ETag != etag {
				etag = ""
			}
		}
		a, err := h.fetchStatus(uri, etag)
		if err != nil {
			for _, i := range idx {
				out[i].Err = fmt.Errorf("wallet: status list %s: %w", uri, err)
			}
			continue
		}
		for _, i := range idx {
			e, key := entries[i], statusKey(entries[i])
			if a.status == http.StatusNotModified {
				hs := held[key]
				hs.Checked = later(hs.Checked, now)
				held[key], out[i].Checked = hs, hs.Checked
				continue
			}
			st, vt, err := ReadStatus(e, string(a.body), list)
			if err != nil {
				out[i].Err = err
				continue
			}
			if vt.IssuedAt.Before(out[i].ListIssued) {
				out[i].Err = fmt.Errorf("wallet: status list %s: issued %s, before the one read %s: an old copy, not taken",
					uri, vt.IssuedAt.UTC().Format(time.RFC3339), out[i].ListIssued.UTC().Format(time.RFC3339))
				continue
			}
			out[i].List, out[i].ListIssued, out[i].Checked = st, vt.IssuedAt, later(out[i].Checked, now)
			held[key] = heldStatus{URI: e.Status.URI, Idx: e.Status.Idx, Status: st, ListIssued: vt.IssuedAt,
				Checked: out[i].Checked, ETag: a.header.Get("ETag")}
		}
	}
	// What is kept is about the credentials held, no others.
	keep := map[string]heldStatus{}
	for _, e := range entries {
		if hs, ok := held[statusKey(e)]; ok {
			keep[statusKey(e)] = hs
		}
	}
	if err := w.writeHeld(keep); err != nil {
		return out, err
	}
	return out, nil
}

// fetchStatus GETs the status list at uri, conditionally on etag when not
// empty; its answer is 200 with the token, or 304.
func (h *issuerClient) fetchStatus(uri, etag string) (*answer, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an http(s) URL", uri)
	}
	if host := u.Hostname(); u.Scheme == "http" && host != "localhost" && !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("%q: plain http only to this machine (loopback); the issuer must serve https", uri)
	}
	hdr := http.Header{"Accept": {statuslist.ContentType}}
	if etag != "" {
		hdr.Set("If-None-Match", etag)
	}
	a, err := h.send(http.MethodGet, uri, hdr, nil, trustcache.MaxDocument)
	if err != nil {
		return nil, err
	}
	if a.status == http.StatusNotModified && etag == "" {
		return nil, fmt.Errorf("%s: 304 Not Modified to an unconditional request", uri)
	}
	if a.status != http.StatusOK && a.status != http.StatusNotModified {
		return nil, fmt.Errorf("%s: HTTP %d", uri, a.status)
	}
	return a, nil
}

// later returns the later of two times: a confirmation never moves a check
// back because of a clock that was set back.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
