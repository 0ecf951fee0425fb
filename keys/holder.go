package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"math/big"
)

// The JOSE algorithms of holder device keys: what [GenerateDeviceKey] takes
// and what a key-binding JWT or an OpenID4VCI proof made with the key says.
const (
	AlgEdDSA = algEdDSA // Ed25519 (RFC 8037)
	AlgES256 = "ES256"  // ECDSA P-256 with SHA-256, signature r||s (RFC 7518 section 3.4)
)

const (
	ktyEC   = "EC"
	crvP256 = "P-256"
)

// p256Prime is the prime of the field P-256 is defined over.
var p256Prime = elliptic.P256().Params().P

// HolderKey validates k as a holder's device key, the key a credential is
// bound to, and returns it: an ed25519.PublicKey for kty "OKP" (checked as
// [JWK.PublicKey] checks it, small-order points refused), or an
// *ecdsa.PublicKey on P-256 for kty "EC", crv "P-256", the key that the
// secure hardware of phones holds.
//
// An EC key's x and y must each be unpadded base64url of exactly 32 bytes
// (ErrInvalidJWK), be below the field's prime ([ErrNonCanonicalKey]), and
// together be a point of P-256 other than the point at infinity
// ([ErrInvalidPoint]); a non-empty use must be "sig" and a non-empty alg
// "ES256". Errors wrap ErrInvalidJWK.
func (k JWK) HolderKey() (crypto.PublicKey, error) {
	pub, err := k.holderKey()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return pub, nil
}

func (k JWK) holderKey() (crypto.PublicKey, error) {
	if k.Kty != ktyEC {
		pub, err := k.check()
		if err != nil {
			return nil, err
		}
		return pub, nil
	}
	if k.Crv != crvP256 {
		return nil, fmt.Errorf("%w: crv %q, want %q", ErrInvalidJWK, clip(k.Crv), crvP256)
	}
	x, err := decode32("x", k.X)
	if err != nil {
		return nil, err
	}
	y, err := decode32("y", k.Y)
	if err != nil {
		return nil, err
	}
	if k.Use != "" && k.Use != useSig {
		return nil, fmt.Errorf("%w: use %q, want %q", ErrInvalidJWK, clip(k.Use), useSig)
	}
	if k.Alg != "" && k.Alg != AlgES256 {
		return nil, fmt.Errorf("%w: alg %q, want %q", ErrInvalidJWK, clip(k.Alg), AlgES256)
	}
	return p256Point(x, y)
}

// p256Point returns the P-256 public key with coordinates x and y (32
// bytes each, big-endian), refusing coordinates at or above the prime,
// the point at infinity and points off the curve.
func p256Point(x, y []byte) (*ecdsa.PublicKey, error) {
	if isZero(x) && isZero(y) {
		// (0, 0) is how the point at infinity is sometimes written in
		// affine coordinates; it has no uncompressed encoding.
		return nil, fmt.Errorf("%w: %w: the point at infinity", ErrInvalidJWK, ErrInvalidPoint)
	}
	for _, c := range []struct {
		name string
		v    []byte
	}{{"x", x}, {"y", y}} {
		if new(big.Int).SetBytes(c.v).Cmp(p256Prime) >= 0 {
			return nil, fmt.Errorf("%w: %w: %s is not below the P-256 prime", ErrInvalidJWK, ErrNonCanonicalKey, c.name)
		}
	}
	enc := make([]byte, 0, 65)
	enc = append(append(append(enc, 4), x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: not a point of P-256", ErrInvalidJWK, ErrInvalidPoint)
	}
	return pub, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// HolderJWK returns the JWK of a holder's public key, an ed25519.PublicKey
// or an *ecdsa.PublicKey on P-256, with kid its RFC 7638 thumbprint, use
// "sig" and alg "EdDSA" or "ES256". It refuses any other key, and a key
// that [JWK.HolderKey] would refuse.
func HolderJWK(pub crypto.PublicKey) (JWK, error) {
	var k JWK
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return JWK{}, fmt.Errorf("keys: %w: ed25519 public key of %d bytes", ErrInvalidJWK, len(p))
		}
		k = PublicJWK(p)
	case *ecdsa.PublicKey:
		if p == nil || p.Curve != elliptic.P256() {
			return JWK{}, fmt.Errorf("keys: %w: ecdsa key not on P-256", ErrInvalidJWK)
		}
		enc, err := p.Bytes()
		if err != nil || len(enc) != 65 {
			return JWK{}, fmt.Errorf("keys: %w: %w: not a point of P-256", ErrInvalidJWK, ErrInvalidPoint)
		}
		k = JWK{Kty: ktyEC, Crv: crvP256, X: b64.EncodeToString(enc[1:33]), Y: b64.EncodeToString(enc[33:]), Use: useSig, Alg: AlgES256}
		k.Kid = ecThumbprint(k.X, k.Y)
	default:
		return JWK{}, fmt.Errorf("keys: %w: holder key of type %T, want Ed25519 or ECDSA P-256", ErrInvalidJWK, pub)
	}
	if _, err := k.holderKey(); err != nil {
		return JWK{}, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

// Thumbprint validates k as a holder key ([JWK.HolderKey]) and returns its
// RFC 7638 thumbprint: of {"crv","kty","x"} for Ed25519 and of
// {"crv","kty","x","y"} for P-256, members in that order, no white space.
func (k JWK) Thumbprint() (string, error) {
	pub, err := k.holderKey()
	if err != nil {
		return "", fmt.Errorf("keys: %w", err)
	}
	if ed, ok := pub.(ed25519.PublicKey); ok {
		return Thumbprint(ed), nil
	}
	// x and y were checked to be canonical: they are the members as hashed.
	return ecThumbprint(k.X, k.Y), nil
}

// ecThumbprint is the RFC 7638 thumbprint of a P-256 key with the given
// canonical base64url coordinates.
func ecThumbprint(x, y string) string {
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return b64.EncodeToString(sum[:])
}

// ParseHolderJWK parses one public JWK as [ParseJWK] does and validates it
// as a holder key ([JWK.HolderKey]): Ed25519 or P-256.
func ParseHolderJWK(data []byte) (JWK, error) {
	k, err := parseMembers(data)
	if err == nil {
		_, err = k.holderKey()
	}
	if err != nil {
		return JWK{}, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

// SameKey reports whether a and b are the same public key. Keys of
// different types, and values that are not public keys, are never the same.
func SameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && eq.Equal(b)
}
