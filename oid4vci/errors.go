package oid4vci

import (
	"encoding/json"
	"errors"
	"strings"
)

// OAuth and OpenID4VCI error codes carried by Error.
const (
	CodeInvalidRequest                 = "invalid_request"
	CodeInvalidGrant                   = "invalid_grant"
	CodeUnsupportedGrantType           = "unsupported_grant_type"
	CodeInvalidToken                   = "invalid_token"
	CodeInvalidProof                   = "invalid_proof"
	CodeInvalidNonce                   = "invalid_nonce"
	CodeInvalidCredentialRequest       = "invalid_credential_request"
	CodeUnknownCredentialConfiguration = "unknown_credential_configuration"
	CodeUnknownCredentialIdentifier    = "unknown_credential_identifier"
	CodeInvalidEncryptionParameters    = "invalid_encryption_parameters"

	// The codes of OpenID4VCI draft 13 (section 7.3.1.2) that 1.0 replaced
	// with unknown_credential_configuration; a draft-13 request gets them.
	CodeUnsupportedCredentialFormat = "unsupported_credential_format"
	CodeUnsupportedCredentialType   = "unsupported_credential_type"
)

// Error is a protocol error: the OAuth error code an endpoint returns and a
// description for developers. Its JSON form is the error response body
// {"error":...,"error_description":...}.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// CNonce and CNonceExpiresIn hand a fresh nonce to a draft-13 wallet
	// whose proof was refused (draft 13, section 7.3.2); empty otherwise.
	CNonce          string `json:"c_nonce,omitempty"`
	CNonceExpiresIn int    `json:"c_nonce_expires_in,omitempty"`
	err             error  // the underlying cause, if any
}

// Error returns "oid4vci: code: description", with the characters the
// specification does not allow in either replaced as in MarshalJSON: an
// error received from a server may be printed on a terminal.
func (e *Error) Error() string {
	if e.Description == "" {
		return "oid4vci: " + asciiDescription(e.Code)
	}
	return "oid4vci: " + asciiDescription(e.Code) + ": " + asciiDescription(e.Description)
}

// Unwrap returns the underlying cause, such as a jws error, or nil.
func (e *Error) Unwrap() error { return e.err }

// MarshalJSON encodes the error response body. Characters the
// specification does not allow in error_description (outside %x20-21,
// %x23-5B, %x5D-7E: non-ASCII, controls, '"' and '\') are replaced by '?'
// or, for quotes, by an apostrophe.
func (e *Error) MarshalJSON() ([]byte, error) {
	type wire Error
	w := wire(*e)
	w.Description = asciiDescription(e.Description)
	return json.Marshal(w)
}

func asciiDescription(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, s)
}

func newError(code, desc string, cause error) *Error {
	return &Error{Code: code, Description: desc, err: cause}
}

// CodeOf returns the OAuth error code of err if it is or wraps an *Error,
// and "" otherwise.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	const limit = 48
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
