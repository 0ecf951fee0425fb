package wallet

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// TestPresentationQRVersions measures the QR code of what the wallet shows
// for each purpose, with an Ed25519 and with a P-256 device key, and holds
// the goal: the default presentation of either kind fits version 22 at
// level M, packed. The numbers are in docs/performance.md:
//
//	go test -run TestPresentationQRVersions -v ./wallet/
func TestPresentationQRVersions(t *testing.T) {
	const samples = 200
	raw, err := os.ReadFile(filepath.Join("testdata", "accept", "application-adult-hangzhou.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := permit.ParseApplication(raw)
	if err != nil {
		t.Fatal(err)
	}
	day := permit.DateOf(t0, permit.ChinaTime())
	p, err := permit.NewPermit(a, "330106267C1KVW", testIss, day)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{keys.AlgEdDSA, keys.AlgES256} {
		w, err := InitAlg(filepath.Join(t.TempDir(), "wallet"), alg)
		if err != nil {
			t.Fatal(err)
		}
		issued, err := issuer.Issue(issuerKey, keys.Thumbprint(pub(issuerKey)), p, testIss, w.Public(),
			statuslist.Reference{Idx: 1777, URI: testStatus}, t0, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add(issued, issuerJWKS()); err != nil {
			t.Fatal(err)
		}
		for _, purpose := range []string{trust.PurposeResidenceProof, trust.PurposePublicService, trust.PurposePoliceCheck} {
			// Signatures, nonce and digests are random: their compressed
			// size varies. The longest of samples is measured.
			var text, packed string
			minLen := 1 << 30
			for range samples {
				s, err := w.Present("", Request{Purpose: purpose, Now: t0.Add(time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				pk, err := qr.Pack(s)
				if err != nil {
					t.Fatal(err)
				}
				minLen = min(minLen, len(pk))
				if len(pk) > len(packed) {
					text, packed = s, pk
				}
			}
			var rv, pv [3]int
			for i, l := range []qr.Level{qr.L, qr.M, qr.Q} {
				r, err := qr.EncodePresentation(text, false, l)
				if err != nil {
					t.Fatal(err)
				}
				pk, err := qr.EncodePresentation(text, true, l)
				if err != nil {
					t.Fatal(err)
				}
				rv[i], pv[i] = r.Version(), pk.Version()
			}
			t.Logf("%-5s %-16s %5d chars raw L/M/Q %2d/%2d/%2d | packed %4d-%4d chars, longest L/M/Q %2d/%2d/%2d",
				alg, purpose, len(text), rv[0], rv[1], rv[2], minLen, len(packed), pv[0], pv[1], pv[2])
			if purpose == trust.PurposeResidenceProof && pv[1] > 22 {
				t.Errorf("%s: the default presentation needs version %d at M packed; the goal is 22", alg, pv[1])
			}
		}
	}
}
