package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
)

// refused is a test refusal.
type refused struct{}

func (refused) Error() string { return "refused" }
func (refused) Refusal()      {}

// replicas opens n stores on one schema, each with its own pool, as n
// permitd processes would.
func replicas(t *testing.T, n int, o postgres.Options) []*postgres.Store {
	schema := newSchema(t)
	out := make([]*postgres.Store, n)
	for i := range out {
		out[i] = openStore(t, schema, o)
	}
	return out
}

// hammer runs fn(replica, worker, i) for i < rounds on workers goroutines
// per replica, all at once.
func hammer(stores []*postgres.Store, workers, rounds int, fn func(s *postgres.Store, w, i int)) {
	var wg sync.WaitGroup
	for _, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					fn(s, w, i)
				}
			}()
		}
	}
	wg.Wait()
}

// tally counts a claim won, and fails t on an error other than a refusal.
func tally(t *testing.T, err error, wins *atomic.Int32) {
	if err == nil {
		wins.Add(1)
	} else if !issuer.IsRefusal(err) {
		t.Error(err)
	}
}

func getString(t *testing.T, s issuer.Storage, b issuer.Bucket, key string) (string, bool) {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx issuer.Tx) error {
		got, err := tx.Get(b, []byte(key))
		v = bytes.Clone(got)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v), v != nil
}

func count(t *testing.T, s issuer.Storage, b issuer.Bucket, prefix string) int {
	t.Helper()
	n := 0
	err := s.View(context.Background(), func(tx issuer.Tx) error {
		return tx.Scan(b, []byte(prefix), nil, false, func(_, _ []byte) (bool, error) { n++; return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplicas runs the read-modify-write patterns of the service on two
// stores sharing a database and checks that no update is lost and no claim
// given twice.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	o := postgres.Options{MaxConns: 6}

	t.Run("Counters", func(t *testing.T) {
		rs := replicas(t, 2, o)
		var acked atomic.Int64
		hammer(rs, 16, 25, func(s *postgres.Store, w, i int) {
			err := s.Update(ctx, func(tx issuer.Tx) error {
				// Two counters in opposite orders on odd workers: deadlocks
				// between replicas must be resolved by running again.
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
			if v, _ := getString(t, rs[0], issuer.BucketMeta, k); v != strconv.FormatInt(acked.Load(), 10) {
				t.Errorf("counter %s = %s after %d acknowledged increments", k, v, acked.Load())
			}
		}
		t.Logf("replica stats: %+v, %+v", rs[0].Stats(), rs[1].Stats())
	})

	t.Run("Claims", func(t *testing.T) {
		// Each key goes to exactly one writer across both replicas.
		rs := replicas(t, 2, o)
		const keys = 30
		wins := make([]atomic.Int32, keys)
		hammer(rs, 12, keys, func(s *postgres.Store, w, i int) {
			key := []byte("claim/" + strconv.Itoa(i))
			err := s.Update(ctx, func(tx issuer.Tx) error {
				v, err := tx.Get(issuer.BucketPersons, key)
				if err != nil {
					return err
				}
				if v != nil {
					return refused{}
				}
				return tx.Put(issuer.BucketPersons, key, []byte(strconv.Itoa(w)))
			})
			tally(t, err, &wins[i])
		})
		for i := range wins {
			if n := wins[i].Load(); n != 1 {
				t.Errorf("key %d claimed %d times", i, n)
			}
		}
	})

	t.Run("PrefixClaims", func(t *testing.T) {
		// A scan that finds no key under a prefix, then a write under it:
		// one writer per prefix may win, even though each writes its own
		// key (a scan in an Update sees no phantom).
		rs := replicas(t, 2, o)
		const prefixes = 20
		wins := make([]atomic.Int32, prefixes)
		hammer(rs, 8, prefixes, func(s *postgres.Store, w, i int) {
			prefix := fmt.Sprintf("person-%02d/", i)
			err := s.Update(ctx, func(tx issuer.Tx) error {
				taken := false
				err := tx.Scan(issuer.BucketPersons, []byte(prefix), nil, false, func(_, _ []byte) (bool, error) {
					taken = true
					return false, nil
				})
				if err != nil {
					return err
				}
				if taken {
					return refused{}
				}
				return tx.Put(issuer.BucketPersons, []byte(prefix+"app-"+strconv.Itoa(w)), nil)
			})
			tally(t, err, &wins[i])
		})
		for i := range wins {
			if n, keys := wins[i].Load(), count(t, rs[0], issuer.BucketPersons, fmt.Sprintf("person-%02d/", i)); n != 1 || keys != 1 {
				t.Errorf("prefix %d: %d winners, %d keys", i, n, keys)
			}
		}
	})

	t.Run("AbsentReads", func(t *testing.T) {
		// Write skew on absent keys: a function sets its own key only when
		// the other one is absent. Serially, at most one of each pair can be
		// set; under snapshot isolation both could.
		rs := replicas(t, 2, o)
		const pairs = 25
		hammer(rs, 8, pairs, func(s *postgres.Store, w, i int) {
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
						return refused{}
					}
				}
				return tx.Put(issuer.BucketGrants, []byte(mine), []byte("on"))
			})
			if err != nil && !issuer.IsRefusal(err) {
				t.Error(err)
			}
		})
		for i := range pairs {
			if n := count(t, rs[0], issuer.BucketGrants, fmt.Sprintf("pair-%02d/", i)); n != 1 {
				t.Errorf("pair %d: %d keys set, want 1", i, n)
			}
		}
	})

	t.Run("ConflictBound", func(t *testing.T) {
		// A function that always meets a conflict ends with ErrConflict.
		rs := replicas(t, 1, postgres.Options{MaxRetries: 2})
		attempts := 0
		err := rs[0].Update(ctx, func(tx issuer.Tx) error {
			attempts++
			key := []byte("taken-" + strconv.Itoa(attempts))
			if _, err := tx.Get(issuer.BucketMeta, key); err != nil {
				return err
			}
			// Another transaction creates the key this one read as absent.
			if err := rs[0].Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketMeta, key, nil) }); err != nil {
				return err
			}
			return tx.Put(issuer.BucketMeta, []byte("other"), nil)
		})
		if !errors.Is(err, issuer.ErrConflict) {
			t.Fatalf("Update = %v, want ErrConflict", err)
		}
		if attempts != 3 {
			t.Errorf("%d attempts, want 3", attempts)
		}
		if _, ok := getString(t, rs[0], issuer.BucketMeta, "other"); ok {
			t.Error("the conflicting function's write committed")
		}
	})
}
