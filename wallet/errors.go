package wallet

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/trust"
)

// Errors returned by the wallet, wrapped with context; test for them with
// errors.Is.
var (
	// ErrNotMyKey reports a credential whose cnf key is not this wallet's
	// device key: it was issued to another device and this wallet could
	// not present it.
	ErrNotMyKey = errors.New("credential is bound to another device key")
	// ErrIssuerSignature reports a credential whose issuer signature does
	// not verify with the issuer keys given to Add, or whose key ID they do
	// not hold. The jws error that caused it is wrapped too.
	ErrIssuerSignature = errors.New("issuer signature does not verify")
	// ErrInvalidCredential reports input or a stored file that is not an
	// issued e-permit credential: malformed, carrying a key-binding JWT,
	// with a disclosure that does not parse or is not referenced, or with a
	// permit number unfit for a file name.
	ErrInvalidCredential = errors.New("invalid credential")
	// ErrSuperseded reports an Add of a credential issued before the one
	// the wallet already holds for the same permit number.
	ErrSuperseded = errors.New("wallet holds a newer credential for this permit")
	// ErrIssuerConflict reports an Add of a credential whose permit number
	// the wallet holds from another issuer: what a phishing issuer sends
	// to take the place of the resident's genuine permit. The wallet never
	// replaces a credential across issuers.
	ErrIssuerConflict = errors.New("the wallet holds this permit number from another issuer")
	// ErrUntrustedIssuer reports an offer from an issuer that the trust
	// list given to Accept does not name, or a trust list that is not
	// valid now.
	ErrUntrustedIssuer = errors.New("issuer not in the wallet's trust list")
	// ErrNoTrustList reports an Accept given neither a trust list
	// (TrustedIssuers) nor the testing override (AnyIssuer).
	ErrNoTrustList = errors.New("the wallet holds no trust list")
	// ErrNotFound reports a permit number the wallet holds no credential
	// for, or an empty wallet.
	ErrNotFound = errors.New("no such credential")
	// ErrAmbiguous reports an empty permit number given to a wallet that
	// holds more than one credential.
	ErrAmbiguous = errors.New("several credentials held: name the permit number")
	// ErrUnknownPurpose reports a purpose the policy does not name.
	ErrUnknownPurpose = errors.New("unknown purpose")
	// ErrPurposeRefused is matched by every *RefusedError.
	ErrPurposeRefused = errors.New("purpose refused")
	// ErrMissingGroup reports a credential without a disclosure that the
	// purpose requires.
	ErrMissingGroup = errors.New("credential lacks a required claim group")
	// ErrInvalidRequest reports a Request that cannot be served: no clock,
	// or a challenge nonce without its audience.
	ErrInvalidRequest = errors.New("invalid presentation request")
)

// RefusedError reports a purpose the policy does not allow a residence
// permit to serve, with the policy's reason. It matches ErrPurposeRefused.
type RefusedError struct {
	Purpose string
	Refusal trust.Text
}

// Error gives the purpose and the reason in English and Chinese.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("wallet: purpose %q refused: %s (%s)", e.Purpose, e.Refusal.EN, e.Refusal.ZH)
}

// Unwrap returns ErrPurposeRefused.
func (e *RefusedError) Unwrap() error { return ErrPurposeRefused }

// InsecureDirError reports a wallet directory whose mode grants any
// permission to group or others. It matches keys.ErrInsecurePermissions, as
// the error for a readable device key file does.
type InsecureDirError struct {
	Path string      // the directory
	Mode fs.FileMode // its permission bits
}

// Error names the directory, its mode and the command that fixes it.
func (e *InsecureDirError) Error() string {
	return fmt.Sprintf("wallet: directory %q is accessible by group and others (mode %#o); run: chmod 700 %q",
		e.Path, uint32(e.Mode.Perm()), e.Path)
}

// Unwrap returns keys.ErrInsecurePermissions.
func (e *InsecureDirError) Unwrap() error { return keys.ErrInsecurePermissions }
