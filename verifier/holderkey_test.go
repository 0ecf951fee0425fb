package verifier

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/internal/vectors"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// reissue has the trusted issuer sign the payload of f.issued again, as
// edited by mutate, under header typ, and returns the issued credential
// (all disclosures, no KB-JWT).
func reissue(t *testing.T, f *fixture, typ string, mutate func(m map[string]any)) sdjwt.Presentation {
	t.Helper()
	p, _ := sdjwt.Split(f.issued)
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(p.IssuerJWT, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(m)
	}
	body, _ := jws.Marshal(m)
	tok, err := jws.Sign(issuerKey, jws.Header{Typ: typ, Kid: keys.Thumbprint(pub(issuerKey))}, body)
	if err != nil {
		t.Fatal(err)
	}
	p.IssuerJWT = tok
	return p
}

// withCnf sets cnf.jwk.
func withCnf(jwk map[string]any) func(map[string]any) {
	return func(m map[string]any) { m["cnf"] = map[string]any{"jwk": jwk} }
}

// forgedKB appends a KB-JWT over p (with all its disclosures, enough for
// every purpose) whose signature is R = the identity point, S = 0: for the
// identity as public key A, [S]B = R + [k]A holds whatever the message, so
// no private key is needed.
func forgedKB(p sdjwt.Presentation) (sdjwt.Presentation, string, []byte) {
	p.KeyBinding = ""
	kb, _ := jws.Marshal(sdjwt.KeyBindingClaims{IssuedAt: t0.Unix(), Audience: credential.AnyAudience, Nonce: "forged-nonce", SDHash: p.SDHash()})
	in := b64url([]byte(`{"alg":"EdDSA","typ":"kb+jwt"}`)) + "." + b64url(kb)
	sig := make([]byte, 64)
	sig[0] = 1 // R = (0, 1) encoded; S = 0
	p.KeyBinding = in + "." + b64url(sig)
	return p, in, sig
}

// TestSmallOrderHolderForgery is the attack of issue 10, hole 2: a
// credential bound to the identity point, presented with a KB-JWT that
// nobody signed, for every purpose. The bare signature check accepts the
// forgery; the verifier must not.
func TestSmallOrderHolderForgery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	identity := vectors.SmallOrderEd25519()[0].Encoded
	p := reissue(t, f, sdjwt.TypeVC, withCnf(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url(identity)}))
	forged, in, sig := forgedKB(p)
	if !ed25519.Verify(ed25519.PublicKey(identity), []byte(in), sig) {
		t.Fatal("the forgery does not even pass crypto/ed25519: the test would prove nothing")
	}
	for _, purpose := range []string{trust.PurposeResidenceProof, trust.PurposePublicService, trust.PurposePoliceCheck, trust.PurposeConvenience} {
		r := Verify(forged.String(), Options{Trust: f.trust, Purpose: purpose, Now: t0})
		if r.Valid || !r.Has(CodeHolderKeyWeak) || r.HolderBound {
			t.Errorf("%s: valid %t holder_bound %t reasons %+v", purpose, r.Valid, r.HolderBound, r.Reasons)
		}
	}
	// Each of the eight small-order points as cnf.jwk.
	for _, pt := range vectors.SmallOrderEd25519() {
		b := pt.Encoded
		p := reissue(t, f, sdjwt.TypeVC, withCnf(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url(b)}))
		forged, _, _ := forgedKB(p)
		r := Verify(forged.String(), Options{Trust: f.trust, Now: t0})
		if r.Valid || !r.Has(CodeHolderKeyWeak) {
			t.Errorf("cnf %x: reasons %+v", b, r.Reasons)
		}
		for _, x := range r.Reasons {
			if x.Code == CodeHolderKeyWeak && (x.Message == "" || x.MessageZH == "") {
				t.Errorf("reason without bilingual message: %+v", x)
			}
		}
	}
}

// TestHolderKeyInvalid refuses a cnf.jwk that is not a canonical point.
func TestHolderKeyInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// y = p + 4: a second encoding of a valid y (keys tests check which
	// small y are on the curve); the library would decode it.
	nonCanonical := make([]byte, 32)
	for i := range nonCanonical {
		nonCanonical[i] = 0xff
	}
	nonCanonical[0], nonCanonical[31] = 0xed+4, 0x7f
	p256, _ := keys.GenerateDeviceKey(keys.AlgES256)
	ecj, _ := keys.HolderJWK(p256.Public())
	for name, jwk := range map[string]map[string]any{
		"non-canonical Ed25519": {"kty": "OKP", "crv": "Ed25519", "x": b64url(nonCanonical)},
		"P-256 off the curve":   {"kty": "EC", "crv": "P-256", "x": ecj.X, "y": ecj.X},
		"P-256 at infinity":     {"kty": "EC", "crv": "P-256", "x": b64url(make([]byte, 32)), "y": b64url(make([]byte, 32))},
		"P-256 x not below p":   {"kty": "EC", "crv": "P-256", "x": b64url([]byte(strings.Repeat("\xff", 32))), "y": ecj.Y},
		"P-256 33-byte y":       {"kty": "EC", "crv": "P-256", "x": ecj.X, "y": b64url(append([]byte{0}, make([]byte, 32)...))},
		"X25519":                {"kty": "OKP", "crv": "X25519", "x": ecj.X},
		"P-384":                 {"kty": "EC", "crv": "P-384", "x": ecj.X, "y": ecj.Y},
		"Ed25519 key with y":    {"kty": "OKP", "crv": "Ed25519", "x": b64url(pub(holderKey)), "y": ecj.Y, "d": "x"},
	} {
		p := reissue(t, f, sdjwt.TypeVC, withCnf(jwk))
		text := present(t, p.WithoutKeyBinding(), nil, holderKey, credential.AnyAudience, randNonce(), t0)
		r := Verify(text, Options{Trust: f.trust, Now: t0})
		if r.Valid || !r.Has(CodeHolderKeyInvalid) {
			t.Errorf("%s: reasons %+v", name, r.Reasons)
		}
	}
}

// p256Fixture issues the fixture's credential bound to a P-256 device key.
func p256Fixture(t testing.TB, f *fixture) (string, crypto.Signer) {
	t.Helper()
	dev, err := keys.GenerateDeviceKey(keys.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	c := claims(idxValid, t0.Add(-24*time.Hour), t0.Add(300*24*time.Hour))
	c.Holder = dev.Public()
	issued, err := credential.Issue(issuerKey, keys.Thumbprint(pub(issuerKey)), c, randReader{})
	if err != nil {
		t.Fatal(err)
	}
	return issued, dev
}

// TestP256HolderBinding verifies presentations bound to an ECDSA P-256
// device key: ES256 KB-JWTs in JOSE form, for every purpose that needs
// them, and refuses the ways they can be wrong.
func TestP256HolderBinding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	issued, dev := p256Fixture(t, f)
	for _, tt := range []struct {
		purpose string
		groups  []string
	}{
		{trust.PurposeResidenceProof, nil},
		{trust.PurposePoliceCheck, []string{"idn", "res"}},
	} {
		text := present(t, issued, tt.groups, dev, credential.AnyAudience, randNonce(), t0)
		r := Verify(text, Options{Trust: f.trust, Purpose: tt.purpose, Now: t0, Replay: NewReplayCache()})
		if !r.Valid || !r.HolderBound || !r.Fresh {
			t.Fatalf("%s: %+v", tt.purpose, r)
		}
	}
	good := present(t, issued, nil, dev, credential.AnyAudience, "n-p256", t0)
	gp, _ := sdjwt.Split(good)
	kbParts := strings.Split(gp.KeyBinding, ".")
	rawSig, _ := base64.RawURLEncoding.DecodeString(kbParts[2])
	withKB := func(kb string) string { q := gp; q.KeyBinding = kb; return q.String() }
	// The same signature as ASN.1 DER, as a careless wallet would send it.
	der := append([]byte{0x30, 0x44, 0x02, 0x20}, rawSig[:32]...)
	der = append(append(der, 0x02, 0x20), rawSig[32:]...)
	other, _ := keys.GenerateDeviceKey(keys.AlgES256)
	byOther := present(t, issued, nil, other, credential.AnyAudience, "n-other", t0)
	byEd := present(t, issued, nil, holderKey, credential.AnyAudience, "n-ed", t0)
	edHeader := b64url([]byte(`{"alg":"EdDSA","typ":"kb+jwt"}`)) + "." + kbParts[1] + "." + kbParts[2]
	for name, text := range map[string]string{
		"DER signature":           withKB(kbParts[0] + "." + kbParts[1] + "." + b64url(der)),
		"signed by another P-256": byOther,
		"signed with Ed25519":     byEd,
		"EdDSA header":            withKB(edHeader),
		"tampered KB payload":     withKB(kbParts[0] + "." + b64url([]byte(`{"iat":1}`)) + "." + kbParts[2]),
	} {
		r := Verify(text, Options{Trust: f.trust, Now: t0})
		if r.Valid || !r.Has(CodeHolderBindingKey) || r.HolderBound {
			t.Errorf("%s: %+v", name, r.Reasons)
		}
	}
}

type randReader struct{}

func (randReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(i * 7)
	}
	return len(b), nil
}

// TestNotBefore: nbf is honoured, with the skew allowed for iat, in the
// credential, the KB-JWT, the status list and the trust list.
func TestNotBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	kid := keys.Thumbprint(pub(issuerKey))
	credNbf := func(nbf time.Time) string {
		c := claims(idxValid, t0.Add(-time.Hour), t0.Add(300*24*time.Hour))
		c.NotBefore = nbf
		issued, err := credential.Issue(issuerKey, kid, c, randReader{})
		if err != nil {
			t.Fatal(err)
		}
		return present(t, issued, nil, holderKey, credential.AnyAudience, randNonce(), t0)
	}
	kbWith := func(extra string) string {
		p, _ := sdjwt.Split(f.issued)
		p.Disclosures = nil
		body := `{"iat":` + itoa(t0.Unix()) + `,"aud":"` + credential.AnyAudience + `","nonce":"` + randNonce() + `","sd_hash":"` + p.SDHash() + `"` + extra + `}`
		kb, err := jws.Sign(holderKey, jws.Header{Typ: sdjwt.TypeKeyBinding}, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		p.KeyBinding = kb
		return p.String()
	}
	statusNbf := func(nbf time.Time) *Trust {
		tr, _ := LoadTrustList(f.trustJWT, keys.Thumbprint(pub(rootKey)), t0)
		sl, _ := statuslist.New(2, 1024)
		st, _ := statuslist.SignToken(issuerKey, kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0.Add(-time.Hour), NotBefore: nbf, List: sl})
		if err := tr.AddStatusList(st, t0); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	trustNbf := func(nbf time.Time) *Trust {
		l := trust.List{
			Version: 4, IssuedAt: t0.Add(-time.Hour), NotBefore: nbf, ExpiresAt: t0.Add(7 * 24 * time.Hour),
			Issuers: []trust.Issuer{{ID: testIss, JWKS: keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}}, StatusLists: []string{testStatus}}},
			Policy:  trust.DefaultPolicy(),
		}
		tl, err := trust.Sign(rootKey, l)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := LoadTrustList(tl, keys.Thumbprint(pub(rootKey)), t0)
		if err != nil {
			t.Fatal(err)
		}
		sl, _ := statuslist.New(2, 1024)
		st, _ := statuslist.SignToken(issuerKey, kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0.Add(-time.Hour), List: sl})
		if err := tr.AddStatusList(st, t0); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	skew := trust.DefaultPolicy().ClockSkew.Duration()
	for _, tt := range []struct {
		name string
		text string
		tr   *Trust
		want Code // "" means valid
	}{
		{"credential nbf ahead", credNbf(t0.Add(time.Hour)), f.trust, CodeNotYetValid},
		{"credential nbf just beyond skew", credNbf(t0.Add(skew + time.Second)), f.trust, CodeNotYetValid},
		{"credential nbf within skew", credNbf(t0.Add(skew)), f.trust, ""},
		{"credential nbf past", credNbf(t0.Add(-time.Minute)), f.trust, ""},
		{"KB-JWT nbf ahead", kbWith(`,"nbf":` + itoa(t0.Add(time.Minute).Unix())), f.trust, CodeFuture},
		{"KB-JWT nbf within skew", kbWith(`,"nbf":` + itoa(t0.Add(skew).Unix())), f.trust, ""},
		{"KB-JWT exp past", kbWith(`,"exp":` + itoa(t0.Add(-skew).Unix())), f.trust, CodeStale},
		{"KB-JWT exp ahead", kbWith(`,"exp":` + itoa(t0.Add(time.Minute).Unix())), f.trust, ""},
		{"status list nbf ahead", f.live(t), statusNbf(t0.Add(time.Hour)), CodeStatusNotYetValid},
		{"status list nbf within skew", f.live(t), statusNbf(t0.Add(skew)), ""},
		{"trust list nbf ahead", f.live(t), trustNbf(t0.Add(time.Hour)), CodeTrustNotYetValid},
		{"trust list nbf within skew", f.live(t), trustNbf(t0.Add(skew)), ""},
	} {
		r := Verify(tt.text, Options{Trust: tt.tr, Now: t0})
		if tt.want == "" {
			if !r.Valid {
				t.Errorf("%s: refused %+v", tt.name, r.Reasons)
			}
			continue
		}
		if r.Valid || !r.Has(tt.want) {
			t.Errorf("%s: reasons %+v, want %s", tt.name, r.Reasons, tt.want)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestLegacyVCType: the typ of SD-JWT VC drafts before -06, vc+sd-jwt,
// is accepted (draft 18 asked verifiers to, during the transition); other
// types are not.
func TestLegacyVCType(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for typ, ok := range map[string]bool{"vc+sd-jwt": true, "VC+SD-JWT": true, "dc+sd-jwt": true, "sd-jwt": false, "vc+jwt": false, "JWT": false} {
		p := reissue(t, f, typ, nil)
		text := present(t, p.WithoutKeyBinding(), nil, holderKey, credential.AnyAudience, randNonce(), t0)
		r := Verify(text, Options{Trust: f.trust, Now: t0})
		if r.Valid != ok || (!ok && !r.Has(CodeType)) {
			t.Errorf("typ %q: valid %t, reasons %+v", typ, r.Valid, r.Reasons)
		}
	}
	// vc+sd-jwt with another vct (a W3C-style VC) is still not a permit.
	p := reissue(t, f, "vc+sd-jwt", func(m map[string]any) { m["vct"] = "https://www.w3.org/2018/credentials/v1" })
	if r := Verify(present(t, p.WithoutKeyBinding(), nil, holderKey, credential.AnyAudience, randNonce(), t0), Options{Trust: f.trust, Now: t0}); !r.Has(CodeNotPermit) {
		t.Errorf("foreign vct under vc+sd-jwt: %+v", r.Reasons)
	}
}

// TestJWKSWithKidNames loads an issuer JWKS whose keys carry ordinary kid
// names and still finds the signing key by its thumbprint.
func TestJWKSWithKidNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	j := keys.PublicJWK(pub(issuerKey))
	o := keys.PublicJWK(pub(otherKey))
	data := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + o.X + `","kid":"hz-2025"},{"kty":"OKP","crv":"Ed25519","x":"` + j.X + `","kid":"hz-2026","use":"sig","alg":"EdDSA"}]}`
	tr, err := LoadJWKS([]byte(data), t0)
	if err != nil {
		t.Fatal(err)
	}
	sl, _ := statuslist.New(2, 1024)
	st, _ := statuslist.SignToken(issuerKey, j.Kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0, List: sl})
	if err := tr.AddStatusList(st, t0); err != nil {
		t.Fatal(err)
	}
	if r := Verify(f.live(t), Options{Trust: tr, Now: t0}); !r.Valid {
		t.Fatalf("%+v", r.Reasons)
	}
	// A kid name is not a way to find a key.
	p := reissue(t, f, sdjwt.TypeVC, nil)
	named := strings.Replace(p.IssuerJWT, strings.Split(p.IssuerJWT, ".")[0], b64url([]byte(`{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"hz-2026"}`)), 1)
	if r := Verify(named+"~", Options{Trust: tr, Now: t0}); !r.Has(CodeUnknownKey) {
		t.Errorf("header kid a name: %+v", r.Reasons)
	}
	// A JWKS holding a small-order key is refused whole.
	weak := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + j.X + `"},{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`
	if _, err := LoadJWKS([]byte(weak), t0); err == nil {
		t.Error("a JWKS with the identity point as a key was loaded")
	}
}
