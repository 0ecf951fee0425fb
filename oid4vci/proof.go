package oid4vci

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
)

// MaxClockSkew is how far in the future a proof's iat (or nbf) may be.
const MaxClockSkew = 60 * time.Second

// maxProofLen bounds a proof JWT: a header with a P-256 jwk and a short
// payload take a few hundred bytes.
const maxProofLen = 8 << 10

// ProofAlgs are the proof signing algorithms an e-permit issuer accepts, as
// its metadata lists them (proof_signing_alg_values_supported): EdDSA and
// its RFC 9864 name Ed25519 for Ed25519 device keys, ES256 for P-256 ones.
var ProofAlgs = []string{jws.AlgEdDSA, jws.AlgEd25519, jws.AlgES256}

type proofClaims struct {
	Iss   *string         `json:"iss,omitempty"`
	Aud   json.RawMessage `json:"aud"`
	Iat   *int64          `json:"iat"`
	Nbf   *int64          `json:"nbf,omitempty"`
	Exp   *int64          `json:"exp,omitempty"`
	Nonce *string         `json:"nonce,omitempty"`
}

// NewProof returns a jwt key proof for the pre-authorized code flow with
// anonymous token requests: header typ ProofType, jwk the public key of
// signer (a wallet's device key: Ed25519, alg EdDSA, or ECDSA P-256, alg
// ES256) and alg accordingly; payload aud (the credential issuer
// identifier), iat and nonce (the c_nonce; omitted when empty); no iss.
func NewProof(signer crypto.Signer, audience, nonce string, iat time.Time) (string, error) {
	if signer == nil {
		return "", fmt.Errorf("oid4vci: proof: no signer")
	}
	if k, ok := signer.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("oid4vci: proof: private key of %d bytes", len(k))
	}
	if k, ok := signer.(*ecdsa.PrivateKey); ok && k == nil {
		return "", fmt.Errorf("oid4vci: proof: no signer")
	}
	j, err := keys.HolderJWK(signer.Public())
	if err != nil {
		return "", fmt.Errorf("oid4vci: proof: the signer's key: %w", err)
	}
	h := jws.Header{Typ: ProofType, JWK: &jws.HeaderJWK{Kty: j.Kty, Crv: j.Crv, X: j.X, Y: j.Y}}
	aud, err := json.Marshal(audience)
	if err != nil {
		return "", fmt.Errorf("oid4vci: proof: %w", err)
	}
	sec := iat.Unix()
	c := proofClaims{Aud: aud, Iat: &sec}
	if nonce != "" {
		c.Nonce = &nonce
	}
	payload, err := jws.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("oid4vci: proof: %w", err)
	}
	return jws.Sign(signer, h, payload)
}

// headerMembersRefused are proof header members that name the key some
// other way than jwk, or attest it: e-permit binds credentials to a key
// carried in the proof itself and nothing else.
var headerMembersRefused = []string{"kid", "x5c", "x5u", "jku", "trust_chain", "key_attestation"}

// VerifyProof checks a jwt key proof and returns the public key the
// credential is to be bound to: an ed25519.PublicKey or an *ecdsa.PublicKey
// on P-256. The proof must have typ ProofType; carry its key as a public
// jwk header (no private members, no kid, x5c or other way of naming a
// key) that keys.ParseHolderJWK accepts, so that a small-order or
// non-canonical Ed25519 point, a P-256 point off the curve or at infinity,
// are refused (the error wraps the keys error that says which); have alg
// EdDSA or Ed25519 (RFC 9864) for an Ed25519 key and ES256 for a P-256 key,
// signed by that key (ES256 as the 64-byte r||s); have aud equal to audience
// (a string, or an array holding it); nonce equal to nonce (a proof without
// nonce is accepted only when nonce is ""); iat within [now-maxAge,
// now+MaxClockSkew]; nbf, if present, not after now+MaxClockSkew; and exp,
// if present, after now. An iss claim is ignored: anonymous pre-authorized
// wallets have no client id to put there. Replay within the window is
// stopped by the nonce, which the caller must accept only once.
//
// Errors are *Error with code invalid_nonce for a wrong nonce and
// invalid_proof for everything else. A non-positive maxAge is a
// programming error and gives a plain error.
func VerifyProof(jwt string, audience, nonce string, now time.Time, maxAge time.Duration) (crypto.PublicKey, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("oid4vci: VerifyProof: maxAge %v is not positive", maxAge)
	}
	invalid := func(desc string, cause error) error { return newError(CodeInvalidProof, desc, cause) }
	if len(jwt) > maxProofLen {
		return nil, invalid(fmt.Sprintf("proof is %d bytes, at most %d", len(jwt), maxProofLen), nil)
	}
	seg, _, ok := strings.Cut(jwt, ".")
	if !ok {
		return nil, invalid("proof is not a compact JWS", jws.ErrMalformed)
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, invalid("proof header is not base64url", jws.ErrMalformed)
	}
	var members map[string]json.RawMessage
	if err := jws.DecodeStrict(rawHeader, &members); err != nil || members == nil {
		return nil, invalid("proof header is not a strict JSON object", err)
	}
	for _, name := range headerMembersRefused {
		if _, ok := members[name]; ok {
			return nil, invalid(fmt.Sprintf("proof header has %q: the key must be given as jwk", name), nil)
		}
	}
	rawJWK, ok := members["jwk"]
	if !ok {
		return nil, invalid("proof header has no jwk", nil)
	}
	jwk, err := keys.ParseHolderJWK(rawJWK)
	if err != nil {
		return nil, invalid(jwkReason(err), err)
	}
	pub, err := jwk.HolderKey()
	if err != nil {
		return nil, invalid(jwkReason(err), err)
	}
	var alg string
	_ = json.Unmarshal(members["alg"], &alg)
	_, isEC := pub.(*ecdsa.PublicKey)
	if isEC && alg != jws.AlgES256 || !isEC && alg != jws.AlgEdDSA && alg != jws.AlgEd25519 {
		return nil, invalid(fmt.Sprintf("proof alg %q does not fit its jwk: EdDSA or Ed25519 for an Ed25519 key, ES256 for a P-256 key", clip(alg)), jws.ErrAlgorithm)
	}
	tok, err := jws.VerifyWithKey(jwt, ProofType, pub)
	if err != nil {
		return nil, invalid(proofJWSReason(err), err)
	}
	var c proofClaims
	if err := jws.DecodeStrict(tok.Payload, &c); err != nil {
		return nil, invalid("proof payload is not strict JSON with the expected claim types", err)
	}
	if !audienceHas(c.Aud, audience) {
		return nil, invalid("proof aud is not the credential issuer", nil)
	}
	if c.Iat == nil {
		return nil, invalid("proof has no iat", nil)
	}
	iat := time.Unix(*c.Iat, 0)
	if iat.Before(now.Add(-maxAge)) {
		return nil, invalid("proof iat is too old", nil)
	}
	if iat.After(now.Add(MaxClockSkew)) {
		return nil, invalid("proof iat is in the future", nil)
	}
	if c.Nbf != nil && time.Unix(*c.Nbf, 0).After(now.Add(MaxClockSkew)) {
		return nil, invalid("proof is not valid yet (nbf in the future)", nil)
	}
	if c.Exp != nil && !time.Unix(*c.Exp, 0).After(now) {
		return nil, invalid("proof has expired", nil)
	}
	switch {
	case nonce != "" && c.Nonce == nil:
		return nil, invalid("proof has no nonce", nil)
	case c.Nonce != nil && subtle.ConstantTimeCompare([]byte(*c.Nonce), []byte(nonce)) != 1:
		return nil, newError(CodeInvalidNonce, "proof nonce is not the current c_nonce; fetch a new one", nil)
	}
	return pub, nil
}

// jwkReason describes a proof jwk that is not a usable holder key.
func jwkReason(err error) string {
	switch {
	case errors.Is(err, keys.ErrSmallOrderKey):
		return "proof jwk is a small-order Ed25519 point, which anyone can sign for"
	case errors.Is(err, keys.ErrNonCanonicalKey):
		return "proof jwk is not canonically encoded (a coordinate not below the field prime)"
	case errors.Is(err, keys.ErrInvalidPoint):
		return "proof jwk is not a point of its curve"
	case errors.Is(err, keys.ErrPrivateJWK):
		return "proof jwk carries private key material"
	}
	return "proof jwk is not a public Ed25519 or P-256 key"
}

// proofJWSReason turns a jws error into a short description.
func proofJWSReason(err error) string {
	switch {
	case errors.Is(err, jws.ErrType):
		return "proof typ is not " + ProofType
	case errors.Is(err, jws.ErrSignature):
		return "proof signature does not verify with the jwk"
	case errors.Is(err, jws.ErrCritical):
		return "proof has an unsupported crit header"
	case errors.Is(err, jws.ErrAlgorithm):
		return "proof algorithm is not allowed"
	default:
		return "proof is malformed"
	}
}

// audienceHas reports whether the aud claim raw, a string or an array of
// strings, holds want.
func audienceHas(raw json.RawMessage, want string) bool {
	if len(raw) == 0 || want == "" {
		return false
	}
	switch raw[0] {
	case '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && s == want
	case '[':
		var list []string
		if json.Unmarshal(raw, &list) != nil {
			return false
		}
		for _, s := range list {
			if s == want {
				return true
			}
		}
	}
	return false
}
