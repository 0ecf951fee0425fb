package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/epermit/epermit/issuer"
)

// stmt is a statement waiting to be sent.
type stmt struct {
	sql  string
	args []any
	// rows reads the result of a query; nil for a statement without rows.
	rows func(pgx.Rows) error
	// done runs when the statement has succeeded.
	done func()
}

// txn is one transaction on one connection. Statements whose results are
// not needed at once (writes, savepoints) wait in pending and go out in
// one pipeline with the next query, so a transaction function costs about
// one round trip per read.
type txn struct {
	ctx     context.Context
	conn    *pgx.Conn
	pending []stmt
}

func (t *txn) queue(s stmt) { t.pending = append(t.pending, s) }

// flush sends the pending statements and reads their results, and returns
// the command tag of the last. The first error stops the pipeline: the
// server skips the rest.
func (t *txn) flush() (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	if len(t.pending) == 0 {
		return tag, nil
	}
	ss := t.pending
	t.pending = nil
	var b pgx.Batch
	for _, s := range ss {
		b.Queue(s.sql, s.args...)
	}
	br := t.conn.SendBatch(t.ctx, &b)
	var err error
	for _, s := range ss {
		if s.rows == nil {
			tag, err = br.Exec()
		} else {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				err = s.rows(rows)
				rows.Close()
				if rerr := rows.Err(); err == nil {
					err = rerr
				}
			}
		}
		if err != nil {
			break
		}
		if s.done != nil {
			s.done()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// query queues a statement with rows and sends the pipeline.
func (t *txn) query(sql string, args []any, rows func(pgx.Rows) error) error {
	t.queue(stmt{sql: sql, args: args, rows: rows})
	_, err := t.flush()
	return err
}

// readValue reads the single value a Get selects; found is false when
// there is no row.
func readValue(v *[]byte, found *bool) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		if !rows.Next() {
			return nil
		}
		*found = true
		if err := rows.Scan(v); err != nil {
			return err
		}
		if *v == nil {
			*v = []byte{} // present and empty, not absent
		}
		return nil
	}
}

// Kinds of failure, which decide what happens to a transaction function.
type failure int

const (
	// failNone is no failure.
	failNone failure = iota
	// failConflict is a conflict with a concurrent transaction: the function
	// runs again, alone.
	failConflict
	// failStatement is a statement the server refused for another reason
	// (a key too long for the index, say): its error goes to the caller.
	failStatement
	// failConnection is a lost connection or a canceled call: the shared
	// transaction is gone and every function in it runs again.
	failConnection
	// failWait is a lock wait that timed out: the function runs again first
	// in the next transaction.
	failWait
)

// classify tells what err means for the transaction. Conflicts are a
// serialization failure, a deadlock, or a unique violation (a key read as
// absent that another transaction created meanwhile). An error that ends
// the session (FATAL: the backend was terminated, the server is shutting
// down; class 08, connection exception; class 57, operator intervention or
// a canceled statement) loses the transaction.
func classify(err error) failure {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Severity == "FATAL" || pe.Severity == "PANIC" ||
		strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57") {
		return failConnection
	}
	switch pe.Code {
	case "40001", "40P01", "23505":
		return failConflict
	case "55P03":
		return failWait
	}
	return failStatement
}

// conflictError is a conflict seen by one transaction function.
type conflictError struct{ err error }

func (e *conflictError) Error() string { return "conflict: " + e.err.Error() }
func (e *conflictError) Unwrap() error { return e.err }

// errAbsentTaken reports that a key a function relied on being absent was
// created by a concurrent transaction.
var errAbsentTaken = errors.New("a key read as absent was created by a concurrent transaction")

// errDone reports a Tx used after its function returned.
var errDone = errors.New("postgres: transaction used after its function returned")

// fnTx is the issuer.Tx of one transaction function: in a shared write
// transaction (w is set) or in a read-only View.
type fnTx struct {
	s *Store
	t *txn
	w *writeTx

	// absent holds the keys read as absent and not written since.
	absent map[string]keyRef
	wrote  bool
	err    error // a failed statement: the function's transaction is aborted
	done   bool
}

type keyRef struct {
	tbl *table
	key []byte
}

func cacheKey(b issuer.Bucket, key []byte) string { return string(b) + "\x00" + string(key) }

func (f *fnTx) check(b issuer.Bucket) (*table, error) {
	if f.done {
		return nil, errDone
	}
	if f.err != nil {
		return nil, f.err
	}
	tbl := f.s.tables[b]
	if tbl == nil {
		return nil, fmt.Errorf("postgres: no bucket %q", b)
	}
	return tbl, nil
}

// fail records the error of a statement of this function.
func (f *fnTx) fail(err error) error {
	if f.err == nil {
		f.err = err
	}
	return err
}

func (f *fnTx) Get(b issuer.Bucket, key []byte) ([]byte, error) {
	tbl, err := f.check(b)
	if err != nil {
		return nil, err
	}
	if f.w == nil {
		var v []byte
		var found bool
		if err := f.t.query(tbl.get, []any{key}, readValue(&v, &found)); err != nil {
			return nil, f.fail(err)
		}
		return v, nil
	}
	ck := cacheKey(b, key)
	if e, ok := f.w.cache[ck]; ok {
		return e.v, nil
	}
	var v []byte
	var found bool
	if err := f.t.query(tbl.getForUpdate, []any{bytes.Clone(key)}, readValue(&v, &found)); err != nil {
		return nil, f.fail(err)
	}
	if !found {
		f.absent[ck] = keyRef{tbl, bytes.Clone(key)}
		return nil, nil
	}
	// The row is locked until the commit: its value cannot change under
	// this transaction, and the next function needs no round trip for it.
	f.w.setCache(ck, cached{v: v, locked: true, tbl: tbl, key: bytes.Clone(key)})
	return v, nil
}

func (f *fnTx) Put(b issuer.Bucket, key, value []byte) error {
	tbl, err := f.check(b)
	if err != nil {
		return err
	}
	if f.w == nil {
		return errors.New("postgres: Put in a read-only transaction")
	}
	key, value = bytes.Clone(key), bytes.Clone(value)
	if value == nil {
		value = []byte{}
	}
	f.wrote = true
	f.w.lockBucket(f.t, tbl, lockShared)
	ck := cacheKey(b, key)
	if e, ok := f.w.cache[ck]; ok && e.locked {
		// The row is this transaction's: the value is written once, at
		// the commit, however many functions rewrite it (an audit head, a
		// counter) before.
		f.w.setCache(ck, cached{v: value, locked: true, dirty: true, tbl: tbl, key: key})
		return nil
	}
	if _, ok := f.absent[ck]; ok {
		// Read as absent: a plain INSERT fails if another transaction
		// created the key meanwhile, and the function runs again.
		delete(f.absent, ck)
		f.t.queue(stmt{sql: tbl.insert, args: []any{key, value}})
	} else {
		f.t.queue(stmt{sql: tbl.upsert, args: []any{key, value}})
	}
	// Once the statement has run, the row is this transaction's until the
	// commit (see writeTx.settle).
	f.w.setCache(ck, cached{v: value, tbl: tbl, key: key})
	f.w.unsettled = append(f.w.unsettled, ck)
	return nil
}

func (f *fnTx) Delete(b issuer.Bucket, key []byte) error {
	tbl, err := f.check(b)
	if err != nil {
		return err
	}
	if f.w == nil {
		return errors.New("postgres: Delete in a read-only transaction")
	}
	f.wrote = true
	f.w.lockBucket(f.t, tbl, lockShared)
	f.t.queue(stmt{sql: tbl.del, args: []any{bytes.Clone(key)}})
	// Deleting a missing key locks nothing, so the absence is not cached:
	// a later Get asks the database. A value waiting for the commit is
	// dropped with the entry.
	f.w.dropCache(cacheKey(b, key))
	return nil
}

// Scan pages sizes: small first, since many scans stop at the first key.
var scanPages = []int{16, 64, 256, 1024}

func (f *fnTx) Scan(b issuer.Bucket, prefix, start []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	tbl, err := f.check(b)
	if err != nil {
		return err
	}
	if f.w != nil {
		// No other transaction writes the bucket until the commit: the
		// scan cannot miss a key created or see one deleted meanwhile.
		f.w.lockBucket(f.t, tbl, lockExclusive)
		f.w.writeDirty(f.t, tbl)
	}
	lo, hi := prefix, prefixEnd(prefix)
	var hiIncl []byte
	if !reverse && bytes.Compare(start, prefix) > 0 {
		lo = start
	}
	if reverse && start != nil {
		hiIncl = start
	}
	var last []byte
	type kv struct{ k, v []byte }
	var page []kv
	for i := 0; ; i++ {
		limit := scanPages[min(i, len(scanPages)-1)]
		sql, args := tbl.scanSQL(lo, hi, hiIncl, last, reverse, limit)
		page = page[:0]
		err := f.t.query(sql, args, func(rows pgx.Rows) error {
			for rows.Next() {
				var r kv
				if err := rows.Scan(&r.k, &r.v); err != nil {
					return err
				}
				if r.v == nil {
					r.v = []byte{}
				}
				page = append(page, r)
			}
			return nil
		})
		if err != nil {
			return f.fail(err)
		}
		for _, r := range page {
			if !bytes.HasPrefix(r.k, prefix) {
				return nil
			}
			more, err := fn(r.k, r.v)
			if err != nil || !more {
				return err
			}
		}
		if len(page) < limit {
			return nil
		}
		last = page[len(page)-1].k
	}
}

// prefixEnd returns the least key greater than every key with the prefix,
// or nil when there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Bucket lock modes, weakest first.
type lockMode int

const (
	lockNone lockMode = iota
	lockShared
	lockExclusive
)

// writeTx is the state of a shared write transaction across its
// functions: which rows it has locked (with their values) and which bucket
// locks it holds. A function rolled back to its savepoint releases what it
// took, so each change is logged to be undone with it.
type writeTx struct {
	// cache holds the values of the rows this transaction has read or
	// written: once locked, no other transaction can change them before
	// the commit.
	cache map[string]cached
	// unsettled lists the keys written by the running function's
	// statements: locked once they have run.
	unsettled []string
	// locks holds the advisory lock mode taken on each bucket.
	locks map[issuer.Bucket]lockMode
	undo  []func()
	// lockKey is the first key of the bucket advisory locks (the schema's).
	lockKey int32
}

type cached struct {
	v []byte
	// locked: the transaction holds the row (read FOR UPDATE, or written
	// by a function that has succeeded).
	locked bool
	// dirty: v is newer than the row, and is written before the commit
	// (or before a scan of the bucket).
	dirty bool
	tbl   *table
	key   []byte
}

func newWriteTx(lockKey int32) *writeTx {
	return &writeTx{cache: map[string]cached{}, locks: map[issuer.Bucket]lockMode{}, lockKey: lockKey}
}

func (w *writeTx) setCache(ck string, e cached) {
	old, had := w.cache[ck]
	w.cache[ck] = e
	w.undo = append(w.undo, func() {
		if had {
			w.cache[ck] = old
		} else {
			delete(w.cache, ck)
		}
	})
}

func (w *writeTx) dropCache(ck string) {
	old, had := w.cache[ck]
	if !had {
		return
	}
	delete(w.cache, ck)
	w.undo = append(w.undo, func() { w.cache[ck] = old })
}

// settle records that the running function succeeded: the rows its
// statements wrote are locked, and its changes are no longer undone alone.
func (w *writeTx) settle() {
	for _, ck := range w.unsettled {
		if e, ok := w.cache[ck]; ok {
			e.locked = true
			w.cache[ck] = e
		}
	}
	w.unsettled = w.unsettled[:0]
	w.undo = w.undo[:0]
}

// writeDirty queues the writes of the values waiting for the commit, of
// the bucket of tbl only, or of all when tbl is nil.
func (w *writeTx) writeDirty(t *txn, tbl *table) {
	for ck, e := range w.cache {
		if e.dirty && (tbl == nil || e.tbl == tbl) {
			t.queue(stmt{sql: e.tbl.upsert, args: []any{e.key, e.v}})
			e.dirty = false
			w.setCache(ck, e)
		}
	}
}

// lockBucket takes the bucket's advisory lock in mode m, if not already
// held: shared by every write, exclusive by a scan or by a function that
// relies on a key's absence, until the commit.
func (w *writeTx) lockBucket(t *txn, tbl *table, m lockMode) {
	old := w.locks[tbl.bucket]
	if old >= m {
		return
	}
	sql := "SELECT pg_advisory_xact_lock_shared($1, $2)"
	if m == lockExclusive {
		sql = "SELECT pg_advisory_xact_lock($1, $2)"
	}
	t.queue(stmt{sql: sql, args: []any{w.lockKey, tbl.lockID}})
	w.locks[tbl.bucket] = m
	w.undo = append(w.undo, func() { w.locks[tbl.bucket] = old })
}

// rollback undoes the changes of the running function.
func (w *writeTx) rollback() {
	for i := len(w.undo) - 1; i >= 0; i-- {
		w.undo[i]()
	}
	w.undo = w.undo[:0]
	w.unsettled = w.unsettled[:0]
}
