package verifier

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// MaxStatusEntries caps the size of a status list the verifier decodes.
const MaxStatusEntries = 1 << 24

// Trust is the offline data a verifier checks against: the issuers and
// policy of a trust list (or of a JWKS), and the status lists it has
// synced. Build it once and share it between verifications; it is not
// changed by Verify.
type Trust struct {
	store   *trust.Store
	fetched time.Time
	status  map[string]*statusEntry
}

type statusEntry struct {
	tok     *statuslist.VerifiedToken
	issuer  string
	fetched time.Time
}

// NewTrust wraps a trust store. fetched is when its data was obtained.
func NewTrust(s *trust.Store, fetched time.Time) *Trust {
	return &Trust{store: s, fetched: fetched, status: map[string]*statusEntry{}}
}

// LoadTrustList verifies a trust list JWT against the pinned root
// thumbprint and returns it as Trust.
func LoadTrustList(token, rootThumbprint string, fetched time.Time) (*Trust, error) {
	l, err := trust.Verify(token, rootThumbprint)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	s, err := trust.NewStore(l)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	return NewTrust(s, fetched), nil
}

// LoadJWKS returns Trust that accepts credentials signed by any key of a
// JWKS document, with the default policy.
func LoadJWKS(data []byte, fetched time.Time) (*Trust, error) {
	set, err := keys.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	s, err := trust.FromJWKS(set)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	return NewTrust(s, fetched), nil
}

// Store returns the trust store.
func (t *Trust) Store() *trust.Store { return t.store }

// AddStatusList verifies a status list token with the keys of the issuer
// that signed it and keeps it for verification. The list's URI must be one
// the issuer names in the trust list (when there is one).
func (t *Trust) AddStatusList(token string, fetched time.Time) error {
	var issuer *trust.Issuer
	vt, err := statuslist.VerifyToken(token, func(h jws.Header) (ed25519.PublicKey, error) {
		pub, is, ok := t.store.Key(h.Kid)
		if !ok {
			return nil, fmt.Errorf("%w: %q", jws.ErrUnknownKey, h.Kid)
		}
		issuer = is
		return pub, nil
	}, MaxStatusEntries)
	if err != nil {
		return fmt.Errorf("verifier: status list: %w", err)
	}
	if t.store.List() != nil && !slices.Contains(issuer.StatusLists, vt.Sub) {
		return fmt.Errorf("verifier: status list %q is not one the trust list names for %q", vt.Sub, issuer.ID)
	}
	t.status[vt.Sub] = &statusEntry{tok: vt, issuer: issuer.ID, fetched: fetched}
	return nil
}

// StatusList returns the verified status list token held for uri and when
// it was fetched.
func (t *Trust) StatusList(uri string) (*statuslist.VerifiedToken, time.Time, bool) {
	e, ok := t.status[uri]
	if !ok {
		return nil, time.Time{}, false
	}
	return e.tok, e.fetched, true
}
