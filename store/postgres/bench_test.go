package postgres_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/postgres/pgtest"
	"github.com/epermit/epermit/store/storetest"
)

// metered is a storage that tells the benchmark the CPU time used by this
// process and, for PostgreSQL, by the test cluster.
type metered struct {
	issuer.Storage
	server bool
}

func (m metered) CPU() (self, server time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if m.server {
		server, err = pgtest.ServerCPU()
	}
	return self, server, err
}

// BenchmarkStorage runs the conformance suite's Update benchmark on
// PostgreSQL and, for the ratios in docs/performance.md, on the embedded
// bbolt store in the same run.
func BenchmarkStorage(b *testing.B) {
	b.Run("postgres", func(b *testing.B) {
		storetest.BenchmarkStorage(b, func(b *testing.B) issuer.Storage {
			s := openStore(b, newSchema(b), postgres.Options{})
			b.Cleanup(func() {
				st := s.Stats()
				b.ReportMetric(float64(st.Calls)/float64(max(st.Transactions, 1)), "updates/commit")
				b.ReportMetric(float64(st.Pipelines)/float64(max(st.Calls, 1)), "roundtrips/update")
			})
			return metered{s, true}
		})
	})
	b.Run("bbolt", func(b *testing.B) {
		storetest.BenchmarkStorage(b, func(b *testing.B) issuer.Storage {
			s, err := boltdb.Open(filepath.Join(b.TempDir(), "bench.db"), boltdb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return metered{s, false}
		})
	})
}
