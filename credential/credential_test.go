package credential

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
)

var (
	issuerKey = ed25519.NewKeyFromSeed(make([]byte, 32))
	holderKey = ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	kid       = keys.Thumbprint(issuerKey.Public().(ed25519.PublicKey))
)

func issueSample(t testing.TB, mutate func(*Claims)) string {
	t.Helper()
	c := sampleClaims(holderKey.Public().(ed25519.PublicKey))
	if mutate != nil {
		mutate(&c)
	}
	s, err := Issue(issuerKey, kid, c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verified(t *testing.T, jwt string) []byte {
	t.Helper()
	tok, err := jws.Verify(jwt, sdjwt.TypeVC, func(jws.Header) (ed25519.PublicKey, error) { return issuerKey.Public().(ed25519.PublicKey), nil })
	if err != nil {
		t.Fatal(err)
	}
	return tok.Payload
}

func TestIssueRoundTrip(t *testing.T) {
	t.Parallel()
	issued := issueSample(t, func(c *Claims) { c.Residence.Address = "杭州市 <A&B> 路" })
	p, err := sdjwt.Split(issued)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Disclosures) != 2 || p.KeyBinding != "" {
		t.Fatalf("issued %d disclosures, kb %q", len(p.Disclosures), p.KeyBinding)
	}
	raw := verified(t, p.IssuerJWT)
	if strings.Contains(string(raw), `": `) || strings.Contains(string(raw), `, "`) || strings.Contains(string(raw), `\u`) {
		t.Fatalf("payload not compact or escaped: %s", raw)
	}
	h, _ := jws.ParseHeader(p.IssuerJWT)
	if h.Alg != "EdDSA" || h.Typ != "dc+sd-jwt" || h.Kid != kid {
		t.Fatalf("header %+v", h)
	}
	for _, d := range p.Disclosures {
		js, _ := base64.RawURLEncoding.DecodeString(d)
		if strings.Contains(string(js), `\u003c`) {
			t.Fatalf("disclosure HTML-escaped: %s", js)
		}
	}
	pl, err := ParsePayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	none, err := pl.Disclose(nil)
	if err != nil || none.Identity != nil || none.Residence != nil || none.Name != "张三丰" || none.MaskedID != "110105********002X" {
		t.Fatalf("no disclosures: %+v, %v", none, err)
	}
	all, err := pl.Disclose(p.Disclosures)
	if err != nil {
		t.Fatal(err)
	}
	if all.Identity.CitizenID != "11010519491231002X" || all.Residence.Address != "杭州市 <A&B> 路" || strings.Join(all.Disclosed(), ",") != "idn,res" {
		t.Fatalf("disclosed %+v %+v", all.Identity, all.Residence)
	}
	if !keys.SameKey(pl.Holder(), holderKey.Public()) || all.Status.Idx != 812345 || !all.NotBefore.IsZero() {
		t.Fatal("holder or status lost")
	}
}

func TestIssueRefuses(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]func(*Claims){
		"no issuer":     func(c *Claims) { c.Issuer = "" },
		"no status":     func(c *Claims) { c.Status.URI = "" },
		"short holder":  func(c *Claims) { c.Holder = c.Holder.(ed25519.PublicKey)[:5] },
		"no holder":     func(c *Claims) { c.Holder = nil },
		"expires first": func(c *Claims) { c.Expires = c.IssuedAt },
	} {
		c := sampleClaims(holderKey.Public().(ed25519.PublicKey))
		m(&c)
		if _, err := Issue(issuerKey, kid, c, rand.Reader); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
	// A holder key nobody holds: the identity point.
	c := sampleClaims(ed25519.PublicKey(append([]byte{1}, make([]byte, 31)...)))
	if _, err := Issue(issuerKey, kid, c, rand.Reader); !errors.Is(err, ErrHolderKey) || !errors.Is(err, keys.ErrSmallOrderKey) {
		t.Errorf("small-order holder: %v, want ErrHolderKey and keys.ErrSmallOrderKey", err)
	}
}

// TestP256Holder binds a credential to an ECDSA P-256 device key: cnf.jwk
// is an EC key with x and y, read back as the same key.
func TestP256Holder(t *testing.T) {
	t.Parallel()
	dev, err := keys.GenerateDeviceKey(keys.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	issued := issueSample(t, func(c *Claims) { c.Holder = dev.Public() })
	p, _ := sdjwt.Split(issued)
	raw := verified(t, p.IssuerJWT)
	if !strings.Contains(string(raw), `"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"`) || !strings.Contains(string(raw), `","y":"`) {
		t.Fatalf("cnf: %s", raw)
	}
	pl, err := ParsePayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !keys.SameKey(pl.Holder(), dev.Public()) {
		t.Fatal("holder key lost")
	}
	b, err := sdjwt.Bind(p, dev, AnyAudience, "0123456789abcdef", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := jws.ParseHeader(b.KeyBinding); h.Alg != "ES256" {
		t.Fatalf("KB-JWT alg %q", h.Alg)
	}
	if _, err := sdjwt.VerifyKeyBinding(b, pl.Holder()); err != nil {
		t.Fatal(err)
	}
}

// TestNotBefore: nbf is written when set and read back.
func TestNotBefore(t *testing.T) {
	t.Parallel()
	nbf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p, _ := sdjwt.Split(issueSample(t, func(c *Claims) { c.NotBefore = nbf }))
	raw := verified(t, p.IssuerJWT)
	if !strings.Contains(string(raw), `"iat":1795737600,"nbf":1796083200,"exp":`) {
		t.Fatalf("payload %s", raw)
	}
	pl, err := ParsePayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := pl.Disclose(nil)
	if !c.NotBefore.Equal(nbf) {
		t.Errorf("NotBefore = %v, want %v", c.NotBefore, nbf)
	}
}

func TestParsePayloadRefuses(t *testing.T) {
	t.Parallel()
	p, _ := sdjwt.Split(issueSample(t, nil))
	raw := string(verified(t, p.IssuerJWT))
	tests := map[string]struct {
		edit func(string) string
		want error
	}{
		"other vct":      {func(s string) string { return strings.Replace(s, VCT, "urn:x", 1) }, ErrWrongType},
		"no exp":         {func(s string) string { return strings.Replace(s, `"exp":`, `"xxx":`, 1) }, ErrMissingClaim},
		"no name":        {func(s string) string { return strings.Replace(s, `"nm":`, `"zz":`, 1) }, ErrMissingClaim},
		"duplicate":      {func(s string) string { return strings.Replace(s, `"nm":`, `"nm":"a","nm":`, 1) }, jws.ErrStrictJSON},
		"case variant":   {func(s string) string { return strings.Replace(s, `"nm":`, `"NM":"a","nm":`, 1) }, jws.ErrStrictJSON},
		"bad holder key": {func(s string) string { return strings.Replace(s, `"crv":"Ed25519"`, `"crv":"X25519"`, 1) }, ErrHolderKey},
		"small-order holder key": {func(s string) string {
			return strings.Replace(s, `"x":"`+keys.PublicJWK(holderKey.Public().(ed25519.PublicKey)).X, `"x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`, 1)
		}, keys.ErrSmallOrderKey},
		"negative status": {func(s string) string { return strings.Replace(s, `"idx":812345`, `"idx":-1`, 1) }, ErrMissingClaim},
	}
	for name, tt := range tests {
		if _, err := ParsePayload([]byte(tt.edit(raw))); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
}

func TestDisclosureCollision(t *testing.T) {
	t.Parallel()
	// A disclosure named like a visible claim must not override it.
	d, _ := sdjwt.NewDisclosure(rand.Reader, "nm", "李四")
	c := sampleClaims(holderKey.Public().(ed25519.PublicKey))
	c.Identity, c.Residence = nil, nil
	issued, _ := Issue(issuerKey, kid, c, rand.Reader)
	p, _ := sdjwt.Split(issued)
	raw := verified(t, p.IssuerJWT)
	s := strings.Replace(string(raw), `"pn":"33010626K7Q2MX"`, `"pn":"33010626K7Q2MX","_sd":["`+sdjwt.Digest(d.Encoded)+`"]`, 1)
	pl, err := ParsePayload([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Disclose([]string{d.Encoded}); !errors.Is(err, sdjwt.ErrClaimCollision) {
		t.Fatalf("collision accepted: %v", err)
	}
}

func BenchmarkIssue(b *testing.B) {
	c := sampleClaims(holderKey.Public().(ed25519.PublicKey))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Issue(issuerKey, kid, c, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPresent(b *testing.B) {
	p, _ := sdjwt.Split(issueSample(b, nil))
	p.Disclosures = nil
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdjwt.Bind(p, holderKey, AnyAudience, "0123456789abcdef", now); err != nil {
			b.Fatal(err)
		}
	}
}
