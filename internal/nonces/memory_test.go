package nonces_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/nonces"
	"github.com/epermit/epermit/internal/noncetest"
	"github.com/epermit/epermit/oid4vci"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	noncetest.Run(t, func() noncetest.Store { return nonces.NewMemory(4096, 5*time.Minute) }, 5*time.Minute)
}

// TestMemoryBounded: a flood of nonce requests keeps the store at its
// capacity, evicting the oldest nonces; the newest stay usable.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	const capacity = 100
	m := nonces.NewMemory(capacity, time.Minute)
	var all []string
	for i := range 10 * capacity {
		n, _, err := m.New(ctx, t0.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, n)
		if m.Len() > capacity {
			t.Fatalf("%d nonces held, capacity %d", m.Len(), capacity)
		}
	}
	if m.Len() != capacity || m.Evicted() != 9*capacity {
		t.Fatalf("held %d, evicted %d", m.Len(), m.Evicted())
	}
	now := t0.Add(time.Second)
	if err := m.Consume(ctx, all[len(all)-capacity-1], now); !errors.Is(err, oid4vci.ErrUnknownNonce) {
		t.Fatalf("an evicted nonce: %v", err)
	}
	for _, n := range all[len(all)-capacity:] {
		if err := m.Consume(ctx, n, now); err != nil {
			t.Fatalf("one of the newest nonces: %v", err)
		}
	}
	// Used and expired nonces make room without eviction.
	if m.Len() != 0 {
		t.Fatalf("held %d after all were used", m.Len())
	}
	for range capacity {
		m.New(ctx, now)
	}
	later := now.Add(time.Minute)
	for range capacity {
		m.New(ctx, later)
	}
	if m.Evicted() != 9*capacity || m.Len() != capacity {
		t.Fatalf("expired nonces were evicted rather than dropped: evicted %d, held %d", m.Evicted(), m.Len())
	}
}

// FuzzMemory runs sequences of operations against a small store and
// checks the contract against a record of what was handed out: a nonce is
// accepted at most once, never after it expired, never if it was not
// handed out; one handed out less than capacity nonces ago, unused and
// unexpired is accepted; the store never holds more than its capacity.
func FuzzMemory(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 1, 0, 2, 3, 1, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 5, 2, 200, 1, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		ctx := context.Background()
		const capacity, ttl = 8, 10 * time.Second
		m := nonces.NewMemory(capacity, ttl)
		type handed struct {
			nonce   string
			seq     int
			expires time.Time
			used    bool
		}
		var out []handed
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%4, int(ops[i+1])
			switch op {
			case 0: // hand out a nonce
				n, exp, err := m.New(ctx, now)
				if err != nil || !exp.Equal(now.Add(ttl)) {
					t.Fatalf("New: %v %v", exp, err)
				}
				out = append(out, handed{nonce: n, seq: len(out), expires: exp})
			case 1: // consume one handed out
				if len(out) == 0 {
					continue
				}
				h := &out[arg%len(out)]
				err := m.Consume(ctx, h.nonce, now)
				fresh := !h.used && now.Before(h.expires)
				recent := len(out)-h.seq <= capacity
				switch {
				case err == nil && !fresh:
					t.Fatalf("nonce %d accepted again or after expiry", h.seq)
				case err != nil && fresh && recent:
					t.Fatalf("nonce %d (of %d handed out) refused: %v", h.seq, len(out), err)
				case err != nil && !errors.Is(err, oid4vci.ErrUnknownNonce):
					t.Fatalf("Consume: %v", err)
				}
				h.used = true
			case 2: // consume something never handed out
				var b [16]byte
				binary.BigEndian.PutUint64(b[:], uint64(arg)*0x9e3779b97f4a7c15)
				for _, n := range []string{string(b[:arg%17]), "A" + string(rune('A'+arg%26)) + "AAAAAAAAAAAAAAAAAAAA"} {
					if err := m.Consume(ctx, n, now); !errors.Is(err, oid4vci.ErrUnknownNonce) {
						t.Fatalf("Consume %q: %v", n, err)
					}
				}
			case 3: // time passes
				now = now.Add(time.Duration(arg) * 100 * time.Millisecond)
			}
			if m.Len() > capacity {
				t.Fatalf("%d nonces held, capacity %d", m.Len(), capacity)
			}
		}
	})
}

func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	m := nonces.NewMemory(nonces.DefaultCapacity, 5*time.Minute)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		n, _, _ := m.New(ctx, now)
		if err := m.Consume(ctx, n, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryFull hands out nonces into a full store: every New
// evicts the oldest.
func BenchmarkMemoryFull(b *testing.B) {
	ctx := context.Background()
	m := nonces.NewMemory(nonces.DefaultCapacity, 5*time.Minute)
	now := time.Now()
	for range nonces.DefaultCapacity {
		m.New(ctx, now)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.New(ctx, now)
	}
}
