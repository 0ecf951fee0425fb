package server

import (
	"crypto/ed25519"
	"errors"
	"fmt"
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

// Lifetimes of the wallet flow's grants. The access token is a bearer
// token, so it lives no longer than OpenID4VCI 1.0 section 13.10 allows one
// that is not sender-constrained (and works once).
const (
	accessTTL   = 5 * time.Minute
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

// nonce hands out a fresh c_nonce (OpenID4VCI 1.0 section 7). The request
// needs no access token and its body, if any, is ignored.
func (s *Server) nonce(c echo.Context) error {
	nonce, _, err := s.nonces.New(c.Request().Context(), s.cfg.Now())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.NonceResponse{CNonce: nonce})
}

// token redeems a pre-authorized code for an access token. Its answer also
// carries a c_nonce, for wallets of the drafts before the nonce endpoint.
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
	if req.TxCode != "" {
		// Offers here carry no tx_code (OpenID4VCI 1.0 section 6.3).
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_request", Description: "this offer has no transaction code: send no tx_code"})
	}
	access, err := s.cfg.Store.NewGrant(store.AccessPrefix)
	if err != nil {
		return err
	}
	// The nonce first: a code redeemed must not go without an answer.
	now := s.cfg.Now()
	nonce, expires, err := s.nonces.New(c.Request().Context(), now)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.RedeemOffer(req.PreAuthorizedCode, access, "", now.Add(accessTTL), now); err != nil {
		if errors.Is(err, store.ErrInvalidGrant) {
			return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_grant", Description: "the pre-authorized code is unknown, used or expired"})
		}
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(accessTTL.Seconds()),
		CNonce: nonce, CNonceExpiresIn: int(expires.Sub(now).Seconds())})
}

// credential issues the credential of a redeemed offer, bound to the key the
// wallet proves it holds over a nonce from the nonce store. A draft-13
// request is answered in that draft's form.
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
		if oid4vci.CodeOf(err) == oid4vci.CodeInvalidProof {
			return s.proofError(c, req, err)
		}
		return oauthError(c, http.StatusBadRequest, err)
	}
	a := s.bySlug[access.Authority]
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the authority is no longer hosted here")
	}
	if _, err := s.issuerMetadata(a).Configuration(req); err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	holder, err := s.checkProof(c, req.Proofs[0], s.issuerID(a), now)
	if err != nil {
		code := oid4vci.CodeOf(err)
		if code == "" {
			return err
		}
		s.metrics.proofsFailed.WithLabelValues(code).Inc()
		return s.proofError(c, req, err)
	}
	rec, err := s.cfg.Store.IssueCredential(secret, holder, now)
	switch {
	case errors.Is(err, store.ErrInvalidGrant):
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "the access token was used meanwhile"})
	case errors.Is(err, store.ErrHolderMismatch):
		s.metrics.proofsFailed.WithLabelValues("holder_mismatch").Inc()
		return s.proofError(c, req, &oid4vci.Error{Code: "invalid_proof", Description: "the proof is by a key other than the one this permit is bound to"})
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
	if req.Draft == oid4vci.Draft13 {
		return c.JSON(http.StatusOK, oid4vci.Draft13CredentialResponse{Credential: cred})
	}
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: cred}}})
}

// checkProof verifies a key proof for the credential issuer aud and
// consumes its nonce, and returns the key to bind the credential to.
// The nonce is consumed only once the proof verifies, so that a wallet
// whose proof was refused for another reason may sign again over the same
// nonce; a proof replayed over a consumed nonce gets invalid_nonce. Errors
// with an OAuth code are the wallet's; others are the nonce store's.
func (s *Server) checkProof(c echo.Context, proof, aud string, now time.Time) (ed25519.PublicKey, error) {
	nonce, err := oid4vci.ProofNonce(proof)
	if err != nil {
		return nil, err
	}
	if nonce == "" {
		return nil, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: "the proof has no nonce: get a c_nonce from the nonce endpoint"}
	}
	holder, err := oid4vci.VerifyProof(proof, aud, nonce, now, proofMaxAge)
	if err != nil {
		return nil, err
	}
	if err := s.nonces.Consume(c.Request().Context(), nonce, now); err != nil {
		if errors.Is(err, oid4vci.ErrUnknownNonce) {
			return nil, &oid4vci.Error{Code: oid4vci.CodeInvalidNonce, Description: "the proof's nonce is unknown, used or expired: get a new c_nonce from the nonce endpoint"}
		}
		return nil, fmt.Errorf("nonce store: %w", err)
	}
	return holder, nil
}

// proofError answers a refused proof. A draft-13 wallet learns nonces only
// from the token response and from these answers (draft 13, section
// 7.3.2), so it gets a fresh one to sign over next.
func (s *Server) proofError(c echo.Context, req oid4vci.CredentialRequest, err error) error {
	var oe *oid4vci.Error
	if req.Draft == oid4vci.Draft13 && errors.As(err, &oe) {
		nonce, expires, nerr := s.nonces.New(c.Request().Context(), s.cfg.Now())
		if nerr != nil {
			return nerr
		}
		e := *oe
		e.CNonce, e.CNonceExpiresIn = nonce, int(expires.Sub(s.cfg.Now()).Seconds())
		err = &e
	}
	return oauthError(c, http.StatusBadRequest, err)
}
