package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seededKey returns a deterministic key for tests.
func seededKey(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = b
	return ed25519.NewKeyFromSeed(seed)
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// opaqueSigner stands in for a hardware key: it exposes only crypto.Signer.
type opaqueSigner struct{ k ed25519.PrivateKey }

func (s opaqueSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s opaqueSigner) Sign(r io.Reader, msg []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, msg, o)
}

func TestNewRing(t *testing.T) {
	t.Parallel()
	a, b := seededKey(1), seededKey(2)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		entries    []Entry
		wantErr    error
		wantActive string // kid, "" for none
	}{
		{"empty", nil, nil, ""},
		{"signer only", []Entry{{Signer: a}}, nil, Thumbprint(pubOf(a))},
		{"signer and public", []Entry{{Signer: a, Public: pubOf(a), Kid: Thumbprint(pubOf(a))}}, nil, Thumbprint(pubOf(a))},
		{"hardware signer", []Entry{{Signer: opaqueSigner{a}}}, nil, Thumbprint(pubOf(a))},
		{"verify-only", []Entry{{Public: pubOf(a)}, {Public: pubOf(b)}}, nil, ""},
		{"active and old", []Entry{{Public: pubOf(a), NotAfter: t0}, {Signer: b, NotBefore: t0}}, nil, Thumbprint(pubOf(b))},
		{"one-instant window", []Entry{{Public: pubOf(a), NotBefore: t0, NotAfter: t0}}, nil, ""},

		{"no key", []Entry{{}}, ErrInvalidEntry, ""},
		{"short public", []Entry{{Public: pubOf(a)[:31]}}, ErrInvalidEntry, ""},
		{"kid mismatch", []Entry{{Public: pubOf(a), Kid: "issuer-2025"}}, ErrInvalidEntry, ""},
		{"kid of other key", []Entry{{Public: pubOf(a), Kid: Thumbprint(pubOf(b))}}, ErrInvalidEntry, ""},
		{"signer for other key", []Entry{{Public: pubOf(a), Signer: b}}, ErrInvalidEntry, ""},
		{"ECDSA signer", []Entry{{Signer: ecKey}}, ErrInvalidEntry, ""},
		{"two signers", []Entry{{Signer: a}, {Signer: b}}, ErrInvalidEntry, ""},
		{"duplicate", []Entry{{Public: pubOf(a)}, {Signer: a}}, ErrDuplicateKey, ""},
		{"empty window", []Entry{{Public: pubOf(a), NotBefore: t0, NotAfter: t0.Add(-time.Second)}}, ErrInvalidEntry, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRing(tt.entries...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewRing error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kid, s, err := r.Active()
			if tt.wantActive == "" {
				if !errors.Is(err, ErrNoActiveKey) {
					t.Errorf("Active error = %v, want ErrNoActiveKey", err)
				}
			} else if err != nil || kid != tt.wantActive || s == nil {
				t.Errorf("Active = %q, %v, %v; want %q", kid, s, err, tt.wantActive)
			}
			if got := len(r.JWKS().Keys); got != len(tt.entries) {
				t.Errorf("JWKS has %d keys, want %d", got, len(tt.entries))
			}
		})
	}
}

func TestRingRotate(t *testing.T) {
	t.Parallel()
	a, b := seededKey(1), seededKey(2)
	kidA, kidB := Thumbprint(pubOf(a)), Thumbprint(pubOf(b))
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(90 * 24 * time.Hour)
	endA := t1.Add(5 * 365 * 24 * time.Hour) // permits signed with A live five years

	r, err := NewRing(Entry{Signer: a, NotBefore: t0, NotAfter: endA})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(b, t1); err != nil {
		t.Fatal(err)
	}

	kid, s, err := r.Active()
	if err != nil || kid != kidB {
		t.Fatalf("Active after rotate = %q, %v", kid, err)
	}
	if !pubOf(b).Equal(s.Public()) {
		t.Error("active signer is not the new key")
	}

	entries := r.Entries()
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	if entries[0].Kid != kidA || entries[0].Signer != nil || !entries[0].NotAfter.Equal(endA) || !entries[0].NotBefore.Equal(t0) {
		t.Errorf("old entry = %+v; want verify-only with its window unchanged", entries[0])
	}
	if entries[1].Kid != kidB || entries[1].Signer == nil || !entries[1].NotBefore.Equal(t1) || !entries[1].NotAfter.IsZero() {
		t.Errorf("new entry = %+v; want active from t1 with no end", entries[1])
	}

	// Rotating to a key the ring holds, or to nothing, changes nothing.
	if err := r.Rotate(a, t1.Add(time.Hour)); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("rotate to old key: error = %v, want ErrDuplicateKey", err)
	}
	if err := r.Rotate(nil, t1); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("rotate to nil: error = %v", err)
	}
	if err := r.Rotate(seededKey(3), time.Time{}); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("rotate at zero time: error = %v", err)
	}
	if kid, _, _ := r.Active(); kid != kidB || len(r.Entries()) != 2 {
		t.Errorf("refused rotations changed the ring: active %q, %d entries", kid, len(r.Entries()))
	}

	// Both keys are published; the set parses and finds both.
	data, err := r.JWKS().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []ed25519.PrivateKey{a, b} {
		if pub, ok := set.Lookup(Thumbprint(pubOf(k))); !ok || !pub.Equal(pubOf(k)) {
			t.Errorf("published JWKS lacks %s", Thumbprint(pubOf(k)))
		}
	}

	tests := []struct {
		name    string
		kid     string
		at      time.Time
		wantErr error
	}{
		{"old key before its start", kidA, t0.Add(-time.Second), ErrKeyNotValidAt},
		{"old key at its start", kidA, t0, nil},
		{"old key after rotation", kidA, t1.Add(time.Hour), nil},
		{"old key at its end", kidA, endA, nil},
		{"old key after its end", kidA, endA.Add(time.Nanosecond), ErrKeyNotValidAt},
		{"new key before rotation", kidB, t1.Add(-time.Second), ErrKeyNotValidAt},
		{"new key at rotation", kidB, t1, nil},
		{"new key far future", kidB, t1.Add(100 * 365 * 24 * time.Hour), nil},
		{"unknown kid", Thumbprint(pubOf(seededKey(9))), t1, ErrUnknownKey},
		{"empty kid", "", t1, ErrUnknownKey},
	}
	for _, tt := range tests {
		pub, err := r.Verifier(tt.kid, tt.at)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Verifier error = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if tt.wantErr == nil && Thumbprint(pub) != tt.kid {
			t.Errorf("%s: Verifier returned key %s", tt.name, Thumbprint(pub))
		}
	}
}

func TestZeroRing(t *testing.T) {
	t.Parallel()
	var r Ring
	if _, _, err := r.Active(); !errors.Is(err, ErrNoActiveKey) {
		t.Errorf("Active = %v, want ErrNoActiveKey", err)
	}
	if _, err := r.Verifier("x", time.Now()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verifier = %v, want ErrUnknownKey", err)
	}
	if err := r.Rotate(opaqueSigner{seededKey(1)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if kid, _, err := r.Active(); err != nil || kid != Thumbprint(pubOf(seededKey(1))) {
		t.Errorf("Active = %q, %v", kid, err)
	}
}

// TestRingCopiesKeys checks that callers cannot change the ring's keys
// through slices they passed in or got back.
func TestRingCopiesKeys(t *testing.T) {
	t.Parallel()
	pub := append(ed25519.PublicKey(nil), pubOf(seededKey(1))...)
	kid := Thumbprint(pub)
	r, err := NewRing(Entry{Public: pub})
	if err != nil {
		t.Fatal(err)
	}
	pub[0] ^= 0xff
	got, err := r.Verifier(kid, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if Thumbprint(got) != kid {
		t.Fatal("changing the caller's slice changed the ring")
	}
	got[0] ^= 0xff
	r.Entries()[0].Public[1] ^= 0xff
	if again, _ := r.Verifier(kid, time.Now()); Thumbprint(again) != kid {
		t.Fatal("changing a returned key changed the ring")
	}
}

// TestRingConcurrent signs and verifies from many goroutines while keys
// rotate; run with -race.
func TestRingConcurrent(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	verifyAt := t0.Add(24 * time.Hour) // after every rotation below
	r, err := NewRing(Entry{Signer: seededKey(0), NotBefore: t0})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("permit")
	var wg sync.WaitGroup
	var rotated atomic.Bool
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			// Keep reading until every rotation has happened, so that
			// readers and the writer overlap.
			for i := 0; i < 20 || !rotated.Load(); i++ {
				kid, s, err := r.Active()
				if err != nil {
					errs <- err
					return
				}
				sig, err := s.Sign(nil, msg, crypto.Hash(0))
				if err != nil {
					errs <- err
					return
				}
				pub, err := r.Verifier(kid, verifyAt)
				if err != nil {
					errs <- err
					return
				}
				if !ed25519.Verify(pub, msg, sig) {
					errs <- errors.New("signature from the active key does not verify with its kid")
					return
				}
				_ = r.JWKS()
			}
		})
	}
	wg.Go(func() {
		defer rotated.Store(true)
		for i := 1; i <= 20; i++ {
			if err := r.Rotate(seededKey(byte(i)), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				errs <- err
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(r.JWKS().Keys); n != 21 {
		t.Errorf("JWKS has %d keys, want 21", n)
	}
}

func BenchmarkRingVerifier(b *testing.B) {
	r, err := NewRing(Entry{Public: pubOf(seededKey(1))}, Entry{Signer: seededKey(2)})
	if err != nil {
		b.Fatal(err)
	}
	kid := Thumbprint(pubOf(seededKey(1)))
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Verifier(kid, now); err != nil {
			b.Fatal(err)
		}
	}
}
