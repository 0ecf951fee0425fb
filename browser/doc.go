// Package browser is the Go side of the e-permit browser apps: the offline
// verifier for officials (/verify/) and the resident's web wallet
// (/wallet/). cmd/epermit-wasm compiles it to WebAssembly and exposes it to
// the pages as globalThis.epermit; docs and pages call that object, this
// package is what it runs. It has no syscall/js and no network code, so
// everything here is tested on any platform.
//
// Every function takes and returns plain values: strings, byte slices,
// integers and result structs whose JSON field names are exactly those of
// the page contract. Times are JavaScript milliseconds since the epoch; a
// time of 0 or less means the device clock. Nothing panics or returns a Go
// error: a result carries ok, and when ok is false an English error and a
// stable [Code] the page can match on.
//
// # Verifier
//
// A [Session] holds the trust data of one page:
//
//	s := browser.NewSession()
//	info := s.CheckTrust(jwt, pin, heldVersion) // verify only; "rollback" below heldVersion
//	info = s.LoadTrust(jwt, pin, fetchedMs)     // verify and use; drops the status lists
//	sl := s.AddStatusList(token, fetchedMs)     // signed by an issuer the trust list names
//	res := s.Verify(scanned, "police-check", nowMs)
//
// [Session.Verify] runs the verifier package's Verify, the same code as the
// command-line tool and the issuer service, on text as a scanner read it
// (raw, or packed with "ep1:"/"ep2:"), and returns its result with the
// claims under readable names. [DecodeImage] finds a QR code in a camera
// frame's RGBA pixels; [EncodeQR] draws one as SVG.
//
// # Wallet
//
// The device key never leaves the browser: it is a non-extractable
// WebCrypto key, Ed25519 where the browser has it and ECDSA P-256
// otherwise, and the page hands Go a [SignFunc] that asks WebCrypto to
// sign. [NewDeviceKey] wraps it as a crypto.Signer (and
// crypto.MessageSigner, since WebCrypto hashes for itself) that also checks
// each signature against the public key the page gave, so a key pair that
// does not match is caught at once ([ErrKeyMismatch]). The wallet takes an
// offer only from an issuer the trust list of its site names
// ([Session.IssuerKeys]), and checks the credential with the keys that
// list gives. With it:
//
//	key, err := browser.NewDeviceKey(publicRaw, sign)          // 32 or 65 bytes
//	keys := s.IssuerKeys(offerIssuer, nowMs)                   // after s.LoadTrust
//	proof := browser.Proof(key, issuerID, cNonce, nowMs)       // OpenID4VCI proof JWT
//	entry := browser.Inspect(credential, keys.JWKS, publicRaw, nowMs)
//	shown := s.Present(key, credential, "public-service", "", "", nowMs)
//
// [Session.Purposes] lists the purposes of the loaded trust list's policy
// (the default policy before one is loaded) with the fields a presentation
// for each one discloses, in Chinese and English, for the wallet's purpose
// picker and the verifier's menu.
//
// # Error codes
//
// Codes are stable: "bad_input" for arguments of the wrong type, length or
// range; "rollback", "root_mismatch", "bad_signature" and "invalid" for
// trust lists; "no_trust", "unknown_key" and "invalid" for status lists;
// "no_code", "multiple_codes" and "too_large" for images; "too_long" for
// QR encoding; "invalid_credential", "issuer_signature", "not_my_key",
// "unknown_purpose", "purpose_refused", "missing_group", "key_mismatch",
// "sign_failed" and "untrusted_issuer" for the wallet; "internal" for a
// bug.
package browser
