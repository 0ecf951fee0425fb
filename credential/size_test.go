package credential

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
)

func TestSizeReport(t *testing.T) {
	_, issuer, _ := ed25519.GenerateKey(rand.Reader)
	hpub, holder, _ := ed25519.GenerateKey(rand.Reader)
	c := sampleClaims(hpub)
	sd, err := Issue(issuer, keys.Thumbprint(issuer.Public().(ed25519.PublicKey)), c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := sdjwt.Split(sd)
	for _, n := range []int{0, 1, 2} {
		q := p
		q.Disclosures = p.Disclosures[:n]
		b, _ := sdjwt.Bind(q, holder, AnyAudience, "AAAAAAAAAAAAAAAA", time.Now())
		s := b.String()
		code, err := qrcode.New(s, qrcode.Medium)
		v := 0
		if err == nil {
			v = code.VersionNumber
		}
		t.Logf("disclosures=%d len=%d jwt=%d kb=%d version(M)=%d", n, len(s), len(b.IssuerJWT), len(b.KeyBinding), v)
	}
}

func sampleClaims(holder crypto.PublicKey) Claims {
	return Claims{
		Issuer: "https://ep.zjga.gov.cn/hz", IssuedAt: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC),
		Status: statuslist.Reference{Idx: 812345, URI: "https://ep.zjga.gov.cn/hz/status/1"}, Holder: holder,
		Name: "张三丰", MaskedID: "110105********002X", Region: "330106", PermitNo: "33010626K7Q2MX",
		Identity:  &Identity{CitizenID: "11010519491231002X", Ethnicity: "01", PhotoSHA256: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
		Residence: &Residence{Address: "浙江省杭州市西湖区文三路100号", HouseholdAddress: "北京市朝阳区建国路1号", HouseholdDivision: "110105", Since: "2026-01-15", Basis: []string{"employment"}, IssueDate: "2026-11-27"},
	}
}
