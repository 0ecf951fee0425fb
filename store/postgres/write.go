package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/epermit/epermit/issuer"
)

// writeTx is a shared write transaction while its functions run: the rows
// it holds (with their values) and the bucket locks it has taken, and the
// functions whose changes may still be undone.
//
// Each function runs in a savepoint. Its last statements (its writes and
// the RELEASE) are not sent when it returns but with the next function's
// first read, saving a round trip per function; until their answer, the
// function is "prev". If they fail, prev is rolled back and the function
// that was running, which may have read what prev wrote, runs again.
type writeTx struct {
	s   *Store
	t   *txn
	out []outcome

	// cache holds the values of the rows this transaction has read or
	// written: once locked, no other transaction can change them before
	// the commit.
	cache map[string]cached
	// locks holds the advisory lock mode taken on each bucket.
	locks map[issuer.Bucket]lockMode
	// lockKey is the first key of the bucket advisory locks (the schema's).
	lockKey int32

	cur, prev *frame
	// restart is set when prev failed: the running function runs again,
	// unless stop (≥ 0) says that the transaction commits without the
	// calls from there on.
	restart bool
	stop    int
	// lost is set when the transaction cannot go on.
	lost error
}

// frame is what one function changed in memory, to be undone with its
// savepoint.
type frame struct {
	index int  // of its call
	later bool // not the transaction's first function: its lock waits are bounded
	undo  []func()
	// unsettled lists the keys written by its statements: locked once
	// they have run.
	unsettled   []string
	inSavepoint bool // its SAVEPOINT has run
}

type cached struct {
	v []byte
	// locked: the transaction holds the row (read FOR UPDATE, or written
	// by a function whose statements have run).
	locked bool
	// dirty: v is newer than the row, and is written before the commit
	// (or before a scan of the bucket).
	dirty bool
	tbl   *table
	key   []byte
}

// Bucket lock modes, weakest first.
type lockMode int

const (
	lockNone lockMode = iota
	lockShared
	lockExclusive
)

const rollbackSavepoint = "ROLLBACK TO SAVEPOINT f; RELEASE SAVEPOINT f"

func (w *writeTx) logUndo(fn func()) {
	if w.cur != nil {
		w.cur.undo = append(w.cur.undo, fn)
	}
}

func (w *writeTx) setCache(ck string, e cached) {
	old, had := w.cache[ck]
	w.cache[ck] = e
	w.logUndo(func() {
		if had {
			w.cache[ck] = old
		} else {
			delete(w.cache, ck)
		}
	})
}

// maxCache bounds the rows a transaction keeps in memory. Past it, new
// rows are read from the database again: a function that copies a whole
// store in one transaction does not hold it all.
const maxCache = 1 << 16

// addCache sets the entry of ck, if it is there or there is room, and
// reports whether it did.
func (w *writeTx) addCache(ck string, e cached) bool {
	if _, ok := w.cache[ck]; !ok && len(w.cache) >= maxCache {
		return false
	}
	w.setCache(ck, e)
	return true
}

func (w *writeTx) dropCache(ck string) {
	old, had := w.cache[ck]
	if !had {
		return
	}
	delete(w.cache, ck)
	w.logUndo(func() { w.cache[ck] = old })
}

// settle records that fr's statements have all run.
func (w *writeTx) settle(fr *frame) {
	for _, ck := range fr.unsettled {
		if e, ok := w.cache[ck]; ok {
			e.locked = true
			w.cache[ck] = e
		}
	}
	fr.undo, fr.unsettled = nil, nil
	if w.prev == fr {
		w.prev = nil
	}
}

// undo reverts what fr changed in memory.
func (w *writeTx) undo(fr *frame) {
	for i := len(fr.undo) - 1; i >= 0; i-- {
		fr.undo[i]()
	}
	fr.undo, fr.unsettled = nil, nil
}

// writeDirty queues the writes of the values waiting for the commit: of
// the bucket of tbl only, or of all when tbl is nil.
func (w *writeTx) writeDirty(tbl *table) {
	for ck, e := range w.cache {
		if e.dirty && (tbl == nil || e.tbl == tbl) {
			// The row exists: this transaction read or wrote it, and holds it.
			w.t.queue(stmt{sql: e.tbl.update, args: []any{e.key, e.v}, owner: w.cur})
			e.dirty = false
			w.setCache(ck, e)
		}
	}
}

// lockBucket takes the bucket's advisory lock in mode m, if not already
// held: shared by every write, exclusive by a scan or by a function that
// relies on a key's absence, until the commit.
func (w *writeTx) lockBucket(f *fnTx, tbl *table, m lockMode) {
	old := w.locks[tbl.bucket]
	if old >= m {
		return
	}
	sql := "SELECT pg_advisory_xact_lock_shared($1, $2)"
	if m == lockExclusive {
		sql = "SELECT pg_advisory_xact_lock($1, $2)"
	}
	f.queue(stmt{sql: sql, args: []any{w.lockKey, tbl.lockID}})
	w.locks[tbl.bucket] = m
	w.logUndo(func() { w.locks[tbl.bucket] = old })
}

// send sends the pipeline. A failed statement of prev rolls prev back and
// sets restart; one of the transaction's own, or a broken connection, sets
// lost; the running function's error is returned as is.
func (w *writeTx) send() error {
	_, failed, err := w.t.flush()
	switch {
	case err == nil:
		return nil
	case classify(err) == failConnection || failed == nil || failed.owner == nil:
		w.lost = err
		return err
	case failed.owner == w.prev:
		w.failPrev(err)
		if w.lost != nil {
			return w.lost
		}
		return errRestart
	}
	return err
}

// failPrev rolls back prev, whose statement failed with err, and decides
// what becomes of its call.
func (w *writeTx) failPrev(err error) {
	prev := w.prev
	w.prev = nil
	if !prev.inSavepoint {
		w.lost = err
		return
	}
	// The failed statement aborted the transaction, where nothing can be
	// prepared: the simple protocol (Exec without arguments) rolls back.
	if _, rerr := w.t.conn.Exec(w.t.ctx, rollbackSavepoint); rerr != nil {
		w.lost = rerr
		return
	}
	if w.cur != nil {
		w.undo(w.cur)
	}
	w.undo(prev)
	w.restart = true
	switch classify(err) {
	case failWait:
		if prev.later {
			w.stop = prev.index
			return
		}
		w.out[prev.index] = outcome{err: err, retry: failConflict}
	case failConflict:
		w.out[prev.index] = outcome{err: err, retry: failConflict}
	default:
		w.out[prev.index] = outcome{err: err}
	}
}

// step is what runFunc does after an attempt at a function.
type step struct {
	stop  int   // ≥ 0: commit without the calls from stop on
	err   error // the transaction is lost
	again bool  // run the function again
}

var next = step{stop: -1}

// runFunc runs the function of call i in a savepoint and records its
// outcome in w.out. It returns stop ≥ 0 when the transaction must commit
// without the calls from stop on, and an error when the transaction is
// lost.
func (w *writeTx) runFunc(i int, fn func(issuer.Tx) error, later bool) (stop int, err error) {
	for {
		if s := w.attempt(i, fn, later); !s.again {
			return s.stop, s.err
		}
	}
}

// interruption reports whether prev failed, or the transaction was lost,
// while the running function ran, and what follows.
func (w *writeTx) interruption() (step, bool) {
	if w.lost != nil {
		return step{stop: -1, err: w.lost}, true
	}
	if !w.restart {
		return step{}, false
	}
	w.restart = false
	if w.stop >= 0 {
		return step{stop: w.stop}, true
	}
	return step{stop: -1, again: true}, true
}

func (w *writeTx) attempt(i int, fn func(issuer.Tx) error, later bool) step {
	t := w.t
	fr := &frame{index: i, later: later}
	w.cur = fr
	spQueued := len(t.pending)
	t.queue(stmt{sql: "SAVEPOINT f", owner: fr, done: func() { fr.inSavepoint = true }})
	f := &fnTx{s: w.s, t: t, w: w}
	ferr := fn(f)
	if ferr == nil && f.err == nil && f.wrote {
		ferr = f.checkAbsent()
	}
	f.done = true
	if ferr == nil && f.err == nil {
		nothing := !fr.inSavepoint && len(t.pending) == spQueued+1
		if nothing {
			// Nothing of its own to send (it read and rewrote rows held in
			// memory): no savepoint either.
			t.pending = t.pending[:spQueued]
		} else {
			t.queue(stmt{sql: "RELEASE SAVEPOINT f", owner: fr, done: func() { w.settle(fr) }})
		}
		w.out[i] = outcome{}
		if w.prev == nil {
			// Its statements go with the next pipeline.
			if nothing {
				w.settle(fr)
			} else {
				w.prev = fr
			}
			w.cur = nil
			return next
		}
		// prev's statements have not been sent yet, and this function may
		// have read what it wrote: send both.
		err := w.send()
		if err == nil {
			if nothing {
				w.settle(fr)
			}
			w.cur = nil
			return next
		}
		f.fail(err)
	}
	if s, ok := w.interruption(); ok {
		return s
	}

	// The function failed: its changes are undone.
	w.undo(fr)
	w.cur = nil
	if f.err == nil {
		// It returned an error, a refusal, before or after writing.
		if fr.inSavepoint {
			t.pending = t.pending[:0]
			t.queue(stmt{sql: "ROLLBACK TO SAVEPOINT f"})
			t.queue(stmt{sql: "RELEASE SAVEPOINT f"})
		} else {
			t.pending = t.pending[:spQueued]
		}
		if w.prev != nil {
			// A refusal may rest on what prev wrote: settle prev first.
			w.send()
			if s, ok := w.interruption(); ok {
				return s
			}
		}
		if errors.Is(ferr, errAbsentTaken) {
			w.out[i] = outcome{err: ferr, retry: failConflict}
		} else {
			w.out[i] = outcome{err: ferr}
		}
		return next
	}
	// One of its statements failed, aborting the transaction.
	if !fr.inSavepoint {
		return step{stop: -1, err: f.err}
	}
	if _, err := t.conn.Exec(t.ctx, rollbackSavepoint); err != nil {
		return step{stop: -1, err: err}
	}
	switch classify(f.err) {
	case failWait:
		if later {
			return step{stop: i}
		}
		w.out[i] = outcome{err: f.err, retry: failConflict}
	case failConflict:
		w.out[i] = outcome{err: f.err, retry: failConflict}
	default:
		// The server refused a statement (a key too long for the index,
		// say); the function may have returned that error or another.
		if ferr == nil || errors.Is(ferr, f.err) {
			ferr = f.err
		}
		w.out[i] = outcome{err: ferr}
	}
	return next
}

// settlePrev sends prev's statements, before the commit. It returns stop
// as runFunc does.
func (w *writeTx) settlePrev() (stop int, err error) {
	if w.prev == nil {
		return -1, nil
	}
	w.send()
	if w.lost != nil {
		return -1, w.lost
	}
	w.restart = false
	return w.stop, nil
}

// checkAbsent makes sure that no key the function read as absent, and did
// not write, has been created by a concurrent transaction: it takes the
// bucket exclusively (waiting for the transactions writing it to finish,
// and keeping others from writing it until the commit) and reads the keys
// again.
func (f *fnTx) checkAbsent() error {
	if len(f.absent) == 0 {
		return nil
	}
	taken := false
	for _, r := range f.absent {
		f.w.lockBucket(f, r.tbl, lockExclusive)
		f.queue(stmt{sql: r.tbl.get, args: []any{r.key}, rows: func(rows pgx.Rows) error {
			if rows.Next() {
				taken = true
			}
			return nil
		}})
	}
	if err := f.send(); err != nil {
		return err
	}
	if taken {
		return errAbsentTaken
	}
	return nil
}
