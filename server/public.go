package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/httpgzip"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// ConfigurationID is the id of the residence permit credential in the
// OpenID4VCI metadata and offers.
const ConfigurationID = "epermit_residence_permit"

// publicDocTTL is how long the keys and metadata documents may be cached.
const publicDocTTL = time.Hour

// cached is a public document served with an ETag: a signed token (status
// list, trust list) or a JSON document.
type cached struct {
	body    []byte
	etag    string
	signed  time.Time // zero for documents that are not signed
	version uint64
	checked time.Time // when version was last compared with the store
	gen     uint64    // the service's status generation then

	gzOnce sync.Once
	gz     []byte // body compressed, made on first use; nil when no smaller
}

func newCached(body []byte, signed time.Time, version uint64) *cached {
	h := sha256.Sum256(body)
	return &cached{body: body, etag: `"` + hex.EncodeToString(h[:12]) + `"`, signed: signed, version: version}
}

// gzipped returns the body compressed with gzip, or nil when that is not
// smaller.
func (d *cached) gzipped() []byte {
	d.gzOnce.Do(func() { d.gz = httpgzip.Compress(d.body) })
	return d.gz
}

// serveCached answers with the document, or 304 when the client holds it.
// Public documents may be read by pages of any origin (Token Status List
// section 8 asks this of status lists; the keys, trust list and metadata
// are as public), and are sent compressed to clients that take gzip, under
// the ETag of the uncompressed body made weak.
func serveCached(c echo.Context, d *cached, contentType string, maxAge time.Duration) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge.Seconds())))
	h.Set(echo.HeaderAccessControlAllowOrigin, "*")
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	body, etag := d.body, d.etag
	if gz := d.gzipped(); gz != nil && httpgzip.Accepted(c.Request()) {
		h.Set(echo.HeaderContentEncoding, "gzip")
		body, etag = gz, "W/"+d.etag
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Response(), c.Request(), "", d.signed, bytes.NewReader(body))
	return nil
}

// serveJSON serves a public JSON document with caching headers.
func serveJSON(c echo.Context, v any) error {
	body, err := jws.Marshal(v)
	if err != nil {
		return err
	}
	return serveCached(c, newCached(body, time.Time{}, 0), echo.MIMEApplicationJSON, publicDocTTL)
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
	return serveCached(c, newCached(body, time.Time{}, 0), "application/jwk-set+json", publicDocTTL)
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
	return serveJSON(c, map[string]any{"issuer": s.issuerID(a), "jwks": a.Keys.JWKS()})
}

// credentialIssuerMetadata serves the OpenID4VCI credential issuer metadata.
func (s *Server) credentialIssuerMetadata(c echo.Context) error {
	a, err := s.authorityParam(c)
	if err != nil {
		return err
	}
	return serveJSON(c, s.issuerMetadata(a))
}

// issuerMetadata returns the OpenID4VCI credential issuer metadata of an
// authority: its endpoints, its name and the permit's display in Chinese
// and English, and the accepted proofs.
func (s *Server) issuerMetadata(a *Authority) oid4vci.IssuerMetadata {
	m := oid4vci.NewIssuerMetadata(s.issuerID(a), s.cfg.BaseURL+"/credential", ConfigurationID, credential.VCT, nil)
	m.NonceEndpoint = s.cfg.BaseURL + "/nonce"
	// Chinese first: wallets without a matching locale show the first.
	m.Display = []oid4vci.Display{{Name: a.Name.ZH, Locale: "zh-CN"}, {Name: a.Name.EN, Locale: "en"}}
	cc := m.CredentialConfigurationsSupported[ConfigurationID]
	cc.CredentialMetadata = &oid4vci.CredentialMetadata{
		Display: []oid4vci.Display{
			{Name: "电子居住证", Locale: "zh-CN", Description: a.Name.ZH + "签发的电子居住证。居住证不是身份证，不能用于办理信用贷款。",
				BackgroundColor: permitCardColor, TextColor: "#FFFFFF"},
			{Name: "Electronic Residence Permit", Locale: "en", Description: "An electronic residence permit issued by " + a.Name.EN +
				". A residence permit is not an identity card and cannot be used for credit loans.",
				BackgroundColor: permitCardColor, TextColor: "#FFFFFF"},
		},
		Claims: permitClaims,
	}
	m.CredentialConfigurationsSupported[ConfigurationID] = cc
	return m
}

// permitCardColor is the background of the permit card in wallets.
const permitCardColor = "#0B3D91"

// permitClaims names the permit's claims for wallets, in the order to show
// them (docs/credential-format.md sections 3 and 4).
var permitClaims = []oid4vci.Claim{
	claim(true, "姓名", "Name", "nm"),
	claim(true, "公民身份号码（部分隐藏）", "Citizen ID number (partly hidden)", "idm"),
	claim(true, "居住地区划代码", "Residence division code", "rg"),
	claim(true, "居住证编号", "Permit number", "pn"),
	claim(true, "身份信息", "Identity", "idn"),
	claim(true, "公民身份号码", "Citizen ID number", "idn", "id"),
	claim(true, "民族", "Ethnicity", "idn", "eth"),
	claim(false, "照片摘要", "Photo digest", "idn", "ph"),
	claim(true, "居住信息", "Residence", "res"),
	claim(true, "居住地址", "Residence address", "res", "ra"),
	claim(true, "户籍地址", "Household registration address", "res", "ha"),
	claim(true, "户籍地区划代码", "Household registration division code", "res", "hd"),
	claim(true, "居住起始日期", "Resident since", "res", "rs"),
	claim(true, "申领条件", "Basis of eligibility", "res", "bs"),
	claim(true, "首次签发日期", "First issued", "res", "isd"),
}

func claim(mandatory bool, zh, en string, path ...any) oid4vci.Claim {
	return oid4vci.Claim{Path: path, Mandatory: mandatory,
		Display: []oid4vci.Display{{Name: zh, Locale: "zh-CN"}, {Name: en, Locale: "en"}}}
}

// authServerMetadata serves the OAuth metadata that names the token endpoint.
func (s *Server) authServerMetadata(c echo.Context) error {
	a, err := s.authorityParam(c)
	if err != nil {
		return err
	}
	return serveJSON(c, oid4vci.NewAuthServerMetadata(s.issuerID(a), s.cfg.BaseURL+"/token"))
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
