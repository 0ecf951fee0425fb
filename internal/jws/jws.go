// Package jws signs and verifies the compact JSON Web Signatures (RFC 7515)
// that e-permit uses for credentials, key-binding JWTs, status list tokens,
// trust lists and OpenID4VCI proofs. Every signature is checked by
// github.com/golang-jwt/jwt/v5: Ed25519 (RFC 8037) for everything an issuer
// signs ([Verify]), and Ed25519 or ECDSA P-256 (ES256, RFC 7518 section
// 3.4) for what a holder's device key signs ([VerifyWithKey]). Ed25519
// signatures are also made by golang-jwt; ES256 ones through
// crypto.SignMessage, so that a key golang-jwt cannot hold (a WebCrypto
// key, a phone's secure hardware) can sign. This package adds what that
// library leaves to its callers: the algorithm allow-list, tied to the key
// type so that a token cannot choose how it is checked, the typ and crit
// header checks, strict JSON decoding of headers and payloads, and JSON
// output without HTML escaping.
package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
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
// AlgES256 is ECDSA P-256 with SHA-256, for holder device keys only; its
// signature is the 64-byte concatenation r||s, never DER.
const (
	AlgEdDSA   = "EdDSA"
	AlgEd25519 = "Ed25519"
	AlgES256   = "ES256"
)

// es256Size is the length of an ES256 signature: r and s, 32 bytes each.
const es256Size = 64

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

// HeaderJWK is the public JWK member of a header: the members of an
// Ed25519 or P-256 public key. Package keys validates it.
type HeaderJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
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

// Sign returns the compact serialization of payload signed with s: with
// alg EdDSA for an Ed25519 key, or ES256 for an ECDSA P-256 key (a holder's
// device key). The payload must be JSON produced by Marshal. Any alg in h
// is replaced by the one of the key.
func Sign(s crypto.Signer, h Header, payload []byte) (string, error) {
	if s == nil {
		return "", errors.New("jws: sign: no key")
	}
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		h.Alg = AlgEdDSA
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("jws: sign: ecdsa key not on P-256")
		}
		h.Alg = AlgES256
	default:
		return "", fmt.Errorf("jws: sign: key of type %T, want Ed25519 or ECDSA P-256", pub)
	}
	hb, err := Marshal(h)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(hb)) + b64.EncodedLen(len(payload)) + 90)
	sb.WriteString(b64.EncodeToString(hb))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(payload))
	var sig []byte
	if h.Alg == AlgEdDSA {
		sig, err = jwt.SigningMethodEdDSA.Sign(sb.String(), s)
	} else {
		sig, err = signES256(s, sb.String())
	}
	if err != nil {
		return "", fmt.Errorf("jws: sign: %w", err)
	}
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(sig))
	return sb.String(), nil
}

// signES256 signs the signing input with a P-256 key and returns r||s.
// crypto.SignMessage lets a signer that hashes for itself (a WebCrypto key)
// take the message; others get its SHA-256. Either returns the ASN.1 DER
// signature of the crypto.Signer convention, converted here to JOSE form.
func signES256(s crypto.Signer, signingInput string) ([]byte, error) {
	der, err := crypto.SignMessage(s, rand.Reader, []byte(signingInput), crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil ||
		rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("ecdsa signer returned no valid ASN.1 signature")
	}
	sig := make([]byte, es256Size)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

// KeyFunc returns the key that must have signed a token with header h, or an
// error (typically wrapping ErrUnknownKey) when there is none.
type KeyFunc func(h Header) (ed25519.PublicKey, error)

// Verify checks a compact token signed by an issuer: an Ed25519 algorithm,
// the header typ equal to wantTyp or one of alsoTyp (compared
// case-insensitively, as RFC 7515 allows), no crit parameter (e-permit
// defines none), and a valid signature by the key keyFor returns. It
// returns the strictly decoded header and the verified payload.
func Verify(token string, wantTyp string, keyFor KeyFunc, alsoTyp ...string) (*Token, error) {
	h, err := parse(token, wantTyp, alsoTyp)
	if err != nil {
		return nil, err
	}
	if h.Alg != AlgEdDSA && h.Alg != AlgEd25519 {
		return nil, fmt.Errorf("jws: %w: %q", ErrAlgorithm, h.Alg)
	}
	key, err := keyFor(h)
	if err != nil {
		return nil, fmt.Errorf("jws: %w", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("jws: %w: key of %d bytes", ErrUnknownKey, len(key))
	}
	return check(token, h, key)
}

// VerifyWithKey checks a compact token signed by key, a holder's device
// key (a key-binding JWT, an OpenID4VCI proof), as Verify does. The
// algorithm is the key's, whatever the header claims: EdDSA (or Ed25519)
// for an ed25519.PublicKey, ES256 with a 64-byte r||s signature for an
// *ecdsa.PublicKey on P-256. Any other key gives ErrUnknownKey.
func VerifyWithKey(token string, wantTyp string, key crypto.PublicKey) (*Token, error) {
	h, err := parse(token, wantTyp, nil)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		if h.Alg != AlgEdDSA && h.Alg != AlgEd25519 {
			return nil, fmt.Errorf("jws: %w: %q for an Ed25519 key", ErrAlgorithm, h.Alg)
		}
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("jws: %w: key of %d bytes", ErrUnknownKey, len(k))
		}
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("jws: %w: ecdsa key not on P-256", ErrUnknownKey)
		}
		if h.Alg != AlgES256 {
			return nil, fmt.Errorf("jws: %w: %q for a P-256 key", ErrAlgorithm, h.Alg)
		}
	default:
		return nil, fmt.Errorf("jws: %w: key of type %T", ErrUnknownKey, key)
	}
	return check(token, h, key)
}

// parse checks a token's size, header, typ and crit.
func parse(token, wantTyp string, alsoTyp []string) (Header, error) {
	if len(token) > MaxTokenSize {
		return Header{}, fmt.Errorf("jws: %w: %d bytes", ErrTooLarge, len(token))
	}
	h, err := ParseHeader(token)
	if err != nil {
		return Header{}, err
	}
	if h.Alg != AlgEdDSA && h.Alg != AlgEd25519 && h.Alg != AlgES256 {
		return Header{}, fmt.Errorf("jws: %w: %q", ErrAlgorithm, h.Alg)
	}
	typeOK := strings.EqualFold(h.Typ, wantTyp)
	for _, t := range alsoTyp {
		typeOK = typeOK || strings.EqualFold(h.Typ, t)
	}
	if !typeOK {
		return Header{}, fmt.Errorf("jws: %w: %q, want %q", ErrType, h.Typ, wantTyp)
	}
	if len(h.Crit) > 0 {
		return Header{}, fmt.Errorf("jws: %w: %q", ErrCritical, h.Crit)
	}
	return h, nil
}

// check decodes the payload and signature of a token whose header parse
// accepted and has golang-jwt verify the signature with key, by the method
// of the header's alg (which the callers matched with the key's type).
func check(token string, h Header, key any) (*Token, error) {
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
	// ES256 is r||s of 64 bytes (RFC 7518 section 3.4); golang-jwt refuses
	// any other length, DER among them.
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
