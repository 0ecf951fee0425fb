package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"
)

// Backup takes a snapshot of the whole store for a provincial
// administrator: every record, with residents' personal data sealed as it
// is at rest (a restore needs the key-encryption key and the data key
// store, see docs/security.md). It snapshots into a temporary file in dir
// first, so that a client that reads slowly never holds up writers, and
// returns that file open at its start and already unlinked, with its size:
// the caller streams it and closes it. The read is audited.
func (s *Service) Backup(ctx context.Context, by Official, dir string, now time.Time) (*os.File, int64, error) {
	if err := requireRole(by, RoleAdmin); err != nil {
		return nil, 0, err
	}
	if by.Authority != "" {
		return nil, 0, refuse(KindForbidden, "provincial_only", "整库备份仅限省级管理员：它包含所有发证机关的记录",
			"a backup of the whole store is for provincial administrators only: it holds every authority's records")
	}
	if err := s.auditRead(ctx, by, "store.backup", "store", "", now, nil); err != nil {
		return nil, 0, err
	}
	f, err := os.CreateTemp(dir, ".permitd-backup-*")
	if err != nil {
		return nil, 0, fmt.Errorf("issuer: backup: %w", err)
	}
	// Unlinked at once: the bytes go when the file is closed, whatever happens.
	os.Remove(f.Name())
	if _, err := s.st.Snapshot(ctx, f); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("issuer: backup: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("issuer: backup: %w", err)
	}
	return f, size, nil
}

// ErrNotEmpty refuses a restore into a store that holds records.
var ErrNotEmpty = errors.New("the destination store is not empty")

// Restore loads a snapshot into an empty storage, in transactions of a
// few thousand records, and returns the number of records. It checks the
// snapshot's trailer: on an error the destination holds a partial copy and
// must be discarded.
func Restore(ctx context.Context, st Storage, r io.Reader) (int64, error) {
	empty := true
	err := st.View(ctx, func(tx Tx) error {
		for _, b := range Buckets {
			if err := tx.Scan(b, nil, nil, false, func(_, _ []byte) (bool, error) { empty = false; return false, nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !empty {
		return 0, ErrNotEmpty
	}
	type rec struct {
		b    Bucket
		k, v []byte
	}
	var batch []rec
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := st.Update(ctx, func(tx Tx) error {
			for _, r := range batch {
				if err := tx.Put(r.b, r.k, r.v); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	known := map[Bucket]bool{}
	for _, b := range Buckets {
		known[b] = true
	}
	n, err := ReadSnapshot(r, func(b Bucket, k, v []byte) error {
		if !known[b] {
			return fmt.Errorf("%w: unknown bucket %q", ErrBadSnapshot, clip(string(b)))
		}
		batch = append(batch, rec{b, k, v})
		if len(batch) == 4096 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("issuer: restore: %w", err)
	}
	if err := flush(); err != nil {
		return n, fmt.Errorf("issuer: restore: %w", err)
	}
	return n, nil
}

// BucketDigest is the number of records of a bucket and the SHA-256 of
// their keys and values in order.
type BucketDigest struct {
	Records int64  `json:"records"`
	SHA256  string `json:"sha256"`
}

// Digest returns the digest of every bucket of a storage, to compare two
// stores record for record (after `permitd store copy`).
func Digest(ctx context.Context, st Storage) (map[Bucket]BucketDigest, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := st.Snapshot(ctx, pw)
		pw.CloseWithError(err)
	}()
	type digester struct {
		n int64
		h hash.Hash
	}
	hashes := map[Bucket]*digester{}
	_, err := ReadSnapshot(pr, func(b Bucket, k, v []byte) error {
		d := hashes[b]
		if d == nil {
			d = &digester{h: sha256.New()}
			hashes[b] = d
		}
		d.n++
		fmt.Fprintf(d.h, "%d:%x=%d:%x;", len(k), k, len(v), v)
		return nil
	})
	pr.Close()
	if err != nil {
		return nil, err
	}
	out := map[Bucket]BucketDigest{}
	for _, b := range Buckets {
		if d := hashes[b]; d != nil {
			out[b] = BucketDigest{Records: d.n, SHA256: hex.EncodeToString(d.h.Sum(nil))}
		} else {
			out[b] = BucketDigest{SHA256: hex.EncodeToString(sha256.New().Sum(nil))}
		}
	}
	return out, nil
}
