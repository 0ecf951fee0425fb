// Package postgres keeps the issuer service's records in a PostgreSQL
// database, for a province that runs several permitd replicas on one
// database. It implements [issuer.Storage] and decides nothing: the rules
// are in package issuer, and store/storetest checks this adapter against
// the same contract as the embedded one (store/boltdb).
//
// # Schema
//
// One table per bucket, in a schema of its own ([Options.Schema], "epermit"
// by default): k bytea PRIMARY KEY, v bytea NOT NULL. bytea sorts bytewise
// whatever the collation, as the contract's ordered buckets require. One
// keyed table (bucket, key) would do, but the buckets are written in ways
// PostgreSQL wants to hear about table by table: the append-only buckets
// (the audit log, status events: see [issuer.Bucket.AppendOnly]) want
// B-tree pages packed full and frozen early; the few rows rewritten at
// every commit (the audit head in meta, list versions) want half-empty pages
// for in-place (HOT) updates; the 4 KiB status chunks want to stay in their
// row rather than in three TOAST pieces; and the 25 M permits want vacuum
// after 2 % dead rows, not the 20 % default. In one table, autovacuum would
// be scheduled by the size of the whole (a hundred million rows at province
// scale) and the hot rows would bloat between its rare visits. Per table,
// pg_stat_user_tables also tells a DBA which bucket grows and which one
// vacuum lags on. The cost is that a new bucket needs a migration: Open
// refuses to start when a bucket of issuer.Buckets has no table.
//
// # Migrations
//
// The schema's versions are the SQL files in migrations/ (NNNN_name.sql),
// embedded in the binary. Open applies the missing ones under a PostgreSQL
// advisory lock, so replicas starting together migrate once, each in a
// transaction recorded in schema_migrations. Migrations keep the previous
// version's replicas working (they add; they do not rename or drop), so
// replicas are upgraded one at a time. A permitd older than the database's
// schema refuses to start ([ErrSchemaNewer]).
//
// # Transactions and isolation
//
// [Store.View] runs in a REPEATABLE READ, READ ONLY transaction: one
// snapshot, no locks.
//
// [Store.Update] functions run in READ COMMITTED transactions that take
// locks so that a write transaction is serializable with respect to what it
// reads, as the issuer.Storage contract asks:
//
//   - Get of a present key takes its row lock (SELECT … FOR UPDATE) until
//     the commit: no lost update, whichever replica writes the row next.
//   - A key read as absent and then written is INSERTed: if another
//     transaction created it meanwhile, the unique index refuses, and the
//     function runs again (and sees the key).
//   - A key read as absent and not written (the function relies on its
//     absence to write something else) is checked again when the function
//     ends, after taking the bucket's advisory lock exclusively; a key never
//     read is upserted.
//   - Every write takes the bucket's advisory lock in shared mode, and a
//     Scan takes it exclusively: until the commit no other transaction writes
//     the bucket, so a scan in an Update sees no phantom (a key created or
//     deleted meanwhile). Use Scan in an Update on small or rarely written
//     buckets, or read keys with Get: the exclusive lock makes every writer
//     of the bucket, in every replica, wait for the commit.
//
// Rows locked or written by a shared transaction are kept in memory until
// its commit (up to 65,536 of them), so the next functions read them
// without a round trip, and a row rewritten by many functions (an audit
// head, a counter) is written once, just before the commit, instead of
// once per function: one row version per commit rather than sixty.
//
// # Shared commits
//
// Concurrent Updates within [Options.MaxBatchDelay] share one transaction
// and one commit (with synchronous_commit on: a connection of a server set
// to off is set back to on), at most [Options.MaxBatchSize] functions, each
// in a SAVEPOINT: a function that returns an error or a refusal rolls back
// its own writes and locks, and the others commit. Update returns once the
// transaction has committed, so a refusal is not reported before the
// writes it depends on are durable either. At most [Options.MaxBatches]
// shared transactions run at once.
//
// Statements wait and go out together in one pipeline: a function's writes
// and its RELEASE go with the next function's first read. A function that
// reads one row not yet held costs one round trip; one that only writes
// costs none of its own. When the writes of the function before fail (a
// key created meanwhile by another replica), that function is rolled back
// to its savepoint and the one after it, which may have read its writes,
// runs again. A function writing a great many records sends them 256 at a
// time.
//
// The first function of a transaction may wait for locks; the later ones
// wait at most 1 ms (lock_timeout): a transaction that holds the locks of
// earlier functions and waits for another transaction could close a cycle,
// which PostgreSQL breaks only after deadlock_timeout. Instead, such a
// function is rolled back, the transaction commits without it, and it runs
// first in the next transaction, where it may wait. Deadlocks remain
// possible between the first functions of concurrent transactions
// (replicas locking the same rows in opposite orders): set deadlock_timeout
// to 100 ms for the database (below).
//
// # Retries
//
// A function that meets a conflict (a deadlock, 40P01; a serialization
// failure, 40001; a key read as absent that another transaction created,
// 23505, or found again at the end of the function) is rolled back to its
// savepoint, the others of its transaction go on, and it runs again in a
// later transaction after a random wait (full jitter, 2 ms doubling to 256
// ms), at most [Options.MaxRetries] times, after which Update returns an
// error wrapping [issuer.ErrConflict]. It joins the next shared transaction
// rather than one of its own: transactions of one function each, unbounded
// in number, would deadlock among themselves. When a shared transaction
// is lost (the connection broke, the server restarted) all its functions
// run again, with the same bound: about two seconds of waits in all, after
// which Update returns the connection's error (a database that fails over
// for longer makes Updates fail, and callers retry).
//
// When the connection breaks during COMMIT, the outcome is unknown to the
// client: the store asks the database (pg_xact_status of the transaction's
// id, taken when it began), ending the old backend first if it is still in
// the transaction, and reports a commit only when it happened. So an Update
// that returns nil is durable, and one that returns an error wrote nothing,
// except when even the database cannot be asked within [Options.TxTimeout]
// (the error then says that the outcome is unknown).
//
// # What a DBA must know
//
//   - Version: PostgreSQL 13 or later (Debian 12 ships 15).
//   - Durability: the store never runs with synchronous_commit off; fsync
//     must be on. A standby set with synchronous_standby_names makes commits
//     wait for it ([Store.Ping] fails on a standby in recovery).
//   - Settings: deadlock_timeout = 100ms for the database (ALTER DATABASE …
//     SET deadlock_timeout = '100ms', as a superuser), so that the rare
//     deadlock between replicas costs 0.1 s, not 1 s. max_connections must
//     cover [Options.MaxConns] for every replica, plus maintenance.
//   - VACUUM: autovacuum must run. The append-only tables (audit,
//     audit_index, status_events, checkpoints) are vacuumed on inserts and
//     frozen at once, so the anti-wraparound vacuum finds them frozen; the
//     large tables (permits, persons, applications, shred) are vacuumed
//     after 2 % dead rows. A long [Store.Snapshot] holds back the xmin
//     horizon: vacuum cannot remove rows deleted during it, so take it from
//     a standby (a store opened with [Options.ReadOnly] reads without
//     migrating; give that standby a max_standby_streaming_delay longer than
//     the snapshot, and hot_standby_feedback off, or replay cancels the
//     snapshot or the primary's vacuum waits for it), or at quiet hours on
//     a busy primary.
//   - Backups: the database's own (pg_basebackup with WAL archiving, for
//     point-in-time recovery) are the backups of a province: consistent,
//     incremental, and restorable to a moment. [Store.Snapshot] writes the
//     portable issuer snapshot instead, the same for every adapter: it is
//     what `permitd store copy` moves between bbolt and PostgreSQL, and a
//     logical export; restoring it loses what was written after it began.
//   - Connections: permitd sets application_name=permitd unless the DSN sets
//     another, so its sessions show in pg_stat_activity.
package postgres
