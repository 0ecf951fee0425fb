package keys

import (
	"crypto"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"
)

// The standard library's private key is a crypto.Signer; a hardware signer
// whose Public method returns an ed25519.PublicKey can take its place.
var _ crypto.Signer = ed25519.PrivateKey(nil)

// Entry is one key of a Ring.
type Entry struct {
	// Kid is the key id, the RFC 7638 thumbprint of Public. NewRing fills it
	// in when empty and refuses any other value.
	Kid string

	// Public is the Ed25519 public key. NewRing takes it from Signer when
	// empty.
	Public ed25519.PublicKey

	// Signer signs with the key; it is nil for a verify-only key. The one
	// entry with a Signer is the active key.
	Signer crypto.Signer

	// NotBefore and NotAfter bound, inclusively, the instants at which
	// Verifier accepts the key. A zero time leaves that side open.
	NotBefore, NotAfter time.Time
}

// Ring holds the issuer's keys: at most one active key that signs, and any
// number of older verify-only keys kept so that credentials they signed still
// verify. Keys are identified by their thumbprint (kid). The zero Ring is an
// empty ring ready for Rotate. A Ring is safe for concurrent use.
type Ring struct {
	mu        sync.RWMutex
	entries   []Entry        // insertion order; Public slices owned by the ring
	byKid     map[string]int // kid -> index in entries
	activeKid string         // "" when no entry has a Signer
}

// NewRing returns a ring holding entries, in order. It refuses (wrapping
// ErrInvalidEntry or ErrDuplicateKey) an entry without a 32-byte public key,
// a kid other than the thumbprint, a Signer whose public key is not Public,
// a NotAfter before NotBefore, the same key twice, or more than one entry
// with a Signer. A ring without a Signer is a verify-only ring.
func NewRing(entries ...Entry) (*Ring, error) {
	r := &Ring{
		entries: make([]Entry, 0, len(entries)),
		byKid:   make(map[string]int, len(entries)),
	}
	for i, e := range entries {
		e, err := normalizeEntry(e)
		if err != nil {
			return nil, fmt.Errorf("keys: ring entry %d: %w", i, err)
		}
		if j, dup := r.byKid[e.Kid]; dup {
			return nil, fmt.Errorf("keys: ring entry %d: %w: kid %q is also entry %d", i, ErrDuplicateKey, e.Kid, j)
		}
		if e.Signer != nil {
			if r.activeKid != "" {
				return nil, fmt.Errorf("keys: ring entry %d: %w: entry %d already has a signer; only the active key may",
					i, ErrInvalidEntry, r.byKid[r.activeKid])
			}
			r.activeKid = e.Kid
		}
		r.byKid[e.Kid] = len(r.entries)
		r.entries = append(r.entries, e)
	}
	return r, nil
}

// normalizeEntry validates e, fills in Public and Kid, and copies Public so
// that the caller's slice cannot change the ring.
func normalizeEntry(e Entry) (Entry, error) {
	if e.Signer != nil {
		sp, ok := e.Signer.Public().(ed25519.PublicKey)
		if !ok {
			return Entry{}, fmt.Errorf("%w: signer's public key is %T, want ed25519.PublicKey", ErrInvalidEntry, e.Signer.Public())
		}
		if e.Public == nil {
			e.Public = sp
		} else if !sp.Equal(e.Public) {
			return Entry{}, fmt.Errorf("%w: signer's public key is not the entry's public key", ErrInvalidEntry)
		}
	}
	if len(e.Public) != ed25519.PublicKeySize {
		return Entry{}, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidEntry, len(e.Public), ed25519.PublicKeySize)
	}
	// The ring's keys are published in the JWKS, which verifiers refuse
	// whole if it holds a weak key.
	if err := checkEd25519Point(e.Public); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	e.Public = append(ed25519.PublicKey(nil), e.Public...)
	kid := Thumbprint(e.Public)
	if e.Kid == "" {
		e.Kid = kid
	} else if e.Kid != kid {
		return Entry{}, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrInvalidEntry, clip(e.Kid), kid)
	}
	if !e.NotBefore.IsZero() && !e.NotAfter.IsZero() && e.NotAfter.Before(e.NotBefore) {
		return Entry{}, fmt.Errorf("%w: not-after %s is before not-before %s", ErrInvalidEntry,
			e.NotAfter.Format(time.RFC3339), e.NotBefore.Format(time.RFC3339))
	}
	return e, nil
}

// Active returns the kid and signer of the active key, or ErrNoActiveKey.
// Active does not consult the key's validity window.
func (r *Ring) Active() (kid string, s crypto.Signer, err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.activeKid == "" {
		return "", nil, fmt.Errorf("keys: %w", ErrNoActiveKey)
	}
	return r.activeKid, r.entries[r.byKid[r.activeKid]].Signer, nil
}

// Rotate makes newKey the active key, valid from now with no end. The
// previous active key stays in the ring as a verify-only key (its Signer is
// dropped, its NotAfter unchanged), so credentials it signed keep verifying.
// Rotate refuses a nil signer, a zero now, a signer whose public key is not
// Ed25519, and a key the ring already holds; on error the ring is unchanged.
func (r *Ring) Rotate(newKey crypto.Signer, now time.Time) error {
	if newKey == nil {
		return fmt.Errorf("keys: rotate: %w: nil signer", ErrInvalidEntry)
	}
	if now.IsZero() {
		return fmt.Errorf("keys: rotate: %w: zero time", ErrInvalidEntry)
	}
	e, err := normalizeEntry(Entry{Signer: newKey, NotBefore: now})
	if err != nil {
		return fmt.Errorf("keys: rotate: %w", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byKid[e.Kid]; dup {
		return fmt.Errorf("keys: rotate: %w: kid %q is already in the ring", ErrDuplicateKey, e.Kid)
	}
	if r.byKid == nil {
		r.byKid = make(map[string]int)
	}
	if r.activeKid != "" {
		r.entries[r.byKid[r.activeKid]].Signer = nil
	}
	r.byKid[e.Kid] = len(r.entries)
	r.entries = append(r.entries, e)
	r.activeKid = e.Kid
	return nil
}

// Verifier returns the public key kid names if that key may verify a
// signature made at instant at. It returns an error wrapping ErrUnknownKey
// for a kid the ring does not hold and ErrKeyNotValidAt when at is outside
// the key's [NotBefore, NotAfter] window. The returned key is a copy.
func (r *Ring) Verifier(kid string, at time.Time) (ed25519.PublicKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.byKid[kid]
	if !ok {
		return nil, fmt.Errorf("keys: %w: kid %q", ErrUnknownKey, clip(kid))
	}
	e := &r.entries[i]
	if !e.NotBefore.IsZero() && at.Before(e.NotBefore) {
		return nil, fmt.Errorf("keys: key %q: %w: %s is before not-before %s", kid, ErrKeyNotValidAt,
			at.Format(time.RFC3339), e.NotBefore.Format(time.RFC3339))
	}
	if !e.NotAfter.IsZero() && at.After(e.NotAfter) {
		return nil, fmt.Errorf("keys: key %q: %w: %s is after not-after %s", kid, ErrKeyNotValidAt,
			at.Format(time.RFC3339), e.NotAfter.Format(time.RFC3339))
	}
	return append(ed25519.PublicKey(nil), e.Public...), nil
}

// JWKS returns the public keys of the ring, active and verify-only, in the
// order they were added. Validity windows are not part of a JWK and are not
// included.
func (r *Ring) JWKS() JWKS {
	r.mu.RLock()
	defer r.mu.RUnlock()
	set := JWKS{Keys: make([]JWK, 0, len(r.entries))}
	for _, e := range r.entries {
		set.Keys = append(set.Keys, PublicJWK(e.Public))
	}
	return set
}

// Entries returns a copy of the ring's entries in the order they were added,
// for example to persist the validity windows that JWKS leaves out.
func (r *Ring) Entries() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, len(r.entries))
	for i, e := range r.entries {
		e.Public = append(ed25519.PublicKey(nil), e.Public...)
		out[i] = e
	}
	return out
}
