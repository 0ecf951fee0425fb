// Package boltdb is the embedded storage of the issuer service: every
// record in one bbolt file, no server to install. It implements
// [issuer.Storage] and decides nothing; the rules are in package issuer.
//
// Writes go through [bolt.DB.Batch], so concurrent requests share commits
// (and their fsyncs). A transaction function that refuses its change
// before writing anything ([issuer.Refusal]) does not fail the shared
// commit; any other error rolls the batch back, and bbolt runs each
// function again alone.
//
// One process holds the file: a second Open waits for Options.Timeout and
// fails. Backups ([Store.Snapshot]) run in a read transaction, which does
// not block writers as long as the file fits in the memory map; Open maps
// generously ahead of the file's size for that reason.
package boltdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/epermit/epermit/issuer"
)

// Options configure a store.
type Options struct {
	// MaxBatchDelay bounds how long a write waits for others to share its
	// commit; 0 means 2 ms.
	MaxBatchDelay time.Duration
	// Timeout bounds the wait for the file lock held by another process; 0
	// means 1 s. bbolt gives up 50 ms early, so keep it above 50 ms.
	Timeout time.Duration
	// ReadOnly opens the file for reading only (backups, checks).
	ReadOnly bool
}

// ErrLocked reports a file held by another process (a running permitd).
var ErrLocked = errors.New("the store file is in use by another process")

// Store is a bbolt file holding the service's records. It is safe for
// concurrent use.
type Store struct {
	db *bolt.DB
}

var _ issuer.Storage = (*Store)(nil)

// minMmap is the least the file is mapped ahead: writers wait for readers
// only when the file outgrows its map, so a long backup must not meet a
// remap.
const minMmap = 1 << 30

// Open opens or creates the store file at path.
func Open(path string, o Options) (*Store, error) {
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = 2 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	mmap := minMmap
	if fi, err := os.Stat(path); err == nil {
		mmap = max(mmap, int(2*fi.Size()))
	}
	// The freelist is synced to the file: rebuilding it at open walks every
	// page, minutes for a province's store (docs/performance.md).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: mmap, ReadOnly: o.ReadOnly})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("boltdb: open %q: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("boltdb: open %q: %w", path, err)
	}
	db.MaxBatchDelay = o.MaxBatchDelay
	if !o.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range issuer.Buckets {
				if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("boltdb: open %q: %w", path, err)
		}
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Size returns the file's size in bytes.
func (s *Store) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// Update runs fn in a shared, durable write transaction.
func (s *Store) Update(ctx context.Context, fn func(issuer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var refused error
	err := s.db.Batch(func(btx *bolt.Tx) error {
		refused = nil
		t := &tx{tx: btx, writable: true}
		err := fn(t)
		if err != nil && !t.wrote && issuer.IsRefusal(err) {
			refused = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}

// View runs fn in a read transaction.
func (s *Store) View(ctx context.Context, fn func(issuer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{tx: btx}) })
}

// Snapshot writes every record of one read transaction to w.
func (s *Store) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		sw := issuer.NewSnapshotWriter(w)
		for _, b := range issuer.Buckets {
			bk := btx.Bucket([]byte(b))
			if bk == nil {
				continue
			}
			i := 0
			if err := bk.ForEach(func(k, v []byte) error {
				if i++; i%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				return sw.Add(b, k, v)
			}); err != nil {
				return err
			}
		}
		var err error
		n, err = sw.Close()
		return err
	})
	if err != nil {
		return n, fmt.Errorf("boltdb: snapshot: %w", err)
	}
	return n, nil
}

// Compact writes a compacted copy of the file at src to dst (which must not
// exist), dropping the free pages where deleted records' bytes remain.
// src must not be open elsewhere.
func Compact(src, dst string) (before, after int64, err error) {
	if _, err := os.Stat(dst); err == nil {
		return 0, 0, fmt.Errorf("boltdb: compact: %q exists", dst)
	}
	in, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, 0, fmt.Errorf("boltdb: compact %q: %w", src, ErrLocked)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("boltdb: compact %q: %w", src, err)
	}
	defer in.Close()
	out, err := bolt.Open(dst, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, fmt.Errorf("boltdb: compact: %w", err)
	}
	if err := bolt.Compact(out, in, 64<<20); err != nil {
		out.Close()
		os.Remove(dst)
		return 0, 0, fmt.Errorf("boltdb: compact: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return 0, 0, err
	}
	if err := out.Close(); err != nil {
		return 0, 0, err
	}
	si, err1 := os.Stat(src)
	di, err2 := os.Stat(dst)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	return si.Size(), di.Size(), nil
}

// tx adapts a bbolt transaction.
type tx struct {
	tx       *bolt.Tx
	writable bool
	wrote    bool
}

func (t *tx) bucket(b issuer.Bucket) (*bolt.Bucket, error) {
	bk := t.tx.Bucket([]byte(b))
	if bk == nil {
		return nil, fmt.Errorf("boltdb: no bucket %q", b)
	}
	return bk, nil
}

func (t *tx) Get(b issuer.Bucket, key []byte) ([]byte, error) {
	bk, err := t.bucket(b)
	if err != nil {
		return nil, err
	}
	return bk.Get(key), nil
}

func (t *tx) Put(b issuer.Bucket, key, value []byte) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	if b.AppendOnly() {
		bk.FillPercent = 1.0
	}
	t.wrote = true
	// bbolt keeps the slices until the commit: give it copies. A nil value
	// is stored empty, so that Get finds the key.
	v := make([]byte, len(value))
	copy(v, value)
	return bk.Put(bytes.Clone(key), v)
}

func (t *tx) Delete(b issuer.Bucket, key []byte) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	t.wrote = true
	return bk.Delete(key)
}

func (t *tx) Scan(b issuer.Bucket, prefix, start []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	c := bk.Cursor()
	var k, v []byte
	switch {
	case !reverse:
		from := prefix
		if start != nil && bytes.Compare(start, prefix) > 0 {
			from = start
		}
		k, v = c.Seek(from)
	case start != nil:
		k, v = c.Seek(start)
		if k == nil {
			k, v = c.Last()
		} else if !bytes.Equal(k, start) {
			k, v = c.Prev()
		}
	default:
		if end := prefixEnd(prefix); end == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(end); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step(c, reverse) {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func step(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
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
