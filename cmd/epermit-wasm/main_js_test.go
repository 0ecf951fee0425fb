//go:build js && wasm

package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"image"
	"image/draw"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/epermit/epermit/browser"
	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// These tests run the wasm build in node (see the package's command
// line in the report): the functions are called through syscall/js as a
// page calls them, and the device key is a WebCrypto Ed25519 key or, as on
// a browser without Ed25519, a WebCrypto ECDSA P-256 key.

const (
	testIss    = "https://ep.zjga.example/hz"
	testStatus = "https://ep.zjga.example/hz/status/1"
	idxValid   = 5
	idxRevoked = 6
)

var (
	rootKey   = ed25519.NewKeyFromSeed(seed(1))
	issuerKey = ed25519.NewKeyFromSeed(seed(2))
	pin       = keys.Thumbprint(rootKey.Public().(ed25519.PublicKey))
)

func seed(b byte) []byte {
	s := make([]byte, 32)
	s[0] = b
	return s
}

// await waits for a JavaScript Promise.
func await(t testing.TB, p js.Value) (js.Value, error) {
	t.Helper()
	if p.Type() != js.TypeObject || p.Get("then").Type() != js.TypeFunction {
		t.Fatalf("not a Promise: %v", p.Type())
	}
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any { done <- result{v: a[0]}; return nil })
	defer then.Release()
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		done <- result{v: a[0], err: errors.New(a[0].Get("message").String())}
		return nil
	})
	defer catch.Release()
	p.Call("then", then, catch)
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(20 * time.Second):
		t.Fatal("Promise did not settle")
	}
	return js.Value{}, nil
}

// webKey is a WebCrypto key pair, the private key not extractable.
type webKey struct {
	private js.Value
	raw     []byte // public key: 32 bytes (Ed25519) or 65 (P-256, uncompressed)
}

// newWebKey makes an Ed25519 WebCrypto key.
func newWebKey(t testing.TB) webKey { return newWebKeyAlg(t, "Ed25519") }

// newWebKeyAlg makes an Ed25519 key, or with "ECDSA" a P-256 key, as the
// web wallet does where the browser has no Ed25519.
func newWebKeyAlg(t testing.TB, name string) webKey {
	t.Helper()
	subtle := js.Global().Get("crypto").Get("subtle")
	alg := js.Global().Get("Object").New()
	alg.Set("name", name)
	if name == "ECDSA" {
		alg.Set("namedCurve", "P-256")
	}
	usages := js.Global().Get("Array").New("sign", "verify")
	pair, err := await(t, subtle.Call("generateKey", alg, false, usages))
	if err != nil {
		t.Fatalf("generateKey: %v", err)
	}
	buf, err := await(t, subtle.Call("exportKey", "raw", pair.Get("publicKey")))
	if err != nil {
		t.Fatalf("exportKey: %v", err)
	}
	u := js.Global().Get("Uint8Array").New(buf)
	raw := make([]byte, u.Get("length").Int())
	js.CopyBytesToGo(raw, u)
	return webKey{private: pair.Get("privateKey"), raw: raw}
}

func (k webKey) pub() js.Value { return u8(k.raw) }

func u8(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// world is a trust list, a status list and credentials for a device key.
type world struct {
	trustList, statusList string
	jwks                  string
	now                   time.Time
}

func newWorld(t testing.TB) world {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	ij := keys.PublicJWK(issuerKey.Public().(ed25519.PublicKey))
	tl, err := trust.Sign(rootKey, trust.List{
		Version: 3, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(7 * 24 * time.Hour),
		Issuers: []trust.Issuer{{ID: testIss, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou PSB"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{ij}}, StatusLists: []string{testStatus}}},
		Policy: trust.DefaultPolicy(),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := statuslist.New(2, 1024)
	_ = l.Set(idxRevoked, statuslist.Invalid)
	sl, err := statuslist.SignToken(issuerKey, ij.Kid, statuslist.TokenClaims{Sub: testStatus, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour), List: l})
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{ij}})
	return world{trustList: tl, statusList: sl, jwks: string(jwks), now: now}
}

func (w world) issue(t testing.TB, holder []byte, idx int) string {
	t.Helper()
	var pub crypto.PublicKey = ed25519.PublicKey(holder)
	if len(holder) == 65 {
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), holder)
		if err != nil {
			t.Fatal(err)
		}
		pub = ec
	}
	c := credential.Claims{
		Issuer: testIss, IssuedAt: w.now.Add(-24 * time.Hour), Expires: w.now.Add(300 * 24 * time.Hour),
		Status: statuslist.Reference{Idx: idx, URI: testStatus}, Holder: pub,
		Name: "张三", MaskedID: "110105********002X", Region: "330106", PermitNo: "33010626K7Q2MX",
		Identity:  &credential.Identity{CitizenID: "11010519491231002X", Ethnicity: "01"},
		Residence: &credential.Residence{Address: "浙江省杭州市西湖区文三路100号", HouseholdAddress: "北京市朝阳区建国路1号", HouseholdDivision: "110105", Since: "2026-01-15", Basis: []string{"employment"}, IssueDate: "2026-11-26"},
	}
	s, err := credential.Issue(issuerKey, keys.Thumbprint(issuerKey.Public().(ed25519.PublicKey)), c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ms(t time.Time) float64 { return float64(t.UnixMilli()) }

// wantFail checks an ok:false result with code.
func wantFail(t *testing.T, what string, v js.Value, code browser.Code) {
	t.Helper()
	if v.Type() != js.TypeObject || v.Get("ok").Bool() || v.Get("code").String() != string(code) || v.Get("error").String() == "" {
		t.Errorf("%s: %s, want ok:false code %q", what, js.Global().Get("JSON").Call("stringify", v).String(), code)
	}
}

func wantOK(t *testing.T, what string, v js.Value) {
	t.Helper()
	if v.Type() != js.TypeObject || !v.Get("ok").Bool() {
		t.Fatalf("%s: %s", what, js.Global().Get("JSON").Call("stringify", v).String())
	}
}

// loadedAPI is the API with the world's trust data loaded.
func loadedAPI(t *testing.T, w world) js.Value {
	t.Helper()
	api := newAPI(browser.NewSession())
	info := api.Call("loadTrust", w.trustList, pin, ms(w.now))
	wantOK(t, "loadTrust", info)
	if info.Get("version").Int() != 3 || info.Get("issuers").Index(0).Get("statusLists").Index(0).String() != testStatus ||
		info.Get("issuedAt").Float() != ms(w.now.Add(-time.Hour)) {
		t.Fatalf("loadTrust: %s", js.Global().Get("JSON").Call("stringify", info).String())
	}
	sl := api.Call("addStatusList", w.statusList, ms(w.now))
	wantOK(t, "addStatusList", sl)
	if sl.Get("uri").String() != testStatus {
		t.Fatalf("addStatusList uri %q", sl.Get("uri").String())
	}
	return api
}

func TestTrustAndRefusals(t *testing.T) {
	w := newWorld(t)
	api := newAPI(browser.NewSession())
	if v := api.Get("version"); v.Type() != js.TypeString || v.String() == "" {
		t.Errorf("version %v", v)
	}
	ok := api.Call("checkTrust", w.trustList, pin, 3)
	wantOK(t, "checkTrust", ok)
	wantFail(t, "checkTrust rollback", api.Call("checkTrust", w.trustList, pin, 4), browser.CodeRollback)
	wantFail(t, "checkTrust wrong pin", api.Call("checkTrust", w.trustList, "x"+pin, 0), browser.CodeRootMismatch)
	wantFail(t, "checkTrust garbage", api.Call("checkTrust", "garbage", pin, 0), browser.CodeInvalid)
	wantFail(t, "checkTrust number", api.Call("checkTrust", 42, pin, 0), browser.CodeBadInput)
	wantFail(t, "checkTrust NaN", api.Call("checkTrust", w.trustList, pin, js.Global().Get("NaN")), browser.CodeBadInput)
	wantFail(t, "addStatusList before trust", api.Call("addStatusList", w.statusList, ms(w.now)), browser.CodeNoTrust)
	wantFail(t, "loadTrust no args", api.Call("loadTrust"), browser.CodeBadInput)
	wantFail(t, "verify no args", api.Call("verify"), browser.CodeBadInput)
	wantFail(t, "verify object", api.Call("verify", js.Global().Get("Object").New()), browser.CodeBadInput)
	wantFail(t, "encodeQR empty", api.Call("encodeQR", ""), browser.CodeBadInput)
	wantFail(t, "inspect short key", api.Call("inspect", "x", w.jwks, u8(make([]byte, 31))), browser.CodeBadInput)
	wantFail(t, "inspect key as string", api.Call("inspect", "x", w.jwks, "key"), browser.CodeBadInput)
	wantFail(t, "decodeImage string", api.Call("decodeImage", "pixels", 1, 1), browser.CodeBadInput)
	wantFail(t, "decodeImage wrong length", api.Call("decodeImage", js.Global().Get("Uint8ClampedArray").New(4), 2, 2), browser.CodeBadInput)
	wantFail(t, "decodeImage huge", api.Call("decodeImage", js.Global().Get("Uint8ClampedArray").New(4), 100000, 100000), browser.CodeTooLarge)
	noise := make([]byte, 120*90*4)
	_, _ = rand.Read(noise)
	wantFail(t, "decodeImage noise", api.Call("decodeImage", u8(noise), 120, 90, 50), browser.CodeNoCode)

	// Without trust, verify refuses with the verifier's own reason.
	r := api.Call("verify", "abc", "", ms(w.now))
	if r.Get("valid").Bool() || r.Get("reasons").Index(0).Get("code").String() != "trust_missing" {
		t.Errorf("verify without trust: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
	if n := api.Call("purposes").Length(); n != 6 {
		t.Errorf("%d purposes", n)
	}
}

func TestWalletAndVerifier(t *testing.T) {
	w := newWorld(t)
	api := loadedAPI(t, w)
	key := newWebKey(t)
	cred := w.issue(t, key.raw, idxValid)

	e := api.Call("inspect", cred, w.jwks, key.pub(), ms(w.now))
	wantOK(t, "inspect", e)
	if e.Get("entry").Get("permit_no").String() != "33010626K7Q2MX" || e.Get("entry").Get("overdue").Bool() {
		t.Errorf("inspect entry %s", js.Global().Get("JSON").Call("stringify", e).String())
	}
	wantFail(t, "inspect other device", api.Call("inspect", cred, w.jwks, newWebKey(t).pub(), ms(w.now)), browser.CodeNotMyKey)
	wantFail(t, "inspect small-order key", api.Call("inspect", cred, w.jwks, u8(make([]byte, 32)), ms(w.now)), browser.CodeBadInput)

	// present through WebCrypto, then verify.
	p, err := await(t, api.Call("present", key.private, key.pub(), cred, "public-service", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, "present", p)
	text := p.Get("text").String()
	r := api.Call("verify", text, "public-service", ms(w.now.Add(time.Second)))
	if !r.Get("valid").Bool() || r.Get("status").String() != "valid" || !r.Get("holder_bound").Bool() ||
		r.Get("claims").Get("disclosed").Index(0).String() != "res" || r.Get("reasons").Length() != 0 ||
		r.Get("claims").Get("expires").Float() != ms(w.now.Add(300*24*time.Hour)) {
		t.Fatalf("verify: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}

	// The same presentation drawn as a QR code, read back from RGBA pixels.
	q := api.Call("encodeQR", text, true)
	wantOK(t, "encodeQR", q)
	if !strings.HasPrefix(q.Get("svg").String(), "<svg") || q.Get("size").Int() != 4*q.Get("version").Int()+25 {
		t.Errorf("encodeQR: version %d size %d", q.Get("version").Int(), q.Get("size").Int())
	}
	code, err := qr.EncodePresentation(text, true, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	src := code.Image(3)
	img := image.NewNRGBA(src.Bounds())
	draw.Draw(img, img.Rect, src, image.Point{}, draw.Src)
	pix := js.Global().Get("Uint8ClampedArray").New(len(img.Pix))
	js.CopyBytesToJS(pix, img.Pix)
	d := api.Call("decodeImage", pix, img.Rect.Dx(), img.Rect.Dy(), 500)
	wantOK(t, "decodeImage", d)
	scanned := d.Get("text").String()
	if !strings.HasPrefix(scanned, "ep") {
		t.Errorf("decodeImage unpacked the text: %.20q", scanned)
	}
	if r := api.Call("verify", scanned+"\n", "public-service", ms(w.now.Add(2*time.Second))); !r.Get("valid").Bool() {
		t.Errorf("verify scanned: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}

	// Refusals of present resolve to ok:false.
	p, err = await(t, api.Call("present", key.private, key.pub(), cred, "identity-card", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, "present identity-card", p, browser.CodePurposeRefused)
	p, err = await(t, api.Call("present", "not a key", key.pub(), cred, "", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, "present without a key", p, browser.CodeBadInput)
	other := newWebKey(t)
	p, err = await(t, api.Call("present", other.private, key.pub(), cred, "", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, "present with another key", p, browser.CodeKeyMismatch)

	// A revoked permit.
	revoked := w.issue(t, key.raw, idxRevoked)
	p, err = await(t, api.Call("present", key.private, key.pub(), revoked, "", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, "present revoked", p)
	r = api.Call("verify", p.Get("text").String(), "", ms(w.now.Add(time.Second)))
	if r.Get("valid").Bool() || r.Get("status").String() != "revoked" {
		t.Errorf("verify revoked: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
}

func TestProof(t *testing.T) {
	api := newAPI(browser.NewSession())
	key, other := newWebKey(t), newWebKey(t)
	now := time.Now()
	v, err := await(t, api.Call("proof", key.private, key.pub(), testIss, "c-nonce", ms(now)))
	if err != nil {
		t.Fatal(err)
	}
	if v.Type() != js.TypeString {
		t.Fatalf("proof resolved to %v", v.Type())
	}
	got, err := oid4vci.VerifyProof(v.String(), testIss, "c-nonce", now.Add(time.Second), time.Minute)
	if err != nil || !keys.SameKey(got, ed25519.PublicKey(key.raw)) {
		t.Fatalf("VerifyProof: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []any
		code browser.Code
	}{
		{"other key", []any{other.private, key.pub(), testIss, "n", ms(now)}, browser.CodeKeyMismatch},
		{"public key as private", []any{other.pub(), key.pub(), testIss, "n", ms(now)}, browser.CodeBadInput},
		{"no audience", []any{key.private, key.pub(), "", "n", ms(now)}, browser.CodeBadInput},
		{"short public key", []any{key.private, u8(key.raw[:31]), testIss, "n", ms(now)}, browser.CodeBadInput},
		{"no arguments", nil, browser.CodeBadInput},
	} {
		v, err := await(t, api.Call("proof", tc.args...))
		if err == nil || v.Get("code").String() != string(tc.code) {
			t.Errorf("%s: err %v code %q, want a rejection with code %q", tc.name, err, v.Get("code").String(), tc.code)
		}
	}
}

// TestP256WebKey is the web wallet on a browser without Ed25519: a
// non-extractable WebCrypto ECDSA P-256 key proves possession (ES256),
// is bound into the credential, and presents; the verifier accepts.
func TestP256WebKey(t *testing.T) {
	w := newWorld(t)
	api := loadedAPI(t, w)
	key := newWebKeyAlg(t, "ECDSA")
	if len(key.raw) != 65 || key.raw[0] != 4 {
		t.Fatalf("raw public key of %d bytes", len(key.raw))
	}
	v, err := await(t, api.Call("proof", key.private, key.pub(), testIss, "c-nonce", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := oid4vci.VerifyProof(v.String(), testIss, "c-nonce", w.now.Add(time.Second), time.Minute)
	if err != nil {
		t.Fatalf("VerifyProof: %v", err)
	}
	if _, ok := got.(*ecdsa.PublicKey); !ok {
		t.Fatalf("proof key %T", got)
	}
	ik := api.Call("issuerKeys", testIss, ms(w.now))
	wantOK(t, "issuerKeys", ik)
	wantFail(t, "issuerKeys of a phishing issuer", api.Call("issuerKeys", "https://ep-zjga.example.net/hz", ms(w.now)), browser.CodeUntrustedIssuer)
	cred := w.issue(t, key.raw, idxValid)
	wantOK(t, "inspect", api.Call("inspect", cred, ik.Get("jwks").String(), key.pub(), ms(w.now)))
	p, err := await(t, api.Call("present", key.private, key.pub(), cred, "police-check", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, "present", p)
	r := api.Call("verify", p.Get("text").String(), "police-check", ms(w.now.Add(time.Second)))
	if !r.Get("valid").Bool() || !r.Get("holder_bound").Bool() {
		t.Fatalf("verify: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
	// An Ed25519 key given with the P-256 public key is caught.
	other := newWebKey(t)
	p, err = await(t, api.Call("present", other.private, key.pub(), cred, "", "", "", ms(w.now)))
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, "present with another key", p, browser.CodeKeyMismatch)
}

// TestVerifyTime reports how long one verification takes in this runtime,
// for a presentation bound to an Ed25519 and to a P-256 key.
func TestVerifyTime(t *testing.T) {
	w := newWorld(t)
	api := loadedAPI(t, w)
	for _, alg := range []string{"Ed25519", "ECDSA"} {
		key := newWebKeyAlg(t, alg)
		p, err := await(t, api.Call("present", key.private, key.pub(), w.issue(t, key.raw, idxValid), "police-check", "", "", ms(w.now)))
		if err != nil {
			t.Fatal(err)
		}
		text := p.Get("text").String()
		const n = 50
		start := time.Now()
		for range n {
			if r := api.Call("verify", text, "police-check", ms(w.now.Add(time.Second))); !r.Get("valid").Bool() {
				t.Fatal("not valid")
			}
		}
		t.Logf("verify through syscall/js, %s holder key: %.2f ms each (%d runs)", alg, float64(time.Since(start).Microseconds())/1000/n, n)
	}
}
