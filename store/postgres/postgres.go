package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/epermit/epermit/issuer"
)

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables; "" means
	// "epermit". Lower-case letters, digits and underscores.
	Schema string
	// MaxConns is the size of the connection pool; 0 means 10.
	MaxConns int32
	// MaxBatchDelay bounds how long an Update waits for others to share its
	// commit; 0 means 2 ms.
	MaxBatchDelay time.Duration
	// MaxBatchSize bounds the functions in one shared transaction; 0 means
	// 64, the most PostgreSQL tracks per transaction without overflowing
	// its subtransaction cache (more slows every other session's snapshots).
	MaxBatchSize int
	// MaxBatches bounds the shared transactions running at once; 0 means 2.
	MaxBatches int
	// MaxRetries bounds how often a function runs again after a conflict,
	// and a shared transaction after a lost connection; 0 means 10.
	MaxRetries int
	// TxTimeout bounds one shared transaction, and the wait to learn the
	// outcome of a commit whose connection failed; 0 means 30 s.
	TxTimeout time.Duration
	// ReadOnly opens the store for View and Snapshot only, without
	// migrating: on a standby, for backups that keep their long snapshot
	// off the primary.
	ReadOnly bool

	// upTo stops migrations at that version (tests of the upgrade path).
	upTo int
}

// ErrClosed reports the use of a closed [Store].
var ErrClosed = errors.New("postgres: store closed")

// ErrReadOnly reports an Update of a store opened with [Options.ReadOnly].
var ErrReadOnly = errors.New("postgres: store opened read-only")

// Store is the issuer's storage in a PostgreSQL database. It is safe for
// concurrent use, and several Stores (replicas) may share one database.
type Store struct {
	o      Options
	pool   *pgxpool.Pool
	tables map[issuer.Bucket]*table
	// lockKey is the first key of the bucket advisory locks, from the schema.
	lockKey int32

	mu      sync.Mutex
	pending *batch
	closed  bool
	running sync.WaitGroup
	slots   chan struct{}

	stats struct{ batches, calls, pipelines, conflicts, lost, resolved atomic.Int64 }
}

var _ issuer.Storage = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or
// key=value string, as libpq reads them), creates or migrates the schema
// (under an advisory lock, so replicas starting together migrate once) and
// returns the store. Errors never show the DSN's password.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.Schema == "" {
		o.Schema = "epermit"
	}
	if !identifier.MatchString(o.Schema) {
		return nil, fmt.Errorf("postgres: schema %q: use lower-case letters, digits and underscores", o.Schema)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = 2 * time.Millisecond
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 64
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = 2
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 10
	}
	if o.TxTimeout <= 0 {
		o.TxTimeout = 30 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password it recognizes, but not in every
		// malformed string: show none of it.
		return nil, fmt.Errorf("postgres: cannot parse the DSN %s (write it as postgres://user:password@host:port/database or host=… dbname=…)", redactDSN(dsn))
	}
	password := cfg.ConnConfig.Password
	cfg.MaxConns = o.MaxConns
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "permitd"
	}
	cfg.AfterConnect = durableCommits
	s, err := open(ctx, cfg, o)
	if err != nil {
		return nil, scrub(fmt.Errorf("postgres: open %s: %w", redactDSN(dsn), err), password)
	}
	return s, nil
}

// minVersion is the oldest PostgreSQL the store runs on (server_version_num):
// 13 has pg_current_xact_id and insert-driven autovacuum.
const minVersion = 130000

func open(ctx context.Context, cfg *pgxpool.Config, o Options) (*Store, error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{o: o, pool: pool, tables: map[issuer.Bucket]*table{}, slots: make(chan struct{}, o.MaxBatches)}
	h := fnv.New32a()
	h.Write([]byte("epermit " + o.Schema))
	s.lockKey = int32(h.Sum32())
	for _, b := range issuer.Buckets {
		if s.tables[b], err = newTable(o.Schema, b); err != nil {
			pool.Close()
			return nil, err
		}
	}
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		var version int
		if err := c.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			return err
		}
		if version < minVersion {
			return fmt.Errorf("PostgreSQL %s: version 13 or later is needed", c.Conn().PgConn().ParameterStatus("server_version"))
		}
		if o.ReadOnly {
			if err := checkMigrated(ctx, c.Conn(), o.Schema, ms); err != nil {
				return err
			}
		} else if _, err := migrate(ctx, c.Conn(), o.Schema, ms, o.upTo); err != nil {
			c.Conn().Close(ctx)
			return err
		}
		if o.upTo != 0 {
			return nil
		}
		return checkTables(ctx, c.Conn(), o.Schema)
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// durableCommits makes sure a connection's commits wait for the WAL to be
// flushed: a server or database set to synchronous_commit = off would
// acknowledge writes that a crash can lose. Stronger settings (remote_apply
// with a standby) are kept.
func durableCommits(ctx context.Context, c *pgx.Conn) error {
	var v string
	if err := c.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&v); err != nil {
		return err
	}
	if v == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit = on")
		return err
	}
	return nil
}

// Close waits for the Updates under way and closes the connections.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if b := s.pending; b != nil {
		b.timer.Stop()
		go s.start(b)
	}
	s.mu.Unlock()
	s.running.Wait()
	s.pool.Close()
	return nil
}

// Ping checks that the database answers and, unless the store was opened
// read-only, takes writes: a standby (a replica in recovery) fails it.
func (s *Store) Ping(ctx context.Context) error {
	var standby bool
	if err := s.pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	if standby && !s.o.ReadOnly {
		return errors.New("postgres: ping: the database is a standby in recovery, read-only")
	}
	return nil
}

// Size returns the bytes the store's tables and indexes take on disk.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, s.o.Schema).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: size: %w", err)
	}
	return n, nil
}

// Stats counts what the store has done since Open.
type Stats struct {
	// Transactions is the number of shared write transactions run, Calls
	// the functions run in them (Calls / Transactions is the mean batch),
	// and Pipelines the round trips they took, the commit included.
	Transactions, Calls, Pipelines int64
	// Conflicts counts functions run again after a conflict, and Lost the
	// functions run again because their transaction was lost.
	Conflicts, Lost int64
	// Resolved counts the commits whose answer was lost with their
	// connection, and whose outcome was asked of the database.
	Resolved int64
}

// Stats returns the counts since Open.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.stats.batches.Load(), Calls: s.stats.calls.Load(), Pipelines: s.stats.pipelines.Load(),
		Conflicts: s.stats.conflicts.Load(), Lost: s.stats.lost.Load(), Resolved: s.stats.resolved.Load()}
}

// View runs fn in a read-only transaction that sees one snapshot
// (REPEATABLE READ). A View whose function reads one key or one page of
// keys costs one round trip.
func (s *Store) View(ctx context.Context, fn func(issuer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: view: %w", err)
	}
	t := &txn{ctx: ctx, conn: pc.Conn()}
	begun := false
	t.queue(stmt{sql: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", done: func() { begun = true }})
	f := &fnTx{s: s, t: t}
	err = fn(f)
	f.done = true
	if !begun {
		if f.err != nil {
			// The pipeline that began the transaction failed.
			pc.Conn().Close(context.Background())
		}
		pc.Release()
		return err
	}
	// The transaction only read: its end changes nothing the caller has,
	// so it goes out after View returns, and the connection back to the
	// pool after it: a round trip off the caller's time.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pc.Conn().Exec(ctx, "ROLLBACK"); err != nil {
			pc.Conn().Close(ctx)
		}
		pc.Release()
	}()
	return err
}

// Snapshot writes every record to w in the issuer snapshot format, bucket
// by bucket in key order, from one REPEATABLE READ snapshot: writers go
// on meanwhile.
func (s *Store) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		sw := issuer.NewSnapshotWriter(w)
		for _, b := range issuer.Buckets {
			rows, err := tx.Query(ctx, "SELECT k, v FROM "+s.tables[b].name+" ORDER BY k")
			if err != nil {
				return err
			}
			for rows.Next() {
				// The raw values of bytea columns are their bytes.
				raw := rows.RawValues()
				if err := sw.Add(b, raw[0], raw[1]); err != nil {
					rows.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		var err error
		n, err = sw.Close()
		return err
	})
	if err != nil {
		return n, fmt.Errorf("postgres: snapshot: %w", err)
	}
	return n, nil
}

// redactDSN returns dsn with its password masked, for messages.
func redactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable URL)"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// kvPassword matches the password of a key=value connection string, quoted
// or not.
var kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// scrub masks password in err's message, keeping err in the chain for
// errors.Is and errors.As.
func scrub(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
