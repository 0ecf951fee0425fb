package statuslist

import (
	"compress/zlib"
	"crypto"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/epermit/epermit/internal/jws"
)

// TokenType is the JOSE typ header of a Status List Token in JWT form.
const TokenType = "statuslist+jwt"

// ContentType is the media type of a Status List Token in JWT form, for the
// Content-Type of the HTTP response that serves it.
const ContentType = "application/statuslist+jwt"

// Errors about the claims of a Status List Token or a status reference,
// wrapped with context.
var (
	// ErrInvalidClaims reports a Status List Token whose claims are missing,
	// of the wrong type or inconsistent, on signing or after verification.
	ErrInvalidClaims = errors.New("invalid status list token claims")
	// ErrExpired reports a Status List Token past its exp.
	ErrExpired = errors.New("status list token expired")
	// ErrNotYetValid reports a Status List Token whose iat or nbf is in the
	// future.
	ErrNotYetValid = errors.New("status list token not yet valid")
	// ErrInvalidReference reports a status claim without a usable uri or idx.
	ErrInvalidReference = errors.New("invalid status reference")
	// ErrURIMismatch reports a status reference whose uri is not the sub of
	// the Status List Token it is looked up in.
	ErrURIMismatch = errors.New("status reference uri does not match status list token sub")
)

// TokenClaims is the content of a Status List Token to sign.
type TokenClaims struct {
	// Sub is the URI the token is served at; referenced tokens name it in
	// their status claim. Required.
	Sub string
	// IssuedAt is when the token was issued. Required; kept to the second.
	IssuedAt time.Time
	// ExpiresAt is when the token stops being valid; zero for none.
	ExpiresAt time.Time
	// NotBefore is the token's nbf; zero for none.
	NotBefore time.Time
	// TTL is how long a consumer may cache the token before fetching a
	// fresh copy; zero for none, otherwise a positive whole number of
	// seconds.
	TTL time.Duration
	// List is the status list. Required.
	List *List
	// Fast compresses the list at zlib's default level instead of its best:
	// 13 ms instead of 212 ms for 2^20 two-bit entries, for a few per cent
	// more bytes (docs/performance.md), the better trade for a list that is
	// re-signed whenever it changes.
	Fast bool
}

// VerifiedToken is a Status List Token whose signature, type and claims
// have been checked by [VerifyToken]. Its times are not checked: call
// [VerifiedToken.ValidAt] before trusting it.
type VerifiedToken struct {
	// Kid is the key id from the token's header.
	Kid string
	// Sub is the URI of the status list.
	Sub string
	// IssuedAt is the token's iat.
	IssuedAt time.Time
	// ExpiresAt is the token's exp, zero when absent.
	ExpiresAt time.Time
	// NotBefore is the token's nbf, zero when absent.
	NotBefore time.Time
	// TTL is the token's ttl, zero when absent.
	TTL time.Duration
	// List is the decoded status list.
	List *List
}

// tokenPayload is the JWT claims set of a Status List Token. Pointers tell
// an absent claim from a zero one.
type tokenPayload struct {
	Sub        string       `json:"sub"`
	Iat        *int64       `json:"iat"`
	Nbf        *int64       `json:"nbf,omitempty"`
	Exp        *int64       `json:"exp,omitempty"`
	TTL        *int64       `json:"ttl,omitempty"`
	StatusList *EncodedList `json:"status_list"`
}

// maxTTLSeconds keeps a ttl in seconds representable as a time.Duration.
const maxTTLSeconds = math.MaxInt64 / int64(time.Second)

// SignToken returns a Status List Token (typ statuslist+jwt) for t, signed
// by s, which must hold an Ed25519 key, under key id kid. The list is
// compressed at the best zlib level, or the default one with Fast.
func SignToken(s crypto.Signer, kid string, t TokenClaims) (string, error) {
	if t.Sub == "" {
		return "", fmt.Errorf("statuslist: sign token: empty sub: %w", ErrInvalidClaims)
	}
	if t.IssuedAt.IsZero() || t.IssuedAt.Unix() <= 0 {
		return "", fmt.Errorf("statuslist: sign token: missing or non-positive iat: %w", ErrInvalidClaims)
	}
	if t.List == nil {
		return "", fmt.Errorf("statuslist: sign token: nil list: %w", ErrInvalidClaims)
	}
	iat := t.IssuedAt.Unix()
	p := tokenPayload{Sub: t.Sub, Iat: &iat}
	if !t.ExpiresAt.IsZero() {
		exp := t.ExpiresAt.Unix()
		if exp <= iat {
			return "", fmt.Errorf("statuslist: sign token: exp %d not after iat %d: %w", exp, iat, ErrInvalidClaims)
		}
		p.Exp = &exp
	}
	if !t.NotBefore.IsZero() {
		nbf := t.NotBefore.Unix()
		p.Nbf = &nbf
	}
	if t.TTL != 0 {
		if t.TTL < time.Second || t.TTL%time.Second != 0 {
			return "", fmt.Errorf("statuslist: sign token: ttl %s is not a positive whole number of seconds: %w", t.TTL, ErrInvalidClaims)
		}
		ttl := int64(t.TTL / time.Second)
		p.TTL = &ttl
	}
	level := zlib.BestCompression
	if t.Fast {
		level = zlib.DefaultCompression
	}
	enc, err := t.List.EncodeLevel(level)
	if err != nil {
		return "", fmt.Errorf("statuslist: sign token: %w", err)
	}
	p.StatusList = &enc
	payload, err := jws.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("statuslist: sign token: %w", err)
	}
	tok, err := jws.Sign(s, jws.Header{Typ: TokenType, Kid: kid}, payload)
	if err != nil {
		return "", fmt.Errorf("statuslist: sign token: %w", err)
	}
	return tok, nil
}

// VerifyToken checks a Status List Token: its signature by the key keyFor
// returns, its typ (statuslist+jwt), its claims (sub, iat, optional exp after
// iat, optional positive ttl, status_list) decoded strictly, and its list
// decoded with [Decode] under the bound maxEntries. It does not compare
// times with the clock: call [VerifiedToken.ValidAt] on the result.
//
// Errors from signature checking wrap the errors of package jws; errors from
// the claims wrap [ErrInvalidClaims] or the errors of [Decode].
func VerifyToken(token string, keyFor jws.KeyFunc, maxEntries int) (*VerifiedToken, error) {
	vt, err := jws.Verify(token, TokenType, keyFor)
	if err != nil {
		return nil, fmt.Errorf("statuslist: verify token: %w", err)
	}
	var p tokenPayload
	if err := jws.DecodeStrict(vt.Payload, &p); err != nil {
		return nil, fmt.Errorf("statuslist: verify token: claims: %w: %w", ErrInvalidClaims, err)
	}
	if p.Sub == "" {
		return nil, fmt.Errorf("statuslist: verify token: missing sub: %w", ErrInvalidClaims)
	}
	if p.Iat == nil || *p.Iat <= 0 {
		return nil, fmt.Errorf("statuslist: verify token: missing or non-positive iat: %w", ErrInvalidClaims)
	}
	out := &VerifiedToken{Kid: vt.Header.Kid, Sub: p.Sub, IssuedAt: time.Unix(*p.Iat, 0).UTC()}
	if p.Exp != nil {
		if *p.Exp <= *p.Iat {
			return nil, fmt.Errorf("statuslist: verify token: exp %d not after iat %d: %w", *p.Exp, *p.Iat, ErrInvalidClaims)
		}
		out.ExpiresAt = time.Unix(*p.Exp, 0).UTC()
	}
	if p.Nbf != nil {
		out.NotBefore = time.Unix(*p.Nbf, 0).UTC()
	}
	if p.TTL != nil {
		if *p.TTL <= 0 || *p.TTL > maxTTLSeconds {
			return nil, fmt.Errorf("statuslist: verify token: ttl %d out of range: %w", *p.TTL, ErrInvalidClaims)
		}
		out.TTL = time.Duration(*p.TTL) * time.Second
	}
	if p.StatusList == nil {
		return nil, fmt.Errorf("statuslist: verify token: missing status_list: %w", ErrInvalidClaims)
	}
	l, err := Decode(*p.StatusList, maxEntries)
	if err != nil {
		return nil, fmt.Errorf("statuslist: verify token %q: %w", p.Sub, err)
	}
	out.List = l
	return out, nil
}

// ValidAt reports whether v may be used at time now, allowing skew for
// clock differences: it returns an error wrapping [ErrNotYetValid] when iat
// or nbf (RFC 7519 section 4.1.5) is more than skew after now, and
// [ErrExpired] when now is at or more than skew past exp.
func (v *VerifiedToken) ValidAt(now time.Time, skew time.Duration) error {
	if v.IssuedAt.After(now.Add(skew)) {
		return fmt.Errorf("statuslist: token %q issued at %s, now %s: %w", v.Sub, v.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrNotYetValid)
	}
	if v.NotBefore.After(now.Add(skew)) {
		return fmt.Errorf("statuslist: token %q not valid before %s, now %s: %w", v.Sub, v.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrNotYetValid)
	}
	if !v.ExpiresAt.IsZero() && !now.Add(-skew).Before(v.ExpiresAt) {
		return fmt.Errorf("statuslist: token %q expired at %s, now %s: %w", v.Sub, v.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrExpired)
	}
	return nil
}

// Lookup returns the status that v records for the referenced token
// carrying ref. It refuses a reference whose uri is not v's sub, so that a
// status list fetched for one reference is never read for another, and an
// idx beyond the list.
func (v *VerifiedToken) Lookup(ref Reference) (Status, error) {
	if err := ref.Validate(); err != nil {
		return 0, err
	}
	if ref.URI != v.Sub {
		return 0, fmt.Errorf("statuslist: lookup %q in %q: %w", ref.URI, v.Sub, ErrURIMismatch)
	}
	s, err := v.List.Get(ref.Idx)
	if err != nil {
		return 0, fmt.Errorf("statuslist: lookup in %q: %w", v.Sub, err)
	}
	return s, nil
}

// StatusClaim is the status claim of a referenced token (a permit): its
// status_list member points at one entry of a Status List Token.
type StatusClaim struct {
	StatusList *Reference `json:"status_list"`
}

// Reference is the status_list member of a status claim: the index of the
// referenced token in the list and the URI of the Status List Token.
type Reference struct {
	Idx int    `json:"idx"`
	URI string `json:"uri"`
}

// Validate reports whether r names a list (non-empty uri) and a
// non-negative index.
func (r Reference) Validate() error {
	if r.URI == "" {
		return fmt.Errorf("statuslist: reference without uri: %w", ErrInvalidReference)
	}
	if r.Idx < 0 {
		return fmt.Errorf("statuslist: reference with index %d: %w", r.Idx, ErrInvalidReference)
	}
	return nil
}

// Validate reports whether c holds a valid status_list reference.
func (c StatusClaim) Validate() error {
	if c.StatusList == nil {
		return fmt.Errorf("statuslist: status claim without status_list: %w", ErrInvalidReference)
	}
	return c.StatusList.Validate()
}
