// Package jws signs and verifies the compact JSON Web Signatures (RFC 7515)
// that e-permit uses for credentials, key-binding JWTs, status list tokens
// and trust lists. Every signature is made and checked by
// github.com/golang-jwt/jwt/v5 with Ed25519 (RFC 8037); this package adds
// what that library leaves to its callers: the algorithm allow-list, the
// typ and crit header checks, strict JSON decoding of headers and payloads,
// and JSON output without HTML escaping.
package jws

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize is the largest compact JWS Verify accepts, in bytes. It is
// large enough for a status list token of a million 2-bit entries.
const MaxTokenSize = 4 << 20

// Errors returned by Verify. Each names one reason a token was refused; the
// returned error wraps exactly one of them.
var (
	ErrMalformed  = errors.New("malformed token")
	ErrAlgorithm  = errors.New("algorithm not allowed")
	ErrType       = errors.New("wrong token type")
	ErrCritical   = errors.New("unsupported critical header")
	ErrUnknownKey = errors.New("unknown signing key")
	ErrSignature  = errors.New("signature does not verify")
	ErrTooLarge   = errors.New("token too large")
)

// AlgEdDSA is the JOSE algorithm name e-permit signs with (RFC 8037).
// AlgEd25519 is the fully specified name of RFC 9864, accepted when verifying.
const (
	AlgEdDSA   = "EdDSA"
	AlgEd25519 = "Ed25519"
)

func init() {
	// golang-jwt knows Ed25519 only as "EdDSA"; RFC 9864 gives it the fully
	// specified name "Ed25519". Register that name for the same method so
	// the parser verifies either.
	jwt.RegisterSigningMethod(AlgEd25519, func() jwt.SigningMethod { return &ed25519Method{} })
}

type ed25519Method struct{ jwt.SigningMethodEd25519 }

func (*ed25519Method) Alg() string { return AlgEd25519 }

// Header is the protected header of a token. Alg is always set by Sign.
type Header struct {
	Alg  string   `json:"alg"`
	Typ  string   `json:"typ,omitempty"`
	Kid  string   `json:"kid,omitempty"`
	Crit []string `json:"crit,omitempty"`
	// JWK is a public key carried in the header (OpenID4VCI proofs).
	JWK *HeaderJWK `json:"jwk,omitempty"`
}

// HeaderJWK is the public JWK member of a header. Members other than the
// three an Ed25519 public key needs are refused.
type HeaderJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// Token is a verified token.
type Token struct {
	Header Header
	// Payload is the verified payload, raw JSON. Decode it with DecodeStrict.
	Payload []byte
}

var b64 = base64.RawURLEncoding

// Sign returns the compact serialization of payload signed with s, which
// must hold an Ed25519 key. The payload must be JSON produced by Marshal.
func Sign(s crypto.Signer, h Header, payload []byte) (string, error) {
	h.Alg = AlgEdDSA
	hb, err := Marshal(h)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(hb)) + b64.EncodedLen(len(payload)) + 90)
	sb.WriteString(b64.EncodeToString(hb))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(payload))
	sig, err := jwt.SigningMethodEdDSA.Sign(sb.String(), s)
	if err != nil {
		return "", fmt.Errorf("jws: sign: %w", err)
	}
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(sig))
	return sb.String(), nil
}

// KeyFunc returns the key that must have signed a token with header h, or an
// error (typically wrapping ErrUnknownKey) when there is none.
type KeyFunc func(h Header) (ed25519.PublicKey, error)

// Verify checks a compact token: an Ed25519 algorithm, the header typ equal
// to wantTyp (compared case-insensitively, as RFC 7515 allows), no crit
// parameter (e-permit defines none), and a valid signature by the key keyFor
// returns. It returns the strictly decoded header and the verified payload.
func Verify(token string, wantTyp string, keyFor KeyFunc) (*Token, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("jws: %w: %d bytes", ErrTooLarge, len(token))
	}
	h, err := ParseHeader(token)
	if err != nil {
		return nil, err
	}
	if h.Alg != AlgEdDSA && h.Alg != AlgEd25519 {
		return nil, fmt.Errorf("jws: %w: %q", ErrAlgorithm, h.Alg)
	}
	if !strings.EqualFold(h.Typ, wantTyp) {
		return nil, fmt.Errorf("jws: %w: %q, want %q", ErrType, h.Typ, wantTyp)
	}
	if len(h.Crit) > 0 {
		return nil, fmt.Errorf("jws: %w: %q", ErrCritical, h.Crit)
	}
	key, err := keyFor(h)
	if err != nil {
		return nil, fmt.Errorf("jws: %w", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("jws: %w: key of %d bytes", ErrUnknownKey, len(key))
	}
	// golang-jwt checks the signature. Its parser is not used: it would
	// decode the header and payload leniently (case-insensitive, last
	// duplicate wins) a second time, work that the strict decoding here
	// and in the callers replaces, and that costs more than the speed
	// budget of a verification allows (docs/performance.md).
	dot := strings.LastIndexByte(token, '.')
	signingInput := token[:dot]
	sig, err := b64.DecodeString(token[dot+1:])
	if err != nil {
		return nil, fmt.Errorf("jws: %w: signature: %v", ErrMalformed, err)
	}
	payload, err := b64.DecodeString(signingInput[strings.IndexByte(signingInput, '.')+1:])
	if err != nil {
		return nil, fmt.Errorf("jws: %w: payload: %v", ErrMalformed, err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return nil, fmt.Errorf("jws: %w: payload is not a JSON object", ErrMalformed)
	}
	if err := jwt.GetSigningMethod(h.Alg).Verify(signingInput, sig, key); err != nil {
		return nil, fmt.Errorf("jws: %w", ErrSignature)
	}
	return &Token{Header: h, Payload: payload}, nil
}

// ParseHeader decodes the protected header of a compact token without
// verifying anything else. The header is decoded strictly.
func ParseHeader(token string) (Header, error) {
	seg, rest, ok := strings.Cut(token, ".")
	if !ok || strings.Count(rest, ".") != 1 {
		return Header{}, fmt.Errorf("jws: %w: not three dot-separated parts", ErrMalformed)
	}
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return Header{}, fmt.Errorf("jws: %w: header: %v", ErrMalformed, err)
	}
	var h Header
	if err := DecodeStrict(raw, &h); err != nil {
		return Header{}, fmt.Errorf("jws: %w: header: %v", ErrMalformed, err)
	}
	return h, nil
}
