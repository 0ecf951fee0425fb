package wallet

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

// walletWith returns a wallet holding the fixture credential.
func walletWith(t testing.TB) *Wallet {
	t.Helper()
	w := newTestWallet(t)
	if _, err := w.Add(issueTo(t, w.Public(), testPermit), issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	return w
}

// groups returns the groups a presentation discloses, sorted.
func groups(t testing.TB, pres string) (sdjwt.Presentation, []string) {
	t.Helper()
	p, err := sdjwt.Split(pres)
	if err != nil {
		t.Fatal(err)
	}
	gs := []string{}
	for _, d := range p.Disclosures {
		g := credential.GroupOf(d)
		if g == "" {
			t.Fatalf("disclosure %q is not of this profile", d)
		}
		gs = append(gs, g)
	}
	slices.Sort(gs)
	return p, gs
}

// Every purpose of the default policy: the allowed ones disclose exactly
// their required groups and verify end to end; the others are refused with
// the policy's reason before anything is disclosed.
func TestPresentDefaultPurposes(t *testing.T) {
	t.Parallel()
	w := walletWith(t)
	tr := verifierTrust(t)
	policy := trust.DefaultPolicy()
	if len(policy.Purposes) != 6 {
		t.Fatalf("default policy has %d purposes; update this test", len(policy.Purposes))
	}
	for _, pu := range policy.Purposes {
		t.Run(pu.ID, func(t *testing.T) {
			t.Parallel()
			pres, err := w.Present(testPermit, Request{Purpose: pu.ID, Now: t0})
			if !pu.Allowed {
				var re *RefusedError
				if !errors.As(err, &re) || re.Purpose != pu.ID || re.Refusal != pu.Refusal || !errors.Is(err, ErrPurposeRefused) {
					t.Fatalf("refused purpose: %v", err)
				}
				if pres != "" {
					t.Fatal("a refused purpose returned a presentation")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, got := groups(t, pres)
			want := slices.Sorted(slices.Values(pu.Required))
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("disclosed %v, purpose requires %v", got, want)
			}

			kb, err := sdjwt.VerifyKeyBinding(p, w.Public())
			if err != nil {
				t.Fatal(err)
			}
			nonce, err := decodeSeg(kb.Nonce)
			if kb.Audience != credential.AnyAudience || err != nil || len(nonce) != NonceSize || kb.IssuedAt != t0.Unix() {
				t.Fatalf("KB-JWT claims %+v", kb)
			}

			r := verifier.Verify(pres, verifier.Options{Trust: tr, Purpose: pu.ID, Now: t0.Add(5 * time.Second)})
			if !r.Valid || !r.HolderBound || !r.Fresh || r.Status != "valid" {
				t.Fatalf("verifier refused the presentation: %+v", r.Reasons)
			}
			if d := r.Claims.Disclosed(); !slices.Equal(append([]string{}, d...), want) {
				t.Fatalf("verifier saw %v", d)
			}
		})
	}
}

func TestPresentChallenge(t *testing.T) {
	t.Parallel()
	w := walletWith(t)
	tr := verifierTrust(t)
	const aud, nonce = "https://counter.example/hz-01", "c2VydmVyLWNoYWxsZW5nZQ"

	tests := []struct {
		name      string
		req       Request
		wantAud   string
		wantNonce string
	}{
		{"challenge", Request{Purpose: trust.PurposePoliceCheck, Audience: aud, Nonce: nonce, Now: t0}, aud, nonce},
		{"audience without challenge", Request{Purpose: trust.PurposePoliceCheck, Audience: aud, Now: t0,
			Rand: bytes.NewReader(bytes.Repeat([]byte{0xfb}, NonceSize))}, aud, "-_v7-_v7-_v7-_v7"},
		{"no challenge", Request{Purpose: trust.PurposePoliceCheck, Now: t0,
			Rand: bytes.NewReader(make([]byte, NonceSize))}, credential.AnyAudience, "AAAAAAAAAAAAAAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pres, err := w.Present("", tt.req)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := groups(t, pres)
			kb, err := sdjwt.VerifyKeyBinding(p, w.Public())
			if err != nil {
				t.Fatal(err)
			}
			if kb.Audience != tt.wantAud || kb.Nonce != tt.wantNonce || kb.IssuedAt != t0.Unix() {
				t.Fatalf("KB-JWT aud=%q nonce=%q iat=%d", kb.Audience, kb.Nonce, kb.IssuedAt)
			}
			// Signed by the device key, not another one.
			if _, err := sdjwt.VerifyKeyBinding(p, pub(otherKey)); !errors.Is(err, sdjwt.ErrKeyBinding) {
				t.Fatalf("KB-JWT verifies with another key: %v", err)
			}
			o := verifier.Options{Trust: tr, Purpose: tt.req.Purpose, Audience: aud, Now: t0.Add(time.Second)}
			if tt.req.Nonce != "" {
				o.Nonce = tt.req.Nonce
			}
			if r := verifier.Verify(pres, o); !r.Valid {
				t.Fatalf("verifier refused: %+v", r.Reasons)
			}
		})
	}

	// The verifier refuses a challenge answer replayed to another challenge.
	pres, err := w.Present("", tests[0].req)
	if err != nil {
		t.Fatal(err)
	}
	r := verifier.Verify(pres, verifier.Options{Trust: tr, Purpose: trust.PurposePoliceCheck, Audience: aud, Nonce: "another", Now: t0})
	if r.Valid || !r.Has(verifier.CodeNonce) {
		t.Fatalf("answer to another challenge accepted: %+v", r.Reasons)
	}
}

// Fresh nonces differ between presentations.
func TestPresentFreshNonce(t *testing.T) {
	t.Parallel()
	w := walletWith(t)
	seen := map[string]bool{}
	for range 8 {
		pres, err := w.Present(testPermit, Request{Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := groups(t, pres)
		kb, err := sdjwt.VerifyKeyBinding(p, w.Public())
		if err != nil {
			t.Fatal(err)
		}
		if seen[kb.Nonce] {
			t.Fatalf("nonce %q repeated", kb.Nonce)
		}
		seen[kb.Nonce] = true
	}
}

func TestPresentRefused(t *testing.T) {
	t.Parallel()
	w := walletWith(t)
	custom := trust.DefaultPolicy()
	custom.Purposes = append(custom.Purposes,
		trust.Purpose{ID: "both", Allowed: true, HolderBinding: true, Required: []string{credential.GroupResidence, credential.GroupIdentity}},
		trust.Purpose{ID: "photo", Allowed: true, HolderBinding: true, Required: []string{"photo"}},
	)
	// A permit issued without the residence group.
	noRes := newTestWallet(t)
	c := claimsFor(noRes.Public(), testPermit, t0.Add(-time.Hour), t0.Add(time.Hour))
	c.Residence = nil
	if _, err := noRes.Add(issueWith(t, issuerKey, c), issuerJWKS()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		w        *Wallet
		permitNo string
		req      Request
		wantErr  error
		groups   []string // when wantErr is nil
	}{
		{"identity card", w, testPermit, Request{Purpose: trust.PurposeIdentityCard, Now: t0}, ErrPurposeRefused, nil},
		{"credit loan", w, testPermit, Request{Purpose: trust.PurposeCreditLoan, Now: t0}, ErrPurposeRefused, nil},
		{"unknown purpose", w, testPermit, Request{Purpose: "bank-account", Now: t0}, ErrUnknownPurpose, nil},
		{"purpose of another policy", w, testPermit, Request{Purpose: "both", Now: t0}, ErrUnknownPurpose, nil},
		{"custom policy, both groups", w, testPermit, Request{Purpose: "both", Policy: &custom, Now: t0}, nil,
			[]string{credential.GroupIdentity, credential.GroupResidence}},
		{"group not in the profile", w, testPermit, Request{Purpose: "photo", Policy: &custom, Now: t0}, ErrMissingGroup, nil},
		{"group not in the credential", noRes, "", Request{Purpose: trust.PurposePublicService, Now: t0}, ErrMissingGroup, nil},
		{"nonce without audience", w, testPermit, Request{Nonce: "n", Now: t0}, ErrInvalidRequest, nil},
		{"no clock", w, testPermit, Request{}, ErrInvalidRequest, nil},
		{"randomness fails", w, testPermit, Request{Now: t0, Rand: bytes.NewReader(nil)}, io.EOF, nil},
		{"unknown permit", w, "33010626ZZZZZZ", Request{Now: t0}, ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pres, err := tt.w.Present(tt.permitNo, tt.req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Present: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if pres != "" {
					t.Fatal("presentation returned with an error")
				}
				return
			}
			if _, got := groups(t, pres); !slices.Equal(got, tt.groups) {
				t.Fatalf("disclosed %v, want %v", got, tt.groups)
			}
		})
	}
}

func BenchmarkPresent(b *testing.B) {
	w := walletWith(b)
	req := Request{Now: t0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Present(testPermit, req); err != nil {
			b.Fatal(err)
		}
	}
}
