package issuer

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
)

func samplePermit(t *testing.T) permit.Permit {
	t.Helper()
	raw, err := os.ReadFile("../examples/application-adult-hangzhou.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := permit.ParseApplication(raw)
	if err != nil {
		t.Fatal(err)
	}
	issued, _ := permit.NewDate(2026, time.November, 27)
	p, err := permit.NewPermit(a, "33010626K7Q2MX", "https://ep.example/hz", issued)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClaims(t *testing.T) {
	t.Parallel()
	p := samplePermit(t)
	holder := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	now := time.Date(2026, 11, 27, 3, 0, 0, 500, time.UTC)
	c, err := Claims(p, "https://ep.example/hz", holder, statuslist.Reference{Idx: 9, URI: "https://ep.example/hz/status/1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	// The endorsement falls due on the anniversary, at midnight China time.
	wantExp := time.Date(p.ValidUntil.Year, p.ValidUntil.Month, p.ValidUntil.Day, 0, 0, 0, 0, permit.ChinaTime())
	if !c.Expires.Equal(wantExp) || c.IssuedAt.Nanosecond() != 0 {
		t.Fatalf("exp %v want %v; iat %v", c.Expires, wantExp, c.IssuedAt)
	}
	if c.MaskedID != permit.MaskID(p.CitizenID) || c.MaskedID == p.CitizenID || c.Region != "330106" || c.PermitNo != p.Number {
		t.Fatalf("visible claims %+v", c)
	}
	if c.Identity.CitizenID != p.CitizenID || c.Residence.Since != p.ResidenceSince.String() || len(c.Residence.Basis) != 2 {
		t.Fatalf("groups %+v %+v", c.Identity, c.Residence)
	}
	if _, err := Claims(p, "https://ep.example/hz", holder, statuslist.Reference{Idx: -1, URI: "x"}, now); err == nil {
		t.Fatal("negative status index accepted")
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	p := samplePermit(t)
	key := ed25519.NewKeyFromSeed(append(make([]byte, 31), 7))
	holder := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	s, err := Issue(key, keys.Thumbprint(key.Public().(ed25519.PublicKey)), p, "https://ep.example/hz", holder,
		statuslist.Reference{Idx: 9, URI: "https://ep.example/hz/status/1"}, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := sdjwt.Split(s)
	if err != nil || len(pr.Disclosures) != 2 {
		t.Fatalf("issued %q: %v", s, err)
	}
	for _, d := range pr.Disclosures {
		if g := credential.GroupOf(d); g != credential.GroupIdentity && g != credential.GroupResidence {
			t.Fatalf("disclosure of group %q", g)
		}
	}
}
