package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
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
	r, err := s.svc.RedeemOffer(c.Request().Context(), req.PreAuthorizedCode, s.cfg.Now())
	if errors.Is(err, issuer.ErrInvalidGrant) {
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_grant", Description: "the pre-authorized code is unknown, used or expired"})
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.TokenResponse{AccessToken: r.AccessToken, TokenType: "Bearer", ExpiresIn: int(r.Expires.Sub(now).Seconds()),
		CNonce: r.Nonce, CNonceExpiresIn: int(r.NonceExpires.Sub(now).Seconds())})
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
	ctx := c.Request().Context()
	access, err := s.svc.AccessInfo(ctx, secret, now)
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
	a := s.svc.Authority(access.Authority)
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the authority is no longer hosted here")
	}
	proof, err := s.verifyProof(req.Proofs[0], a, now)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	out, err := s.svc.IssueCredential(ctx, secret, proof, now)
	if err != nil {
		return s.walletError(c, err)
	}
	s.metrics.issued.WithLabelValues(a.Slug).Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: out.Credential}}})
}

// verifyProof checks a wallet's key proof for the authority and returns the
// key it proves with the c_nonce it signed; the service checks the nonce
// (its MAC, expiry and single use) when it spends it.
func (s *Server) verifyProof(jwt string, a *Authority, now time.Time) (issuer.Proof, error) {
	nonce := proofNonce(jwt)
	holder, err := oid4vci.VerifyProof(jwt, s.issuerID(a), nonce, now, proofMaxAge)
	if err != nil {
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeOf(err)).Inc()
		return issuer.Proof{}, err
	}
	if nonce == "" {
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeInvalidNonce).Inc()
		return issuer.Proof{}, &oid4vci.Error{Code: oid4vci.CodeInvalidNonce, Description: "the proof has no nonce; get a c_nonce and sign it"}
	}
	return issuer.Proof{Holder: keys.PublicJWK(holder), Nonce: nonce}, nil
}

// proofNonce returns the nonce claim of a proof, unverified: VerifyProof
// then checks the proof carries exactly it, and the service checks it is one
// of its own.
func proofNonce(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(parts[1]) > 8<<10 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Nonce
}

// walletError answers a refusal of the service in the OAuth error format.
func (s *Server) walletError(c echo.Context, err error) error {
	var e *issuer.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Code == "invalid_nonce":
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeInvalidNonce).Inc()
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeInvalidNonce, Description: e.EN})
	case e.Kind == issuer.KindInvalidGrant:
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "the access token was used meanwhile"})
	case e.Code == "holder_mismatch":
		s.metrics.proofsFailed.WithLabelValues("holder_mismatch").Inc()
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: e.EN})
	}
	return err
}

// RefreshRequest is the body of POST /credential/refresh: the permit
// number and a proof, by the key the current credential is bound to, over a
// fresh c_nonce (from /nonce or /token).
type RefreshRequest struct {
	PermitNo string `json:"permit_no"`
	Proof    struct {
		ProofType string `json:"proof_type"`
		JWT       string `json:"jwt"`
	} `json:"proof"`
}

// refresh issues the endorsed credential to the wallet that holds the
// current one, without a counter visit.
func (s *Server) refresh(c echo.Context) error {
	var req RefreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.PermitNo == "" || req.Proof.ProofType != "jwt" || req.Proof.JWT == "" {
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: "invalid_request", Description: "send permit_no and proof {proof_type: jwt, jwt}"})
	}
	now := s.cfg.Now()
	// Which authority: the permit's, known only to the service; the proof's
	// audience must be one hosted here.
	var proof issuer.Proof
	var err error
	for _, a := range s.authorities() {
		if proof, err = s.verifyProof(req.Proof.JWT, a, now); err == nil {
			break
		}
	}
	if err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	out, err := s.svc.Refresh(c.Request().Context(), req.PermitNo, proof, now)
	if err != nil {
		var e *issuer.Error
		if errors.As(err, &e) && e.Kind != issuer.KindInvalidGrant && e.Code != "holder_mismatch" {
			return err
		}
		return s.walletError(c, err)
	}
	s.metrics.issued.WithLabelValues(out.Authority).Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: out.Credential}}})
}
