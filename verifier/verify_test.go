package verifier

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestVerifyValid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tt := range []struct {
		purpose string
		groups  []string
	}{
		{"", nil},
		{trust.PurposeResidenceProof, nil},
		{trust.PurposePublicService, []string{"res"}},
		{trust.PurposeConvenience, []string{"idn"}},
		{trust.PurposePoliceCheck, []string{"idn", "res"}},
	} {
		r := Verify(f.live(t, tt.groups...), Options{Trust: f.trust, Purpose: tt.purpose, Now: t0, Replay: NewReplayCache()})
		if !r.Valid || len(r.Warnings) != 0 {
			t.Fatalf("purpose %q: %+v", tt.purpose, r)
		}
		if !r.HolderBound || !r.Fresh || r.Status != "valid" || r.Issuer.NameEN != "Hangzhou Public Security Bureau" {
			t.Fatalf("purpose %q: %+v", tt.purpose, r)
		}
		if r.Claims.Name != "张三" || (slices.Contains(tt.groups, "idn") != (r.Claims.Identity != nil)) {
			t.Fatalf("claims %+v", r.Claims)
		}
	}
}

// tamper replaces part i (0 header, 1 payload) of the issuer JWT.
func tamper(t *testing.T, pres string, i int, edit func(string) string) string {
	t.Helper()
	jwt, rest, _ := strings.Cut(pres, "~")
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	parts[i] = b64url([]byte(edit(string(raw))))
	return strings.Join(parts, ".") + "~" + rest
}

func resign(t *testing.T, pres string, header string, key any) string {
	t.Helper()
	jwt, rest, _ := strings.Cut(pres, "~")
	parts := strings.Split(jwt, ".")
	in := b64url([]byte(header)) + "." + parts[1]
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(in))
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	}
	return in + "." + b64url(sig) + "~" + rest
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	kid := keys.Thumbprint(pub(issuerKey))
	live := f.live(t, "idn")
	p, _ := sdjwt.Split(f.issued)
	withDisclosures := func(ds ...string) string {
		q, _ := sdjwt.Split(f.issued)
		q.Disclosures = ds
		b, err := sdjwt.Bind(q, holderKey, credential.AnyAudience, "n-"+randNonce(), t0)
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	foreign, _ := sdjwt.NewDisclosure(strings.NewReader(strings.Repeat("x", 16)), "idn", map[string]any{"id": "440524188001010014", "eth": "01"})
	kbOther := present(t, f.issued, []string{"idn"}, otherKey, credential.AnyAudience, "n1", t0)
	// A KB-JWT whose sd_hash covers another presentation.
	kbMoved := func() string {
		a := present(t, f.issued, []string{"idn", "res"}, holderKey, credential.AnyAudience, "n2", t0)
		ap, _ := sdjwt.Split(a)
		b, _ := sdjwt.Split(f.issued)
		b.Disclosures = b.Disclosures[:0]
		for _, d := range ap.Disclosures {
			if credential.GroupOf(d) == "idn" {
				b.Disclosures = append(b.Disclosures, d)
			}
		}
		b.KeyBinding = ap.KeyBinding
		return b.String()
	}()
	// The issuer signs a token the wrong way: typ, crit, foreign vct.
	signed := func(h jws.Header, mutate func(map[string]any)) string {
		pl, _ := sdjwt.Split(f.issued)
		parts := strings.Split(pl.IssuerJWT, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		if mutate != nil {
			mutate(m)
		}
		body, _ := jws.Marshal(m)
		tok, err := jws.Sign(issuerKey, h, body)
		if err != nil {
			t.Fatal(err)
		}
		pl.IssuerJWT = tok
		pl.Disclosures = nil
		b, _ := sdjwt.Bind(pl, holderKey, credential.AnyAudience, randNonce(), t0)
		return b.String()
	}
	replayed := f.live(t)
	replayCache := NewReplayCache()
	Verify(replayed, Options{Trust: f.trust, Now: t0, Replay: replayCache})

	emptyTrust := NewTrust(f.trust.store, t0)
	staleStatus := func() *Trust {
		tr, _ := LoadTrustList(f.trustJWT, keys.Thumbprint(pub(rootKey)), t0)
		sl, _ := statuslist.New(2, 1024)
		st, _ := statuslist.SignToken(issuerKey, kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0.Add(-72 * time.Hour), ExpiresAt: t0.Add(-48 * time.Hour), List: sl})
		if err := tr.AddStatusList(st, t0.Add(-72*time.Hour)); err != nil {
			t.Fatal(err)
		}
		return tr
	}()
	smallStatus := func() *Trust {
		tr, _ := LoadTrustList(f.trustJWT, keys.Thumbprint(pub(rootKey)), t0)
		sl, _ := statuslist.New(2, 4)
		st, _ := statuslist.SignToken(issuerKey, kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0, List: sl})
		if err := tr.AddStatusList(st, t0); err != nil {
			t.Fatal(err)
		}
		return tr
	}()
	unknownIssuer := resign(t, tamper(t, live, 1, func(s string) string {
		return strings.Replace(s, testIss+`"`, `https://evil.example"`, 1)
	}), `{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"`+kid+`"}`, issuerKey)

	tests := []struct {
		name  string
		text  string
		opts  func(*Options)
		codes []Code
	}{
		{"garbage", "hello world", nil, []Code{CodeMalformed}},
		{"empty", "", nil, []Code{CodeMalformed}},
		{"binary", "\x00\xff~\x01", nil, []Code{CodeMalformed}},
		{"oversized", strings.Repeat("A", MaxInput+1), nil, []Code{CodeTooLarge}},
		{"alg none", resign(t, live, `{"alg":"none","typ":"dc+sd-jwt","kid":"`+kid+`"}`, ed25519.PrivateKey(otherKey)), nil, []Code{CodeAlgorithm}},
		{"HS256 with public key", resign(t, live, `{"alg":"HS256","typ":"dc+sd-jwt","kid":"`+kid+`"}`, []byte(pub(issuerKey))), nil, []Code{CodeAlgorithm}},
		{"wrong typ", signed(jws.Header{Typ: "JWT", Kid: kid}, nil), nil, []Code{CodeType}},
		{"crit", signed(jws.Header{Typ: "dc+sd-jwt", Kid: kid, Crit: []string{"x"}}, nil), nil, []Code{CodeCritical}},
		{"unknown kid", resign(t, live, `{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"nope"}`, otherKey), nil, []Code{CodeUnknownKey}},
		{"signed by another key", resign(t, live, `{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"`+kid+`"}`, otherKey), nil, []Code{CodeSignature}},
		{"unknown issuer", unknownIssuer, nil, []Code{CodeUnknownIssuer}},
		{"tampered payload", tamper(t, live, 1, func(s string) string { return strings.Replace(s, "张三", "李四", 1) }), nil, []Code{CodeSignature}},
		{"tampered disclosure", withDisclosures(foreign.Encoded), nil, []Code{CodeDisclosureUnknown}},
		{"duplicate disclosure", withDisclosures(p.Disclosures[0], p.Disclosures[0]), nil, []Code{CodeDisclosureTwice}},
		{"malformed disclosure", withDisclosures("!!!"), nil, []Code{CodeDisclosure}},
		{"foreign vct", signed(jws.Header{Typ: "dc+sd-jwt", Kid: kid}, func(m map[string]any) { m["vct"] = "urn:other" }), nil, []Code{CodeNotPermit}},
		{"duplicate claim", tamper(t, live, 1, func(s string) string { return strings.Replace(s, `"nm":`, `"nm":"x","nm":`, 1) }), nil, []Code{CodeSignature}},
		{"no KB for police check", present(t, f.issued, []string{"idn"}, nil, "", "", t0), func(o *Options) { o.Purpose = trust.PurposePoliceCheck }, []Code{CodeHolderBindingMiss}},
		{"KB by another key", kbOther, nil, []Code{CodeHolderBindingKey}},
		{"KB over other disclosures", kbMoved, nil, []Code{CodeSDHash}},
		{"wrong aud", present(t, f.issued, nil, holderKey, "https://other.example", "n3", t0), nil, []Code{CodeAudience}},
		{"challenge: wrong nonce", present(t, f.issued, nil, holderKey, "https://counter.example", "n4", t0), func(o *Options) { o.Audience, o.Nonce = "https://counter.example", "expected" }, []Code{CodeNonce}},
		{"challenge: generic aud", present(t, f.issued, nil, holderKey, credential.AnyAudience, "c1", t0), func(o *Options) { o.Audience, o.Nonce = "https://counter.example", "c1" }, []Code{CodeAudience}},
		{"stale KB", present(t, f.issued, nil, holderKey, credential.AnyAudience, "n5", t0.Add(-71*time.Second)), nil, []Code{CodeStale}},
		{"KB from the future", present(t, f.issued, nil, holderKey, credential.AnyAudience, "n6", t0.Add(11*time.Second)), nil, []Code{CodeFuture}},
		{"replayed", replayed, func(o *Options) { o.Replay = replayCache }, []Code{CodeReplay}},
		{"not yet valid", present(t, issue(t, idxValid, t0.Add(time.Hour), t0.Add(400*24*time.Hour)), nil, holderKey, credential.AnyAudience, "n7", t0), nil, []Code{CodeNotYetValid}},
		{"endorsement overdue", present(t, issue(t, idxValid, t0.Add(-400*24*time.Hour), t0.Add(-time.Hour)), nil, holderKey, credential.AnyAudience, "n8", t0), nil, []Code{CodeEndorsementOverdue}},
		{"revoked", present(t, issue(t, idxRevoked, t0.Add(-time.Hour), t0.Add(time.Hour)), nil, holderKey, credential.AnyAudience, "n9", t0), nil, []Code{CodeRevoked}},
		{"suspended", present(t, issue(t, idxSuspended, t0.Add(-time.Hour), t0.Add(time.Hour)), nil, holderKey, credential.AnyAudience, "n10", t0), nil, []Code{CodeSuspended}},
		{"status index out of range", f.live(t), func(o *Options) { o.Trust = smallStatus }, []Code{CodeStatusIndex}},
		{"status list missing", f.live(t), func(o *Options) { o.Trust = emptyTrust }, []Code{CodeStatusMissing}},
		{"status list stale", f.live(t), func(o *Options) { o.Trust = staleStatus }, []Code{CodeStatusStale}},
		{"identity card refused", f.live(t, "idn"), func(o *Options) { o.Purpose = trust.PurposeIdentityCard }, []Code{CodePurposeRefused}},
		{"credit loan refused", f.live(t, "idn"), func(o *Options) { o.Purpose = trust.PurposeCreditLoan }, []Code{CodePurposeRefused}},
		{"unknown purpose", f.live(t), func(o *Options) { o.Purpose = "shopping" }, []Code{CodePurposeUnknown}},
		{"required claims not disclosed", f.live(t, "res"), func(o *Options) { o.Purpose = trust.PurposeConvenience }, []Code{CodeNotDisclosed}},
		{"trust list expired past grace", f.live(t), func(o *Options) { o.Now = t0.Add(15 * 24 * time.Hour) }, []Code{CodeTrustExpired, CodeStale, CodeStatusStale}},
		{"no trust", f.live(t), func(o *Options) { o.Trust = nil }, []Code{CodeTrustMissing}},
		{"every reason at once", present(t, issue(t, idxRevoked, t0.Add(-400*24*time.Hour), t0.Add(-time.Hour)), nil, holderKey, credential.AnyAudience, "n11", t0.Add(-5*time.Minute)),
			func(o *Options) { o.Purpose = trust.PurposeCreditLoan }, []Code{CodePurposeRefused, CodeStale, CodeEndorsementOverdue, CodeRevoked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Trust: f.trust, Now: t0}
			if tt.opts != nil {
				tt.opts(&o)
			}
			r := Verify(tt.text, o)
			if r.Valid {
				t.Fatalf("accepted: %+v", r)
			}
			var got []Code
			for _, x := range r.Reasons {
				got = append(got, x.Code)
				if x.Message == "" || x.MessageZH == "" {
					t.Errorf("reason %s without bilingual message", x.Code)
				}
			}
			for _, c := range tt.codes {
				if !slices.Contains(got, c) {
					t.Fatalf("reasons %v, want %v", got, tt.codes)
				}
			}
			if len(got) != len(tt.codes) {
				t.Fatalf("reasons %v, want exactly %v", got, tt.codes)
			}
		})
	}
}

func TestVerifyWarnings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		text string
		now  time.Time
		want Code
	}{
		{"not holder-bound for residence proof", present(t, f.issued, nil, nil, "", "", t0), t0, CodeNotHolderBound},
		{"trust data a day old", f.live(t), t0.Add(25 * time.Hour), CodeTrustOld},
		{"trust list in grace", f.live(t), t0.Add(8 * 24 * time.Hour), CodeTrustGrace},
		{"clock behind trust list", f.live(t), t0.Add(-2 * time.Hour), CodeClockBehind},
	}
	for _, tt := range tests {
		r := Verify(tt.text, Options{Trust: f.trust, Now: tt.now, Freshness: 400 * 24 * time.Hour})
		if !r.Has(tt.want) {
			t.Errorf("%s: warnings %+v, reasons %+v", tt.name, r.Warnings, r.Reasons)
		}
	}
}

func TestVerifyJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := Verify(f.live(t, "idn"), Options{Trust: f.trust, Purpose: trust.PurposePoliceCheck, Now: t0})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"valid", "reasons", "warnings", "claims", "status", "holder_bound", "issuer"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if m["claims"].(map[string]any)["citizen_id"] != "11010519491231002X" {
		t.Errorf("claims: %s", b)
	}
}

func TestVerifyWithJWKS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	set, _ := keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(issuerKey))}}.Marshal()
	tr, err := LoadJWKS(set, t0)
	if err != nil {
		t.Fatal(err)
	}
	sl, _ := statuslist.New(2, 1024)
	st, _ := statuslist.SignToken(issuerKey, keys.Thumbprint(pub(issuerKey)), statuslist.TokenClaims{Sub: testStatus, IssuedAt: t0, List: sl})
	if err := tr.AddStatusList(st, t0); err != nil {
		t.Fatal(err)
	}
	if r := Verify(f.live(t), Options{Trust: tr, Now: t0}); !r.Valid {
		t.Fatalf("%+v", r.Reasons)
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.live(f, "idn", "res"))
	f.Add(fx.issued)
	p256Issued, p256Key := p256Fixture(f, fx)
	f.Add(present(f, p256Issued, nil, p256Key, credential.AnyAudience, "fuzz-nonce", t0))
	f.Add("a.b.c~d~e.f.g")
	f.Fuzz(func(t *testing.T, s string) {
		r := Verify(s, Options{Trust: fx.trust, Now: t0})
		if r.Valid && r.Claims == nil {
			t.Fatal("valid without claims")
		}
	})
}
