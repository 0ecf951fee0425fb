package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/postgres/pgtest"
	"github.com/epermit/epermit/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemas maps each open store to its schema, for Reopen.
var schemas sync.Map

// newSchema returns a fresh schema name, dropped when t ends.
func newSchema(t testing.TB) string {
	dsn := pgtest.DSN(t)
	name := pgtest.Name("t")
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Error(err)
		}
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
