package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"github.com/epermit/epermit/internal/jws"
)

const (
	ktyOKP     = "OKP"
	crvEd25519 = "Ed25519"
	useSig     = "sig"
	algEdDSA   = "EdDSA"
	// algEd25519 is the fully specified algorithm name of RFC 9864, accepted
	// on input as a synonym of "EdDSA" for Ed25519 keys.
	algEd25519 = "Ed25519"

	// xLen is the length of a 32-byte key in unpadded base64url.
	xLen = 43

	// RFC 7638 section 3.2: the required members of an OKP key in
	// lexicographic order, no whitespace.
	thumbprintPrefix = `{"crv":"Ed25519","kty":"OKP","x":"`
	thumbprintSuffix = `"}`
)

// b64 is unpadded base64url that also refuses non-zero trailing bits, so
// that each key has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// privateMembers are the JWK members of RFC 7518 and RFC 8037 that carry
// private or secret key material. None may appear in a public JWK.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// JWK is a public JSON Web Key (RFC 7517): an Ed25519 key (kty "OKP", RFC
// 8037), or for a holder's device key also an ECDSA P-256 key (kty "EC",
// RFC 7518 section 6.2; see [JWK.HolderKey]). It has no place for private
// key material. Validity windows belong to a Ring Entry, not to the JWK.
type JWK struct {
	Kty string `json:"kty"`           // key type: "OKP", or "EC" for a P-256 holder key
	Crv string `json:"crv"`           // curve: "Ed25519", or "P-256"
	X   string `json:"x"`             // public key (EC: x coordinate), base64url without padding
	Y   string `json:"y,omitempty"`   // EC only: y coordinate, base64url without padding
	Kid string `json:"kid,omitempty"` // key id: any name (RFC 7517 section 4.5); keys are found by thumbprint
	Use string `json:"use,omitempty"` // public key use; if set, "sig"
	Alg string `json:"alg,omitempty"` // algorithm; if set, "EdDSA" or "Ed25519" (EC: "ES256")
}

// PublicJWK returns the JWK of pub with Kid set to its RFC 7638 thumbprint,
// Use "sig" and Alg "EdDSA". PublicJWK does not validate pub: a key that is
// not 32 bytes gives a JWK that PublicKey refuses.
func PublicJWK(pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: ktyOKP,
		Crv: crvEd25519,
		X:   b64.EncodeToString(pub),
		Kid: Thumbprint(pub),
		Use: useSig,
		Alg: algEdDSA,
	}
}

// PublicKey validates k strictly as an Ed25519 key and returns it. Issuer,
// trust list and status list keys are Ed25519 and are read with PublicKey;
// a holder's key may also be P-256 and is read with [JWK.HolderKey].
//
// kty must be "OKP", crv "Ed25519", x unpadded base64url of exactly 32
// bytes encoding a point of the curve canonically (y below 2^255-19,
// [ErrNonCanonicalKey]) that is not of small order ([ErrSmallOrderKey]: one
// of the eight points for which anyone can make signatures that verify);
// a non-empty use must be "sig" and a non-empty alg "EdDSA" or "Ed25519".
// The kid is a free name (RFC 7517 section 4.5): keys are identified by
// their RFC 7638 thumbprint whatever it says. Errors wrap ErrInvalidJWK.
func (k JWK) PublicKey() (ed25519.PublicKey, error) {
	pub, err := k.check()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return pub, nil
}

// check is PublicKey without the "keys: " prefix on errors.
func (k JWK) check() (ed25519.PublicKey, error) {
	if k.Kty != ktyOKP {
		return nil, fmt.Errorf("%w: kty %q, want %q", ErrInvalidJWK, clip(k.Kty), ktyOKP)
	}
	if k.Crv != crvEd25519 {
		return nil, fmt.Errorf("%w: crv %q, want %q", ErrInvalidJWK, clip(k.Crv), crvEd25519)
	}
	if k.Y != "" {
		return nil, fmt.Errorf("%w: an OKP key has no member \"y\"", ErrInvalidJWK)
	}
	pub, err := decodeX(k.X)
	if err != nil {
		return nil, err
	}
	if err := checkEd25519Point(pub); err != nil {
		return nil, err
	}
	if k.Use != "" && k.Use != useSig {
		return nil, fmt.Errorf("%w: use %q, want %q", ErrInvalidJWK, clip(k.Use), useSig)
	}
	if k.Alg != "" && k.Alg != algEdDSA && k.Alg != algEd25519 {
		return nil, fmt.Errorf("%w: alg %q, want %q", ErrInvalidJWK, clip(k.Alg), algEdDSA)
	}
	return pub, nil
}

// decodeX decodes the "x" member of an Ed25519 key.
func decodeX(x string) (ed25519.PublicKey, error) {
	b, err := decode32("x", x)
	return ed25519.PublicKey(b), err
}

// decode32 decodes the member name: exactly 43 characters of unpadded,
// canonical base64url giving 32 bytes.
func decode32(name, x string) ([]byte, error) {
	switch {
	case x == "":
		return nil, fmt.Errorf("%w: %s is missing", ErrInvalidJWK, name)
	case strings.Contains(x, "="):
		return nil, fmt.Errorf("%w: %s %q has base64 padding", ErrInvalidJWK, name, clip(x))
	case strings.ContainsAny(x, "+/"):
		return nil, fmt.Errorf("%w: %s %q uses the standard base64 alphabet, want base64url", ErrInvalidJWK, name, clip(x))
	case len(x) != xLen:
		return nil, fmt.Errorf("%w: %s is %d characters, want %d (32 bytes)", ErrInvalidJWK, name, len(x), xLen)
	}
	b := make([]byte, 32)
	// A 43-character string can only decode to 32 bytes if every character
	// is in the alphabet: the decoder's tolerance of CR and LF cannot apply.
	n, err := b64.Decode(b, []byte(x))
	if err != nil || n != 32 {
		return nil, fmt.Errorf("%w: %s %q is not canonical base64url of 32 bytes", ErrInvalidJWK, name, clip(x))
	}
	return b, nil
}

// identity is the neutral element of the Ed25519 group, never modified.
var identity = edwards25519.NewIdentityPoint()

// checkEd25519Point refuses a 32-byte Ed25519 public key that is not the
// canonical encoding of a point of the curve, or that is a point of small
// order. For a small-order key A (the identity, say) the verification
// equation [S]B = R + [k]A holds for R = -[k]A, which for the eight
// small-order points takes one of eight values whatever the message:
// anyone can sign for such a key, and a credential bound to it binds
// nothing. The checks follow filippo.io/edwards25519: strict decoding, then
// multiplication by the cofactor 8, which maps exactly the small-order
// points to the identity.
func checkEd25519Point(pub []byte) error {
	// The encoding is the 255-bit y coordinate and the sign of x. A y at or
	// above the field's prime p = 2^255-19 is a second encoding of y-p,
	// which most decoders (this one too) accept: refuse it, so that every
	// key has one encoding and one thumbprint.
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f
	fe, err := new(field.Element).SetBytes(y[:])
	if err != nil || !bytes.Equal(fe.Bytes(), y[:]) {
		return fmt.Errorf("%w: %w: y is not below 2^255-19", ErrInvalidJWK, ErrNonCanonicalKey)
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return fmt.Errorf("%w: %w: not a point of Ed25519", ErrInvalidJWK, ErrInvalidPoint)
	}
	// The only other non-canonical encodings, x = 0 with the sign bit
	// set, are those of the two points with x = 0, both of small order.
	if new(edwards25519.Point).MultByCofactor(p).Equal(identity) == 1 {
		return fmt.Errorf("%w: %w", ErrInvalidJWK, ErrSmallOrderKey)
	}
	return nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the unpadded
// base64url SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"..."}. This package
// uses it as the kid of every key. Thumbprint does not validate pub.
func Thumbprint(pub ed25519.PublicKey) string {
	var buf [xLen]byte
	return string(appendThumbprint(buf[:0], pub))
}

// appendThumbprint appends the thumbprint of pub to dst. For a 32-byte key
// it does not allocate.
func appendThumbprint(dst []byte, pub []byte) []byte {
	var in [len(thumbprintPrefix) + xLen + len(thumbprintSuffix)]byte
	b := append(in[:0], thumbprintPrefix...)
	b = b64.AppendEncode(b, pub)
	b = append(b, thumbprintSuffix...)
	sum := sha256.Sum256(b)
	return b64.AppendEncode(dst, sum[:])
}

// thumbprintInput returns the exact bytes Thumbprint hashes (for tests).
func thumbprintInput(pub ed25519.PublicKey) string {
	return thumbprintPrefix + b64.EncodeToString(pub) + thumbprintSuffix
}

// ParseJWK parses one public Ed25519 JWK and validates it as PublicKey does.
//
// Members other than kty, crv, x, kid, use and alg are ignored, as RFC 7517
// allows, except members carrying private key material ("d" and the private
// members of other key types): those are refused with an error wrapping
// ErrPrivateJWK and ErrInvalidJWK. Member names are matched exactly (JSON is
// case-sensitive) and the known members must be non-empty strings.
func ParseJWK(data []byte) (JWK, error) {
	k, err := parseMembers(data)
	if err == nil {
		_, err = k.check()
	}
	if err != nil {
		return JWK{}, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

// parseMembers reads the members of a public JWK strictly, as ParseJWK
// documents, without validating the key: "y" is read for kty "EC" only.
// Errors lack the "keys: " prefix.
func parseMembers(data []byte) (JWK, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return JWK{}, fmt.Errorf("%w: %w", ErrInvalidJWK, err)
	}
	if members == nil { // the JSON was null
		return JWK{}, fmt.Errorf("%w: not a JSON object", ErrInvalidJWK)
	}
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return JWK{}, fmt.Errorf("%w: %w %q", ErrInvalidJWK, ErrPrivateJWK, name)
		}
	}
	var k JWK
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{
		{"kty", &k.Kty, true},
		{"crv", &k.Crv, true},
		{"x", &k.X, true},
		{"y", &k.Y, false},
		{"kid", &k.Kid, false},
		{"use", &k.Use, false},
		{"alg", &k.Alg, false},
	} {
		if f.name == "y" && k.Kty != ktyEC {
			continue // not a member of an OKP key: ignored like any other
		}
		raw, ok := members[f.name]
		if !ok {
			if f.required {
				return JWK{}, fmt.Errorf("%w: member %q is missing", ErrInvalidJWK, f.name)
			}
			continue
		}
		if len(raw) == 0 || raw[0] != '"' {
			return JWK{}, fmt.Errorf("%w: member %q is not a string", ErrInvalidJWK, f.name)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return JWK{}, fmt.Errorf("%w: member %q: %w", ErrInvalidJWK, f.name, err)
		}
		if *f.dst == "" {
			return JWK{}, fmt.Errorf("%w: member %q is empty", ErrInvalidJWK, f.name)
		}
	}
	return k, nil
}

// JWKS is a JWK Set (RFC 7517 section 5) of public Ed25519 keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// ParseJWKS parses a JWK Set of Ed25519 keys (issuer keys). Every key is
// validated as ParseJWK does; a set with private key material, an invalid
// or weak key, or the same key twice (ErrDuplicateKey) is refused as a
// whole. Keys are identified by their thumbprint, not by their kid, which
// may be any name: two entries for one key are duplicates whatever their
// kids say. Other top-level members are ignored; duplicate or case-variant
// member names are refused.
func ParseJWKS(data []byte) (JWKS, error) {
	// Strict: a set that names "keys" twice (or "Keys") is refused, so two
	// parsers can never read two different sets from it.
	var top map[string]json.RawMessage
	if err := jws.DecodeStrict(data, &top); err != nil {
		return JWKS{}, fmt.Errorf("keys: jwks: %w: %w", ErrInvalidJWK, err)
	}
	raw, ok := top["keys"]
	if !ok {
		return JWKS{}, fmt.Errorf("keys: jwks: %w: member \"keys\" is missing", ErrInvalidJWK)
	}
	if len(raw) == 0 || raw[0] != '[' {
		return JWKS{}, fmt.Errorf("keys: jwks: %w: member \"keys\" is not an array", ErrInvalidJWK)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return JWKS{}, fmt.Errorf("keys: jwks: %w: %w", ErrInvalidJWK, err)
	}
	set := JWKS{Keys: make([]JWK, 0, len(items))}
	seen := make(map[string]int, len(items))
	for i, item := range items {
		k, err := parseMembers(item)
		var pub ed25519.PublicKey
		if err == nil {
			pub, err = k.check()
		}
		if err != nil {
			return JWKS{}, fmt.Errorf("keys: jwks key %d: %w", i, err)
		}
		kid := Thumbprint(pub)
		if j, dup := seen[kid]; dup {
			return JWKS{}, fmt.Errorf("keys: jwks key %d: %w: kid %q is also key %d", i, ErrDuplicateKey, kid, j)
		}
		seen[kid] = i
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// Lookup returns the public key whose RFC 7638 thumbprint is kid, the key
// ID e-permit puts in the header of what it signs. A key's own kid member
// is not consulted: it may be any name, and a set could otherwise name one
// key with another's thumbprint. Keys that fail validation are skipped, so
// a JWKS built by hand is as safe to query as one from ParseJWKS.
func (s JWKS) Lookup(kid string) (ed25519.PublicKey, bool) {
	if len(kid) != xLen {
		return nil, false
	}
	var buf [xLen]byte
	for _, k := range s.Keys {
		pub, err := k.check()
		if err != nil || string(appendThumbprint(buf[:0], pub)) != kid {
			continue
		}
		return pub, true
	}
	return nil, false
}

// Marshal returns s as compact JSON without HTML escaping, with "keys" an
// empty array rather than null when s has no keys. It refuses a set holding
// an invalid key.
func (s JWKS) Marshal() ([]byte, error) {
	for i, k := range s.Keys {
		if _, err := k.check(); err != nil {
			return nil, fmt.Errorf("keys: jwks key %d: %w", i, err)
		}
	}
	if s.Keys == nil {
		s.Keys = []JWK{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("keys: jwks: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// clip shortens untrusted text quoted in an error message.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
