//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/epermit/epermit/browser"
)

// addWalletStatus adds the web wallet's status functions to api:
//
//	walletStatus(credential, jwksJSON, publicRaw, token, heldStatus, nowMs)
//	walletText(code)
//
// which run browser.Session.WalletStatus and browser.WalletText.
func addWalletStatus(api js.Value, s *browser.Session) {
	api.Set("walletStatus", syncFunc(func(a *args) any {
		cred, jwks, pub := a.str(0, "credential"), a.str(1, "JWKS"), a.bytes(2, "public key")
		token, held, now := a.optStr(3, "status list token"), a.optStr(4, "held status"), a.optInt(5, "nowMs")
		if a.err != nil {
			return nil
		}
		return s.WalletStatus(cred, jwks, pub, token, held, now)
	}))
	api.Set("walletText", syncFunc(func(a *args) any {
		code := a.str(0, "code")
		if a.err != nil {
			return nil
		}
		return browser.WalletText(code)
	}))
}
