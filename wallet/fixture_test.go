package wallet

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/verifier"
)

const (
	testIss     = "https://ep.zjga.example/hz"
	testStatus  = "https://ep.zjga.example/hz/status/1"
	testPermit  = "33010626K7Q2MX"
	testPermit2 = "33010626A1B2C3"
)

var (
	t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	issuerKey = ed25519.NewKeyFromSeed(seed(2))
	otherKey  = ed25519.NewKeyFromSeed(seed(4)) // another device, or a forger
)

func seed(b byte) []byte {
	s := make([]byte, 32)
	s[0] = b
	return s
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// issuerJWKS is the issuing authority's published key set.
func issuerJWKS() *keys.JWKS {
	return &keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}}
}

// newTestWallet initialises a wallet in a fresh temporary directory.
func newTestWallet(t testing.TB) *Wallet {
	t.Helper()
	w, err := Init(filepath.Join(t.TempDir(), "wallet"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// claimsFor is a permit with both groups, bound to holder.
func claimsFor(holder crypto.PublicKey, permitNo string, iat, exp time.Time) credential.Claims {
	return credential.Claims{
		Issuer: testIss, IssuedAt: iat, Expires: exp,
		Status: statuslist.Reference{Idx: 5, URI: testStatus}, Holder: holder,
		Name: "张三", MaskedID: "110105********002X", Region: "330106", PermitNo: permitNo,
		Identity:  &credential.Identity{CitizenID: "11010519491231002X", Ethnicity: "01"},
		Residence: &credential.Residence{Address: "浙江省杭州市西湖区文三路100号", HouseholdAddress: "北京市朝阳区建国路1号", HouseholdDivision: "110105", Since: "2026-01-15", Basis: []string{"employment"}, IssueDate: "2026-11-26"},
	}
}

// issueWith signs c with signer under the issuer's kid.
func issueWith(t testing.TB, signer ed25519.PrivateKey, c credential.Claims) string {
	t.Helper()
	s, err := credential.Issue(signer, keys.Thumbprint(pub(issuerKey)), c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// issueTo is a good credential for holder, issued a day before t0 with the
// endorsement due 300 days after t0.
func issueTo(t testing.TB, holder crypto.PublicKey, permitNo string) string {
	t.Helper()
	return issueWith(t, issuerKey, claimsFor(holder, permitNo, t0.Add(-24*time.Hour), t0.Add(300*24*time.Hour)))
}

// verifierTrust is the counter's offline trust data: the issuer's JWKS and
// a signed status list in which the fixture's index 5 is valid.
func verifierTrust(t testing.TB) *verifier.Trust {
	t.Helper()
	set, err := issuerJWKS().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := verifier.LoadJWKS(set, t0.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := statuslist.New(2, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Set(6, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	st, err := statuslist.SignToken(issuerKey, keys.Thumbprint(pub(issuerKey)), statuslist.TokenClaims{
		Sub: testStatus, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(24 * time.Hour), TTL: time.Hour, List: sl,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.AddStatusList(st, t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	return tr
}

func decodeSeg(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func encodeSeg(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }
