package oid4vci

import (
	"fmt"
	"net/url"

	"github.com/epermit/epermit/internal/jws"
)

// Longest accepted token request parameters, in bytes.
const (
	maxCodeLen   = 512
	maxTxCodeLen = 64
)

// TokenRequest is a token request of the pre-authorized code flow.
type TokenRequest struct {
	GrantType         string // always GrantPreAuthorized once parsed
	PreAuthorizedCode string
	TxCode            string // "" when none was sent
}

// ParseTokenRequest reads the form of a token request (RFC 6749 section
// 4.1.3, OpenID4VCI section 6.1). A grant_type other than
// GrantPreAuthorized gives unsupported_grant_type; a missing, empty,
// repeated or oversized parameter gives invalid_request. Other parameters
// (client_id, authorization_details) are ignored, as RFC 6749 requires.
// Whether a tx_code is required is for the caller to decide.
func ParseTokenRequest(form url.Values) (TokenRequest, error) {
	gt, err := single(form, "grant_type", true, 128)
	if err != nil {
		return TokenRequest{}, err
	}
	if gt != GrantPreAuthorized {
		return TokenRequest{}, newError(CodeUnsupportedGrantType, fmt.Sprintf("grant_type %q is not supported", clip(gt)), nil)
	}
	code, err := single(form, "pre-authorized_code", true, maxCodeLen)
	if err != nil {
		return TokenRequest{}, err
	}
	tx, err := single(form, "tx_code", false, maxTxCodeLen)
	if err != nil {
		return TokenRequest{}, err
	}
	return TokenRequest{GrantType: gt, PreAuthorizedCode: code, TxCode: tx}, nil
}

// single returns the one value of a form parameter.
func single(form url.Values, name string, required bool, max int) (string, error) {
	v, ok := form[name]
	switch {
	case !ok && !required:
		return "", nil
	case !ok:
		return "", newError(CodeInvalidRequest, name+" is missing", nil)
	case len(v) != 1:
		return "", newError(CodeInvalidRequest, name+" is repeated", nil)
	case v[0] == "":
		return "", newError(CodeInvalidRequest, name+" is empty", nil)
	case len(v[0]) > max:
		return "", newError(CodeInvalidRequest, fmt.Sprintf("%s is longer than %d bytes", name, max), nil)
	}
	return v[0], nil
}

// Form returns the request as form values to post to the token endpoint.
func (r TokenRequest) Form() url.Values {
	f := url.Values{"grant_type": {GrantPreAuthorized}, "pre-authorized_code": {r.PreAuthorizedCode}}
	if r.TxCode != "" {
		f.Set("tx_code", r.TxCode)
	}
	return f
}

// TokenResponse is a successful token response. CNonce and
// CNonceExpiresIn are the draft-13 way of handing out a nonce, kept for
// older wallets; OpenID4VCI 1.0 wallets use the nonce endpoint.
type TokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"` // "Bearer"
	ExpiresIn       int    `json:"expires_in"` // seconds
	CNonce          string `json:"c_nonce,omitempty"`
	CNonceExpiresIn int    `json:"c_nonce_expires_in,omitempty"`
}

// ParseTokenResponse decodes a token response strictly (unknown members are
// ignored, as the specification requires) and checks that it carries an
// access token of type Bearer.
func ParseTokenResponse(body []byte) (TokenResponse, error) {
	var r TokenResponse
	if err := jws.DecodeStrict(body, &r); err != nil {
		return TokenResponse{}, fmt.Errorf("oid4vci: token response: %w", err)
	}
	if r.AccessToken == "" {
		return TokenResponse{}, fmt.Errorf("oid4vci: token response: access_token is missing")
	}
	if r.TokenType != "Bearer" && r.TokenType != "bearer" {
		return TokenResponse{}, fmt.Errorf("oid4vci: token response: token_type %q, want Bearer", clip(r.TokenType))
	}
	return r, nil
}
