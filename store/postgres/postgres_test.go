package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/postgres/pgtest"
	"github.com/epermit/epermit/store/storetest"
	"github.com/epermit/epermit/vault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemas maps each open store to its schema, for Reopen.
var schemas sync.Map

// free holds the schemas that tests have used and emptied: a test takes
// one, its tables already made, rather than migrating a new one.
var free struct {
	sync.Mutex
	names []string
}

// newSchema returns the name of a schema without records, emptied for the
// next test when t ends (after the stores on it are closed).
func newSchema(t testing.TB) string {
	dsn := pgtest.DSN(t)
	free.Lock()
	name := pgtest.Name("t")
	if n := len(free.names); n > 0 {
		name, free.names = free.names[n-1], free.names[:n-1]
	}
	free.Unlock()
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		var tables *string
		err = c.QueryRow(ctx, `SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables
			WHERE schemaname = $1 AND tablename <> 'schema_migrations'`, name).Scan(&tables)
		if err == nil && tables != nil {
			_, err = c.Exec(ctx, "TRUNCATE "+*tables)
		}
		if err != nil {
			t.Error(err)
			return
		}
		free.Lock()
		free.names = append(free.names, name)
		free.Unlock()
	})
	return name
}

// openStore opens a store on schema, closed when t ends.
func openStore(t testing.TB, schema string, o postgres.Options) *postgres.Store {
	t.Helper()
	o.Schema = schema
	s, err := postgres.Open(context.Background(), pgtest.DSN(t), o)
	if err != nil {
		t.Fatal(err)
	}
	schemas.Store(s, schema)
	t.Cleanup(func() { s.Close() })
	return s
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

func harness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T) issuer.Storage { return openStore(t, newSchema(t), postgres.Options{}) },
		Reopen: func(t *testing.T, s issuer.Storage) issuer.Storage {
			schema, _ := schemas.Load(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return openStore(t, schema.(string), postgres.Options{})
		},
	}
}

func TestStorage(t *testing.T) { storetest.TestStorage(t, harness()) }

// TestService runs the authority's rules over PostgreSQL, with the
// residents' data keys in the database as replicas keep them.
func TestService(t *testing.T) {
	h := harness()
	h.DataKeys = func(_ *testing.T, st issuer.Storage) vault.KeyStore { return issuer.StorageKeys{St: st} }
	storetest.TestService(t, h)
}

func TestStorageKeys(t *testing.T) { storetest.TestStorageKeys(t, harness()) }

func TestStorageIsolation(t *testing.T) {
	storetest.TestStorageIsolation(t, storetest.Single(harness()))
}

// TestOpenErrorsHidePassword opens bad DSNs that carry a password: the
// errors say what is wrong without it.
func TestOpenErrorsHidePassword(t *testing.T) {
	live, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	live.User = url.UserPassword("postgres", "s3cr3t")
	live.Path = "/no_such_database"
	for _, dsn := range []string{
		"postgres://user:s3cr3t@localhost:notaport/db",
		"postgres://user:s3cr3t:x@localhost/db",
		"postgres://user:s3cr3t@[::1/db",
		"postgres://user@127.0.0.1:1/db?password=s3cr3t&connect_timeout=2",
		"host=127.0.0.1 port=1 password=s3cr3t dbname=x connect_timeout=2",
		"host=127.0.0.1 port=1 password='s3cr3t x' dbname=x connect_timeout=2",
		"host=127.0.0.1 port=nope password=s3cr3t",
		live.String(),
	} {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: newSchema(t)})
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestPingAndClose(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newSchema(t), postgres.Options{})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Size(ctx); err != nil || n <= 0 {
		t.Fatalf("Size = %d, %v", n, err)
	}
	// Close waits for the Updates under way.
	started := make(chan struct{})
	var updated error
	done := make(chan struct{})
	go func() {
		defer close(done)
		updated = s.Update(ctx, func(tx issuer.Tx) error {
			close(started)
			time.Sleep(50 * time.Millisecond)
			return tx.Put(issuer.BucketMeta, []byte("k"), nil)
		})
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if updated != nil {
		t.Fatalf("the Update under way at Close: %v", updated)
	}
	if err := s.Update(ctx, func(tx issuer.Tx) error { return nil }); !errors.Is(err, postgres.ErrClosed) {
		t.Fatalf("Update after Close = %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

// TestSnapshotUnderWrites takes snapshots while writers append events and
// advance a counter in the same transactions: each snapshot holds exactly
// the events up to its counter. A snapshot held open does not stop writers.
func TestSnapshotUnderWrites(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newSchema(t), postgres.Options{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.Update(ctx, func(tx issuer.Tx) error {
					v, err := tx.Get(issuer.BucketMeta, []byte("seq"))
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					n++
					if err := tx.Put(issuer.BucketMeta, []byte("seq"), []byte(strconv.Itoa(n))); err != nil {
						return err
					}
					return tx.Put(issuer.BucketEvents, binary.BigEndian.AppendUint64(nil, uint64(n)), []byte("e"))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for range 5 {
		var buf bytes.Buffer
		if _, err := s.Snapshot(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		seq, events := 0, 0
		_, err := issuer.ReadSnapshot(&buf, func(b issuer.Bucket, k, v []byte) error {
			switch {
			case b == issuer.BucketMeta && string(k) == "seq":
				seq, _ = strconv.Atoi(string(v))
			case b == issuer.BucketEvents:
				if events++; binary.BigEndian.Uint64(k) != uint64(events) {
					return fmt.Errorf("event %d out of order", events)
				}
			}
			return nil
		})
		if err != nil || seq != events {
			t.Fatalf("snapshot: counter %d, %d events, %v", seq, events, err)
		}
	}
	// A snapshot whose reader stalls keeps its transaction open; writers go on.
	pr, pw := io.Pipe()
	snap := make(chan error, 1)
	go func() { _, err := s.Snapshot(ctx, pw); pw.CloseWithError(err); snap <- err }()
	first := make([]byte, 1)
	if _, err := io.ReadFull(pr, first); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := s.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketPermits, []byte{byte(i)}, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	go io.Copy(io.Discard, pr)
	if err := <-snap; err != nil {
		t.Fatal(err)
	}
}

// TestLargeUpdate writes more records in one Update than a transaction
// keeps in memory, as a copy from another store does, and reads them back
// in the same transaction.
func TestLargeUpdate(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newSchema(t), postgres.Options{})
	const n = 70000
	key := func(i int) []byte { return binary.BigEndian.AppendUint32([]byte("p"), uint32(i)) }
	err := s.Update(ctx, func(tx issuer.Tx) error {
		for i := range n {
			if err := tx.Put(issuer.BucketPermits, key(i), []byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		for _, i := range []int{0, n / 2, n - 1} {
			if err := tx.Put(issuer.BucketPermits, key(i), []byte("again")); err != nil {
				return err
			}
			if v, err := tx.Get(issuer.BucketPermits, key(i)); err != nil || string(v) != "again" {
				return fmt.Errorf("record %d read back as %q, %v", i, v, err)
			}
		}
		seen := 0
		err := tx.Scan(issuer.BucketPermits, []byte("p"), nil, false, func(k, v []byte) (bool, error) {
			seen++
			return true, nil
		})
		if err != nil || seen != n {
			return fmt.Errorf("the scan saw %d records, %v", seen, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := getString(t, s, issuer.BucketPermits, string(key(n-2))); v != strconv.Itoa(n-2) {
		t.Errorf("record %d = %q", n-2, v)
	}
	if got := count(t, s, issuer.BucketPermits, ""); got != n {
		t.Errorf("%d records after the commit, want %d", got, n)
	}
}

// TestReadOnly opens a store without the right to change it, as a backup
// on a standby does: it reads and snapshots, and writes nothing.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	if _, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Name("none"), ReadOnly: true}); err == nil ||
		!strings.Contains(err.Error(), "holds no e-permit store") {
		t.Fatalf("read-only Open of a schema that does not exist: %v", err)
	}
	schema := newSchema(t)
	rw := openStore(t, schema, postgres.Options{})
	if err := rw.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketPermits, []byte("p"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	ro := openStore(t, schema, postgres.Options{ReadOnly: true})
	if v, _ := getString(t, ro, issuer.BucketPermits, "p"); v != "v" {
		t.Fatalf("read %q", v)
	}
	if n, err := ro.Snapshot(ctx, io.Discard); err != nil || n != 1 {
		t.Fatalf("Snapshot = %d, %v", n, err)
	}
	if err := ro.Update(ctx, func(tx issuer.Tx) error { return nil }); !errors.Is(err, postgres.ErrReadOnly) {
		t.Fatalf("Update = %v", err)
	}
}
