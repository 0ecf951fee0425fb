//go:build linux

package verifier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/sdjwt"
)

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	_ = syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawPair returns the bare signature checks a holder-bound presentation
// cannot avoid, on its own messages: the issuer's Ed25519 signature, and the
// KB-JWT's by the holder key (Ed25519, or ECDSA P-256 over SHA-256).
func rawPair(tb testing.TB, text string, holder crypto.Signer) func() bool {
	p, err := sdjwt.Split(text)
	if err != nil {
		tb.Fatal(err)
	}
	m1, s1 := splitSig(p.IssuerJWT)
	m2, s2 := splitSig(p.KeyBinding)
	ip := pub(issuerKey)
	switch hp := holder.Public().(type) {
	case ed25519.PublicKey:
		return func() bool { return ed25519.Verify(ip, m1, s1) && ed25519.Verify(hp, m2, s2) }
	case *ecdsa.PublicKey:
		r, s := new(big.Int).SetBytes(s2[:32]), new(big.Int).SetBytes(s2[32:])
		return func() bool {
			sum := sha256.Sum256(m2)
			return ed25519.Verify(ip, m1, s1) && ecdsa.Verify(hp, sum[:], r, s)
		}
	}
	tb.Fatalf("holder key %T", holder.Public())
	return nil
}

// BenchmarkVerifyRatioCPU is BenchmarkVerifyRatio measured in CPU time of
// the benchmark's thread rather than wall time, alternating in chunks of
// 100: on a machine other work keeps busy, time spent waiting for a CPU
// does not count, and the ratio holds steadier. It runs the presentation of
// every allowed purpose (with the groups it must disclose), bound to an
// Ed25519 and to a P-256 device key (benchCases); the floor is that
// presentation's own raw pair (rawPair). The goal is at most 1.10x
// (docs/performance.md):
//
//	go test -run '^$' -bench VerifyRatioCPU -benchtime 100x ./verifier/
func BenchmarkVerifyRatioCPU(b *testing.B) {
	for _, c := range benchCases(b) {
		floorCheck := rawPair(b, c.text, c.holder)
		if !floorCheck() {
			b.Fatal("bad fixture")
		}
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			const chunk = 100
			var full, floor time.Duration
			var ratios []float64
			for b.Loop() {
				c0 := threadCPU()
				for range chunk {
					if !Verify(c.text, c.opts).Valid {
						b.Fatal("refused")
					}
				}
				c1 := threadCPU()
				for range chunk {
					if !floorCheck() {
						b.Fatal("bad")
					}
				}
				c2 := threadCPU()
				full += c1 - c0
				floor += c2 - c1
				ratios = append(ratios, float64(c1-c0)/float64(c2-c1))
			}
			n := float64(chunk * len(ratios))
			b.ReportMetric(median(ratios), "x-floor")
			b.ReportMetric(float64(full.Nanoseconds())/n, "cpu-ns-verify")
			b.ReportMetric(float64(floor.Nanoseconds())/n, "cpu-ns-floor")
		})
	}
}

// median returns the median of xs, which it sorts. The ratio of each chunk
// to the floor measured right after it is taken, and their median reported:
// a chunk slowed by other work on the machine moves it less than the total.
func median(xs []float64) float64 {
	slices.Sort(xs)
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)/2]
}
