package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/epermit/epermit/issuer"
)

// call is one Update waiting for a shared transaction.
type call struct {
	ctx  context.Context
	fn   func(issuer.Tx) error
	done chan outcome
}

// outcome is what became of a call's function in a shared transaction,
// known once the transaction has committed or failed.
type outcome struct {
	err error
	// retry is set when the function must run again in a later
	// transaction: after a conflict, or when the shared one was lost.
	retry failure
}

// batch is a shared transaction being filled with calls.
type batch struct {
	calls []*call
	timer *time.Timer
	once  sync.Once
}

// Update runs fn in a shared, durable write transaction; see the package
// documentation for what "shared" and "durable" mean here.
func (s *Store) Update(ctx context.Context, fn func(issuer.Tx) error) error {
	if s.o.ReadOnly {
		return ErrReadOnly
	}
	var conflicts, losses int
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := &call{ctx: ctx, fn: fn, done: make(chan outcome, 1)}
		if err := s.submit(c); err != nil {
			return err
		}
		o := <-c.done
		switch o.retry {
		case failNone:
			return o.err
		case failConflict:
			conflicts++
			s.stats.conflicts.Add(1)
			if conflicts > s.o.MaxRetries {
				return fmt.Errorf("postgres: update: %w after %d attempts: %v", issuer.ErrConflict, conflicts, o.err)
			}
			if err := sleep(ctx, backoff(conflicts)); err != nil {
				return err
			}
		default:
			losses++
			s.stats.lost.Add(1)
			if losses > s.o.MaxRetries {
				return fmt.Errorf("postgres: update: %w", o.err)
			}
			if err := sleep(ctx, backoff(losses)); err != nil {
				return err
			}
		}
	}
}

// backoff returns a random wait before attempt n+1: full jitter over a
// range that doubles from 2 ms up to 256 ms.
func backoff(n int) time.Duration {
	ceil := 2 * time.Millisecond << min(n-1, 7)
	return time.Duration(rand.Int64N(int64(ceil))) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submit adds c to the batch being filled, which starts when it is full or
// MaxBatchDelay after its first call.
func (s *Store) submit(c *call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	b := s.pending
	if b == nil {
		b = &batch{}
		s.pending = b
		s.running.Add(1)
		b.timer = time.AfterFunc(s.o.MaxBatchDelay, func() { s.start(b) })
	}
	b.calls = append(b.calls, c)
	if len(b.calls) >= s.o.MaxBatchSize {
		s.pending = nil
		b.timer.Stop()
		go s.start(b)
	}
	return nil
}

// start runs b once a transaction slot is free. b takes more calls while it
// waits for the slot.
func (s *Store) start(b *batch) {
	b.once.Do(func() {
		defer s.running.Done()
		s.slots <- struct{}{}
		defer func() { <-s.slots }()
		s.mu.Lock()
		if s.pending == b {
			s.pending = nil
		}
		s.mu.Unlock()
		s.run(b)
	})
}

// run executes the calls of b in shared transactions (one, unless a
// function must wait for a lock) and hands each call its outcome.
func (s *Store) run(b *batch) {
	calls := b.calls
	for len(calls) > 0 {
		out := make([]outcome, len(calls))
		n, err := s.runTx(calls, out)
		s.stats.batches.Add(1)
		s.stats.calls.Add(int64(n))
		for i, c := range calls[:n] {
			o := out[i]
			if err != nil && o.retry != failConflict && !errors.Is(o.err, errCanceled) {
				// The transaction did not commit: every function runs again.
				o = outcome{err: err, retry: failConnection}
			}
			if errors.Is(o.err, errCanceled) {
				o = outcome{err: c.ctx.Err()}
			}
			c.done <- o
		}
		calls = calls[n:]
	}
}

// errCanceled marks a call whose context ended before its function ran.
var errCanceled = errors.New("canceled before it ran")

// laterLockTimeout bounds the lock waits of the functions after the first
// in a shared transaction. A transaction that holds the locks of earlier
// functions and waits for another's could close a cycle, which PostgreSQL
// breaks only after deadlock_timeout (1 s by default): instead, the function
// gives up at once, the transaction commits without it, and it runs first
// in the next one, where it may wait.
const laterLockTimeout = "SET LOCAL lock_timeout = '1ms'"

// runTx runs calls in one transaction, each function in a savepoint, and
// commits. It returns how many calls it took (all but those after a
// function that had to wait for a lock), and nil once the transaction has
// committed, with each call's outcome in out; an error means it did not
// commit.
func (s *Store) runTx(calls []*call, out []outcome) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.TxTimeout)
	defer cancel()
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return len(calls), err
	}
	defer pc.Release()
	conn := pc.Conn()
	t := &txn{ctx: ctx, conn: conn}
	defer func() { s.stats.pipelines.Add(int64(t.sent)) }()
	var xid uint64
	t.queue(stmt{sql: "BEGIN ISOLATION LEVEL READ COMMITTED"})
	t.queue(stmt{sql: "SELECT pg_current_xact_id()::text", rows: func(rows pgx.Rows) error {
		var x string
		if rows.Next() {
			if err := rows.Scan(&x); err != nil {
				return err
			}
		}
		var perr error
		xid, perr = strconv.ParseUint(x, 10, 64)
		return perr
	}})
	w := &writeTx{s: s, t: t, out: out, cache: map[string]cached{}, locks: map[issuer.Bucket]lockMode{}, lockKey: s.lockKey, stop: -1}
	n, ran := len(calls), 0
	for i, c := range calls {
		if c.ctx.Err() != nil {
			out[i] = outcome{err: errCanceled}
			continue
		}
		if ran == 1 {
			t.queue(stmt{sql: laterLockTimeout})
		}
		stop, err := w.runFunc(i, c.fn, ran > 0)
		if err != nil {
			conn.Close(context.Background())
			return len(calls), err
		}
		if stop >= 0 {
			n = stop
			break
		}
		ran++
	}
	if ran == 0 {
		// Every call was canceled: nothing was sent.
		return n, nil
	}
	stop, err := w.settlePrev()
	if err != nil {
		conn.Close(context.Background())
		return len(calls), err
	}
	if stop >= 0 {
		n = stop
	}
	w.writeDirty(nil)
	t.queue(stmt{sql: "COMMIT"})
	tag, _, err := t.flush()
	if err == nil && tag.String() == "COMMIT" {
		return n, nil
	}
	if err == nil {
		return len(calls), errors.New("postgres: the transaction was rolled back at commit")
	}
	if xid == 0 {
		conn.Close(context.Background())
		return len(calls), err
	}
	// The commit failed, or its answer was lost with the connection (a
	// backend may report its termination instead of a commit it has made):
	// ask the database.
	pid := conn.PgConn().PID()
	conn.Close(context.Background())
	s.stats.resolved.Add(1)
	committed, rerr := s.resolve(xid, pid)
	if rerr != nil {
		return len(calls), fmt.Errorf("postgres: commit outcome unknown: %w (after %v)", rerr, err)
	}
	if committed {
		return n, nil
	}
	return len(calls), err
}

// resolve finds out whether the transaction xid, whose connection (to
// backend pid) failed during its commit, committed. It ends the old
// backend if it is still in that transaction.
func (s *Store) resolve(xid uint64, pid uint32) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.TxTimeout)
	defer cancel()
	for {
		var status *string
		err := s.pool.QueryRow(ctx, "SELECT pg_xact_status($1::text::xid8)", strconv.FormatUint(xid, 10)).Scan(&status)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "22023" {
			// "transaction ID … is in the future": the server restarted
			// (a crash) before anything of the transaction reached its
			// WAL, so before any commit.
			return false, nil
		}
		if err == nil && status == nil {
			return false, fmt.Errorf("transaction %d is too old to know", xid)
		}
		if err == nil {
			switch *status {
			case "committed":
				return true, nil
			case "aborted":
				return false, nil
			}
			// In progress: the backend has not noticed that its client
			// is gone (it may be waiting for a lock).
			_, err = s.pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_xid = $2::text::xid",
				int64(pid), strconv.FormatUint(xid&0xffffffff, 10))
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
}
