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
	// owner is the function whose statement it is; nil for the
	// transaction's own (BEGIN, settings, a refused function's rollback).
	owner *frame
}

// txn is one transaction on one connection. Statements whose results are
// not needed at once (writes, savepoints) wait in pending and go out in
// one pipeline with the next query, so a transaction function costs about
// one round trip per read.
type txn struct {
	ctx     context.Context
	conn    *pgx.Conn
	pending []stmt
	sent    int // pipelines sent
}

func (t *txn) queue(s stmt) { t.pending = append(t.pending, s) }

// flush sends the pending statements and reads their results, and returns
// the command tag of the last, or the statement that failed (nil when the
// pipeline itself failed). The first error stops the pipeline: the server
// skips the rest.
func (t *txn) flush() (pgconn.CommandTag, *stmt, error) {
	var tag pgconn.CommandTag
	if len(t.pending) == 0 {
		return tag, nil, nil
	}
	ss := t.pending
	t.pending = nil
	var b pgx.Batch
	for _, s := range ss {
		b.Queue(s.sql, s.args...)
	}
	t.sent++
	br := t.conn.SendBatch(t.ctx, &b)
	var err error
	var failed *stmt
	for i := range ss {
		s := &ss[i]
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
			failed = s
			break
		}
		if s.done != nil {
			s.done()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, failed, err
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
	// runs again after a random wait.
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

// errAbsentTaken reports that a key a function relied on being absent was
// created by a concurrent transaction.
var errAbsentTaken = errors.New("a key read as absent was created by a concurrent transaction")

// errDone reports a Tx used after its function returned.
var errDone = errors.New("postgres: transaction used after its function returned")

// errRestart is what a read returns when the previous function's writes,
// sent with it, failed: the function runs again.
var errRestart = errors.New("postgres: the function runs again")

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

// queue adds a statement of this function to the pipeline.
func (f *fnTx) queue(s stmt) {
	if f.w != nil {
		s.owner = f.w.cur
	}
	f.t.queue(s)
}

// maxPending bounds the statements waiting in a pipeline: a function that
// writes a great many records (a copy from another store) sends them as it
// goes.
const maxPending = 256

// write queues a write of this function, and sends the pipeline when it is
// long.
func (f *fnTx) write(s stmt) error {
	f.queue(s)
	if len(f.t.pending) >= maxPending {
		return f.send()
	}
	return nil
}

// send sends the pipeline (see writeTx.send).
func (f *fnTx) send() error {
	var err error
	if f.w != nil {
		err = f.w.send()
	} else {
		_, _, err = f.t.flush()
	}
	if err != nil {
		return f.fail(err)
	}
	return nil
}

// query queues a statement with rows and sends the pipeline.
func (f *fnTx) query(sql string, args []any, rows func(pgx.Rows) error) error {
	f.queue(stmt{sql: sql, args: args, rows: rows})
	return f.send()
}

func (f *fnTx) Get(b issuer.Bucket, key []byte) ([]byte, error) {
	tbl, err := f.check(b)
	if err != nil {
		return nil, err
	}
	var v []byte
	var found bool
	if f.w == nil {
		if err := f.query(tbl.get, []any{key}, readValue(&v, &found)); err != nil {
			return nil, err
		}
		return v, nil
	}
	ck := cacheKey(b, key)
	if e, ok := f.w.cache[ck]; ok {
		return e.v, nil
	}
	if err := f.query(tbl.getForUpdate, []any{bytes.Clone(key)}, readValue(&v, &found)); err != nil {
		return nil, err
	}
	if !found {
		if f.absent == nil {
			f.absent = map[string]keyRef{}
		}
		f.absent[ck] = keyRef{tbl, bytes.Clone(key)}
		return nil, nil
	}
	// The row is locked until the commit: its value cannot change under
	// this transaction, and the next function needs no round trip for it.
	f.w.addCache(ck, cached{v: v, locked: true, tbl: tbl, key: bytes.Clone(key)})
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
	f.w.lockBucket(f, tbl, lockShared)
	ck := cacheKey(b, key)
	if e, ok := f.w.cache[ck]; ok && e.locked {
		// The row is this transaction's: the value is written once, before
		// the commit, however many functions rewrite it (an audit head, a
		// counter) until then.
		f.w.setCache(ck, cached{v: value, locked: true, dirty: true, tbl: tbl, key: key})
		return nil
	}
	// Once the statement has run, the row is this transaction's until the
	// commit (writeTx.settle).
	if f.w.addCache(ck, cached{v: value, tbl: tbl, key: key}) {
		f.w.cur.unsettled = append(f.w.cur.unsettled, ck)
	}
	if _, ok := f.absent[ck]; ok {
		// Read as absent: a plain INSERT fails if another transaction
		// created the key meanwhile, and the function runs again.
		delete(f.absent, ck)
		return f.write(stmt{sql: tbl.insert, args: []any{key, value}})
	}
	return f.write(stmt{sql: tbl.upsert, args: []any{key, value}})
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
	f.w.lockBucket(f, tbl, lockShared)
	// Deleting a missing key locks nothing, so the absence is not cached:
	// a later Get asks the database. A value waiting for the commit is
	// dropped with the entry.
	f.w.dropCache(cacheKey(b, key))
	return f.write(stmt{sql: tbl.del, args: []any{bytes.Clone(key)}})
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
		f.w.lockBucket(f, tbl, lockExclusive)
		f.w.writeDirty(tbl)
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
		err := f.query(sql, args, func(rows pgx.Rows) error {
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
			return err
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
