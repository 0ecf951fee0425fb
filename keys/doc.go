// Package keys manages the Ed25519 keys that sign and verify e-permit
// credentials: generating them, keeping them on disk, publishing them as
// JSON Web Keys, and rotating them; and the holder device keys credentials
// are bound to, which may also be ECDSA P-256.
//
// # Key files
//
// [Generate] makes a key from crypto/rand. [WritePrivateKeyFile] stores it as
// a PKCS#8 "PRIVATE KEY" PEM file with mode 0600, atomically, and never over
// an existing file (the error wraps fs.ErrExist). [LoadPrivateKeyFile] reads
// it back and refuses a file that group or others may access, naming the fix:
//
//	keys: private key file "issuer.key" is readable by group and others (mode 0644); run: chmod 600 "issuer.key"
//
// That error is an [*InsecurePermissionsError] and matches
// [ErrInsecurePermissions]. [LoadOrCreate] does both for a key directory,
// which is how a service obtains its key on first start:
//
//	key, created, err := keys.LoadOrCreate("/var/lib/epermit", "issuer")
//
// [ParsePrivateKeyPEM] and [MarshalPrivateKeyPEM] do the encoding without
// files.
//
// # Public keys as JWK
//
// A public key travels as a JWK (RFC 7517) of type OKP, curve Ed25519
// (RFC 8037). [PublicJWK] builds one whose kid is the key's RFC 7638
// thumbprint ([Thumbprint]), so a kid names exactly one key and anyone can
// recompute it. [ParseJWK], [ParseJWKS] and [JWK.PublicKey] are strict: the
// key type and curve must match, x must be canonical unpadded base64url of 32
// bytes encoding a point of the curve canonically ([ErrNonCanonicalKey],
// [ErrInvalidPoint]) and not of small order ([ErrSmallOrderKey]: anyone can
// sign for the identity and the other seven such points, checked with
// filippo.io/edwards25519), and a JWK carrying private key material such as
// "d" is refused ([ErrPrivateJWK]), so a leaked private JWK cannot be
// published or trusted by mistake. A kid member may be any name (RFC 7517
// section 4.5): [JWKS.Lookup] finds a key by its thumbprint, which is what
// e-permit puts in the kid header of what it signs.
//
// # Holder device keys
//
// The key a credential is bound to (its cnf.jwk), which signs key-binding
// JWTs and OpenID4VCI proofs, may be Ed25519 or ECDSA P-256, the key that
// phones keep in secure hardware. [JWK.HolderKey] and [ParseHolderJWK]
// accept both, with the same strictness (a P-256 point must be on the curve,
// not at infinity, with coordinates below the prime); [HolderJWK] builds the
// JWK of either and [JWK.Thumbprint] its RFC 7638 thumbprint.
// [GenerateDeviceKey], [WriteDeviceKeyFile] and [LoadDeviceKeyFile] keep a
// wallet's key; issuer keys stay Ed25519.
//
// # Key ring and rotation
//
// A [Ring] holds the active key, the only one with a crypto.Signer, and
// the older keys that now only verify. Signing always goes through the
// crypto.Signer that [Ring.Active] returns, so a hardware key can replace
// the file key. [Ring.Rotate] makes a new key active from a given instant
// and demotes the previous one to verify-only; [Ring.Verifier] hands out a
// key only for instants inside its validity window, from [Entry] NotBefore to
// NotAfter ([ErrUnknownKey], [ErrKeyNotValidAt]); [Ring.JWKS] publishes every
// public key. A Ring is safe for concurrent use.
//
//	ring, err := keys.NewRing(keys.Entry{Signer: key})
//	...
//	kid, signer, err := ring.Active() // put kid in the JWS header
//	...
//	pub, err := ring.Verifier(kid, issuedAt)
//
// # Errors
//
// Every error starts with "keys: ". Refusals wrap one of the Err sentinels,
// and file system failures wrap the underlying error (fs.ErrNotExist,
// fs.ErrExist, ...), so callers branch with errors.Is. Error messages never
// contain private key material.
package keys
