package browser

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/trust"
)

func TestNewDeviceKey(t *testing.T) {
	t.Parallel()
	sign := func(m []byte) ([]byte, error) { return ed25519.Sign(holderKey, m), nil }
	for _, tc := range []struct {
		name string
		pub  []byte
		sign SignFunc
		ok   bool
	}{
		{"ok", pub(holderKey), sign, true},
		{"31 bytes", pub(holderKey)[:31], sign, false},
		{"33 bytes", append(append([]byte{}, pub(holderKey)...), 0), sign, false},
		{"private key", holderKey, sign, false},
		{"small-order point", append([]byte{1}, make([]byte, 31)...), sign, false},
		{"P-256 compressed", append([]byte{2}, make([]byte, 32)...), sign, false},
		{"65 bytes off the curve", append([]byte{4}, make([]byte, 64)...), sign, false},
		{"empty", nil, sign, false},
		{"no function", pub(holderKey), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := NewDeviceKey(tc.pub, tc.sign)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if !tc.ok {
				return
			}
			if !k.Public().(ed25519.PublicKey).Equal(pub(holderKey)) {
				t.Error("public key")
			}
			if _, err := k.Sign(nil, []byte("m"), crypto.SHA512); err == nil {
				t.Error("pre-hashed signing accepted")
			}
		})
	}
}

func TestProof(t *testing.T) {
	t.Parallel()
	failing, _ := NewDeviceKey(pub(holderKey), func([]byte) ([]byte, error) { return nil, errors.New("NotAllowedError") })
	short, _ := NewDeviceKey(pub(holderKey), func([]byte) ([]byte, error) { return make([]byte, 10), nil })
	for _, tc := range []struct {
		name     string
		key      crypto.Signer
		aud      string
		nonce    string
		wantCode Code
	}{
		{"ok", deviceKey(t, holderKey, pub(holderKey)), testIss, "c-nonce-1", ""},
		{"no nonce", deviceKey(t, holderKey, pub(holderKey)), testIss, "", ""},
		{"wrong private key", deviceKey(t, otherKey, pub(holderKey)), testIss, "n", CodeKeyMismatch},
		{"short signature", short, testIss, "n", CodeKeyMismatch},
		{"WebCrypto error", failing, testIss, "n", CodeSignFailed},
		{"no audience", deviceKey(t, holderKey, pub(holderKey)), "", "n", CodeBadInput},
		{"no key", nil, testIss, "n", CodeBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Proof(tc.key, tc.aud, tc.nonce, ms(t0))
			if r.Code != tc.wantCode || r.OK != (tc.wantCode == "") {
				t.Fatalf("ok %v code %q (%s), want %q", r.OK, r.Code, r.Error, tc.wantCode)
			}
			if !r.OK {
				return
			}
			got, err := oid4vci.VerifyProof(r.JWT, tc.aud, tc.nonce, t0.Add(time.Second), time.Minute)
			if err != nil || !keys.SameKey(got, pub(holderKey)) {
				t.Fatalf("VerifyProof: %v", err)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	cred := issue(t, pub(holderKey), idxValid)
	jwks := func(k ed25519.PrivateKey) string {
		b, err := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(k))}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := jwks(issuerKey)
	cn := time.FixedZone("CST", 8*3600)
	due := time.Date(2027, 11, 27, 0, 0, 0, 0, cn)
	opens := time.Date(2027, 10, 27, 0, 0, 0, 0, cn)

	for _, tc := range []struct {
		name       string
		cred, jwks string
		pub        []byte
		now        time.Time
		wantCode   Code
		wantWindow bool
		wantDays   int
		wantLate   bool
	}{
		{"ok", cred, good, pub(holderKey), t0, "", false, 334, false},
		{"with white space", "\n" + cred + " ", good, pub(holderKey), t0, "", false, 334, false},
		{"window's first day", cred, good, pub(holderKey), opens, "", true, 0, false},
		{"last day", cred, good, pub(holderKey), due.Add(-time.Millisecond), "", true, -30, false},
		{"overdue", cred, good, pub(holderKey), due, "", false, -31, true},
		{"other device", cred, good, pub(otherKey), t0, CodeNotMyKey, false, 0, false},
		{"other issuer", cred, jwks(otherKey), pub(holderKey), t0, CodeIssuerSignature, false, 0, false},
		{"garbage", "garbage", good, pub(holderKey), t0, CodeInvalidCredential, false, 0, false},
		{"empty", "", good, pub(holderKey), t0, CodeInvalidCredential, false, 0, false},
		{"bad JWKS", cred, `{"keys":[{"kty":"EC"}]}`, pub(holderKey), t0, CodeBadInput, false, 0, false},
		{"JWKS not JSON", cred, "keys", pub(holderKey), t0, CodeBadInput, false, 0, false},
		{"small-order device key", cred, good, append([]byte{1}, make([]byte, 31)...), t0, CodeBadInput, false, 0, false},
		{"short key", cred, good, pub(holderKey)[:16], t0, CodeBadInput, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Inspect(tc.cred, tc.jwks, tc.pub, ms(tc.now))
			if r.Code != tc.wantCode || r.OK != (tc.wantCode == "") {
				t.Fatalf("ok %v code %q (%s), want %q", r.OK, r.Code, r.Error, tc.wantCode)
			}
			if !r.OK {
				if r.Entry != nil {
					t.Error("entry on failure")
				}
				return
			}
			e := r.Entry
			if e.PermitNo != testPermit || e.Name != "李明" || e.MaskedID != "110105********0517" || e.Region != "330106" ||
				e.Issuer != testIss || e.IssuedAt != ms(t0) || e.Expires != ms(due) || e.WindowOpens != ms(opens) {
				t.Errorf("entry %+v", e)
			}
			if e.InWindow != tc.wantWindow || e.DaysUntilWindow != tc.wantDays || e.Overdue != tc.wantLate {
				t.Errorf("in window %v, %d days, overdue %v", e.InWindow, e.DaysUntilWindow, e.Overdue)
			}
		})
	}

	b, _ := json.Marshal(Inspect(cred, good, pub(holderKey), ms(t0)))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	checkKeys(t, "inspect", m, "ok", "entry")
	checkKeys(t, "entry", m["entry"].(map[string]any), "permit_no", "name", "masked_id", "region", "issuer", "issued_at",
		"expires", "window_opens", "days_until_window", "in_window", "overdue")
}

func TestPresent(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	holder := deviceKey(t, holderKey, pub(holderKey))
	cred := issue(t, pub(holderKey), idxValid)
	noRes := func() string { // the credential without its residence disclosure
		p, _ := sdjwt.Split(cred)
		p.Disclosures = p.Disclosures[:0]
		return p.WithoutKeyBinding()
	}()
	now := t0.Add(time.Minute)

	for _, tc := range []struct {
		name, cred, purpose, aud, nonce string
		key                             crypto.Signer
		wantCode                        Code
		wantGroups                      int
	}{
		{"residence proof", cred, "", "", "", holder, "", 0},
		{"public service", cred, trust.PurposePublicService, "", "", holder, "", 1},
		{"challenge", cred, trust.PurposePoliceCheck, "https://counter.example", "n-123", holder, "", 1},
		{"identity card", cred, trust.PurposeIdentityCard, "", "", holder, CodePurposeRefused, 0},
		{"unknown purpose", cred, "shopping", "", "", holder, CodeUnknownPurpose, 0},
		{"missing group", noRes, trust.PurposePublicService, "", "", holder, CodeMissingGroup, 0},
		{"nonce without audience", cred, "", "", "n-123", holder, CodeBadInput, 0},
		{"garbage", "garbage", "", "", "", holder, CodeInvalidCredential, 0},
		{"wrong private key", cred, "", "", "", deviceKey(t, otherKey, pub(holderKey)), CodeKeyMismatch, 0},
		{"no key", cred, "", "", "", nil, CodeBadInput, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.Present(tc.key, tc.cred, tc.purpose, tc.aud, tc.nonce, ms(now))
			if r.Code != tc.wantCode || r.OK != (tc.wantCode == "") {
				t.Fatalf("ok %v code %q (%s), want %q", r.OK, r.Code, r.Error, tc.wantCode)
			}
			if !r.OK {
				if tc.wantCode == CodePurposeRefused && !strings.Contains(r.Error, "身份证") {
					t.Errorf("refusal without the policy's reason: %s", r.Error)
				}
				return
			}
			p, err := sdjwt.Split(r.Text)
			if err != nil || len(p.Disclosures) != tc.wantGroups || p.KeyBinding == "" {
				t.Fatalf("presentation %v: %d disclosures", err, len(p.Disclosures))
			}
			if tc.nonce != "" {
				return // challenged: Verify takes no challenge
			}
			v := s.Verify(r.Text, tc.purpose, ms(now.Add(2*time.Second)))
			if !v.Valid || !v.HolderBound || !v.Fresh || v.Status != "valid" {
				t.Fatalf("verify: %+v", v)
			}
		})
	}
}

// TestPresentRevoked is the whole path for a revoked permit: issued,
// inspected, presented with a device key, refused by the verifier.
func TestPresentRevoked(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	cred := issue(t, pub(holderKey), idxRevoked)
	b, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}})
	if r := Inspect(cred, string(b), pub(holderKey), ms(t0)); !r.OK {
		t.Fatal(r.Outcome)
	}
	shown := s.Present(deviceKey(t, holderKey, pub(holderKey)), cred, "", "", "", ms(t0))
	if !shown.OK {
		t.Fatal(shown.Outcome)
	}
	v := s.Verify(shown.Text, "", ms(t0.Add(time.Second)))
	if v.Valid || v.Status != "revoked" || !hasCode(v.Reasons, "revoked") || !v.HolderBound {
		t.Fatalf("%+v", v)
	}
	// A stale screenshot of it is refused for being stale too.
	v = s.Verify(shown.Text, "", ms(t0.Add(5*time.Minute)))
	if !hasCode(v.Reasons, "presentation_stale") {
		t.Fatalf("%+v", v.Reasons)
	}
}

func TestPresentUsesLoadedPolicy(t *testing.T) {
	t.Parallel()
	p := trust.DefaultPolicy()
	p.Purposes[0].Required = []string{"idn"} // residence-proof now needs the identity group
	s := NewSession()
	if info := s.LoadTrust(trustList(t, rootKey, 7, t0, p), pin, ms(t0)); !info.OK {
		t.Fatal(info.Outcome)
	}
	r := s.Present(deviceKey(t, holderKey, pub(holderKey)), issue(t, pub(holderKey), idxValid), "", "", "", ms(t0))
	ps, err := sdjwt.Split(r.Text)
	if !r.OK || err != nil || len(ps.Disclosures) != 1 {
		t.Fatalf("%+v %v", r.Outcome, err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if v := Version(); v == "" {
		t.Fatal("empty version")
	}
}

func BenchmarkVerify(b *testing.B) {
	s := loaded(b)
	shown := s.Present(deviceKey(b, holderKey, pub(holderKey)), issue(b, pub(holderKey), idxValid), trust.PurposePoliceCheck, "", "", ms(t0))
	now := ms(t0.Add(time.Second))
	for b.Loop() {
		if r := s.Verify(shown.Text, trust.PurposePoliceCheck, now); !r.Valid {
			b.Fatal(r.Reasons)
		}
	}
}

// TestP256DeviceKey is the web wallet on a browser without Ed25519: a
// non-extractable WebCrypto P-256 key that signs messages (hashing them
// itself) and returns r||s. Proofs are ES256, credentials bind the EC key,
// presentations verify.
func TestP256DeviceKey(t *testing.T) {
	t.Parallel()
	k, raw, key := webP256(t)
	if len(raw) != 65 || key.Alg() != "ES256" || !keys.SameKey(key.Public(), &k.PublicKey) {
		t.Fatalf("raw %d bytes, alg %s", len(raw), key.Alg())
	}
	if _, err := key.Sign(nil, []byte("digest"), crypto.SHA256); err == nil {
		t.Error("a P-256 WebCrypto key signed a digest")
	}
	r := Proof(key, testIss, "n", ms(t0))
	if !r.OK {
		t.Fatal(r.Outcome)
	}
	got, err := oid4vci.VerifyProof(r.JWT, testIss, "n", t0.Add(time.Second), time.Minute)
	if err != nil || !keys.SameKey(got, &k.PublicKey) {
		t.Fatalf("VerifyProof: %v", err)
	}

	s := loaded(t)
	cred := issue(t, &k.PublicKey, idxValid)
	ik := s.IssuerKeys(testIss, ms(t0))
	if !ik.OK || ik.NameEN != "Hangzhou Public Security Bureau" {
		t.Fatal(ik.Outcome)
	}
	if in := Inspect(cred, ik.JWKS, raw, ms(t0)); !in.OK {
		t.Fatal(in.Outcome)
	}
	if in := Inspect(cred, ik.JWKS, pub(holderKey), ms(t0)); in.Code != CodeNotMyKey {
		t.Fatalf("Inspect with the Ed25519 key: %+v", in.Outcome)
	}
	for _, purpose := range []string{"", trust.PurposePoliceCheck} {
		shown := s.Present(key, cred, purpose, "", "", ms(t0))
		if !shown.OK {
			t.Fatal(shown.Outcome)
		}
		v := s.Verify(shown.Text, purpose, ms(t0.Add(time.Second)))
		if !v.Valid || !v.HolderBound || !v.Fresh {
			t.Fatalf("%s: %+v", purpose, v)
		}
	}
	// A WebCrypto key that is not the one the page named.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrong, _ := NewDeviceKey(raw, p1363(other))
	if r := Proof(wrong, testIss, "n", ms(t0)); r.Code != CodeKeyMismatch {
		t.Fatalf("wrong key: %+v", r.Outcome)
	}
}

// TestIssuerKeys: the web wallet takes keys, and offers, only from issuers
// the loaded trust list names.
func TestIssuerKeys(t *testing.T) {
	t.Parallel()
	if r := NewSession().IssuerKeys(testIss, ms(t0)); r.Code != CodeNoTrust {
		t.Errorf("no trust: %+v", r.Outcome)
	}
	s := loaded(t)
	r := s.IssuerKeys(testIss, ms(t0))
	if !r.OK {
		t.Fatal(r.Outcome)
	}
	set, err := keys.ParseJWKS([]byte(r.JWKS))
	if err != nil || len(set.Keys) != 1 || set.Keys[0].X != keys.PublicJWK(pub(issuerKey)).X {
		t.Fatalf("JWKS %s: %v", r.JWKS, err)
	}
	for name, tc := range map[string]struct {
		iss string
		now time.Time
	}{
		"phishing issuer":       {"https://ep-zjga.example.net/hz", t0},
		"issuer with a path":    {testIss + "/", t0},
		"trust list past grace": {testIss, t0.Add(15 * 24 * time.Hour)},
	} {
		if r := s.IssuerKeys(tc.iss, ms(tc.now)); r.Code != CodeUntrustedIssuer || r.JWKS != "" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	checkKeys(t, "issuerKeys", m, "ok", "jwks", "nameZH", "nameEN")
}
