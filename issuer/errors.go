package issuer

import (
	"errors"
	"fmt"
)

// Sentinel errors of the service. A refusal ([*Error]) matches the sentinel
// of its kind with errors.Is.
var (
	// ErrNotFound: no such record (or none the official may see).
	ErrNotFound = errors.New("not found")
	// ErrStateConflict: the state of the record forbids the change.
	ErrStateConflict = errors.New("the record's state forbids this")
	// ErrForbidden: the official's token does not cover the record or the action.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized: an unknown, expired or revoked official's token.
	ErrUnauthorized = errors.New("unknown, expired or revoked token")
	// ErrInvalidGrant: a pre-authorized code, access token or nonce that is
	// unknown, used or expired.
	ErrInvalidGrant = errors.New("invalid, used or expired grant")
	// ErrInvalidRequest: the request itself is wrong (a reason too long, an
	// unknown role); nothing was changed.
	ErrInvalidRequest = errors.New("invalid request")
)

// Kind classifies a refusal.
type Kind int

// Kinds of refusals, each matching one sentinel.
const (
	KindNotFound Kind = iota + 1
	KindConflict
	KindForbidden
	KindUnauthorized
	KindInvalidGrant
	KindInvalidRequest
)

var kindErrs = map[Kind]error{
	KindNotFound: ErrNotFound, KindConflict: ErrStateConflict, KindForbidden: ErrForbidden,
	KindUnauthorized: ErrUnauthorized, KindInvalidGrant: ErrInvalidGrant, KindInvalidRequest: ErrInvalidRequest,
}

// Error is a refusal: the service would not make the change, and changed
// nothing. Code is stable, for clients to match; the texts say why in
// Chinese and English.
type Error struct {
	Kind Kind
	// Code is a stable identifier of the reason, such as "not_pending".
	Code string
	ZH   string
	EN   string
}

func (e *Error) Error() string { return e.Code + ": " + e.EN }

// Refusal marks *Error as a [Refusal] of the storage contract.
func (e *Error) Refusal() {}

// Is matches the sentinel of the error's kind.
func (e *Error) Is(target error) bool { return kindErrs[e.Kind] == target }

func refuse(kind Kind, code, zh, en string, args ...any) *Error {
	if len(args) > 0 {
		en = fmt.Sprintf(en, args...)
		zh = fmt.Sprintf(zh, args...)
	}
	return &Error{Kind: kind, Code: code, ZH: zh, EN: en}
}

func notFound(what, zh string) *Error {
	return refuse(KindNotFound, "not_found", "未找到"+zh, what+" not found")
}

func conflict(code, zh, en string, args ...any) *Error {
	return refuse(KindConflict, code, zh, en, args...)
}

func invalid(code, zh, en string, args ...any) *Error {
	return refuse(KindInvalidRequest, code, zh, en, args...)
}

var errInvalidGrant = refuse(KindInvalidGrant, "invalid_grant", "凭证无效、已使用或已过期", "the code or token is unknown, used or expired")

// errRetry is returned by a transaction function that met a concurrent
// change it can work around (a status index another replica took): the
// caller tries again.
type errRetry struct{ why string }

func (e *errRetry) Error() string { return "retry: " + e.why }
func (e *errRetry) Refusal()      {}

// clip shortens untrusted identifiers quoted in errors.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
