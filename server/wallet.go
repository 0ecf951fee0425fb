package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/store"
)

// Lifetimes of the wallet flow's grants.
const (
	accessTTL   = 10 * time.Minute
	proofMaxAge = 5 * time.Minute
)

// oauthError answers in the OAuth error format of RFC 6749 §5.2.
func oauthError(c echo.Context, status int, err error) error {
	var oe *oid4vci.Error
	if !errors.As(err, &oe) {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, oe)
}

// token redeems a pre-authorized code for an access token and a nonce.
func (s *Server) token(c echo.Context) error {
	if _, err := c.FormParams(); err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return err
		}
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_request", Description: "send a form-encoded body"})
	}
	if ct := c.Request().Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationForm) {
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_request", Description: "send application/x-www-form-urlencoded"})
	}
	req, err := oid4vci.ParseTokenRequest(c.Request().PostForm)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	access, err := s.cfg.Store.NewGrant(store.AccessPrefix)
	if err != nil {
		return err
	}
	nonce, err := s.cfg.Store.NewSecret("")
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if _, err := s.cfg.Store.RedeemOffer(req.PreAuthorizedCode, access, nonce, now.Add(accessTTL), now); err != nil {
		if errors.Is(err, store.ErrInvalidGrant) {
			return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_grant", Description: "the pre-authorized code is unknown, used or expired"})
		}
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(accessTTL.Seconds()),
		CNonce: nonce, CNonceExpiresIn: int(accessTTL.Seconds())})
}

// credential issues the credential of a redeemed offer, bound to the key the
// wallet proves it holds.
func (s *Server) credential(c echo.Context) error {
	secret, ok := bearer(c.Request())
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "an access token from /token is required"})
	}
	now := s.cfg.Now()
	access, err := s.cfg.Store.Access(secret, now)
	if err != nil {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "the access token is unknown, used or expired"})
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	req, err := oid4vci.ParseCredentialRequest(body)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	if req.ConfigurationID != "" && req.ConfigurationID != ConfigurationID {
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "unknown_credential_configuration", Description: "this issuer offers " + ConfigurationID})
	}
	a := s.bySlug[access.Authority]
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the authority is no longer hosted here")
	}
	holder, err := oid4vci.VerifyProof(req.Proofs[0], s.issuerID(a), access.CNonce, now, proofMaxAge)
	if err != nil {
		code := oid4vci.CodeOf(err)
		s.metrics.proofsFailed.WithLabelValues(code).Inc()
		return oauthError(c, http.StatusBadRequest, err)
	}
	rec, err := s.cfg.Store.IssueCredential(secret, holder, now)
	switch {
	case errors.Is(err, store.ErrInvalidGrant):
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "the access token was used meanwhile"})
	case errors.Is(err, store.ErrHolderMismatch):
		s.metrics.proofsFailed.WithLabelValues("holder_mismatch").Inc()
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_proof", Description: "the proof is by a key other than the one this permit is bound to"})
	case err != nil:
		return storeError(err, "permit")
	}
	kid, signer, err := a.Keys.Active()
	if err != nil {
		return err
	}
	cred, err := issuer.Issue(signer, kid, rec.Permit, s.issuerID(a), holder, statuslist.Reference{Idx: rec.Idx, URI: s.statusURI(rec.List)}, now, s.cfg.Rand)
	if err != nil {
		// The token was spent on a credential that was not made: give it
		// back so that the wallet can try again.
		if rerr := s.cfg.Store.RestoreAccess(secret); rerr != nil {
			s.log.Error("restore access token", "request_id", requestID(c), "err", rerr)
		}
		return err
	}
	s.metrics.issued.WithLabelValues(a.Slug).Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: cred}}})
}
