// Package wallet is the resident's side of e-permit: it keeps a device key
// and the residence permit credentials issued to it in one directory, and
// turns a credential into a presentation (the "live code" shown as a QR
// code) that discloses only what the purpose needs. It uses files only, no
// network.
//
// # Setting up
//
// [Init] creates a wallet directory with a new Ed25519 device key
// ([InitAlg] with keys.AlgES256 makes an ECDSA P-256 key instead, the key a
// phone's secure hardware holds); [Open] opens it later:
//
//	w, err := wallet.Init("/home/zhang/.epermit") // once
//	w, err := wallet.Open("/home/zhang/.epermit") // afterwards
//
// The directory holds:
//
//	device.key              the device key, PKCS#8 PEM, mode 0600
//	credentials/            mode 0700
//	credentials/<permit number>.<issuer>.sd-jwt
//
// where <issuer> is 16 characters of base64url of the SHA-256 of the
// issuer's iss: credentials are kept by issuer and permit number. Wallets
// written before kept them as credentials/<permit number>.sd-jwt; Open
// moves those to the new names (keeping the later-issued one where both
// exist), so an existing wallet keeps working.
//
// Open refuses a directory that group or others may access
// ([InsecureDirError], fixed with chmod 700) and a readable device key
// (keys.InsecurePermissionsError, fixed with chmod 600). Both match
// keys.ErrInsecurePermissions.
//
// # Receiving a credential
//
// The issuer binds a credential to the device key, which the wallet gives
// as [Wallet.JWK]. [Wallet.Add] stores what the issuer hands back, after
// checking that it is bound to this device ([ErrNotMyKey]), that every
// disclosure belongs to it, and, given the issuer's JWKS, that the issuer
// signed it ([ErrIssuerSignature]):
//
//	entry, err := w.Add(issued, &issuerJWKS)
//
// A credential re-issued by the same issuer for the same permit number, as
// happens at each yearly endorsement, replaces the one held; an older one
// is refused ([ErrSuperseded]). A credential is never replaced by one of
// another issuer: one whose permit number the wallet holds from another
// issuer, as a phishing issuer would send, is refused
// ([ErrIssuerConflict]).
//
// [Wallet.Accept] takes an OpenID4VCI offer (the code an official shows)
// only from an issuer named in a trust list the wallet holds
// ([TrustedIssuers]: "permit wallet trust" keeps one, verified against the
// root key's pinned thumbprint, in the wallet directory), and checks the
// credential against the keys that list gives the issuer. [AnyIssuer]
// lifts the check, for testing only.
//
// # Endorsement reminders
//
// [Wallet.List] returns an [Entry] per credential. Entry.Expires is the day
// the yearly endorsement is due: [Entry.InWindow] reports the month before
// it, when the holder should have the permit endorsed, [Entry.DaysLeft]
// counts down to it and [Entry.Overdue] reports that it has passed, after
// which verifiers refuse the permit.
//
// # Presenting
//
// [Wallet.Present] makes a presentation for a purpose of the trust policy
// (trust.DefaultPolicy unless the [Request] gives the synced one). It
// discloses exactly the claim groups the purpose requires, nothing more, and
// always appends a key-binding JWT signed with the device key, so that the
// code proves possession and its age:
//
//	code, err := w.Present("", wallet.Request{Purpose: trust.PurposePublicService, Now: time.Now()})
//
// When a verifier shows a challenge, pass its Audience and Nonce; otherwise
// the presentation is addressed to credential.AnyAudience with a fresh
// random nonce, and the verifier relies on freshness and its replay cache.
// A purpose the policy refuses, such as using the permit as an identity
// card, fails with a [*RefusedError] that carries the policy's reason, in
// Chinese and English, for the app to show.
//
// # Trust in stored files
//
// The wallet directory is the device's own: credentials read back from it
// are decoded and checked against the device key, but their issuer
// signature is verified only once, by Add, and only when issuer keys are
// given. The verifier checks everything again on every scan.
package wallet
