package wallet

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"github.com/epermit/epermit/credential"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
)

const phishIss = "https://ep-zjga.example.net/hz" // looks like the genuine one

var phishKey = ed25519.NewKeyFromSeed(seed(9))

// phishCredential is what a phishing issuer hands out: the victim's permit
// number and name, bound to the victim's device key (which the proof gave
// it), signed with the phisher's own key, which its own JWKS publishes.
func phishCredential(t testing.TB, w *Wallet, permitNo string, iat time.Time) (string, *keys.JWKS) {
	t.Helper()
	c := claimsFor(w.Public(), permitNo, iat, iat.Add(400*24*time.Hour))
	c.Issuer = phishIss
	c.Name = "张三"
	issued, err := credentialIssue(phishKey, c)
	if err != nil {
		t.Fatal(err)
	}
	return issued, &keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(phishKey))}}
}

// TestAddNeverReplacesAcrossIssuers is the phishing case of issue 10, hole
// 6: a credential with the victim's permit number from another issuer,
// even one issued later and carrying a valid signature of that issuer,
// neither replaces the genuine credential nor is stored beside it.
func TestAddNeverReplacesAcrossIssuers(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	genuine := issueTo(t, w.Public(), testPermit)
	if _, err := w.Add(genuine, issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	phish, phishJWKS := phishCredential(t, w, testPermit, t0) // later than the genuine one
	for _, set := range []*keys.JWKS{phishJWKS, nil} {
		_, err := w.Add(phish, set)
		if !errors.Is(err, ErrIssuerConflict) || !strings.Contains(err.Error(), testIss) || !strings.Contains(err.Error(), phishIss) {
			t.Fatalf("Add of the phishing credential: %v, want ErrIssuerConflict naming both issuers", err)
		}
	}
	e, issued, err := w.Get(testPermit)
	if err != nil || issued != genuine || e.Issuer != testIss {
		t.Fatalf("the genuine credential was replaced: %+v, %v", e, err)
	}
	if names := credFiles(t, w); len(names) != 1 {
		t.Fatalf("credentials: %v", names)
	}

	// Other permit numbers from another issuer are kept side by side.
	other, _ := phishCredential(t, w, testPermit2, t0)
	if _, err := w.Add(other, nil); err != nil {
		t.Fatal(err)
	}
	list, err := w.List()
	if err != nil || len(list) != 2 || list[0].Issuer != phishIss || list[1].Issuer != testIss {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

// TestOpenMigratesLegacyLayout: a wallet written before credentials were
// kept by issuer (credentials/<permit number>.sd-jwt) is moved to the new
// layout when opened, and keeps working.
func TestOpenMigratesLegacyLayout(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	dir := filepath.Join(w.Dir(), "credentials")
	first := issueTo(t, w.Public(), testPermit)
	second := issueTo(t, w.Public(), testPermit2)
	for no, cred := range map[string]string{testPermit: first, testPermit2: second} {
		if err := os.WriteFile(filepath.Join(dir, no+".sd-jwt"), []byte(cred), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// An endorsed credential already in the new layout for testPermit2:
	// the legacy one, older, is dropped rather than put back.
	endorsed := issueWith(t, issuerKey, claimsFor(w.Public(), testPermit2, t0.Add(290*24*time.Hour), t0.Add(665*24*time.Hour)))
	if err := os.WriteFile(filepath.Join(dir, credName(testIss, testPermit2)), []byte(endorsed), 0o600); err != nil {
		t.Fatal(err)
	}
	w2, err := Open(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	got := credFiles(t, w2)
	want := []string{credName(testIss, testPermit2), credName(testIss, testPermit)}
	if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Fatalf("after Open: %v, want %v", got, want)
	}
	if _, issued, err := w2.Get(testPermit); err != nil || issued != first {
		t.Fatalf("Get(%s): %v", testPermit, err)
	}
	if _, issued, err := w2.Get(testPermit2); err != nil || issued != endorsed {
		t.Fatalf("Get(%s) did not keep the newer credential: %v", testPermit2, err)
	}
	if _, err := w2.Present(testPermit, Request{Now: t0}); err != nil {
		t.Fatal(err)
	}
	// Opening again changes nothing.
	if _, err := Open(w.Dir()); err != nil || len(credFiles(t, w2)) != 2 {
		t.Fatalf("second Open: %v", err)
	}

	// A legacy file that does not decode is reported, not lost.
	if err := os.WriteFile(filepath.Join(dir, "33010626AAAAAA.sd-jwt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(w.Dir()); !errors.Is(err, ErrInvalidCredential) || !strings.Contains(err.Error(), "33010626AAAAAA.sd-jwt") {
		t.Fatalf("Open with a damaged legacy file: %v", err)
	}
}

// credentialIssue signs c with signer under signer's own kid.
func credentialIssue(signer ed25519.PrivateKey, c credential.Claims) (string, error) {
	return credential.Issue(signer, keys.Thumbprint(pub(signer)), c, rand.Reader)
}
