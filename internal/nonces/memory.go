// Package nonces keeps the c_nonce values an OpenID4VCI credential issuer
// hands out for wallets' key proofs (OpenID4VCI 1.0 section 7): each is
// unpredictable, accepted once, and only for a while. [Memory] keeps them
// in the memory of one process, within a fixed capacity; it implements
// server.NonceStore.
package nonces

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/epermit/epermit/oid4vci"
)

// DefaultCapacity bounds the nonces a Memory holds at once unless told
// otherwise: 2^17 nonces take about 9 MiB of heap.
const DefaultCapacity = 1 << 17

// nonceBytes is the size of a nonce before encoding: 128 random bits.
const nonceBytes = 16

// Memory is a nonce store in the memory of one process, for a service that
// runs as one replica: nonces do not survive a restart (a wallet whose
// nonce is lost gets invalid_nonce and fetches another).
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
type Memory struct {
	ttl time.Duration

	mu      sync.Mutex
	live    map[[nonceBytes]byte]int64 // outstanding nonce -> expiry, Unix ns
	ring    [][nonceBytes]byte         // nonces in the order handed out
	head, n int                        // ring[head] is the oldest of n
	evicted uint64
}

// NewMemory returns an empty store holding at most capacity nonces (a
// non-positive capacity means DefaultCapacity), each accepted for ttl,
// which must be positive (NewMemory panics otherwise: a programming error).
func NewMemory(capacity int, ttl time.Duration) *Memory {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if ttl <= 0 {
		panic("nonces: NewMemory: the ttl must be positive")
	}
	return &Memory{ttl: ttl, live: make(map[[nonceBytes]byte]int64), ring: make([][nonceBytes]byte, capacity)}
}

// New returns a fresh nonce, 16 bytes from crypto/rand in base64url (22
// characters), and when it expires.
func (m *Memory) New(_ context.Context, now time.Time) (string, time.Time, error) {
	var k [nonceBytes]byte
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if _, err := rand.Read(k[:]); err != nil {
			return "", time.Time{}, fmt.Errorf("nonces: random: %w", err)
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

// Consume accepts a nonce handed out by New once, before it expires;
// otherwise it returns oid4vci.ErrUnknownNonce.
func (m *Memory) Consume(_ context.Context, nonce string, now time.Time) error {
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
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// Evicted returns how many nonces were dropped unused before they expired
// to make room for new ones.
func (m *Memory) Evicted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// dropHead drops from the head the nonces that were used or have expired.
func (m *Memory) dropHead(now time.Time) {
	for m.n > 0 {
		exp, ok := m.live[m.ring[m.head]]
		if ok && now.UnixNano() < exp {
			return
		}
		m.pop()
	}
}

// pop removes the oldest nonce.
func (m *Memory) pop() {
	delete(m.live, m.ring[m.head])
	m.ring[m.head] = [nonceBytes]byte{}
	m.head = (m.head + 1) % len(m.ring)
	m.n--
}
