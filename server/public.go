package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// ConfigurationID is the id of the residence permit credential in the
// OpenID4VCI metadata and offers.
const ConfigurationID = "epermit_residence_permit"

// cached is a signed document served with an ETag.
type cached struct {
	body    []byte
	etag    string
	signed  time.Time
	version uint64
	checked time.Time // when version was last compared with the store
	gen     uint64    // the service's status generation then
}

func newCached(body []byte, signed time.Time, version uint64) *cached {
	h := sha256.Sum256(body)
	return &cached{body: body, etag: `"` + hex.EncodeToString(h[:12]) + `"`, signed: signed, version: version}
}

// serveCached answers with the document, or 304 when the client holds it.
func serveCached(c echo.Context, d *cached, contentType string, maxAge time.Duration) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set("ETag", d.etag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge.Seconds())))
	http.ServeContent(c.Response(), c.Request(), "", d.signed, bytes.NewReader(d.body))
	return nil
}

// jwks serves the public keys of every hosted authority.
func (s *Server) jwks(c echo.Context) error {
	var set keys.JWKS
	for _, a := range s.authorities() {
		set.Keys = append(set.Keys, a.Keys.JWKS().Keys...)
	}
	body, err := set.Marshal()
	if err != nil {
		return err
	}
	return serveCached(c, newCached(body, s.cfg.Now(), 0), "application/jwk-set+json", time.Hour)
}

// authorityParam returns the authority named by the :slug parameter, or the
// first one for the well-known paths without one.
func (s *Server) authorityParam(c echo.Context) (*Authority, error) {
	slug := c.Param("slug")
	if slug == "" {
		return s.authorities()[0], nil
	}
	a := s.svc.Authority(slug)
	if a == nil {
		return nil, apiError(http.StatusNotFound, "not_found", "no issuing authority "+strconv.Quote(clip(slug)))
	}
	return a, nil
}

// vcIssuerMetadata serves SD-JWT VC issuer metadata: the issuer and its keys.
func (s *Server) vcIssuerMetadata(c echo.Context) error {
	a, err := s.authorityParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"issuer": s.issuerID(a), "jwks": a.Keys.JWKS()})
}

// credentialIssuerMetadata serves the OpenID4VCI credential issuer metadata.
func (s *Server) credentialIssuerMetadata(c echo.Context) error {
	a, err := s.authorityParam(c)
	if err != nil {
		return err
	}
	m := oid4vci.NewIssuerMetadata(s.issuerID(a), s.cfg.BaseURL+"/credential", ConfigurationID, credential.VCT,
		map[string]string{"zh-CN": a.Name.ZH, "en": a.Name.EN})
	return c.JSON(http.StatusOK, m)
}

// authServerMetadata serves the OAuth metadata that names the token endpoint.
func (s *Server) authServerMetadata(c echo.Context) error {
	a, err := s.authorityParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, oid4vci.NewAuthServerMetadata(s.issuerID(a), s.cfg.BaseURL+"/token"))
}

// statusURI returns the URI of a status list.
func (s *Server) statusURI(listID string) string { return s.svc.StatusURI(listID) }

// statusList serves a status list token, re-signed when the list changed
// or the cached token is older than its ttl.
func (s *Server) statusList(c echo.Context) error {
	d, err := s.statusToken(c.Request().Context(), c.Param("list"))
	if err != nil {
		return err
	}
	return serveCached(c, d, statuslist.ContentType, s.cfg.StatusTTL)
}

// statusRecheck is how often a cached status list token is checked against
// the list's version in the store: a revocation by another replica is
// served within it (one made here, at once).
const statusRecheck = 250 * time.Millisecond

func (s *Server) statusToken(ctx context.Context, id string) (*cached, error) {
	now := s.cfg.Now()
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	d := s.statusCache[id]
	gen := s.svc.StatusGeneration()
	if d != nil && now.Sub(d.signed) < s.cfg.StatusTTL {
		if d.gen == gen && time.Since(d.checked) < statusRecheck {
			return d, nil
		}
		v, err := s.svc.ListVersion(ctx, id)
		if err != nil {
			return nil, err
		}
		if v == d.version {
			d.checked, d.gen = time.Now(), gen
			return d, nil
		}
	}
	list, info, err := s.svc.StatusList(ctx, id)
	if err != nil {
		return nil, err
	}
	version := info.Version
	a := s.svc.Authority(info.Authority)
	if a == nil {
		return nil, apiError(http.StatusNotFound, "not_found", "status list not found")
	}
	kid, signer, err := a.Keys.Active()
	if err != nil {
		return nil, err
	}
	tok, err := statuslist.SignToken(signer, kid, statuslist.TokenClaims{
		Sub: s.statusURI(id), IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), TTL: s.cfg.StatusTTL, List: list, Fast: true})
	if err != nil {
		return nil, err
	}
	d = newCached([]byte(tok), now, version)
	d.checked, d.gen = time.Now(), gen
	s.statusCache[id] = d
	return d, nil
}

// trustListTTL is how long the served trust list may be cached, and how
// often it is re-signed.
const trustListTTL = time.Hour

// trustList serves the root-signed trust list naming every hosted
// authority with its keys and status lists.
func (s *Server) trustList(c echo.Context) error {
	d, err := s.trustToken()
	if err != nil {
		return err
	}
	return serveCached(c, d, "application/jwt", trustListTTL)
}

func (s *Server) trustToken() (*cached, error) {
	// One at a time: a request that read the issuers before another signed
	// newer ones must not sign the older set under a higher version.
	s.trustMu.Lock()
	defer s.trustMu.Unlock()
	now := s.cfg.Now()
	lists, err := s.svc.Lists(context.Background(), "")
	if err != nil {
		return nil, err
	}
	l := trust.List{IssuedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), Policy: trust.DefaultPolicy()}
	for _, a := range s.authorities() {
		iss := trust.Issuer{ID: s.issuerID(a), Name: a.Name, Region: a.Region, JWKS: a.Keys.JWKS()}
		for _, sl := range lists {
			if sl.Authority == a.Slug {
				iss.StatusLists = append(iss.StatusLists, s.statusURI(sl.ID))
			}
		}
		l.Issuers = append(l.Issuers, iss)
	}
	input := fmt.Sprintf("%v", l.Issuers)
	if d := s.trustCache; d != nil && input == s.trustInput && now.Sub(d.signed) < trustListTTL {
		return d, nil
	}
	// The version only grows, also across restarts.
	s.trustVer = max(s.trustVer+1, now.Unix())
	l.Version = s.trustVer
	tok, err := trust.Sign(s.cfg.Root, l)
	if err != nil {
		return nil, err
	}
	s.trustCache, s.trustInput = newCached([]byte(tok), now, uint64(l.Version)), input
	return s.trustCache, nil
}
