//go:build !js

package wallet_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/wallet"
)

// trustListFor is a verified trust list naming the given issuers with the
// fake issuer's genuine key, issued at acceptNow.
func trustListFor(ids ...string) *trust.List {
	l := &trust.List{Version: 2, IssuedAt: acceptNow.Add(-time.Hour), ExpiresAt: acceptNow.Add(7 * 24 * time.Hour), Policy: trust.DefaultPolicy()}
	for _, id := range ids {
		l.Issuers = append(l.Issuers, trust.Issuer{ID: id, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou PSB"},
			JWKS: keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pubOf(fakeIssuerKey))}}})
	}
	return l
}

// TestAcceptTrustedIssuer: an offer from an issuer the trust list names is
// accepted, and the credential is checked against the list's keys: the
// issuer's own JWKS is not even fetched.
func TestAcceptTrustedIssuer(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, "/hz")
	w := newAcceptWallet(t)
	client, _ := f.client()
	e, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.TrustedIssuers(trustListFor("https://other.example", f.iss)))
	if err != nil {
		t.Fatal(err)
	}
	if e.Issuer != f.iss || e.PermitNo != acceptPermitNo {
		t.Fatalf("entry %+v", e)
	}
	if got, want := f.seen(), []string{stepIssuerMeta, stepASMeta, stepToken, stepCredential}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
}

// TestAcceptRefusesUntrustedIssuer is the phishing case of issue 10, hole
// 6, at the door: an offer from an issuer the wallet's trust list does not
// name is refused before the wallet sends it anything.
func TestAcceptRefusesUntrustedIssuer(t *testing.T) {
	t.Parallel()
	phisher := newFakeIssuer(t, "/hz")
	w := newAcceptWallet(t)
	client, rt := phisher.client()
	list := trustListFor("https://ep.zjga.example/hz")
	expired := trustListFor(phisher.iss)
	expired.ExpiresAt = acceptNow.Add(-8 * 24 * time.Hour) // past the 7-day grace
	early := trustListFor(phisher.iss)
	early.NotBefore = acceptNow.Add(time.Hour)
	for _, tc := range []struct {
		name string
		opts []wallet.AcceptOption
		want error
	}{
		{"not in the trust list", []wallet.AcceptOption{wallet.TrustedIssuers(list)}, wallet.ErrUntrustedIssuer},
		{"trust list beats the override", []wallet.AcceptOption{wallet.AnyIssuer(), wallet.TrustedIssuers(list)}, wallet.ErrUntrustedIssuer},
		{"trust list expired", []wallet.AcceptOption{wallet.TrustedIssuers(expired)}, wallet.ErrUntrustedIssuer},
		{"trust list not yet valid", []wallet.AcceptOption{wallet.TrustedIssuers(early)}, wallet.ErrUntrustedIssuer},
		{"no trust list", nil, wallet.ErrNoTrustList},
	} {
		if _, err := w.Accept(context.Background(), phisher.offer(), client, acceptNow, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if s := rt.seen(); len(s) != 0 {
		t.Errorf("the wallet contacted the untrusted issuer: %v", s)
	}
	assertNothingStored(t, w)
}

// TestAcceptTrustListKeys: with a trust list, the credential must be
// signed with a key the list gives the issuer; one the issuer merely
// publishes is not enough.
func TestAcceptTrustListKeys(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, "/hz")
	f.signer, f.kid = rogueKey, keys.Thumbprint(pubOf(rogueKey))
	f.editVC = func(d *vcIssuerDoc) {
		set, _ := (&keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pubOf(rogueKey))}}).Marshal()
		d.JWKS = set
	}
	w := newAcceptWallet(t)
	client, _ := f.client()
	if _, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.TrustedIssuers(trustListFor(f.iss))); !errors.Is(err, wallet.ErrIssuerSignature) {
		t.Fatalf("Accept: %v, want ErrIssuerSignature", err)
	}
	assertNothingStored(t, w)
}

// TestAcceptPhishingCannotReplace: even with the testing override, a
// phishing issuer's credential for the victim's permit number does not
// take the place of the genuine one.
func TestAcceptPhishingCannotReplace(t *testing.T) {
	t.Parallel()
	genuine := newFakeIssuer(t, "/hz")
	phisher := newFakeIssuer(t, "/hz") // another host, the same permit number
	w := newAcceptWallet(t)
	gc, _ := genuine.client()
	held, err := w.Accept(context.Background(), genuine.offer(), gc, acceptNow, wallet.TrustedIssuers(trustListFor(genuine.iss)))
	if err != nil {
		t.Fatal(err)
	}
	_, before, _ := w.Get(acceptPermitNo)
	pc, _ := phisher.client()
	if _, err := w.Accept(context.Background(), phisher.offer(), pc, acceptNow.Add(time.Minute), wallet.AnyIssuer()); !errors.Is(err, wallet.ErrIssuerConflict) {
		t.Fatalf("phishing Accept: %v, want ErrIssuerConflict", err)
	}
	list, err := w.List()
	if err != nil || len(list) != 1 || list[0] != held {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, after, _ := w.Get(acceptPermitNo); after != before {
		t.Fatal("the genuine credential changed")
	}
}

// TestAcceptP256Wallet receives a credential into a wallet whose device
// key is ECDSA P-256: the proof is ES256 and the credential's cnf is the
// EC key.
func TestAcceptP256Wallet(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, "/hz")
	w, err := wallet.InitAlg(t.TempDir()+"/wallet", keys.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := f.client()
	if _, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.TrustedIssuers(trustListFor(f.iss))); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.proofKeys) != 1 || !keys.SameKey(f.proofKeys[0], w.Public()) {
		t.Fatalf("proof keys %v", f.proofKeys)
	}
	if _, err := w.Present("", wallet.Request{Now: acceptNow}); err != nil {
		t.Fatal(err)
	}
}
