package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/epermit/epermit/oid4vci"
)

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

// Defaults of the in-memory nonce store.
const (
	// DefaultNonceTTL is how long a nonce is accepted: as long as a proof's
	// iat may be old.
	DefaultNonceTTL = proofMaxAge
	// DefaultNonceCapacity bounds the nonces held at once: 2^17 nonces take
	// about 9 MiB of heap.
	DefaultNonceCapacity = 1 << 17
)

// nonceBytes is the size of a nonce before encoding: 128 random bits.
const nonceBytes = 16

// MemoryNonces is a NonceStore in the memory of one process, for a
// service that runs as one replica: nonces do not survive a restart (a
// wallet whose nonce is lost gets invalid_nonce and fetches another).
//
// It holds at most a fixed number of nonces. Since every nonce lives
// equally long, they expire in the order they were handed out, and are kept
// in that order: New first drops the expired and used ones at the head, and
// when the store is still full it evicts the oldest outstanding nonce
// rather than refusing. A flood of nonce requests therefore cannot grow
// memory nor stop the service from handing out nonces; it can only shorten
// the life of unused nonces to the time the flood takes to hand out
// capacity others. A wallet whose nonce was evicted gets invalid_nonce and
// fetches a new one, the recovery OpenID4VCI 1.0 section 8.3.1.2 describes;
// Evicted counts how often that happened.
type MemoryNonces struct {
	ttl time.Duration

	mu      sync.Mutex
	live    map[[nonceBytes]byte]int64 // outstanding nonce -> expiry, Unix ns
	ring    [][nonceBytes]byte         // nonces in the order handed out
	head, n int                        // ring[head] is the oldest of n
	evicted uint64
}

// NewMemoryNonces returns an empty store holding at most capacity nonces,
// each accepted for ttl. Non-positive values mean DefaultNonceCapacity and
// DefaultNonceTTL.
func NewMemoryNonces(capacity int, ttl time.Duration) *MemoryNonces {
	if capacity <= 0 {
		capacity = DefaultNonceCapacity
	}
	if ttl <= 0 {
		ttl = DefaultNonceTTL
	}
	return &MemoryNonces{ttl: ttl, live: make(map[[nonceBytes]byte]int64), ring: make([][nonceBytes]byte, capacity)}
}

// New returns a fresh nonce: 16 bytes from crypto/rand in base64url (22
// characters).
func (m *MemoryNonces) New(_ context.Context, now time.Time) (string, time.Time, error) {
	var k [nonceBytes]byte
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if _, err := rand.Read(k[:]); err != nil {
			return "", time.Time{}, fmt.Errorf("nonce: random: %w", err)
		}
		if _, dup := m.live[k]; !dup {
			break
		}
	}
	m.dropHead(now)
	if m.n == len(m.ring) {
		if _, ok := m.live[m.ring[m.head]]; ok {
			m.evicted++
		}
		m.pop()
	}
	exp := now.Add(m.ttl)
	m.ring[(m.head+m.n)%len(m.ring)] = k
	m.n++
	m.live[k] = exp.UnixNano()
	return base64.RawURLEncoding.EncodeToString(k[:]), exp, nil
}

// Consume accepts a nonce handed out by New once, before it expires.
func (m *MemoryNonces) Consume(_ context.Context, nonce string, now time.Time) error {
	var k [nonceBytes]byte
	if base64.RawURLEncoding.EncodedLen(nonceBytes) != len(nonce) {
		return oid4vci.ErrUnknownNonce
	}
	if n, err := base64.RawURLEncoding.Strict().Decode(k[:], []byte(nonce)); err != nil || n != nonceBytes {
		return oid4vci.ErrUnknownNonce
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.live[k]
	if !ok {
		return oid4vci.ErrUnknownNonce
	}
	delete(m.live, k) // used or expired: either way it is not accepted again
	if now.UnixNano() >= exp {
		return oid4vci.ErrUnknownNonce
	}
	return nil
}

// Len returns the number of nonces handed out and neither used nor
// expired (expired ones may still be counted until New drops them).
func (m *MemoryNonces) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// Evicted returns how many nonces were dropped unused before they expired
// to make room for new ones.
func (m *MemoryNonces) Evicted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// dropHead drops from the head the nonces that were used or have expired.
func (m *MemoryNonces) dropHead(now time.Time) {
	for m.n > 0 {
		exp, ok := m.live[m.ring[m.head]]
		if ok && now.UnixNano() < exp {
			return
		}
		m.pop()
	}
}

// pop removes the oldest nonce.
func (m *MemoryNonces) pop() {
	delete(m.live, m.ring[m.head])
	m.ring[m.head] = [nonceBytes]byte{}
	m.head = (m.head + 1) % len(m.ring)
	m.n--
}
