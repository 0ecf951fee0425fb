package main

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/store/postgres/pgtest"
)

// TestMain runs this package's tests with a throwaway PostgreSQL cluster
// when its binaries are there (required when EPERMIT_PG=require, as in CI);
// tests that need none do not wait for it.
func TestMain(m *testing.M) { pgtest.Main(m) }

// newDatabase makes a database of its own for a test on the test cluster
// and returns its DSN (permitd puts its schema in it).
func newDatabase(t *testing.T) string {
	t.Helper()
	dsn := pgtest.DSN(t)
	name := pgtest.Name(strings.ReplaceAll(t.Name(), "/", "_"))
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
