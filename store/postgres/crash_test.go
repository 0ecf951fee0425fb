package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/postgres/pgtest"
)

// writes runs Updates on workers goroutines, each writing its own key and
// incrementing a shared counter, at least rounds each and until disrupt
// has returned (it is told how many Updates have returned so far); then it
// checks that every acknowledged Update is in the store and no other one
// is.
func writes(t *testing.T, s *postgres.Store, workers, rounds int, disrupt func(returned func() int)) {
	ctx := context.Background()
	var mu sync.Mutex
	acked := map[string]bool{}
	var failures []error
	var wg sync.WaitGroup
	var disrupted atomic.Bool
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At least rounds each, and on until the disruption is over.
			for i := 0; i < rounds || !disrupted.Load(); i++ {
				key := fmt.Sprintf("w%02d-%03d", w, i)
				err := s.Update(ctx, func(tx issuer.Tx) error {
					v, err := tx.Get(issuer.BucketMeta, []byte("counter"))
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					if err := tx.Put(issuer.BucketMeta, []byte("counter"), []byte(strconv.Itoa(n+1))); err != nil {
						return err
					}
					return tx.Put(issuer.BucketPermits, []byte(key), []byte("v"))
				})
				mu.Lock()
				acked[key] = err == nil
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	returned := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	disrupt(returned)
	disrupted.Store(true)
	wg.Wait()

	n := 0
	for key, ok := range acked {
		_, present := getString(t, s, issuer.BucketPermits, key)
		if ok {
			n++
		}
		if ok != present {
			t.Errorf("%s: acknowledged %v, in the store %v", key, ok, present)
		}
	}
	if v, _ := getString(t, s, issuer.BucketMeta, "counter"); v != strconv.Itoa(n) {
		t.Errorf("counter = %s after %d acknowledged increments", v, n)
	}
	if n == 0 {
		t.Fatal("no write was acknowledged")
	}
	t.Logf("%d of %d acknowledged; %+v", n, len(acked), s.Stats())
	for _, err := range failures[:min(len(failures), 3)] {
		t.Logf("failed: %v", err)
	}
	if st := s.Stats(); st.Lost == 0 && st.Resolved == 0 {
		t.Error("no transaction was lost, no commit was in doubt: the test disturbed nothing")
	}
}

// TestKilledConnections ends the store's backends again and again
// (pg_terminate_backend) while Updates run: idle, mid-transaction, or
// committing.
func TestKilledConnections(t *testing.T) {
	app := pgtest.Name("kill")
	schema := newSchema(t)
	s, err := postgres.Open(context.Background(), pgtest.DSN(t)+"&application_name="+app, postgres.Options{Schema: schema, MaxConns: 4, MaxRetries: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	killer, err := pgx.Connect(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(context.Background())
	var kills atomic.Int64
	writes(t, s, 12, 5, func(returned func() int) {
		// One backend at a time, whatever it is doing, until 200 Updates
		// have returned and 20 backends were ended.
		for returned() < 200 || kills.Load() < 20 {
			time.Sleep(40 * time.Millisecond)
			var n int64
			err := killer.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid
				FROM pg_stat_activity WHERE application_name = $1 ORDER BY random() LIMIT 1) p`, app).Scan(&n)
			if err != nil {
				t.Error(err)
				return
			}
			kills.Add(n)
		}
	})
	t.Logf("%d backends ended", kills.Load())
}

// TestServerCrash stops the server as a crash does (pg_ctl stop -m
// immediate) while Updates run, and starts it again: acknowledged writes
// survive, the others are not there.
func TestServerCrash(t *testing.T) {
	schema := newSchema(t)
	s := openStore(t, schema, postgres.Options{MaxConns: 4, MaxRetries: 20})
	writes(t, s, 8, 5, func(returned func() int) {
		for returned() < 40 {
			time.Sleep(time.Millisecond)
		}
		if err := pgtest.Restart(t); err != nil {
			t.Error(err)
		}
	})
}
