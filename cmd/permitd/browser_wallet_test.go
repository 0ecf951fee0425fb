package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/sdjwt"
)

// withoutEd25519 makes every page the tab loads from now on run in a
// browser without Ed25519 WebCrypto keys, as Safari before 17 and some
// Android WebViews are: generating one is refused as the API refuses an
// unknown algorithm.
var withoutEd25519 chromedp.Action[chromedp.Void] = func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
  const generate = crypto.subtle.generateKey.bind(crypto.subtle);
  crypto.subtle.generateKey = (alg, ...rest) => (alg === "Ed25519" || (alg && alg.name === "Ed25519"))
    ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
    : generate(alg, ...rest);
})();`})
	return chromedp.Void{}, err
}

// TestBrowserWalletP256 runs the web wallet on a browser without Ed25519:
// it makes a non-extractable ECDSA P-256 device key, says so, receives its
// permit bound to that key, and shows a live code (ES256 key binding) that
// the Go verifier accepts. Permits stored under their number alone, as
// before they were kept by issuer, are moved and still shown after a
// reload; an offer from an issuer the site's trust list does not name is
// refused.
func TestBrowserWalletP256(t *testing.T) {
	chromium(t)
	dir := t.TempDir()
	bin := buildWithApps(t)
	s := startWithApps(t, bin, filepath.Join(dir, "var"), "127.0.0.1:0")
	if code, _ := call(t, "GET", s.base+"/app/epermit.wasm", "", "", nil, nil); code != 200 {
		t.Fatalf("the apps are not built into permitd: %d", code)
	}
	p := approved(t, s, 31)
	browser := newBrowser(t, "")
	w := tab(t, browser)
	step(t, w, "take Ed25519 away", withoutEd25519)
	step(t, w, "open the wallet", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(p.Offer.URI)))
	poll(t, w, "the wallet to be ready", `document.body.dataset.ready === "true"`)
	poll(t, w, "the offer to be accepted", `(() => { const e = document.querySelector("#offer-status"); if (e && e.dataset.state === "error") throw new Error(e.textContent); return e && e.dataset.state === "done" })()`)
	poll(t, w, "the live code", `!!document.querySelector("#qr svg") && !!(window.epermitWallet && window.epermitWallet.lastPresentation)`)
	if alg := eval[string](t, w, `document.querySelector('[data-field="device_key"]').dataset.alg`); alg != "ECDSA P-256" {
		t.Fatalf("device key %q, want ECDSA P-256", alg)
	}
	if shown := eval[string](t, w, `document.querySelector('[data-field="device_key"]').textContent`); !strings.Contains(shown, "P-256") {
		t.Errorf("the page does not say which key it holds: %q", shown)
	}
	if ext := eval[bool](t, w, `window.epermitWallet.state.device.keyPair.privateKey.extractable`); ext {
		t.Error("the device key is extractable")
	}
	text := eval[string](t, w, `window.epermitWallet.lastPresentation`)
	if r := verifyOnline(t, s, text, ""); !r.Valid || !r.HolderBound {
		t.Fatalf("the P-256 wallet's code does not verify: %+v", r.Reasons)
	}
	pr, err := sdjwt.Split(text)
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(pr.KeyBinding, ".")[0])
	var h struct{ Alg string }
	if json.Unmarshal(hdr, &h); h.Alg != "ES256" {
		t.Errorf("KB-JWT alg %q, want ES256", h.Alg)
	}
	screenshot(t, w, "", "wallet-p256.png")

	// A permit kept under its number alone (the layout before permits
	// were kept by issuer) is moved under [issuer, number] on reload.
	eval[bool](t, w, fmt.Sprintf(`new Promise((resolve, reject) => {
  const req = indexedDB.open("epermit-wallet");
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result, tx = db.transaction("creds", "readwrite"), os = tx.objectStore("creds");
    const all = os.getAll();
    all.onsuccess = () => { os.clear(); for (const r of all.result) os.put(r, r.permit_no); };
    tx.oncomplete = () => { localStorage.setItem("epermit.wallet.current", %q); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
})`, p.Number))
	step(t, w, "reload the wallet", chromedp.Reload())
	poll(t, w, "the wallet to be ready again", `document.body.dataset.ready === "true"`)
	poll(t, w, "the moved permit", fmt.Sprintf(`!!document.querySelector('#permit-card[data-permit-no=%q]') && !!document.querySelector("#qr svg")`, p.Number))
	keys := eval[string](t, w, `new Promise((resolve, reject) => {
  const req = indexedDB.open("epermit-wallet");
  req.onsuccess = () => { const k = req.result.transaction("creds").objectStore("creds").getAllKeys(); k.onsuccess = () => resolve(JSON.stringify(k.result)); };
  req.onerror = () => reject(req.error);
})`)
	o, err := oid4vci.ParseOfferURI(p.Offer.URI)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal([][]string{{o.CredentialIssuer, p.Number}}); keys != string(want) {
		t.Errorf("stored under %s, want %s", keys, want)
	}

	// An offer from an issuer on this site that its trust list does not
	// name (a phishing page on the same host) is refused; the permit held
	// stays.
	q := approved(t, s, 32)
	phish := strings.Replace(q.Offer.URI, url.QueryEscape(s.base), url.QueryEscape(s.base+"/phish"), 1)
	if phish == q.Offer.URI {
		t.Fatal("could not rewrite the offer's issuer")
	}
	step(t, w, "open the phishing offer", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(phish)))
	poll(t, w, "the phishing offer to be refused", `(() => { const e = document.querySelector("#offer-status"); return !!e && e.dataset.state === "error" && /信任列表|trust list/.test(e.textContent) })()`)
	poll(t, w, "the held permit", fmt.Sprintf(`!!document.querySelector('#permit-card[data-permit-no=%q]')`, p.Number))
}
