// Package noncetest checks that a c_nonce store (the issuing service's
// nonces, issuer.Service.NewNonce and ConsumeNonce, through storetest)
// keeps its contract: unpredictable nonces, each accepted once, before it
// expires, also under concurrent use. Every implementation runs it in its
// tests:
//
//	func TestNonceStore(t *testing.T) {
//		noncetest.Run(t, func() noncetest.Store { return newStore(t) }, ttl)
//	}
package noncetest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/oid4vci"
)

// Store is what a nonce store offers: New hands out a nonce and its expiry,
// Consume accepts it once (else an error wrapping oid4vci.ErrUnknownNonce).
type Store interface {
	New(ctx context.Context, now time.Time) (nonce string, expires time.Time, err error)
	Consume(ctx context.Context, nonce string, now time.Time) error
}

// urlSafe matches a nonce of at least 22 URL-safe characters (128 bits of
// base64url).
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)

// Run checks the store that newStore returns (a fresh, empty one for each
// subtest), whose nonces are accepted for ttl.
func Run(t *testing.T, newStore func() Store, ttl time.Duration) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	mustNew := func(t *testing.T, s Store, now time.Time) string {
		t.Helper()
		n, exp, err := s.New(ctx, now)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if !urlSafe.MatchString(n) {
			t.Fatalf("New: nonce %q is not 22 or more base64url characters", n)
		}
		if !exp.Equal(now.Add(ttl)) {
			t.Fatalf("New: expires %v, want %v", exp, now.Add(ttl))
		}
		return n
	}
	refused := func(t *testing.T, s Store, nonce string, now time.Time, why string) {
		t.Helper()
		if err := s.Consume(ctx, nonce, now); !errors.Is(err, oid4vci.ErrUnknownNonce) {
			t.Fatalf("Consume %s: %v, want oid4vci.ErrUnknownNonce", why, err)
		}
	}

	t.Run("single use", func(t *testing.T) {
		s := newStore()
		a, b := mustNew(t, s, t0), mustNew(t, s, t0)
		if a == b {
			t.Fatal("New returned the same nonce twice")
		}
		if err := s.Consume(ctx, b, t0.Add(time.Second)); err != nil {
			t.Fatalf("Consume a fresh nonce: %v", err)
		}
		refused(t, s, b, t0.Add(time.Second), "a second time")
		if err := s.Consume(ctx, a, t0.Add(time.Second)); err != nil {
			t.Fatalf("Consume the other nonce: %v", err)
		}
	})
	t.Run("distinct", func(t *testing.T) {
		s := newStore()
		seen := map[string]bool{}
		for range 1000 {
			n := mustNew(t, s, t0)
			if seen[n] {
				t.Fatalf("nonce %q handed out twice", n)
			}
			seen[n] = true
		}
	})
	t.Run("expiry", func(t *testing.T) {
		s := newStore()
		a, b := mustNew(t, s, t0), mustNew(t, s, t0)
		if err := s.Consume(ctx, a, t0.Add(ttl-time.Nanosecond)); err != nil {
			t.Fatalf("Consume just before expiry: %v", err)
		}
		refused(t, s, b, t0.Add(ttl), "at expiry")
		refused(t, s, b, t0.Add(2*ttl), "long after expiry")
	})
	t.Run("unknown", func(t *testing.T) {
		s := newStore()
		n := mustNew(t, s, t0)
		for _, bad := range []string{"", "x", n + "A", n[:len(n)-1], "AAAAAAAAAAAAAAAAAAAAAA", "!!!!!!!!!!!!!!!!!!!!!!", string(make([]byte, 1<<16))} {
			refused(t, s, bad, t0, fmt.Sprintf("of %.24q", bad))
		}
		if err := s.Consume(ctx, n, t0); err != nil {
			t.Fatalf("Consume after the unknown ones: %v", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		s := newStore()
		nonces := make([]string, 8)
		for i := range nonces {
			nonces[i] = mustNew(t, s, t0)
		}
		var ok [8]atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for i, n := range nonces {
					if s.Consume(ctx, n, t0) == nil {
						ok[i].Add(1)
					}
				}
				if _, _, err := s.New(ctx, t0); err != nil {
					t.Errorf("New: %v", err)
				}
			})
		}
		wg.Wait()
		for i := range ok {
			if got := ok[i].Load(); got != 1 {
				t.Errorf("nonce %d accepted %d times by concurrent consumers", i, got)
			}
		}
	})
}
