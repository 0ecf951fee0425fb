package oid4vci

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/epermit/epermit/internal/jws"
)

// ErrUnknownNonce is what a nonce store's Consume wraps for a c_nonce that it
// did not hand out, that has expired, or that was already used: the
// credential endpoint answers invalid_nonce, and the wallet fetches a new
// one (OpenID4VCI 1.0 section 8.3.1.2).
var ErrUnknownNonce = errors.New("c_nonce is unknown, used or expired")

// NonceResponse is the body of a nonce endpoint response (OpenID4VCI 1.0
// section 7.2).
type NonceResponse struct {
	CNonce string `json:"c_nonce"`
}

// ParseNonceResponse decodes a nonce response strictly (unknown members
// are ignored) and checks that it carries a c_nonce.
func ParseNonceResponse(body []byte) (NonceResponse, error) {
	var r NonceResponse
	if err := jws.DecodeStrict(body, &r); err != nil {
		return NonceResponse{}, fmt.Errorf("oid4vci: nonce response: %w", err)
	}
	if r.CNonce == "" {
		return NonceResponse{}, errors.New("oid4vci: nonce response: c_nonce is missing")
	}
	return r, nil
}

// ProofNonce returns the nonce claim of a jwt key proof, without verifying
// the proof, or "" when it has none. The issuer reads it to know which
// c_nonce the proof claims, checks the proof with VerifyProof against that
// nonce, and only then consumes the nonce in its store. Errors are *Error
// with code invalid_proof: not a compact JWS, a payload that is not strict
// JSON, a nonce that is not a string.
func ProofNonce(jwt string) (string, error) {
	invalid := func(desc string, cause error) error { return newError(CodeInvalidProof, desc, cause) }
	if len(jwt) > maxProofLen {
		return "", invalid(fmt.Sprintf("proof is %d bytes, at most %d", len(jwt), maxProofLen), nil)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", invalid("proof is not a compact JWS", jws.ErrMalformed)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", invalid("proof payload is not base64url", jws.ErrMalformed)
	}
	var c struct {
		Nonce *string `json:"nonce"`
	}
	if err := jws.DecodeStrict(payload, &c); err != nil || !bytes.HasPrefix(bytes.TrimLeft(payload, " \t\r\n"), []byte("{")) {
		return "", invalid("proof payload is not a strict JSON object with a string nonce", err)
	}
	if c.Nonce == nil {
		return "", nil
	}
	return *c.Nonce, nil
}
