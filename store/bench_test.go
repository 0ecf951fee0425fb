package store

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// issueMany submits and approves n people in parallel, so that the setup
// shares commits like the service does.
func issueMany(b *testing.B, db *DB, n int) []Permit {
	b.Helper()
	forms := make([]permit.Application, n)
	ps := make([]permit.Permit, n)
	for i := range n {
		forms[i] = personForm(b, i)
		ps[i] = makePermit(b, forms[i], number(b, forms[i].ResidenceDivision, uint32(i)))
	}
	recs := make([]Permit, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := db.Submit(forms[i], permit.Decision{Eligible: true, Unmet: []permit.Condition{}}, testAuthority, "s", nil, "", resident, testNow)
			if err != nil {
				errs[i] = err
				return
			}
			recs[i], errs[i] = db.Approve(a.ID, ps[i], testCode(fmt.Sprint("code", i)), testNow.Add(time.Hour), officer, testNow)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return recs
}

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkSetStatusParallel suspends and reinstates permits from many
// goroutines at once; each goroutine owns its permits, so no change
// conflicts and every one commits with fsync.
func BenchmarkSetStatusParallel(b *testing.B) {
	const parallelism, perWorker = 16, 4 // 16 x GOMAXPROCS goroutines
	db, _ := openTest(b, testOptions())
	workers := parallelism * runtime.GOMAXPROCS(0) // the goroutines RunParallel starts
	recs := issueMany(b, db, workers*perWorker)
	var next atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(next.Add(1) - 1)
		mine := recs[w*perWorker : (w+1)*perWorker]
		suspended := make([]bool, len(mine))
		for k := 0; pb.Next(); k++ {
			j := k % len(mine)
			action := Suspend
			if suspended[j] {
				action = Reinstate
			}
			if _, err := db.SetStatus(mine[j].Permit.Number, action, "bench", revoker, testNow); err != nil {
				failed.Add(1)
				continue
			}
			suspended[j] = !suspended[j]
		}
	})
	reportOps(b)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d SetStatus calls failed", n)
	}
}

// BenchmarkIssueCredentialParallel consumes one prepared access token per
// operation, from many goroutines at once.
func BenchmarkIssueCredentialParallel(b *testing.B) {
	const permits = 128
	db, _ := openTest(b, testOptions())
	recs := issueMany(b, db, permits)
	holders := make([]ed25519.PublicKey, permits)
	for i := range holders {
		holders[i], _, _ = ed25519.GenerateKey(nil)
	}
	err := db.b.Update(func(tx *bolt.Tx) error {
		for i := range b.N {
			a := Access{TokenHash: Hash(testAccess(fmt.Sprint("acc", i))), PermitNo: recs[i%permits].Permit.Number, Authority: testAuthority, CNonce: "n", Expires: testNow.Add(time.Hour)}
			if err := putJSON(tx.Bucket(bAccess), grantKeyOf(testAccess(fmt.Sprint("acc", i))), a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			if _, err := db.IssueCredential(testAccess(fmt.Sprint("acc", i)), holders[i%permits], testNow); err != nil {
				failed.Add(1)
			}
		}
	})
	reportOps(b)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d IssueCredential calls failed", n)
	}
}

// BenchmarkStatusList reads a whole list of 2^20 two-bit entries (256 KiB),
// as the status list endpoint does before encoding and signing it.
func BenchmarkStatusList(b *testing.B) {
	db, _ := openTest(b, Options{IndexKey: testKey})
	info, err := db.OpenList(testAuthority, testNow)
	if err != nil {
		b.Fatal(err)
	}
	if info.Size != 1<<20 {
		b.Fatalf("list of %d entries", info.Size)
	}
	err = db.b.Update(func(tx *bolt.Tx) error {
		for i := 0; i < info.Size; i += 997 {
			if err := setStatus(tx, info.ID, i, statuslist.Invalid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(info.Size * info.Bits / 8))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l, _, _, err := db.StatusList(info.ID)
		if err != nil || l.Size() != info.Size {
			b.Fatal(err)
		}
	}
	reportOps(b)
}

// BenchmarkAuthenticate checks an API token, as every official's request does.
func BenchmarkAuthenticate(b *testing.B) {
	db, _ := openTest(b, testOptions())
	secret, _, err := db.CreateToken(APIToken{Role: RoleOfficer, Name: "bench"}, admin, testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Authenticate(secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportOps(b)
}
