package storetest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/vault"
)

// Fixture is a Service over a storage under test, with a settable clock
// and an official of every role.
type Fixture struct {
	T       *testing.T
	St      issuer.Storage
	Svc     *issuer.Service
	Vault   *vault.Vault
	Keys    vault.KeyStore
	AuditPK ed25519.PublicKey

	mu  sync.Mutex
	now time.Time

	Officer, Revoker, Auditor, Admin issuer.Official
	// HzOfficer and HzAuditor are limited to the Hangzhou authority "hz".
	HzOfficer, HzAuditor, HzAdmin issuer.Official
	// NbOfficer is limited to the Ningbo authority "nb".
	NbOfficer issuer.Official
}

// Start is the fixture clock's first reading: 2026-06-01 10:00 China time.
var Start = time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

// NewFixture builds a service over a fresh storage of h, hosting a
// provincial authority "zj" (region 33), "hz" (3301) and "nb" (3302).
func NewFixture(t *testing.T, h Harness) *Fixture {
	t.Helper()
	f := &Fixture{T: t, St: h.New(t), now: Start}
	dir := t.TempDir()
	kek, err := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	if err != nil {
		t.Fatal(err)
	}
	if h.DataKeys != nil {
		f.Keys = h.DataKeys(t, f.St)
	} else {
		sf, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sf.Close() })
		f.Keys = sf
	}
	f.Vault = vault.New(kek, f.Keys, nil)
	f.Svc = f.service(f.St)
	f.AuditPK = testKey(9).Public().(ed25519.PublicKey)
	f.Officer = issuer.Official{ID: "off1", Name: "officer", Role: issuer.RoleOfficer}
	f.Revoker = issuer.Official{ID: "rev1", Name: "revoker", Role: issuer.RoleRevoker}
	f.Auditor = issuer.Official{ID: "aud1", Name: "auditor", Role: issuer.RoleAuditor}
	f.Admin = issuer.Official{ID: "adm1", Name: "admin", Role: issuer.RoleAdmin}
	f.HzOfficer = issuer.Official{ID: "hzo", Name: "hz officer", Role: issuer.RoleOfficer, Authority: "hz"}
	f.HzAuditor = issuer.Official{ID: "hza", Name: "hz auditor", Role: issuer.RoleAuditor, Authority: "hz"}
	f.HzAdmin = issuer.Official{ID: "hzd", Name: "hz admin", Role: issuer.RoleAdmin, Authority: "hz"}
	f.NbOfficer = issuer.Official{ID: "nbo", Name: "nb officer", Role: issuer.RoleOfficer, Authority: "nb"}
	return f
}

// service makes a Service over st with the fixture's keys and clock.
func (f *Fixture) service(st issuer.Storage) *issuer.Service {
	f.T.Helper()
	ring := func(seed byte) *keys.Ring {
		r, err := keys.NewRing(keys.Entry{Signer: testKey(seed)})
		if err != nil {
			f.T.Fatal(err)
		}
		return r
	}
	svc, err := issuer.New(ctx, issuer.Config{Storage: st, Vault: f.Vault, IndexKey: bytes.Repeat([]byte{7}, 32),
		AuditKey: testKey(9), BaseURL: "https://ep.example", Now: f.Clock, ListSize: 1 << 15, CheckpointEvery: 5,
		Authorities: []*issuer.Authority{
			{Slug: "zj", Region: "33", Name: trust.Text{ZH: "浙江省公安厅", EN: "Zhejiang PSD"}, Keys: ring(2)},
			{Slug: "hz", Region: "3301", Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou PSB"}, Keys: ring(3)},
			{Slug: "nb", Region: "3302", Name: trust.Text{ZH: "宁波市公安局", EN: "Ningbo PSB"}, Keys: ring(4)},
		}})
	if err != nil {
		f.T.Fatal(err)
	}
	return svc
}

// Clock returns the fixture's time.
func (f *Fixture) Clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock on.
func (f *Fixture) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// CitizenID returns a valid GB 11643 number for person n.
func CitizenID(n int) string {
	body := fmt.Sprintf("110105%04d%02d%02d%03d", 1980+n%20, 1+n/20%12, 1+n/240%28, n%1000)
	c, err := permit.IDCheckChar(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

// Form returns an eligible application of person n living in division div
// (a Hangzhou district when empty) since a year before the clock.
func (f *Fixture) Form(n int, div string) permit.Application {
	if div == "" {
		div = "330106"
	}
	id := CitizenID(n)
	birth, _ := permit.IDBirthDate(id)
	sex, _ := permit.IDSex(id)
	since := permit.DateOf(f.Clock(), permit.ChinaTime()).AddMonths(-12)
	return permit.Application{Name: "测试人" + fmt.Sprint(n), Sex: sex, Ethnicity: "01", BirthDate: birth, CitizenID: id,
		HouseholdAddress: "北京市朝阳区示例路 12 号", HouseholdDivision: "110105",
		ResidenceAddress: fmt.Sprintf("浙江省示例街 %d 号", 100+n), ResidenceDivision: permit.Division(div), ResidenceSince: since,
		Basis: []permit.BasisClaim{{Kind: permit.BasisEmployment, Evidence: "labour contract " + fmt.Sprint(n)}}}
}

// Submit submits person n's application and returns it with its secret.
func (f *Fixture) Submit(n int, div string, photo []byte) (issuer.Application, string) {
	f.T.Helper()
	a, secret, err := f.Svc.Submit(ctx, issuer.Submission{Form: f.Form(n, div), Photo: photo, PhotoType: "image/png"}, f.Clock())
	if err != nil {
		f.T.Fatal(err)
	}
	return a, secret
}

// Approve approves an application as the provincial officer.
func (f *Fixture) Approve(id string) (issuer.PermitView, issuer.OfferGrant) {
	f.T.Helper()
	p, o, err := f.Svc.Approve(ctx, f.Officer, id, f.Clock())
	if err != nil {
		f.T.Fatal(err)
	}
	return p, o
}

// Wallet is a wallet key.
type Wallet struct{ Key ed25519.PrivateKey }

// NewWallet returns a wallet with key seed.
func NewWallet(seed byte) Wallet { return Wallet{Key: testKey(seed)} }

// JWK returns the wallet's public key.
func (w Wallet) JWK() keys.JWK { return keys.PublicJWK(w.Key.Public().(ed25519.PublicKey)) }

// Kid returns the wallet key's thumbprint.
func (w Wallet) Kid() string { return keys.Thumbprint(w.Key.Public().(ed25519.PublicKey)) }

// Accept redeems an offer and issues its credential to w.
func (f *Fixture) Accept(o issuer.OfferGrant, w Wallet) (issuer.Issued, error) {
	f.T.Helper()
	r, err := f.Svc.RedeemOffer(ctx, o.Code, f.Clock())
	if err != nil {
		return issuer.Issued{}, err
	}
	return f.Svc.IssueCredential(ctx, r.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: r.Nonce}, f.Clock())
}

// Issued approves person n and issues the first credential to w.
func (f *Fixture) Issued(n int, w Wallet) (issuer.PermitView, issuer.Issued) {
	f.T.Helper()
	a, _ := f.Submit(n, "", nil)
	p, o := f.Approve(a.ID)
	c, err := f.Accept(o, w)
	if err != nil {
		f.T.Fatal(err)
	}
	return p, c
}

// CredentialRef returns a credential's status entry and holder key, after
// checking its signature by the authority's key.
func (f *Fixture) CredentialRef(cred string) (statuslist.Reference, string) {
	f.T.Helper()
	p, err := sdjwt.Split(cred)
	if err != nil {
		f.T.Fatal(err)
	}
	tok, err := jws.Verify(p.IssuerJWT, "dc+sd-jwt", func(h jws.Header) (ed25519.PublicKey, error) {
		for _, a := range f.Svc.Authorities() {
			if pub, ok := a.Keys.JWKS().Lookup(h.Kid); ok {
				return pub, nil
			}
		}
		return nil, errors.New("unknown kid")
	})
	if err != nil {
		f.T.Fatal(err)
	}
	var c struct {
		Status statuslist.StatusClaim `json:"status"`
		Cnf    struct {
			JWK keys.JWK `json:"jwk"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(tok.Payload, &c); err != nil {
		f.T.Fatal(err)
	}
	kid, err := c.Cnf.JWK.Thumbprint()
	if err != nil {
		f.T.Fatal(err)
	}
	return *c.Status.StatusList, kid
}

// Status returns the status of a credential's entry in its list now.
func (f *Fixture) Status(ref statuslist.Reference) statuslist.Status {
	f.T.Helper()
	id := ref.URI[strings.LastIndexByte(ref.URI, '/')+1:]
	l, _, err := f.Svc.StatusList(ctx, id)
	if err != nil {
		f.T.Fatal(err)
	}
	st, err := l.Get(ref.Idx)
	if err != nil {
		f.T.Fatal(err)
	}
	return st
}

func wantRefusal(t *testing.T, err error, code string) {
	t.Helper()
	var e *issuer.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want refusal %q", err, code)
	}
	if e.ZH == "" || e.EN == "" {
		t.Fatalf("refusal %q without its bilingual texts", code)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
