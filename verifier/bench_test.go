package verifier

import (
	"crypto"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/trust"
)

// BenchmarkVerify measures a full holder-bound verification of the default
// presentation (no disclosures) and of a police check (identity disclosed),
// bound to an Ed25519 device key and to a P-256 one. Compare with
// BenchmarkTwoEd25519Verify from the same run: the goal is at most 1.15x.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	p256Issued, p256Key := p256Fixture(b, f)
	for _, bc := range []struct {
		name    string
		purpose string
		groups  []string
		issued  string
		holder  crypto.Signer
	}{
		{"default", trust.PurposeResidenceProof, nil, f.issued, holderKey},
		{"police-check", trust.PurposePoliceCheck, []string{"idn"}, f.issued, holderKey},
		{"p256-default", trust.PurposeResidenceProof, nil, p256Issued, p256Key},
		{"p256-police-check", trust.PurposePoliceCheck, []string{"idn"}, p256Issued, p256Key},
	} {
		text := present(b, bc.issued, bc.groups, bc.holder, credential.AnyAudience, "bench-nonce", t0)
		o := Options{Trust: f.trust, Purpose: bc.purpose, Now: t0}
		if r := Verify(text, o); !r.Valid {
			b.Fatalf("%+v", r.Reasons)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !Verify(text, o).Valid {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkTwoEd25519Verify is the floor: the two signature checks a
// holder-bound verification cannot avoid, on messages of the real sizes.
func BenchmarkTwoEd25519Verify(b *testing.B) {
	f := newFixture(b)
	text := present(b, f.issued, nil, holderKey, credential.AnyAudience, "bench-nonce", t0)
	p, _ := sdjwt.Split(text)
	m1, s1 := splitSig(p.IssuerJWT)
	m2, s2 := splitSig(p.KeyBinding)
	ip, hp := pub(issuerKey), pub(holderKey)
	if !ed25519.Verify(ip, m1, s1) || !ed25519.Verify(hp, m2, s2) {
		b.Fatal("bad fixture")
	}
	for b.Loop() {
		if !ed25519.Verify(ip, m1, s1) || !ed25519.Verify(hp, m2, s2) {
			b.Fatal("bad")
		}
	}
}

func splitSig(jwt string) ([]byte, []byte) {
	for i := len(jwt) - 1; i >= 0; i-- {
		if jwt[i] == '.' {
			sig, _ := decodeB64(jwt[i+1:])
			return []byte(jwt[:i]), sig
		}
	}
	return nil, nil
}

// BenchmarkVerifyReplay adds the replay cache to the default verification.
func BenchmarkVerifyReplay(b *testing.B) {
	f := newFixture(b)
	rc := NewReplayCache()
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = present(b, f.issued, nil, holderKey, credential.AnyAudience, randNonce(), t0)
	}
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i/len(texts)) * 2 * time.Minute)
		_ = Verify(texts[i%len(texts)], Options{Trust: f.trust, Now: now, Replay: rc, Freshness: time.Hour * 1e4})
		i++
	}
}

// BenchmarkVerifyRatio times a full holder-bound verification and the two
// bare Ed25519 checks alternately in the same loop and reports their ratio,
// which holds steady on a noisy machine where absolute times do not.
func BenchmarkVerifyRatio(b *testing.B) {
	f := newFixture(b)
	text := present(b, f.issued, nil, holderKey, credential.AnyAudience, "bench-nonce", t0)
	o := Options{Trust: f.trust, Now: t0}
	p, _ := sdjwt.Split(text)
	m1, s1 := splitSig(p.IssuerJWT)
	m2, s2 := splitSig(p.KeyBinding)
	ip, hp := pub(issuerKey), pub(holderKey)
	var full, floor time.Duration
	for b.Loop() {
		t := time.Now()
		if !Verify(text, o).Valid {
			b.Fatal("refused")
		}
		t2 := time.Now()
		if !ed25519.Verify(ip, m1, s1) || !ed25519.Verify(hp, m2, s2) {
			b.Fatal("bad")
		}
		t3 := time.Now()
		full += t2.Sub(t)
		floor += t3.Sub(t2)
	}
	b.ReportMetric(float64(full)/float64(floor), "x-two-ed25519")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "ns-two-ed25519")
}
