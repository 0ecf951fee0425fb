//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"
	"time"

	"github.com/epermit/epermit/browser"
)

// TestWalletStatusJS calls walletStatus and walletText as the web wallet
// does: a permit's status from its status list token, with a WebCrypto
// device key's raw public key, and the words for a code.
func TestWalletStatusJS(t *testing.T) {
	w := newWorld(t)
	api := loadedAPI(t, w)
	key := newWebKey(t)
	valid, revoked := w.issue(t, key.raw, idxValid), w.issue(t, key.raw, idxRevoked)

	r := api.Call("walletStatus", valid, w.jwks, key.pub(), w.statusList, "", ms(w.now))
	wantOK(t, "walletStatus valid", r)
	if r.Get("status").String() != "valid" || !r.Get("liveCode").Bool() || r.Get("refresh").Bool() ||
		r.Get("uri").String() != testStatus || r.Get("idx").Int() != idxValid || r.Get("entry").Get("permit_no").String() != "33010626K7Q2MX" {
		t.Errorf("walletStatus valid: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
	r = api.Call("walletStatus", revoked, w.jwks, key.pub(), w.statusList, "", ms(w.now))
	if r.Get("status").String() != "revoked" || r.Get("liveCode").Bool() || r.Get("listIssuedAt").Float() != ms(w.now.Add(-time.Minute)) {
		t.Errorf("walletStatus revoked: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
	// Offline: what the page kept, and no token.
	r = api.Call("walletStatus", valid, w.jwks, key.pub(), nil, "superseded", ms(w.now))
	if r.Get("status").String() != "superseded" || r.Get("liveCode").Bool() || !r.Get("refresh").Bool() {
		t.Errorf("walletStatus held superseded: %s", js.Global().Get("JSON").Call("stringify", r).String())
	}
	wantFail(t, "walletStatus another device", api.Call("walletStatus", valid, w.jwks, newWebKey(t).pub(), w.statusList, "", ms(w.now)), browser.CodeNotMyKey)
	wantFail(t, "walletStatus a number for a key", api.Call("walletStatus", valid, w.jwks, 7), browser.CodeBadInput)

	txt := api.Call("walletText", "invalid_grant")
	wantOK(t, "walletText", txt)
	if txt.Get("zh").String() == "" || txt.Get("en").String() == "" {
		t.Errorf("walletText: %s", js.Global().Get("JSON").Call("stringify", txt).String())
	}
	wantFail(t, "walletText unknown", api.Call("walletText", "nope"), browser.CodeBadInput)
}
