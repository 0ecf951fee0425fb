//go:build linux

package verifier

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/sdjwt"
)

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	_ = syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyRatioCPU is BenchmarkVerifyRatio measured in CPU time of
// the benchmark's thread rather than wall time, alternating in chunks of
// 200: on a machine other work keeps busy, time spent waiting for a CPU
// does not count, and the ratio holds steadier. The floor is the bare
// signature checks: two Ed25519 for an Ed25519-bound presentation, Ed25519
// and ECDSA P-256 for a P-256-bound one.
func BenchmarkVerifyRatioCPU(b *testing.B) {
	f := newFixture(b)
	p256Issued, p256Key := p256Fixture(b, f)
	for _, bc := range []struct {
		name   string
		text   string
		floorC func(p sdjwt.Presentation) func() bool
	}{
		{"ed25519", present(b, f.issued, nil, holderKey, credential.AnyAudience, "bench-nonce", t0), func(p sdjwt.Presentation) func() bool {
			m1, s1 := splitSig(p.IssuerJWT)
			m2, s2 := splitSig(p.KeyBinding)
			ip, hp := pub(issuerKey), pub(holderKey)
			return func() bool { return ed25519.Verify(ip, m1, s1) && ed25519.Verify(hp, m2, s2) }
		}},
		{"p256", present(b, p256Issued, nil, p256Key, credential.AnyAudience, "bench-nonce", t0), func(p sdjwt.Presentation) func() bool {
			m1, s1 := splitSig(p.IssuerJWT)
			m2, s2 := splitSig(p.KeyBinding)
			ip, hp := pub(issuerKey), p256Key.Public().(*ecdsa.PublicKey)
			r, s := new(big.Int).SetBytes(s2[:32]), new(big.Int).SetBytes(s2[32:])
			return func() bool {
				sum := sha256.Sum256(m2)
				return ed25519.Verify(ip, m1, s1) && ecdsa.Verify(hp, sum[:], r, s)
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			o := Options{Trust: f.trust, Now: t0}
			p, _ := sdjwt.Split(bc.text)
			floorCheck := bc.floorC(p)
			if !Verify(bc.text, o).Valid || !floorCheck() {
				b.Fatal("bad fixture")
			}
			const chunk = 200
			var full, floor time.Duration
			n := 0
			for b.Loop() {
				c0 := threadCPU()
				for range chunk {
					if !Verify(bc.text, o).Valid {
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
				n += chunk
			}
			b.ReportMetric(float64(full)/float64(floor), "x-floor")
			b.ReportMetric(float64(full.Nanoseconds())/float64(n), "cpu-ns-verify")
			b.ReportMetric(float64(floor.Nanoseconds())/float64(n), "cpu-ns-floor")
		})
	}
}
