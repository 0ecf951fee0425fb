// Package sdjwt implements Selective Disclosure for JWTs (RFC 9901) as
// e-permit uses it: salted disclosures hashed with SHA-256, the compact
// tilde-separated serialization, and the key-binding JWT (KB-JWT) by which a
// holder proves possession of the key named in the credential's cnf claim.
//
// The package knows nothing about residence permits: the permit profile is
// in package credential, and the whole verification in package verifier.
//
// # Serialization
//
// An issued SD-JWT is the issuer-signed JWT followed by every disclosure,
// each terminated by '~'. A presentation keeps only the disclosures the
// holder chooses and may append a KB-JWT after the last '~':
//
//	<issuer-jwt>~<disclosure>~<disclosure>~<kb-jwt>
package sdjwt

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/jws"
)

// Media types of the JWTs this package signs (RFC 9901, SD-JWT VC).
//
// TypeVCLegacy is the typ of SD-JWT VCs before draft-ietf-oauth-sd-jwt-vc-06
// renamed it (the W3C had registered vc+sd-jwt for another format).
// Draft 18 asked verifiers to accept it during the transition, and e-permit
// does (docs/credential-format.md): it never writes it, and a credential
// so typed must still carry the e-permit vct, which a W3C one cannot.
const (
	TypeVC         = "dc+sd-jwt"
	TypeVCLegacy   = "vc+sd-jwt"
	TypeKeyBinding = "kb+jwt"
)

// SHA256 is the only _sd_alg e-permit uses and accepts; it is the default
// when _sd_alg is absent.
const SHA256 = "sha-256"

// SaltSize is the number of random bytes in a disclosure's salt (128 bits).
const SaltSize = 16

// MaxDisclosures bounds the number of disclosures a presentation may carry.
const MaxDisclosures = 64

// Errors this package returns; each wraps into a more specific message.
var (
	ErrMalformed           = errors.New("malformed SD-JWT")
	ErrDisclosure          = errors.New("malformed disclosure")
	ErrDigestNotFound      = errors.New("disclosure not referenced by the credential")
	ErrDuplicateDisclosure = errors.New("disclosure given twice")
	ErrDuplicateDigest     = errors.New("digest listed twice")
	ErrClaimCollision      = errors.New("disclosed claim already present")
	ErrHashAlgorithm       = errors.New("unsupported _sd_alg")
	ErrNoKeyBinding        = errors.New("no key-binding JWT")
	ErrKeyBinding          = errors.New("key-binding JWT does not verify")
	ErrSDHash              = errors.New("key-binding JWT sd_hash does not match")
)

var b64 = base64.RawURLEncoding

// Disclosure is one selectively disclosable claim: an object property when
// Name is set, an array element otherwise.
type Disclosure struct {
	Salt  string
	Name  string
	Value any
	// Encoded is the base64url form that travels in the SD-JWT and whose
	// digest the issuer signs.
	Encoded string
}

// NewDisclosure makes a disclosure of the claim name with the given value,
// salted with SaltSize bytes read from r (use crypto/rand.Reader). An empty
// name makes an array-element disclosure.
func NewDisclosure(r io.Reader, name string, value any) (Disclosure, error) {
	if name == "_sd" || name == "..." {
		return Disclosure{}, fmt.Errorf("sdjwt: %w: claim name %q is reserved", ErrDisclosure, name)
	}
	var salt [SaltSize]byte
	if _, err := io.ReadFull(r, salt[:]); err != nil {
		return Disclosure{}, fmt.Errorf("sdjwt: salt: %w", err)
	}
	d := Disclosure{Salt: b64.EncodeToString(salt[:]), Name: name, Value: value}
	arr := []any{d.Salt, name, value}
	if name == "" {
		arr = []any{d.Salt, value}
	}
	js, err := jws.Marshal(arr)
	if err != nil {
		return Disclosure{}, fmt.Errorf("sdjwt: disclosure %q: %w", name, err)
	}
	d.Encoded = b64.EncodeToString(js)
	return d, nil
}

// ParseDisclosure decodes an encoded disclosure strictly: base64url without
// padding, a JSON array of salt, name and value (or salt and value), no
// duplicate object members anywhere in the value, no reserved claim name.
func ParseDisclosure(encoded string) (Disclosure, error) {
	raw, err := b64.DecodeString(encoded)
	if err != nil {
		return Disclosure{}, fmt.Errorf("sdjwt: %w: %v", ErrDisclosure, err)
	}
	var arr []any
	if err := jws.DecodeStrict(raw, &arr); err != nil {
		return Disclosure{}, fmt.Errorf("sdjwt: %w: %v", ErrDisclosure, err)
	}
	d := Disclosure{Encoded: encoded}
	var ok bool
	switch len(arr) {
	case 3:
		if d.Name, ok = arr[1].(string); !ok {
			return Disclosure{}, fmt.Errorf("sdjwt: %w: claim name is not a string", ErrDisclosure)
		}
		if d.Name == "_sd" || d.Name == "..." {
			return Disclosure{}, fmt.Errorf("sdjwt: %w: reserved claim name %q", ErrDisclosure, d.Name)
		}
		d.Value = arr[2]
	case 2:
		d.Value = arr[1]
	default:
		return Disclosure{}, fmt.Errorf("sdjwt: %w: array of %d elements", ErrDisclosure, len(arr))
	}
	if d.Salt, ok = arr[0].(string); !ok {
		return Disclosure{}, fmt.Errorf("sdjwt: %w: salt is not a string", ErrDisclosure)
	}
	return d, nil
}

// Digest returns the base64url SHA-256 digest of an encoded disclosure, the
// value the issuer lists in _sd.
func Digest(encoded string) string {
	sum := sha256.Sum256([]byte(encoded))
	return b64.EncodeToString(sum[:])
}

// Presentation is an SD-JWT split into its parts.
type Presentation struct {
	// IssuerJWT is the issuer-signed JWT.
	IssuerJWT string
	// Disclosures are the encoded disclosures, in the order given.
	Disclosures []string
	// KeyBinding is the KB-JWT, or "" when there is none.
	KeyBinding string
}

// Split parses the compact serialization. It checks the structure only:
// nothing is verified and disclosures are not decoded.
func Split(s string) (Presentation, error) {
	parts := strings.Split(s, "~")
	if len(parts) < 2 {
		return Presentation{}, fmt.Errorf("sdjwt: %w: no '~' separator", ErrMalformed)
	}
	if len(parts) > MaxDisclosures+2 {
		return Presentation{}, fmt.Errorf("sdjwt: %w: more than %d disclosures", ErrMalformed, MaxDisclosures)
	}
	p := Presentation{IssuerJWT: parts[0], KeyBinding: parts[len(parts)-1]}
	if strings.Count(p.IssuerJWT, ".") != 2 {
		return Presentation{}, fmt.Errorf("sdjwt: %w: issuer JWT is not a compact JWS", ErrMalformed)
	}
	if p.KeyBinding != "" && strings.Count(p.KeyBinding, ".") != 2 {
		return Presentation{}, fmt.Errorf("sdjwt: %w: key-binding JWT is not a compact JWS", ErrMalformed)
	}
	if n := len(parts) - 2; n > 0 {
		p.Disclosures = parts[1 : len(parts)-1]
		for i, d := range p.Disclosures {
			if d == "" {
				return Presentation{}, fmt.Errorf("sdjwt: %w: empty disclosure %d", ErrMalformed, i+1)
			}
		}
	}
	return p, nil
}

// WithoutKeyBinding returns the serialization up to and including the last
// '~': what a KB-JWT's sd_hash covers, and what an issuer hands a wallet.
func (p Presentation) WithoutKeyBinding() string {
	n := len(p.IssuerJWT) + 1
	for _, d := range p.Disclosures {
		n += len(d) + 1
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString(p.IssuerJWT)
	sb.WriteByte('~')
	for _, d := range p.Disclosures {
		sb.WriteString(d)
		sb.WriteByte('~')
	}
	return sb.String()
}

// String returns the compact serialization.
func (p Presentation) String() string { return p.WithoutKeyBinding() + p.KeyBinding }

// SDHash returns the sd_hash a KB-JWT must carry for the presentation.
func (p Presentation) SDHash() string { return Digest(p.WithoutKeyBinding()) }

// KeyBindingClaims are the claims of a KB-JWT. NotBefore and Expires are
// zero when the KB-JWT has no nbf or exp; Bind writes neither, but a
// verifier must honour them when present (RFC 7519 section 4.1).
type KeyBindingClaims struct {
	IssuedAt  int64  `json:"iat"`
	Audience  string `json:"aud"`
	Nonce     string `json:"nonce"`
	SDHash    string `json:"sd_hash"`
	NotBefore int64  `json:"nbf,omitempty"`
	Expires   int64  `json:"exp,omitempty"`
}

// Bind signs a KB-JWT over p with the holder's key, Ed25519 (alg EdDSA) or
// ECDSA P-256 (alg ES256), and returns p with it. Any KB-JWT p already had
// is replaced.
func Bind(p Presentation, holder crypto.Signer, aud, nonce string, iat time.Time) (Presentation, error) {
	p.KeyBinding = ""
	payload, err := jws.Marshal(KeyBindingClaims{IssuedAt: iat.Unix(), Audience: aud, Nonce: nonce, SDHash: p.SDHash()})
	if err != nil {
		return Presentation{}, err
	}
	kb, err := jws.Sign(holder, jws.Header{Typ: TypeKeyBinding}, payload)
	if err != nil {
		return Presentation{}, fmt.Errorf("sdjwt: key binding: %w", err)
	}
	p.KeyBinding = kb
	return p, nil
}

// VerifyKeyBinding checks p's KB-JWT: its type, its signature by holder
// (an ed25519.PublicKey or a P-256 *ecdsa.PublicKey, whose type decides the
// algorithm: see jws.VerifyWithKey), and its sd_hash over the
// presentation. Audience, nonce and times are the caller's to judge; the
// verified claims are returned for that.
func VerifyKeyBinding(p Presentation, holder crypto.PublicKey) (KeyBindingClaims, error) {
	if p.KeyBinding == "" {
		return KeyBindingClaims{}, fmt.Errorf("sdjwt: %w", ErrNoKeyBinding)
	}
	tok, err := jws.VerifyWithKey(p.KeyBinding, TypeKeyBinding, holder)
	if err != nil {
		return KeyBindingClaims{}, fmt.Errorf("sdjwt: %w: %w", ErrKeyBinding, err)
	}
	var c KeyBindingClaims
	if err := jws.DecodeStrict(tok.Payload, &c); err != nil {
		return KeyBindingClaims{}, fmt.Errorf("sdjwt: %w: claims: %w", ErrKeyBinding, err)
	}
	if c.Nonce == "" || c.Audience == "" || c.IssuedAt == 0 || c.SDHash == "" {
		return KeyBindingClaims{}, fmt.Errorf("sdjwt: %w: iat, aud, nonce and sd_hash are required", ErrKeyBinding)
	}
	if c.SDHash != p.SDHash() {
		return KeyBindingClaims{}, fmt.Errorf("sdjwt: %w", ErrSDHash)
	}
	return c, nil
}
