package boltdb

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/issuer"
)

// BucketStats is the room a bucket takes in the file.
type BucketStats struct {
	Bucket issuer.Bucket
	// Keys is the number of records.
	Keys int
	// Alloc is the bytes of the pages the bucket holds; InUse the bytes of
	// them its records and page headers fill.
	Alloc, InUse int64
}

// FileStats is the room of the whole file.
type FileStats struct {
	Size int64
	// Free is the bytes of free pages (and pages freed by the last
	// transactions, pending); FreelistPages the pages the freelist itself
	// takes when written at each commit.
	Free          int64
	FreePages     int
	FreelistBytes int
	PageSize      int
}

// Stats walks every bucket and reports the room each takes. It reads the
// whole file: seconds for a province's store.
func (s *Store) Stats() ([]BucketStats, FileStats, error) {
	var out []BucketStats
	var fs FileStats
	err := s.db.View(func(btx *bolt.Tx) error {
		fs.Size, fs.PageSize = btx.Size(), s.db.Info().PageSize
		for _, b := range issuer.Buckets {
			bk := btx.Bucket([]byte(b))
			if bk == nil {
				continue
			}
			st := bk.Stats()
			out = append(out, BucketStats{Bucket: b, Keys: st.KeyN, Alloc: int64(st.BranchAlloc + st.LeafAlloc),
				InUse: int64(st.BranchInuse + st.LeafInuse)})
		}
		return nil
	})
	if err != nil {
		return nil, fs, fmt.Errorf("boltdb: stats: %w", err)
	}
	st := s.db.Stats()
	fs.FreePages = st.FreePageN + st.PendingPageN
	fs.Free = int64(st.FreeAlloc)
	fs.FreelistBytes = st.FreelistInuse
	return out, fs, nil
}
