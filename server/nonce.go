package server

import (
	"context"
	"time"

	"github.com/epermit/epermit/internal/nonces"
)

// The default store is a NonceStore.
var _ NonceStore = (*nonces.Memory)(nil)

// NonceStore hands out the c_nonce values that wallets sign into their key
// proofs (OpenID4VCI 1.0 section 7) and accepts each of them once. The
// nonces are not tied to an access token: the credential endpoint checks
// that the proof is over a nonce this store handed out, then consumes it.
// Implementations must be safe for concurrent use; one shared by several
// replicas of the service must make Consume atomic across them.
type NonceStore interface {
	// New returns a fresh nonce, unpredictable (at least 128 random bits,
	// in URL-safe characters), and the time from which it is no longer
	// accepted.
	New(ctx context.Context, now time.Time) (nonce string, expires time.Time, err error)
	// Consume accepts nonce once: it returns nil when nonce was handed out
	// by New, has not expired at now and was not consumed before, and then
	// forgets it. Otherwise it returns an error wrapping
	// oid4vci.ErrUnknownNonce; any other error means the store failed.
	Consume(ctx context.Context, nonce string, now time.Time) error
}

// DefaultNonceTTL is how long the default nonce store accepts a nonce: as
// long as a proof's iat may be old.
const DefaultNonceTTL = proofMaxAge
