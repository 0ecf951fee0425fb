package verifier

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

const (
	testIss    = "https://ep.zjga.example/hz"
	testStatus = "https://ep.zjga.example/hz/status/1"
)

var (
	t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	rootKey   = ed25519.NewKeyFromSeed(seed(1))
	issuerKey = ed25519.NewKeyFromSeed(seed(2))
	holderKey = ed25519.NewKeyFromSeed(seed(3))
	otherKey  = ed25519.NewKeyFromSeed(seed(4))
)

func seed(b byte) []byte {
	s := make([]byte, 32)
	s[0] = b
	return s
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// fixture is a complete offline world: a trust list, a status list and an
// issued credential, at time t0.
type fixture struct {
	trustJWT string
	trust    *Trust
	issued   string // JWT~idn~res~
}

// Status indices used by the fixture.
const (
	idxValid     = 5
	idxRevoked   = 6
	idxSuspended = 7
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ij := keys.PublicJWK(pub(issuerKey))
	l := trust.List{
		Version: 3, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(7 * 24 * time.Hour),
		Issuers: []trust.Issuer{{
			ID: testIss, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou Public Security Bureau"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{ij}}, StatusLists: []string{testStatus},
		}},
		Policy: trust.DefaultPolicy(),
	}
	tl, err := trust.Sign(rootKey, l)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := LoadTrustList(tl, keys.Thumbprint(pub(rootKey)), t0.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sl, _ := statuslist.New(2, 1024)
	_ = sl.Set(idxRevoked, statuslist.Invalid)
	_ = sl.Set(idxSuspended, statuslist.Suspended)
	st, err := statuslist.SignToken(issuerKey, ij.Kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(24 * time.Hour), TTL: time.Hour, List: sl})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.AddStatusList(st, t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	return &fixture{trustJWT: tl, trust: tr, issued: issue(t, idxValid, t0.Add(-24*time.Hour), t0.Add(300*24*time.Hour))}
}

func claims(idx int, iat, exp time.Time) credential.Claims {
	return credential.Claims{
		Issuer: testIss, IssuedAt: iat, Expires: exp,
		Status: statuslist.Reference{Idx: idx, URI: testStatus}, Holder: pub(holderKey),
		Name: "张三", MaskedID: "110105********002X", Region: "330106", PermitNo: "33010626K7Q2MX",
		Identity:  &credential.Identity{CitizenID: "11010519491231002X", Ethnicity: "01"},
		Residence: &credential.Residence{Address: "浙江省杭州市西湖区文三路100号", HouseholdAddress: "北京市朝阳区建国路1号", HouseholdDivision: "110105", Since: "2026-01-15", Basis: []string{"employment"}, IssueDate: "2026-11-26"},
	}
}

func issue(t testing.TB, idx int, iat, exp time.Time) string {
	t.Helper()
	s, err := credential.Issue(issuerKey, keys.Thumbprint(pub(issuerKey)), claims(idx, iat, exp), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// present builds a presentation of issued with the named groups disclosed
// and, when holder is not nil, a KB-JWT made at iat.
func present(t testing.TB, issued string, groups []string, holder crypto.Signer, aud, nonce string, iat time.Time) string {
	t.Helper()
	p, err := sdjwt.Split(issued)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, d := range p.Disclosures {
		for _, g := range groups {
			if credential.GroupOf(d) == g {
				keep = append(keep, d)
			}
		}
	}
	p.Disclosures = keep
	if holder == nil {
		return p.String()
	}
	b, err := sdjwt.Bind(p, holder, aud, nonce, iat)
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func (f *fixture) live(t testing.TB, groups ...string) string {
	return present(t, f.issued, groups, holderKey, credential.AnyAudience, randNonce(), t0.Add(-5*time.Second))
}

func randNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return strings.TrimRight(b64url(b), "=")
}

func decodeB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
