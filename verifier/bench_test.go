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

// benchPurposes are the allowed purposes of the default policy, each with
// the groups its presentation discloses.
var benchPurposes = []struct {
	purpose string
	groups  []string
}{
	{trust.PurposeResidenceProof, nil},
	{trust.PurposePublicService, []string{credential.GroupResidence}},
	{trust.PurposeConvenience, []string{credential.GroupIdentity}},
	{trust.PurposePoliceCheck, []string{credential.GroupIdentity}},
}

// benchCase is one presentation the benchmarks verify.
type benchCase struct {
	name   string // key type/purpose
	text   string
	holder crypto.Signer
	opts   Options
}

// benchCases returns the presentation of every allowed purpose (with the
// groups it must disclose), bound to an Ed25519 and to a P-256 device key.
func benchCases(b *testing.B) []benchCase {
	f := newFixture(b)
	p256Issued, p256Key := p256Fixture(b, f)
	var cs []benchCase
	for _, key := range []struct {
		name   string
		issued string
		holder crypto.Signer
	}{{"ed25519", f.issued, holderKey}, {"p256", p256Issued, p256Key}} {
		for _, pc := range benchPurposes {
			c := benchCase{
				name:   key.name + "/" + pc.purpose,
				text:   present(b, key.issued, pc.groups, key.holder, credential.AnyAudience, "bench-nonce", t0),
				holder: key.holder,
				opts:   Options{Trust: f.trust, Purpose: pc.purpose, Now: t0},
			}
			if r := Verify(c.text, c.opts); !r.Valid {
				b.Fatalf("%s: %+v", c.name, r.Reasons)
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// BenchmarkVerify measures a full holder-bound verification of every
// allowed purpose's presentation, bound to an Ed25519 device key and to a
// P-256 one. BenchmarkVerifyRatioCPU compares each with its raw pair of
// signature checks.
func BenchmarkVerify(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !Verify(c.text, c.opts).Valid {
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
