package postgres_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/storetest"
)

// BenchmarkStorage runs the conformance suite's Update benchmark on
// PostgreSQL and, for the ratio in docs/performance.md, on the embedded
// bbolt store in the same run.
func BenchmarkStorage(b *testing.B) {
	for _, delay := range []time.Duration{2 * time.Millisecond} {
		b.Run("postgres", func(b *testing.B) {
			storetest.BenchmarkStorage(b, func(b *testing.B) issuer.Storage {
				s := openStore(b, newSchema(b), postgres.Options{MaxBatchDelay: delay})
				b.Cleanup(func() {
					st := s.Stats()
					b.ReportMetric(float64(st.Calls)/float64(max(st.Transactions, 1)), "updates/commit")
				})
				return s
			})
		})
	}
	b.Run("bbolt", func(b *testing.B) {
		storetest.BenchmarkStorage(b, func(b *testing.B) issuer.Storage {
			s, err := boltdb.Open(filepath.Join(b.TempDir(), "bench.db"), boltdb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		})
	})
}
