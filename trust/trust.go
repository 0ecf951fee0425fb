// Package trust defines what an offline verifier trusts: a trust list signed
// by a root key (the provincial authority) that names the issuing
// authorities with their keys and status lists, and the purpose policy that
// says what a residence permit may be used for.
//
// A verifier pins the root key by its RFC 7638 thumbprint; the trust list
// carries the root's public key in its header, so the pin is all a verifier
// needs to be configured with. A trust list has a version that only grows:
// a verifier refuses one older than what it holds (rollback).
//
// For tests and single-issuer setups, a plain JWKS can stand in for a trust
// list (FromJWKS); it trusts any issuer identifier and uses DefaultPolicy.
package trust

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
)

// Type is the typ header of a trust list JWT.
const Type = "epermit-trust+jwt"

// Errors returned when a trust list is refused.
var (
	ErrRootMismatch = errors.New("trust list not signed by the pinned root key")
	ErrRollback     = errors.New("trust list older than the one already held")
	ErrInvalid      = errors.New("invalid trust list")
	// ErrNotYetValid reports a trust list used before its nbf.
	ErrNotYetValid = errors.New("trust list not yet valid")
	// ErrExpired reports a trust list used after its exp and the grace
	// period of its policy.
	ErrExpired = errors.New("trust list expired")
)

// Text is a message in Chinese and English.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Issuer is an issuing authority named by a trust list.
type Issuer struct {
	// ID is the authority's iss value, an https URL.
	ID string `json:"iss"`
	// Name is its display name.
	Name Text `json:"name"`
	// Region is the GB/T 2260 division code of the area it serves.
	Region string `json:"region"`
	// JWKS holds its credential and status list signing keys.
	JWKS keys.JWKS `json:"jwks"`
	// StatusLists are the URIs of its status lists.
	StatusLists []string `json:"status_lists"`
}

// List is the content of a trust list.
type List struct {
	Version   int64     `json:"ver"`
	IssuedAt  time.Time `json:"-"`
	ExpiresAt time.Time `json:"-"`
	// NotBefore is the list's nbf, zero for none: it is not to be used
	// before then (RFC 7519 section 4.1.5).
	NotBefore time.Time `json:"-"`
	Issuers   []Issuer  `json:"issuers"`
	Policy    Policy    `json:"policy"`
}

type wire struct {
	Iss     string   `json:"iss,omitempty"`
	Iat     int64    `json:"iat"`
	Nbf     int64    `json:"nbf,omitempty"`
	Exp     int64    `json:"exp"`
	Version int64    `json:"ver"`
	Issuers []Issuer `json:"issuers"`
	Policy  Policy   `json:"policy"`
}

// Sign returns l as a JWT signed by the root key, with the root's public JWK
// and thumbprint kid in its header.
func Sign(root crypto.Signer, l List) (string, error) {
	pub, ok := root.Public().(ed25519.PublicKey)
	if !ok {
		return "", fmt.Errorf("trust: sign: root key is not Ed25519")
	}
	if err := l.validate(); err != nil {
		return "", fmt.Errorf("trust: sign: %w", err)
	}
	w := wire{Iat: l.IssuedAt.Unix(), Exp: l.ExpiresAt.Unix(), Version: l.Version, Issuers: l.Issuers, Policy: l.Policy}
	if !l.NotBefore.IsZero() {
		w.Nbf = l.NotBefore.Unix()
	}
	body, err := jws.Marshal(w)
	if err != nil {
		return "", err
	}
	j := keys.PublicJWK(pub)
	return jws.Sign(root, jws.Header{Typ: Type, Kid: j.Kid, JWK: &jws.HeaderJWK{Kty: j.Kty, Crv: j.Crv, X: j.X}}, body)
}

// Verify checks a trust list JWT against the pinned root thumbprint and
// returns its content. Its times are not judged here: see [List.ValidAt].
func Verify(token, rootThumbprint string) (*List, error) {
	tok, err := jws.Verify(token, Type, func(h jws.Header) (ed25519.PublicKey, error) {
		if h.JWK == nil {
			return nil, fmt.Errorf("%w: %w: no jwk header", jws.ErrUnknownKey, ErrRootMismatch)
		}
		pub, err := keys.JWK{Kty: h.JWK.Kty, Crv: h.JWK.Crv, X: h.JWK.X}.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", jws.ErrUnknownKey, err)
		}
		if keys.Thumbprint(pub) != rootThumbprint {
			return nil, fmt.Errorf("%w: %w", jws.ErrUnknownKey, ErrRootMismatch)
		}
		return pub, nil
	})
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	var w wire
	if err := jws.DecodeStrict(tok.Payload, &w); err != nil {
		return nil, fmt.Errorf("trust: %w: %w", ErrInvalid, err)
	}
	l := &List{Version: w.Version, IssuedAt: time.Unix(w.Iat, 0), ExpiresAt: time.Unix(w.Exp, 0), Issuers: w.Issuers, Policy: w.Policy}
	if w.Nbf != 0 {
		l.NotBefore = time.Unix(w.Nbf, 0)
	}
	if w.Iat == 0 || w.Exp == 0 {
		return nil, fmt.Errorf("trust: %w: iat and exp are required", ErrInvalid)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	return l, nil
}

// ValidAt reports whether l may be used at now: an error wrapping
// ErrNotYetValid when its nbf is more than skew after now, and ErrExpired
// when now is past its exp and the policy's grace period.
func (l *List) ValidAt(now time.Time, skew time.Duration) error {
	if l.NotBefore.After(now.Add(skew)) {
		return fmt.Errorf("trust: %w: not before %s, clock says %s", ErrNotYetValid,
			l.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if end := l.ExpiresAt.Add(l.Policy.ExpiryGrace.Duration()); now.After(end) {
		return fmt.Errorf("trust: %w: expired %s, grace ended %s", ErrExpired,
			l.ExpiresAt.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return nil
}

func (l *List) validate() error {
	if l.Version < 1 {
		return fmt.Errorf("%w: version must be positive", ErrInvalid)
	}
	if !l.ExpiresAt.After(l.IssuedAt) {
		return fmt.Errorf("%w: expires before it is issued", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, is := range l.Issuers {
		if is.ID == "" {
			return fmt.Errorf("%w: issuer without iss", ErrInvalid)
		}
		if seen[is.ID] {
			return fmt.Errorf("%w: issuer %q listed twice", ErrInvalid, is.ID)
		}
		seen[is.ID] = true
		for _, k := range is.JWKS.Keys {
			if _, err := k.PublicKey(); err != nil {
				return fmt.Errorf("%w: issuer %q: %w", ErrInvalid, is.ID, err)
			}
		}
	}
	return l.Policy.validate()
}

// Store is the trust a verifier holds: issuers by key, and the policy. It is
// built from a verified List or from a JWKS and is read-only afterwards.
type Store struct {
	list  *List // nil for a JWKS store
	byKid map[string]issuerKey
}

type issuerKey struct {
	issuer *Issuer
	pub    ed25519.PublicKey
}

// NewStore builds a Store from a verified list.
func NewStore(l *List) (*Store, error) {
	s := &Store{list: l, byKid: map[string]issuerKey{}}
	for i := range l.Issuers {
		is := &l.Issuers[i]
		for _, k := range is.JWKS.Keys {
			pub, err := k.PublicKey()
			if err != nil {
				return nil, fmt.Errorf("trust: issuer %q: %w", is.ID, err)
			}
			kid := keys.Thumbprint(pub)
			if _, dup := s.byKid[kid]; dup {
				return nil, fmt.Errorf("trust: %w: key %s listed twice", ErrInvalid, kid)
			}
			s.byKid[kid] = issuerKey{issuer: is, pub: pub}
		}
	}
	return s, nil
}

// FromJWKS builds a Store that trusts the keys of set for any issuer, with
// DefaultPolicy. It has no version, age or expiry.
func FromJWKS(set keys.JWKS) (*Store, error) {
	is := &Issuer{JWKS: set}
	s := &Store{byKid: map[string]issuerKey{}}
	for _, k := range set.Keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		s.byKid[keys.Thumbprint(pub)] = issuerKey{issuer: is, pub: pub}
	}
	return s, nil
}

// Key returns the public key with thumbprint kid and the issuer it belongs
// to. For a JWKS store the issuer has an empty ID, meaning "any".
func (s *Store) Key(kid string) (ed25519.PublicKey, *Issuer, bool) {
	k, ok := s.byKid[kid]
	return k.pub, k.issuer, ok
}

// List returns the trust list the store was built from, or nil for a JWKS
// store.
func (s *Store) List() *List { return s.list }

// Policy returns the purpose policy: the trust list's, or DefaultPolicy.
func (s *Store) Policy() *Policy {
	if s.list == nil {
		p := DefaultPolicy()
		return &p
	}
	return &s.list.Policy
}

// Replace checks that next may replace the list held in s: its version must
// not be lower (rollback) and an equal version must be the same content.
func Replace(held, next *List) error {
	if held == nil {
		return nil
	}
	if next.Version < held.Version {
		return fmt.Errorf("trust: %w: version %d, held %d", ErrRollback, next.Version, held.Version)
	}
	if next.Version == held.Version && !next.IssuedAt.Equal(held.IssuedAt) {
		return fmt.Errorf("trust: %w: version %d reissued with other content", ErrRollback, next.Version)
	}
	return nil
}
