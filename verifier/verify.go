// Package verifier checks a scanned e-permit presentation fully offline:
// the issuer's signature against cached trust data, the disclosures, the
// holder's key binding and its freshness, the permit's validity dates and
// endorsement, its revocation status from a cached status list, and the
// purpose it is shown for. It does no network I/O.
//
// The same Verify serves the command-line tool, the issuer service, the
// browser app (compiled to WebAssembly) and the tests.
package verifier

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

// MaxInput is the longest presentation Verify reads, in bytes.
const MaxInput = 16 << 10

// Options say what to verify against.
type Options struct {
	// Trust is the trust data. Required.
	Trust *Trust
	// Purpose is what the permit is shown for; "" means
	// trust.DefaultPurpose.
	Purpose string
	// Audience is this verifier's identifier. With Nonce set it is the
	// challenge's audience and must match exactly; without, presentations
	// addressed to it or to credential.AnyAudience are accepted.
	Audience string
	// Nonce is the challenge this verifier gave, if any.
	Nonce string
	// Now is the verifier's clock. Required.
	Now time.Time
	// Replay, when set, refuses a presentation whose nonce was already
	// seen within its freshness window, and records this one.
	Replay *ReplayCache
	// Freshness and ClockSkew override the policy's when positive.
	Freshness, ClockSkew time.Duration
}

// Issuer names the authority that issued a verified permit.
type Issuer struct {
	ID     string `json:"iss"`
	NameZH string `json:"name_zh,omitempty"`
	NameEN string `json:"name_en,omitempty"`
}

// Result is the outcome of one verification.
type Result struct {
	// Valid is true when there is no reason to refuse.
	Valid bool `json:"valid"`
	// Purpose is the purpose checked.
	Purpose string `json:"purpose"`
	// Reasons are every refusal found; Warnings never refuse.
	Reasons  []Reason `json:"reasons"`
	Warnings []Reason `json:"warnings"`
	// Claims are the permit's verified claims, nil when the issuer
	// signature did not verify.
	Claims *credential.Claims `json:"-"`
	Issuer Issuer             `json:"issuer"`
	// Status is "valid", "revoked", "suspended" or "unknown".
	Status string `json:"status"`
	// HolderBound reports a valid key-binding JWT by the holder's key.
	HolderBound bool `json:"holder_bound"`
	// Fresh reports that the key-binding JWT is within the freshness
	// window and not replayed: a live code, not a screenshot.
	Fresh bool `json:"fresh"`
	// TrustAge is the age of the trust data; StatusAge that of the status
	// list consulted (zero when none was).
	TrustAge  time.Duration `json:"-"`
	StatusAge time.Duration `json:"-"`
}

func (r *Result) refuse(c Code, format string, args ...any) {
	r.Reasons = append(r.Reasons, reason(c, fmt.Sprintf(format, args...)))
}

func (r *Result) warn(c Code, format string, args ...any) {
	r.Warnings = append(r.Warnings, reason(c, fmt.Sprintf(format, args...)))
}

// Has reports whether the result carries reason or warning c.
func (r *Result) Has(c Code) bool {
	for _, x := range r.Reasons {
		if x.Code == c {
			return true
		}
	}
	for _, x := range r.Warnings {
		if x.Code == c {
			return true
		}
	}
	return false
}

// Verify checks one scanned presentation. It never panics and reports every
// problem it finds as a Reason; Result.Valid is true only when there is none.
func Verify(text string, o Options) *Result {
	r := &Result{Purpose: o.Purpose, Status: "unknown", Reasons: []Reason{}, Warnings: []Reason{}}
	if r.Purpose == "" {
		r.Purpose = trust.DefaultPurpose
	}
	defer func() {
		if v := recover(); v != nil { // a bug, never an accepted input
			r.refuse(CodeMalformed, "internal error: %v", v)
		}
		r.Valid = len(r.Reasons) == 0
	}()
	if o.Trust == nil || o.Trust.store == nil {
		r.refuse(CodeTrustMissing, "")
		return r
	}
	policy := o.Trust.store.Policy()
	freshness, skew := policy.Freshness.Duration(), policy.ClockSkew.Duration()
	if o.Freshness > 0 {
		freshness = o.Freshness
	}
	if o.ClockSkew > 0 {
		skew = o.ClockSkew
	}

	// The purpose and the trust data are judged first: they decide what
	// the presentation must show, whatever it is.
	purpose, ok := policy.Purpose(r.Purpose)
	if !ok {
		r.refuse(CodePurposeUnknown, "%q", r.Purpose)
	} else if !purpose.Allowed {
		r.Reasons = append(r.Reasons, Reason{Code: CodePurposeRefused, Message: purpose.Refusal.EN, MessageZH: purpose.Refusal.ZH, Detail: r.Purpose})
	}
	checkTrustAge(r, o.Trust, policy, o.Now, skew)

	if len(text) > MaxInput {
		r.refuse(CodeTooLarge, "%d bytes, at most %d", len(text), MaxInput)
		return r
	}
	text = strings.TrimSpace(text)
	p, err := sdjwt.Split(text)
	if err != nil {
		r.refuse(CodeMalformed, "%v", err)
		return r
	}

	// Issuer signature. The typ of SD-JWT VC drafts before -06 is
	// accepted too (docs/credential-format.md).
	var keyIssuer *trust.Issuer
	tok, err := jws.Verify(p.IssuerJWT, sdjwt.TypeVC, func(h jws.Header) (ed25519.PublicKey, error) {
		pub, is, ok := o.Trust.store.Key(h.Kid)
		if !ok {
			return nil, fmt.Errorf("%w: kid %q", jws.ErrUnknownKey, h.Kid)
		}
		keyIssuer = is
		return pub, nil
	}, sdjwt.TypeVCLegacy)
	if err != nil {
		r.refuse(jwsCode(err), "%v", err)
		return r
	}
	payload, err := credential.ParsePayload(tok.Payload)
	if err != nil {
		r.refuse(payloadCode(err), "%v", err)
		return r
	}
	if keyIssuer.ID != "" && keyIssuer.ID != payload.Issuer() {
		r.refuse(CodeUnknownIssuer, "iss %q signed with a key of %q", payload.Issuer(), keyIssuer.ID)
		return r
	}
	r.Issuer = Issuer{ID: payload.Issuer(), NameZH: keyIssuer.Name.ZH, NameEN: keyIssuer.Name.EN}

	// Disclosures.
	claims, err := payload.Disclose(p.Disclosures)
	if err != nil {
		r.refuse(disclosureCode(err), "%v", err)
		return r
	}
	r.Claims = claims

	// Holder binding and freshness.
	checkHolderBinding(r, p, payload.Holder(), purpose, o, freshness, skew)

	// Validity dates: exp is the day the yearly endorsement is due.
	if claims.IssuedAt.After(o.Now.Add(skew)) {
		r.refuse(CodeNotYetValid, "issued %s", claims.IssuedAt.UTC().Format(time.RFC3339))
	}
	if claims.NotBefore.After(o.Now.Add(skew)) {
		r.refuse(CodeNotYetValid, "not before (nbf) %s", claims.NotBefore.UTC().Format(time.RFC3339))
	}
	if !o.Now.Before(claims.Expires) {
		r.refuse(CodeEndorsementOverdue, "endorsement was due %s", claims.Expires.UTC().Format(time.DateOnly))
	}

	checkStatus(r, o.Trust, claims, policy, o.Now, skew)

	// What the purpose needs disclosed.
	if purpose != nil {
		disclosed := claims.Disclosed()
		var missing []string
		for _, g := range purpose.Required {
			if !slices.Contains(disclosed, g) {
				missing = append(missing, g)
			}
		}
		if len(missing) > 0 {
			r.refuse(CodeNotDisclosed, "%s needs %s", purpose.ID, strings.Join(missing, ", "))
		}
	}
	return r
}

func checkTrustAge(r *Result, t *Trust, policy *trust.Policy, now time.Time, skew time.Duration) {
	l := t.store.List()
	if l == nil {
		return // a JWKS has no dates
	}
	r.TrustAge = now.Sub(l.IssuedAt)
	if now.Add(skew).Before(l.IssuedAt) {
		r.warn(CodeClockBehind, "trust list issued %s, clock says %s", l.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	err := l.ValidAt(now, skew)
	switch {
	case errors.Is(err, trust.ErrNotYetValid):
		r.refuse(CodeTrustNotYetValid, "%v", err)
	case errors.Is(err, trust.ErrExpired):
		r.refuse(CodeTrustExpired, "%v", err)
	case now.After(l.ExpiresAt):
		r.warn(CodeTrustGrace, "expired %s; refused after %s", l.ExpiresAt.UTC().Format(time.RFC3339), l.ExpiresAt.Add(policy.ExpiryGrace.Duration()).UTC().Format(time.RFC3339))
	case r.TrustAge > policy.TrustMaxAge.Duration():
		r.warn(CodeTrustOld, "trust list is %s old", r.TrustAge.Round(time.Minute))
	}
}

func checkHolderBinding(r *Result, p sdjwt.Presentation, holder crypto.PublicKey, purpose *trust.Purpose, o Options, freshness, skew time.Duration) {
	needed := purpose == nil || purpose.HolderBinding
	if p.KeyBinding == "" {
		if needed {
			r.refuse(CodeHolderBindingMiss, "purpose %s needs a live code from the holder's wallet", r.Purpose)
		} else {
			r.warn(CodeNotHolderBound, "")
		}
		return
	}
	kb, err := sdjwt.VerifyKeyBinding(p, holder)
	switch {
	case errors.Is(err, sdjwt.ErrSDHash):
		r.refuse(CodeSDHash, "")
		return
	case errors.Is(err, jws.ErrSignature):
		r.refuse(CodeHolderBindingKey, "")
		return
	case err != nil:
		r.refuse(CodeHolderBindingKey, "%v", err)
		return
	}
	bound := true
	if o.Nonce != "" {
		if kb.Nonce != o.Nonce {
			r.refuse(CodeNonce, "")
			bound = false
		}
		if kb.Audience != o.Audience {
			r.refuse(CodeAudience, "for %q", kb.Audience)
			bound = false
		}
	} else if kb.Audience != credential.AnyAudience && (o.Audience == "" || kb.Audience != o.Audience) {
		r.refuse(CodeAudience, "for %q", kb.Audience)
		bound = false
	}
	r.HolderBound = bound
	iat := time.Unix(kb.IssuedAt, 0)
	switch {
	case iat.After(o.Now.Add(skew)):
		r.refuse(CodeFuture, "made %s, clock says %s", iat.UTC().Format(time.RFC3339), o.Now.UTC().Format(time.RFC3339))
		return
	case o.Now.Sub(iat) > freshness+skew:
		r.refuse(CodeStale, "made %s ago, window %s", o.Now.Sub(iat).Round(time.Second), freshness)
		return
	case kb.NotBefore != 0 && time.Unix(kb.NotBefore, 0).After(o.Now.Add(skew)):
		r.refuse(CodeFuture, "not before (nbf) %s, clock says %s", time.Unix(kb.NotBefore, 0).UTC().Format(time.RFC3339), o.Now.UTC().Format(time.RFC3339))
		return
	case kb.Expires != 0 && !o.Now.Add(-skew).Before(time.Unix(kb.Expires, 0)):
		r.refuse(CodeStale, "expired (exp) %s", time.Unix(kb.Expires, 0).UTC().Format(time.RFC3339))
		return
	}
	if o.Replay != nil && bound {
		if o.Replay.Check(kb.Nonce, o.Now, iat.Add(freshness+2*skew)) {
			r.refuse(CodeReplay, "")
			return
		}
	}
	r.Fresh = bound
}

func checkStatus(r *Result, t *Trust, c *credential.Claims, policy *trust.Policy, now time.Time, skew time.Duration) {
	missing := func(code Code, format string, args ...any) {
		if policy.StatusRequired {
			r.refuse(code, format, args...)
		} else {
			r.warn(code, format, args...)
		}
	}
	e, ok := t.status[c.Status.URI]
	if !ok {
		missing(CodeStatusMissing, "%s", c.Status.URI)
		return
	}
	if e.issuer != "" && e.issuer != c.Issuer {
		missing(CodeStatusMissing, "status list %s belongs to %s", c.Status.URI, e.issuer)
		return
	}
	r.StatusAge = now.Sub(e.fetched)
	if err := e.tok.ValidAt(now, skew); errors.Is(err, statuslist.ErrNotYetValid) {
		missing(CodeStatusNotYetValid, "%v", err)
	} else if err != nil {
		missing(CodeStatusStale, "%v", err)
	} else if r.StatusAge > policy.StatusMaxAge.Duration() {
		missing(CodeStatusStale, "synced %s ago", r.StatusAge.Round(time.Minute))
	}
	s, err := e.tok.Lookup(c.Status)
	if err != nil {
		r.refuse(CodeStatusIndex, "index %d, list of %d", c.Status.Idx, e.tok.List.Size())
		return
	}
	switch s {
	case statuslist.Valid:
		r.Status = "valid"
	case statuslist.Invalid:
		r.Status = "revoked"
		r.refuse(CodeRevoked, "")
	case statuslist.Suspended:
		r.Status = "suspended"
		r.refuse(CodeSuspended, "")
	case statuslist.Superseded:
		r.Status = "superseded"
		r.refuse(CodeSuperseded, "")
	default:
		r.Status = "revoked"
		r.refuse(CodeRevoked, "status value %d", s)
	}
}

func jwsCode(err error) Code {
	switch {
	case errors.Is(err, jws.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, jws.ErrAlgorithm):
		return CodeAlgorithm
	case errors.Is(err, jws.ErrType):
		return CodeType
	case errors.Is(err, jws.ErrCritical):
		return CodeCritical
	case errors.Is(err, jws.ErrUnknownKey):
		return CodeUnknownKey
	case errors.Is(err, jws.ErrSignature):
		return CodeSignature
	}
	return CodeMalformed
}

// payloadCode classifies a verified payload that is not a usable permit.
func payloadCode(err error) Code {
	switch {
	case errors.Is(err, keys.ErrSmallOrderKey):
		return CodeHolderKeyWeak
	case errors.Is(err, credential.ErrHolderKey):
		return CodeHolderKeyInvalid
	}
	return CodeNotPermit
}

func disclosureCode(err error) Code {
	switch {
	case errors.Is(err, sdjwt.ErrDigestNotFound):
		return CodeDisclosureUnknown
	case errors.Is(err, sdjwt.ErrDuplicateDisclosure), errors.Is(err, sdjwt.ErrDuplicateDigest):
		return CodeDisclosureTwice
	}
	return CodeDisclosure
}
