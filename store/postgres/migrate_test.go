package postgres

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres/pgtest"
)

// testDB returns a connection to the test database and a fresh schema
// name, dropped when t ends.
func testDB(t *testing.T) (*pgx.Conn, string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	schema := pgtest.Name("m")
	t.Cleanup(func() {
		c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		c.Close(ctx)
	})
	return c, schema
}

func openAt(t *testing.T, schema string, upTo int) (*Store, error) {
	s, err := Open(context.Background(), pgtest.DSN(t), Options{Schema: schema, upTo: upTo})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func versions(t *testing.T, c *pgx.Conn, schema string) []string {
	rows, err := c.Query(context.Background(), "SELECT version || '_' || name FROM "+schema+".schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTuned checks a few settings of version 2.
func checkTuned(t *testing.T, c *pgx.Conn, schema string) {
	t.Helper()
	var meta, audit []string
	var storage string
	err := c.QueryRow(context.Background(), `SELECT
		(SELECT reloptions FROM pg_class WHERE oid = ($1 || '.meta')::regclass),
		(SELECT reloptions FROM pg_class WHERE oid = ($1 || '.audit_pkey')::regclass),
		(SELECT attstorage::text FROM pg_attribute WHERE attrelid = ($1 || '.status_chunks')::regclass AND attname = 'v')`,
		schema).Scan(&meta, &audit, &storage)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(meta, "fillfactor=50") || !slices.Contains(audit, "fillfactor=100") || storage != "m" {
		t.Errorf("version 2 settings: meta %v, audit index %v, chunk storage %q", meta, audit, storage)
	}
}

func TestMigrateFromEmpty(t *testing.T) {
	c, schema := testDB(t)
	if _, err := openAt(t, schema, 0); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, c, schema); !slices.Equal(got, []string{"1_buckets", "2_tuning"}) {
		t.Fatalf("schema_migrations: %v", got)
	}
	checkTuned(t, c, schema)
}

// TestMigrateFromV1 upgrades a version 1 database that holds records, as
// a replica of the previous release left it.
func TestMigrateFromV1(t *testing.T) {
	c, schema := testDB(t)
	ctx := context.Background()
	old, err := openAt(t, schema, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(t, c, schema); !slices.Equal(got, []string{"1_buckets"}) {
		t.Fatalf("schema_migrations at version 1: %v", got)
	}
	err = old.Update(ctx, func(tx issuer.Tx) error {
		for i, b := range issuer.Buckets {
			for j := range 50 {
				if err := tx.Put(b, []byte{byte(j), 0xff}, bytes.Repeat([]byte{byte(i)}, j*100)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if _, err := old.Snapshot(ctx, &before); err != nil {
		t.Fatal(err)
	}
	// The old replica still runs while the new one migrates.
	s, err := openAt(t, schema, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(t, c, schema); !slices.Equal(got, []string{"1_buckets", "2_tuning"}) {
		t.Fatalf("schema_migrations after the upgrade: %v", got)
	}
	checkTuned(t, c, schema)
	var after bytes.Buffer
	if _, err := s.Snapshot(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Fatal("the records changed in the upgrade")
	}
	for _, st := range []*Store{old, s} {
		if err := st.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketMeta, []byte("after"), nil) }); err != nil {
			t.Fatalf("write after the upgrade: %v", err)
		}
	}
}

// TestMigrateConcurrently opens one fresh schema from several replicas at
// once: the advisory lock makes them migrate it once.
func TestMigrateConcurrently(t *testing.T) {
	c, schema := testDB(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = openAt(t, schema, 0) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, c, schema); len(got) != 2 {
		t.Fatalf("schema_migrations: %v", got)
	}
}

func TestMigrateRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("newer schema", func(t *testing.T) {
		c, schema := testDB(t)
		if _, err := openAt(t, schema, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "INSERT INTO "+schema+".schema_migrations (version, name) VALUES (99, 'future')"); err != nil {
			t.Fatal(err)
		}
		if _, err := openAt(t, schema, 0); !errors.Is(err, ErrSchemaNewer) {
			t.Fatalf("Open = %v, want ErrSchemaNewer", err)
		}
	})
	t.Run("other history", func(t *testing.T) {
		c, schema := testDB(t)
		if _, err := openAt(t, schema, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "UPDATE "+schema+".schema_migrations SET name = 'other' WHERE version = 2"); err != nil {
			t.Fatal(err)
		}
		if _, err := openAt(t, schema, 0); err == nil || !strings.Contains(err.Error(), `"other"`) {
			t.Fatalf("Open = %v, want a history mismatch", err)
		}
	})
	t.Run("missing table", func(t *testing.T) {
		c, schema := testDB(t)
		if _, err := openAt(t, schema, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "DROP TABLE "+schema+".jobs"); err != nil {
			t.Fatal(err)
		}
		if _, err := openAt(t, schema, 0); err == nil || !strings.Contains(err.Error(), `bucket "jobs" has no table`) {
			t.Fatalf("Open = %v, want the missing bucket named", err)
		}
	})
	t.Run("failed migration", func(t *testing.T) {
		// A migration that fails leaves no trace: neither its changes nor
		// its record.
		c, schema := testDB(t)
		ms := []migration{{1, "one", "CREATE TABLE a (x int)"}, {2, "bad", "CREATE TABLE b (x int); SELECT 1/0"}}
		applied, err := migrate(ctx, c, schema, ms, 0)
		if err == nil || !slices.Equal(applied, []int{1}) {
			t.Fatalf("migrate = %v, %v", applied, err)
		}
		if got := versions(t, c, schema); !slices.Equal(got, []string{"1_one"}) {
			t.Fatalf("schema_migrations: %v", got)
		}
		var b *string
		if err := c.QueryRow(ctx, "SELECT to_regclass($1)::text", schema+".b").Scan(&b); err != nil || b != nil {
			t.Fatalf("table b of the failed migration: %v, %v", b, err)
		}
		ms[1].sql = "CREATE TABLE b (x int)"
		if applied, err := migrate(ctx, c, schema, ms, 0); err != nil || !slices.Equal(applied, []int{2}) {
			t.Fatalf("migrate again = %v, %v", applied, err)
		}
	})
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil || len(ms) < 2 || ms[0].name != "buckets" {
		t.Fatalf("embedded migrations: %v, %v", ms, err)
	}
	for _, c := range []struct {
		files []string
		want  string
	}{
		{[]string{"0001_a.sql", "0003_c.sql"}, "expected version 2"},
		{[]string{"0001_a.sql", "2_b.sql"}, "NNNN_name.sql"},
		{[]string{"0001_A.sql"}, "NNNN_name.sql"},
		{[]string{"0002_b.sql"}, "expected version 1"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range c.files {
			fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1")}
		}
		if _, err := loadMigrations(fsys); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.files, err, c.want)
		}
	}
}
