package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/epermit/epermit/internal/jws"
	"strings"
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

// JWK is a public Ed25519 JSON Web Key (RFC 7517, RFC 8037). It has no
// place for private key material. Validity windows belong to a Ring Entry,
// not to the JWK.
type JWK struct {
	Kty string `json:"kty"`           // key type, always "OKP"
	Crv string `json:"crv"`           // curve, always "Ed25519"
	X   string `json:"x"`             // public key, base64url without padding
	Kid string `json:"kid,omitempty"` // key id; if set, the RFC 7638 thumbprint
	Use string `json:"use,omitempty"` // public key use; if set, "sig"
	Alg string `json:"alg,omitempty"` // algorithm; if set, "EdDSA" (or "Ed25519")
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

// PublicKey validates k strictly and returns its Ed25519 public key.
//
// kty must be "OKP", crv "Ed25519", x unpadded base64url of exactly 32
// bytes; a non-empty kid must equal the RFC 7638 thumbprint; a non-empty use
// must be "sig" and a non-empty alg "EdDSA" or "Ed25519". Errors wrap
// ErrInvalidJWK.
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
	pub, err := decodeX(k.X)
	if err != nil {
		return nil, err
	}
	if k.Kid != "" {
		var buf [xLen]byte
		if string(appendThumbprint(buf[:0], pub)) != k.Kid {
			return nil, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrInvalidJWK, clip(k.Kid), Thumbprint(pub))
		}
	}
	if k.Use != "" && k.Use != useSig {
		return nil, fmt.Errorf("%w: use %q, want %q", ErrInvalidJWK, clip(k.Use), useSig)
	}
	if k.Alg != "" && k.Alg != algEdDSA && k.Alg != algEd25519 {
		return nil, fmt.Errorf("%w: alg %q, want %q", ErrInvalidJWK, clip(k.Alg), algEdDSA)
	}
	return pub, nil
}

// decodeX decodes the "x" member: exactly 43 characters of unpadded,
// canonical base64url giving 32 bytes.
func decodeX(x string) (ed25519.PublicKey, error) {
	switch {
	case x == "":
		return nil, fmt.Errorf("%w: x is missing", ErrInvalidJWK)
	case strings.Contains(x, "="):
		return nil, fmt.Errorf("%w: x %q has base64 padding", ErrInvalidJWK, clip(x))
	case strings.ContainsAny(x, "+/"):
		return nil, fmt.Errorf("%w: x %q uses the standard base64 alphabet, want base64url", ErrInvalidJWK, clip(x))
	case len(x) != xLen:
		return nil, fmt.Errorf("%w: x is %d characters, want %d (32 bytes)", ErrInvalidJWK, len(x), xLen)
	}
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	// A 43-character string can only decode to 32 bytes if every character
	// is in the alphabet: the decoder's tolerance of CR and LF cannot apply.
	n, err := b64.Decode(pub, []byte(x))
	if err != nil || n != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: x %q is not canonical base64url of 32 bytes", ErrInvalidJWK, clip(x))
	}
	return pub, nil
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
	k, _, err := parseJWK(data)
	if err != nil {
		return JWK{}, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

// parseJWK returns the JWK and its public key, with errors that lack the
// "keys: " prefix.
func parseJWK(data []byte) (JWK, ed25519.PublicKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return JWK{}, nil, fmt.Errorf("%w: %w", ErrInvalidJWK, err)
	}
	if members == nil { // the JSON was null
		return JWK{}, nil, fmt.Errorf("%w: not a JSON object", ErrInvalidJWK)
	}
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return JWK{}, nil, fmt.Errorf("%w: %w %q", ErrInvalidJWK, ErrPrivateJWK, name)
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
		{"kid", &k.Kid, false},
		{"use", &k.Use, false},
		{"alg", &k.Alg, false},
	} {
		raw, ok := members[f.name]
		if !ok {
			if f.required {
				return JWK{}, nil, fmt.Errorf("%w: member %q is missing", ErrInvalidJWK, f.name)
			}
			continue
		}
		if len(raw) == 0 || raw[0] != '"' {
			return JWK{}, nil, fmt.Errorf("%w: member %q is not a string", ErrInvalidJWK, f.name)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return JWK{}, nil, fmt.Errorf("%w: member %q: %w", ErrInvalidJWK, f.name, err)
		}
		if *f.dst == "" {
			return JWK{}, nil, fmt.Errorf("%w: member %q is empty", ErrInvalidJWK, f.name)
		}
	}
	pub, err := k.check()
	if err != nil {
		return JWK{}, nil, err
	}
	return k, pub, nil
}

// JWKS is a JWK Set (RFC 7517 section 5) of public Ed25519 keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// ParseJWKS parses a JWK Set. Every key is validated as ParseJWK does; a set
// with private key material, an invalid key, or the same key twice
// (ErrDuplicateKey) is refused as a whole. Keys are identified by their
// thumbprint, which a present kid must equal, so two entries for one key
// are duplicates even if only one has a kid. Other top-level members are
// ignored; duplicate or case-variant member names are refused.
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
		k, pub, err := parseJWK(item)
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

// Lookup returns the public key whose kid (its thumbprint) is kid. Keys that
// fail validation are skipped, so a JWKS built by hand is as safe to query as
// one from ParseJWKS.
func (s JWKS) Lookup(kid string) (ed25519.PublicKey, bool) {
	if kid == "" {
		return nil, false
	}
	for _, k := range s.Keys {
		if k.Kid != "" && k.Kid != kid {
			continue
		}
		pub, err := k.check() // also proves a present Kid is the thumbprint
		if err != nil {
			continue
		}
		if k.Kid == "" && Thumbprint(pub) != kid {
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
