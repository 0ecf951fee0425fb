package postgres_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/storetest"
)

// refused is a test refusal.
type refused struct{}

func (refused) Error() string { return "refused" }
func (refused) Refusal()      {}

// TestReplicas runs the isolation tests of the conformance suite with the
// writers spread over two stores (two pools, as two permitd processes) on
// one database.
func TestReplicas(t *testing.T) {
	storetest.TestStorageIsolation(t, func(t *testing.T) []issuer.Storage {
		schema := newSchema(t)
		return []issuer.Storage{openStore(t, schema, postgres.Options{MaxConns: 6}), openStore(t, schema, postgres.Options{MaxConns: 6})}
	})
}

// TestConflictBound runs a function that meets a conflict every time: it
// ends with ErrConflict, its writes not committed.
func TestConflictBound(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newSchema(t), postgres.Options{MaxRetries: 2})
	attempts := 0
	err := s.Update(ctx, func(tx issuer.Tx) error {
		attempts++
		key := []byte("taken-" + strconv.Itoa(attempts))
		if _, err := tx.Get(issuer.BucketMeta, key); err != nil {
			return err
		}
		// Another transaction creates the key this one read as absent.
		if err := s.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketMeta, key, nil) }); err != nil {
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
	if _, ok := getString(t, s, issuer.BucketMeta, "other"); ok {
		t.Error("the conflicting function's write committed")
	}
}

// TestPipelinedConflict makes the deferred writes of one function fail in
// the pipeline of the next function of the same transaction: the first is
// rolled back and runs again (and sees the key taken), the second, which
// may have read the first's writes, runs again.
func TestPipelinedConflict(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	s := openStore(t, schema, postgres.Options{MaxBatchDelay: 100 * time.Millisecond})
	other := openStore(t, schema, postgres.Options{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx issuer.Tx) error {
			v, err := tx.Get(issuer.BucketPersons, []byte("x"))
			if err != nil {
				return err
			}
			if v != nil {
				return refused{}
			}
			return tx.Put(issuer.BucketPersons, []byte("x"), []byte("first"))
		})
	}()
	time.Sleep(20 * time.Millisecond) // the second call joins the same batch, after the first
	runs := 0
	err := s.Update(ctx, func(tx issuer.Tx) error {
		if runs++; runs == 1 {
			// Another replica takes the key before the first function's
			// INSERT reaches the server, with this function's first read.
			if err := other.Update(ctx, func(tx issuer.Tx) error {
				return tx.Put(issuer.BucketPersons, []byte("x"), []byte("other"))
			}); err != nil {
				return err
			}
		}
		if _, err := tx.Get(issuer.BucketMeta, []byte("y")); err != nil {
			return err
		}
		return tx.Put(issuer.BucketMeta, []byte("y"), []byte(strconv.Itoa(runs)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-first; !issuer.IsRefusal(err) {
		t.Errorf("first function: %v, want its refusal after running again", err)
	}
	if runs != 2 {
		t.Errorf("the second function ran %d times, want 2", runs)
	}
	if v, _ := getString(t, s, issuer.BucketPersons, "x"); v != "other" {
		t.Errorf("x = %q", v)
	}
	if v, _ := getString(t, s, issuer.BucketMeta, "y"); v != "2" {
		t.Errorf("y = %q", v)
	}
	if st := s.Stats(); st.Conflicts != 1 || st.Lost != 0 {
		t.Errorf("stats %+v: want one conflict", st)
	}
}
