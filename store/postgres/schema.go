package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
)

// The migrations, applied in order of their version: NNNN_name.sql.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaNewer reports a database migrated by a newer permitd than this
// one: it refuses to write records whose shape it may not know.
var ErrSchemaNewer = errors.New("the database schema is newer than this permitd")

type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// loadMigrations returns the embedded migrations in order; their versions
// run from 1 without a gap.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := f[strings.LastIndexByte(f, '/')+1:]
		m := migrationName.FindStringSubmatch(base)
		if m == nil {
			return nil, fmt.Errorf("migration %q: the name must be NNNN_name.sql", base)
		}
		sql, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		ms = append(ms, migration{version: v, name: m[2], sql: string(sql)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d", m.version, m.name, i+1)
		}
	}
	return ms, nil
}

// migrationLock is the key of the session advisory lock under which a
// schema is migrated, so that replicas starting at once migrate it once.
func migrationLock(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("epermit migrate " + schema))
	return int64(h.Sum64())
}

// migrate brings the schema up to version upTo (all migrations when upTo
// is 0) under an advisory lock, one transaction per migration, each
// recorded in schema_migrations. It returns the versions it applied.
func migrate(ctx context.Context, conn *pgx.Conn, schema string, ms []migration, upTo int) (applied []int, err error) {
	if upTo == 0 {
		upTo = len(ms)
	}
	lock := migrationLock(schema)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return nil, err
	}
	defer func() {
		// A failed unlock leaves the lock to the end of the session; the
		// caller closes the connection on error.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock); err == nil {
			err = uerr
		}
	}()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return nil, err
	}
	// A DBA may create the schema beforehand for a role without the
	// right to create schemas.
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident(schema)); err != nil {
			return nil, fmt.Errorf("create schema %q: %w", schema, err)
		}
	}
	_, err = conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+ident(schema, "schema_migrations")+
		" (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
	if err != nil {
		return nil, err
	}
	done, err := history(ctx, conn, schema, ms)
	if err != nil {
		return nil, err
	}
	for _, m := range ms[:upTo] {
		if _, ok := done[m.version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+ident(schema)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+ident(schema, "schema_migrations")+" (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// history returns the migrations recorded in the schema, after checking
// that they are the first of ms.
func history(ctx context.Context, conn *pgx.Conn, schema string, ms []migration) (map[int]string, error) {
	rows, err := conn.Query(ctx, "SELECT version, name FROM "+ident(schema, "schema_migrations")+" ORDER BY version")
	if err != nil {
		return nil, err
	}
	done := map[int]string{}
	var version int
	var name string
	_, err = pgx.ForEachRow(rows, []any{&version, &name}, func() error { done[version] = name; return nil })
	if err != nil {
		return nil, err
	}
	for v, name := range done {
		if v > len(ms) {
			return nil, fmt.Errorf("%w: it has version %d (%s), this permitd knows %d", ErrSchemaNewer, v, name, len(ms))
		}
		if m := ms[v-1]; m.name != name {
			return nil, fmt.Errorf("schema version %d is %q in the database but %q here", v, name, m.name)
		}
	}
	return done, nil
}

// checkMigrated makes sure, without writing, that the schema holds the
// store's tables at a version this permitd knows (a read-only Open, on a
// standby say).
func checkMigrated(ctx context.Context, conn *pgx.Conn, schema string, ms []migration) error {
	var table *string
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1)::text", ident(schema, "schema_migrations")).Scan(&table); err != nil {
		return err
	}
	if table == nil {
		return fmt.Errorf("schema %q holds no e-permit store: open it once read-write to create it", schema)
	}
	_, err := history(ctx, conn, schema, ms)
	return err
}

// checkTables makes sure every bucket of the service has its table: a
// bucket added to issuer.Buckets needs a migration that creates it.
func checkTables(ctx context.Context, conn *pgx.Conn, schema string) error {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, schema)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&name}, func() error { have[name] = true; return nil }); err != nil {
		return err
	}
	for _, b := range issuer.Buckets {
		if !have[string(b)] {
			return fmt.Errorf("bucket %q has no table in schema %q: add a migration that creates it (store/postgres/migrations)", b, schema)
		}
	}
	return nil
}

// identifier matches the names this package puts into SQL: schemas from
// Options and the tables named after buckets.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ident quotes a possibly qualified SQL name.
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// table holds the statements on the table of one bucket.
type table struct {
	bucket issuer.Bucket
	name   string // qualified and quoted
	lockID int32  // second key of the bucket's advisory lock

	get, getForUpdate, insert, upsert, update, del string
}

func newTable(schema string, b issuer.Bucket) (*table, error) {
	if !identifier.MatchString(string(b)) {
		return nil, fmt.Errorf("bucket %q is not a valid table name", b)
	}
	q := ident(schema, string(b))
	h := fnv.New32a()
	h.Write([]byte(b))
	return &table{
		bucket:       b,
		name:         q,
		lockID:       int32(h.Sum32()),
		get:          "SELECT v FROM " + q + " WHERE k = $1",
		getForUpdate: "SELECT v FROM " + q + " WHERE k = $1 FOR UPDATE",
		insert:       "INSERT INTO " + q + " (k, v) VALUES ($1, $2)",
		upsert:       "INSERT INTO " + q + " (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
		update:       "UPDATE " + q + " SET v = $2 WHERE k = $1",
		del:          "DELETE FROM " + q + " WHERE k = $1",
	}, nil
}

// scanSQL returns the query of one page of a scan and its arguments:
// the keys from lo (inclusive) to hi (exclusive), after (or, reverse,
// before) the key last when it is not nil, in order.
func (t *table) scanSQL(lo, hi, hiIncl, last []byte, reverse bool, limit int) (string, []any) {
	var where []string
	var args []any
	cond := func(op string, v []byte) {
		args = append(args, v)
		where = append(where, "k "+op+" $"+strconv.Itoa(len(args)))
	}
	if len(lo) > 0 {
		cond(">=", lo)
	}
	if hi != nil {
		cond("<", hi)
	}
	if hiIncl != nil {
		cond("<=", hiIncl)
	}
	if last != nil {
		if reverse {
			cond("<", last)
		} else {
			cond(">", last)
		}
	}
	sql := "SELECT k, v FROM " + t.name
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	if reverse {
		sql += " ORDER BY k DESC"
	} else {
		sql += " ORDER BY k"
	}
	return sql + " LIMIT " + strconv.Itoa(limit), args
}
