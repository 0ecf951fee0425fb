package wallet_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/wallet"
)

// A resident sets up a wallet, stores the permit the issuer bound to the
// device key, and shows it for basic public services, which need the
// residence group only.
func ExampleWallet_Present() {
	tmp, _ := os.MkdirTemp("", "wallet-example")
	defer os.RemoveAll(tmp)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	w, err := wallet.Init(filepath.Join(tmp, "wallet"))
	if err != nil {
		fmt.Println(err)
		return
	}

	// The issuer's side: a credential bound to w.JWK().
	issuerPub, issuerKey, _ := ed25519.GenerateKey(rand.Reader)
	holder, _ := w.JWK().PublicKey()
	issued, _ := credential.Issue(issuerKey, keys.Thumbprint(issuerPub), credential.Claims{
		Issuer: "https://ep.example/hz", IssuedAt: now, Expires: now.AddDate(1, 0, 0),
		Status: statuslist.Reference{Idx: 42, URI: "https://ep.example/hz/status/1"}, Holder: holder,
		Name: "张三", MaskedID: "110105********002X", Region: "330106", PermitNo: "33010626K7Q2MX",
		Identity:  &credential.Identity{CitizenID: "11010519491231002X", Ethnicity: "01"},
		Residence: &credential.Residence{Address: "浙江省杭州市西湖区文三路100号", HouseholdAddress: "北京市朝阳区建国路1号", HouseholdDivision: "110105", Since: "2026-01-15", Basis: []string{"employment"}, IssueDate: "2026-11-27"},
	}, rand.Reader)

	entry, err := w.Add(issued, &keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(issuerPub)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(entry.PermitNo, entry.Name, entry.DaysLeft(now), "days to endorsement")

	code, err := w.Present("", wallet.Request{Purpose: trust.PurposePublicService, Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := sdjwt.Split(code)
	for _, d := range p.Disclosures {
		fmt.Println("discloses", credential.GroupOf(d))
	}
	fmt.Println("holder-bound:", p.KeyBinding != "")

	_, err = w.Present("", wallet.Request{Purpose: trust.PurposeIdentityCard, Now: now})
	var refused *wallet.RefusedError
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Refusal.EN)
	}
	// Output:
	// 33010626K7Q2MX 张三 365 days to endorsement
	// discloses res
	// holder-bound: true
	// refused: a residence permit is not an identity card
}
