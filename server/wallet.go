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
	nonce, _, err := s.svc.NewNonce(s.cfg.Now())
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
// wallet proves it holds over a c_nonce of this service. A draft-13 request
// is answered in that draft's form.
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
		if oid4vci.CodeOf(err) == oid4vci.CodeInvalidProof {
			return s.proofError(c, req, err)
		}
		return oauthError(c, http.StatusBadRequest, err)
	}
	a := s.svc.Authority(access.Authority)
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the authority is no longer hosted here")
	}
	if _, err := s.issuerMetadata(a).Configuration(req); err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	proof, err := s.verifyProof(req.Proofs[0], a, now)
	if err != nil {
		return s.proofError(c, req, err)
	}
	out, err := s.svc.IssueCredential(ctx, secret, proof, now)
	if err != nil {
		return s.walletError(c, req, err)
	}
	s.metrics.issued.WithLabelValues(a.Slug).Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	if req.Draft == oid4vci.Draft13 {
		return c.JSON(http.StatusOK, oid4vci.Draft13CredentialResponse{Credential: out.Credential})
	}
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: out.Credential}}})
}

// proofError answers a refused proof. A draft-13 wallet learns nonces only
// from the token response and from these answers (draft 13, section
// 7.3.2), so it gets a fresh one to sign over next.
func (s *Server) proofError(c echo.Context, req oid4vci.CredentialRequest, err error) error {
	var oe *oid4vci.Error
	if req.Draft == oid4vci.Draft13 && errors.As(err, &oe) {
		nonce, expires, nerr := s.svc.NewNonce(s.cfg.Now())
		if nerr != nil {
			return nerr
		}
		e := *oe
		e.CNonce, e.CNonceExpiresIn = nonce, int(expires.Sub(s.cfg.Now()).Seconds())
		err = &e
	}
	return oauthError(c, http.StatusBadRequest, err)
}

// verifyProof checks a wallet's key proof for the authority and returns the
// key it proves with the c_nonce it signed; the service checks the nonce
// (its MAC, expiry and single use) when it spends it.
func (s *Server) verifyProof(jwt string, a *Authority, now time.Time) (issuer.Proof, error) {
	nonce, err := oid4vci.ProofNonce(jwt)
	if err != nil {
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeOf(err)).Inc()
		return issuer.Proof{}, err
	}
	holder, err := oid4vci.VerifyProof(jwt, s.issuerID(a), nonce, now, proofMaxAge)
	if err != nil {
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeOf(err)).Inc()
		return issuer.Proof{}, err
	}
	if nonce == "" {
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeInvalidProof).Inc()
		return issuer.Proof{}, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: "the proof has no nonce: get a c_nonce from the nonce endpoint"}
	}
	jwk, err := keys.HolderJWK(holder)
	if err != nil {
		return issuer.Proof{}, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: "the proof's key is not a holder key this issuer binds to"}
	}
	return issuer.Proof{Holder: jwk, Nonce: nonce}, nil
}

// walletError answers a refusal of the service in the OAuth error format.
func (s *Server) walletError(c echo.Context, req oid4vci.CredentialRequest, err error) error {
	var e *issuer.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Code == "invalid_nonce":
		s.metrics.proofsFailed.WithLabelValues(oid4vci.CodeInvalidNonce).Inc()
		return s.proofError(c, req, &oid4vci.Error{Code: oid4vci.CodeInvalidNonce, Description: "the proof's nonce is unknown, used or expired: get a new c_nonce from the nonce endpoint"})
	case e.Kind == issuer.KindInvalidGrant:
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return oauthError(c, http.StatusUnauthorized, &oid4vci.Error{Code: "invalid_token", Description: "the access token was used meanwhile"})
	case e.Code == "holder_mismatch":
		s.metrics.proofsFailed.WithLabelValues("holder_mismatch").Inc()
		return s.proofError(c, req, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: e.EN})
	}
	return err
}

// proofAuthority returns the hosted authority a proof's aud names (read
// unverified: VerifyProof then checks the proof against that authority), or
// nil.
func (s *Server) proofAuthority(jwt string) *Authority {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(parts[1]) > 8<<10 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	var auds []string
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		auds = []string{one}
	} else if json.Unmarshal(c.Aud, &auds) != nil {
		return nil
	}
	for _, a := range s.authorities() {
		for _, aud := range auds {
			if aud == s.issuerID(a) {
				return a
			}
		}
	}
	return nil
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
	// The authority the proof is addressed to; the service checks that it is
	// the permit's.
	a := s.proofAuthority(req.Proof.JWT)
	if a == nil {
		return oauthError(c, http.StatusBadRequest, &oid4vci.Error{Code: oid4vci.CodeInvalidProof, Description: "the proof's aud is not a credential issuer of this service"})
	}
	proof, err := s.verifyProof(req.Proof.JWT, a, now)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, err)
	}
	out, err := s.svc.Refresh(c.Request().Context(), a.Slug, req.PermitNo, proof, now)
	if err != nil {
		var e *issuer.Error
		if errors.As(err, &e) && e.Kind != issuer.KindInvalidGrant && e.Code != "holder_mismatch" {
			return err
		}
		return s.walletError(c, oid4vci.CredentialRequest{}, err)
	}
	s.metrics.issued.WithLabelValues(out.Authority).Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, oid4vci.CredentialResponse{Credentials: []oid4vci.IssuedCredential{{Credential: out.Credential}}})
}
