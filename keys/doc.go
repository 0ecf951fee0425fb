// Package keys manages the Ed25519 keys that sign and verify e-permit
// credentials: generating them, keeping them on disk, publishing them as
// JSON Web Keys, and rotating them.
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
// bytes, a kid must be the thumbprint, and a JWK carrying private key
// material such as "d" is refused ([ErrPrivateJWK]), so a leaked private JWK
// cannot be published or trusted by mistake. [JWKS.Lookup] finds a key by kid.
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
