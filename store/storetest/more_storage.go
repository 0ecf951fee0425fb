package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
)

// Single opens one handle on a fresh storage of h, for
// [TestStorageIsolation].
func Single(h Harness) func(t *testing.T) []issuer.Storage {
	return func(t *testing.T) []issuer.Storage { return []issuer.Storage{h.New(t)} }
}

// writers runs fn(s, w, i) for i < rounds on workers goroutines, all at once,
// worker w using storage w modulo len(stores).
func writers(stores []issuer.Storage, workers, rounds int, fn func(s issuer.Storage, w, i int)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				fn(stores[w%len(stores)], w, i)
			}
		}()
	}
	wg.Wait()
}

// claimed counts a claim won, and fails t on an error other than a refusal.
func claimed(t *testing.T, err error, wins *atomic.Int32) {
	if err == nil {
		wins.Add(1)
	} else if !issuer.IsRefusal(err) {
		t.Error(err)
	}
}

// TestStorageIsolation checks what "serializable with respect to the keys
// it reads" means beyond one read-modify-write: two counters updated in
// opposite orders, keys claimed by one writer only, a transaction that
// relies on a key's absence, or on a scan finding nothing, while it writes
// another key; reads and writes inside a scan; empty values inside a write
// transaction. open returns a fresh, empty storage: one handle, or several
// handles on it (the replicas of one database), closed at the end of the
// test; the concurrent writers are spread over them.
func TestStorageIsolation(t *testing.T, open func(t *testing.T) []issuer.Storage) {
	t.Run("Counters", func(t *testing.T) {
		// Odd writers update the two counters in the opposite order: the
		// deadlocks this makes between handles must end in a retry, and no
		// increment may be lost.
		stores := open(t)
		var acked atomic.Int64
		writers(stores, 24, 15, func(s issuer.Storage, w, i int) {
			err := s.Update(ctx, func(tx issuer.Tx) error {
				keys := []string{"a", "b"}
				if w%2 == 1 {
					keys = []string{"b", "a"}
				}
				for _, k := range keys {
					v, err := tx.Get(issuer.BucketMeta, []byte(k))
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					if err := tx.Put(issuer.BucketMeta, []byte(k), []byte(strconv.Itoa(n+1))); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			acked.Add(1)
		})
		for _, k := range []string{"a", "b"} {
			if v, _ := get(t, stores[0], issuer.BucketMeta, k); v != strconv.FormatInt(acked.Load(), 10) {
				t.Errorf("counter %s = %s after %d acknowledged increments", k, v, acked.Load())
			}
		}
	})

	t.Run("Claims", func(t *testing.T) {
		// Each new key goes to exactly one writer.
		stores := open(t)
		const keys = 25
		wins := make([]atomic.Int32, keys)
		writers(stores, 16, keys, func(s issuer.Storage, w, i int) {
			key := []byte("claim/" + strconv.Itoa(i))
			claimed(t, s.Update(ctx, func(tx issuer.Tx) error {
				v, err := tx.Get(issuer.BucketPersons, key)
				if err != nil {
					return err
				}
				if v != nil {
					return &refusal{"taken"}
				}
				return tx.Put(issuer.BucketPersons, key, []byte(strconv.Itoa(w)))
			}), &wins[i])
		})
		for i := range wins {
			if n := wins[i].Load(); n != 1 {
				t.Errorf("key %d claimed %d times", i, n)
			}
		}
	})

	t.Run("AbsentReads", func(t *testing.T) {
		// Write skew: each function sets its own key of a pair only when
		// neither is set. Serially one of each pair ends set; a store that
		// does not guard what it read as absent can set both.
		stores := open(t)
		const pairs = 20
		writers(stores, 8, pairs, func(s issuer.Storage, w, i int) {
			mine, other := fmt.Sprintf("pair-%02d/x", i), fmt.Sprintf("pair-%02d/y", i)
			if w%2 == 1 {
				mine, other = other, mine
			}
			err := s.Update(ctx, func(tx issuer.Tx) error {
				for _, k := range []string{other, mine} {
					v, err := tx.Get(issuer.BucketGrants, []byte(k))
					if err != nil {
						return err
					}
					if v != nil {
						return &refusal{"set"}
					}
				}
				return tx.Put(issuer.BucketGrants, []byte(mine), []byte("on"))
			})
			if err != nil && !issuer.IsRefusal(err) {
				t.Error(err)
			}
		})
		for i := range pairs {
			if got := scan(t, stores[0], issuer.BucketGrants, fmt.Sprintf("pair-%02d/", i), "", false, 0); len(got) != 1 {
				t.Errorf("pair %d: %v set, want one", i, got)
			}
		}
	})

	t.Run("ScanPhantoms", func(t *testing.T) {
		// A function claims a prefix (a person's applications) when a scan
		// finds no key under it, writing a key of its own: one claim per
		// prefix.
		stores := open(t)
		const prefixes = 15
		wins := make([]atomic.Int32, prefixes)
		writers(stores, 8, prefixes, func(s issuer.Storage, w, i int) {
			prefix := fmt.Sprintf("person-%02d/", i)
			claimed(t, s.Update(ctx, func(tx issuer.Tx) error {
				found := false
				err := tx.Scan(issuer.BucketPersons, []byte(prefix), nil, false, func(_, _ []byte) (bool, error) {
					found = true
					return false, nil
				})
				if err != nil {
					return err
				}
				if found {
					return &refusal{"taken"}
				}
				return tx.Put(issuer.BucketPersons, []byte(prefix+strconv.Itoa(w)), nil)
			}), &wins[i])
		})
		for i := range wins {
			keys := scan(t, stores[0], issuer.BucketPersons, fmt.Sprintf("person-%02d/", i), "", false, 0)
			if n := wins[i].Load(); n != 1 || len(keys) != 1 {
				t.Errorf("prefix %d: %d claims, keys %v", i, n, keys)
			}
		}
	})

	t.Run("ReadsInsideScan", func(t *testing.T) {
		// A scan's callback reads and writes through the same transaction,
		// as a retention job moving due entries does.
		s := open(t)[0]
		var due, permits []string
		for i := range 300 {
			due = append(due, fmt.Sprintf("due/%03d", i), strconv.Itoa(i))
			permits = append(permits, fmt.Sprintf("p%03d", i), "active")
		}
		put(t, s, issuer.BucketShred, due...)
		put(t, s, issuer.BucketPermits, permits...)
		err := s.Update(ctx, func(tx issuer.Tx) error {
			return tx.Scan(issuer.BucketShred, []byte("due/"), nil, false, func(k, v []byte) (bool, error) {
				p := []byte("p" + string(k[len("due/"):]))
				got, err := tx.Get(issuer.BucketPermits, p)
				if err != nil || string(got) != "active" {
					return false, fmt.Errorf("permit %s inside the scan: %q, %v", p, got, err)
				}
				if err := tx.Delete(issuer.BucketPermits, p); err != nil {
					return false, err
				}
				return true, tx.Put(issuer.BucketMeta, []byte("last"), bytes.Clone(v))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := scan(t, s, issuer.BucketPermits, "", "", false, 0); len(got) != 0 {
			t.Errorf("%d permits left", len(got))
		}
		if v, _ := get(t, s, issuer.BucketMeta, "last"); v != "299" {
			t.Errorf("last = %q", v)
		}
	})

	t.Run("EmptyValues", func(t *testing.T) {
		s := open(t)[0]
		err := s.Update(ctx, func(tx issuer.Tx) error {
			if err := tx.Put(issuer.BucketMeta, []byte("nil"), nil); err != nil {
				return err
			}
			if v, err := tx.Get(issuer.BucketMeta, []byte("nil")); err != nil || v == nil || len(v) != 0 {
				return fmt.Errorf("in the writing transaction: %q, %v; want present and empty", v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(ctx, func(tx issuer.Tx) error {
			if v, err := tx.Get(issuer.BucketMeta, []byte("nil")); err != nil || v == nil || len(v) != 0 {
				return fmt.Errorf("in a later transaction: %q, %v; want present and empty", v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// CPUMeter is implemented by a storage under benchmark that can tell the
// CPU time used so far by this process and by its database server's
// processes (zero for an embedded store).
type CPUMeter interface {
	CPU() (self, server time.Duration, err error)
}

// BenchmarkStorage measures concurrent Updates of four shapes, with 128
// writers: a small new record, a 4 KiB record (a status chunk), the shape
// of an issuance (read and rewrite one of 10,000 records, advance a
// counter every Update reads, append a record under it), and the same
// without the shared counter (the record appended under a key of its own).
// It reports
// updates/s, and when the storage implements [CPUMeter] the CPU time an
// Update costs in this process (cpu-µs/op) and in the server's
// (server-cpu-µs/op).
func BenchmarkStorage(b *testing.B, open func(b *testing.B) issuer.Storage) {
	small, chunk := bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{2}, 4096)
	var seq atomic.Uint64
	newKey := func() []byte { return binary.BigEndian.AppendUint64([]byte("k"), seq.Add(1)) }
	run := func(b *testing.B, setup func(issuer.Tx) error, fn func(issuer.Tx) error) {
		s := open(b)
		if setup != nil {
			if err := s.Update(context.Background(), setup); err != nil {
				b.Fatal(err)
			}
		}
		b.SetParallelism(64)
		meter, _ := s.(CPUMeter)
		var self0, server0 time.Duration
		if meter != nil {
			var err error
			if self0, server0, err = meter.CPU(); err != nil {
				b.Log(err)
				meter = nil
			}
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Update(context.Background(), fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		if meter != nil {
			if self1, server1, err := meter.CPU(); err == nil {
				perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
				b.ReportMetric(perOp(self1-self0), "cpu-µs/op")
				if server1 > 0 {
					b.ReportMetric(perOp(server1-server0), "server-cpu-µs/op")
				}
			}
		}
	}
	b.Run("small", func(b *testing.B) {
		run(b, nil, func(tx issuer.Tx) error { return tx.Put(issuer.BucketGrants, newKey(), small) })
	})
	b.Run("4KiB", func(b *testing.B) {
		run(b, nil, func(tx issuer.Tx) error { return tx.Put(issuer.BucketStatus, newKey(), chunk) })
	})
	const records = 10000
	record := bytes.Repeat([]byte{3}, 1024)
	key := func(i int) []byte { return []byte("p" + strconv.Itoa(i)) }
	setup := func(tx issuer.Tx) error {
		for i := range records {
			if err := tx.Put(issuer.BucketPermits, key(i), record); err != nil {
				return err
			}
		}
		return nil
	}
	// rewrite reads and rewrites a random record.
	rewrite := func(tx issuer.Tx) error {
		k := key(rand.IntN(records))
		v, err := tx.Get(issuer.BucketPermits, k)
		if err != nil {
			return err
		}
		return tx.Put(issuer.BucketPermits, k, v)
	}
	b.Run("issue", func(b *testing.B) {
		run(b, setup, func(tx issuer.Tx) error {
			if err := rewrite(tx); err != nil {
				return err
			}
			head, err := tx.Get(issuer.BucketMeta, []byte("head"))
			if err != nil {
				return err
			}
			n := uint64(0)
			if len(head) == 8 {
				n = binary.BigEndian.Uint64(head)
			}
			next := binary.BigEndian.AppendUint64(nil, n+1)
			if err := tx.Put(issuer.BucketMeta, []byte("head"), next); err != nil {
				return err
			}
			return tx.Put(issuer.BucketAudit, next, record[:256])
		})
	})
	b.Run("no-counter", func(b *testing.B) {
		run(b, setup, func(tx issuer.Tx) error {
			if err := rewrite(tx); err != nil {
				return err
			}
			return tx.Put(issuer.BucketAudit, newKey(), record[:256])
		})
	})
}
