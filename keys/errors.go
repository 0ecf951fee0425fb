package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Sentinel errors, for errors.Is. Errors returned by this package start with
// "keys: " and wrap the sentinel that names the reason for a refusal.
var (
	// ErrInvalidPrivateKey reports a private key that is not PEM, not a
	// "PRIVATE KEY" block, not PKCS#8, not Ed25519, or internally inconsistent.
	ErrInvalidPrivateKey = errors.New("invalid private key")

	// ErrInsecurePermissions reports a private key file whose mode grants any
	// permission to group or others. The concrete error is an
	// *InsecurePermissionsError.
	ErrInsecurePermissions = errors.New("insecure permissions")

	// ErrInvalidJWK reports a JWK or JWK Set that is not a valid public key
	// as RFC 7517, RFC 7518 and RFC 8037 define it, of a type and curve
	// accepted where it is used. The three errors below are always wrapped
	// together with it.
	ErrInvalidJWK = errors.New("invalid jwk")

	// ErrSmallOrderKey reports an Ed25519 public key that is one of the
	// eight points of small order (such as the identity): anyone can make
	// signatures that verify with it, so it proves nothing about who holds
	// it.
	ErrSmallOrderKey = errors.New("small-order public key (anyone can sign for it)")

	// ErrNonCanonicalKey reports a public key encoded in other than its
	// one canonical form: an Ed25519 y coordinate or a P-256 coordinate
	// that is not below the field's prime.
	ErrNonCanonicalKey = errors.New("non-canonical public key encoding")

	// ErrInvalidPoint reports a public key that is not a point of its
	// curve, or is the P-256 point at infinity.
	ErrInvalidPoint = errors.New("public key is not a valid curve point")

	// ErrPrivateJWK reports a JWK that carries private key material (such as
	// the "d" member) where only a public key is acceptable. It is always
	// wrapped together with ErrInvalidJWK.
	ErrPrivateJWK = errors.New("private member")

	// ErrDuplicateKey reports the same key (the same kid) twice in a JWK Set
	// or a Ring.
	ErrDuplicateKey = errors.New("duplicate key")

	// ErrInvalidEntry reports a Ring entry that is inconsistent: a bad public
	// key, a kid that is not the key's thumbprint, a signer for another key,
	// an empty validity window, or a second active signer.
	ErrInvalidEntry = errors.New("invalid ring entry")

	// ErrUnknownKey reports a kid that the Ring does not hold.
	ErrUnknownKey = errors.New("unknown key")

	// ErrKeyNotValidAt reports a key used outside its NotBefore/NotAfter
	// window.
	ErrKeyNotValidAt = errors.New("key not valid at this time")

	// ErrNoActiveKey reports a Ring that holds no key with a signer.
	ErrNoActiveKey = errors.New("no active signing key")
)

// InsecurePermissionsError is returned by LoadPrivateKeyFile when the key
// file's mode grants any permission to group or others. It matches
// ErrInsecurePermissions with errors.Is.
type InsecurePermissionsError struct {
	Path string      // the file as given to LoadPrivateKeyFile
	Mode fs.FileMode // the file's permission bits
}

// Error describes the file, its mode, and the command that fixes it.
func (e *InsecurePermissionsError) Error() string {
	perm := e.Mode.Perm()
	var who string
	switch {
	case perm&0o070 != 0 && perm&0o007 != 0:
		who = "group and others"
	case perm&0o070 != 0:
		who = "group"
	default:
		who = "others"
	}
	what := "accessible"
	switch {
	case perm&0o044 != 0:
		what = "readable"
	case perm&0o022 != 0:
		what = "writable"
	}
	return fmt.Sprintf("keys: private key file %q is %s by %s (mode %04o); run: chmod 600 %s",
		e.Path, what, who, uint32(perm), shellQuote(e.Path))
}

// Unwrap returns ErrInsecurePermissions.
func (e *InsecurePermissionsError) Unwrap() error { return ErrInsecurePermissions }

// shellQuote quotes path so that the suggested command can be pasted into a
// POSIX shell as it is.
func shellQuote(path string) string {
	safe := path != ""
	for _, r := range path {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("/._-+,:@=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return `"` + path + `"`
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
