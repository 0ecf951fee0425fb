package wallet

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

// ListStatus is what a credential's entry in its issuer's status list says,
// as the wallet shows it to the resident.
type ListStatus string

// The statuses of a credential. Revoked and superseded are final: every
// verifier refuses the credential from then on, and the wallet makes no
// more codes of it (see [Status.LiveCode]).
const (
	// StatusUnknown: the wallet has not read the credential's status list
	// (it has not been online since it got the credential, or holds no
	// trust list to check one with).
	StatusUnknown ListStatus = "unknown"
	// StatusValid: neither revoked, suspended nor superseded when the list
	// was issued.
	StatusValid ListStatus = "valid"
	// StatusRevoked: the issuing authority revoked the permit.
	StatusRevoked ListStatus = "revoked"
	// StatusSuspended: the issuing authority suspended the permit; it may
	// reinstate it.
	StatusSuspended ListStatus = "suspended"
	// StatusSuperseded: a newer credential of the same permit was issued,
	// to another phone (a re-issue) or after an endorsement.
	StatusSuperseded ListStatus = "superseded"
)

// statusOf names a status list value. A value e-permit does not define
// counts as revoked, as verifiers count it.
func statusOf(v statuslist.Status) ListStatus {
	switch v {
	case statuslist.Valid:
		return StatusValid
	case statuslist.Suspended:
		return StatusSuspended
	case statuslist.Superseded:
		return StatusSuperseded
	}
	return StatusRevoked
}

// ReadStatus reads what a Status List Token records for the credential of
// e: it verifies the token with the keys the trust list gives e's issuer,
// checks that it is the list e.Status names, and returns the entry's
// status with the verified token.
//
// The token's dates and the trust list's validity period are not judged:
// the wallet shows the resident what the issuer said and when (the token's
// IssuedAt), it does not decide anything on it; verifiers judge the
// freshness of their own copies. An issuer the trust list does not name
// gives ErrUntrustedIssuer, a nil list ErrNoTrustList.
func ReadStatus(e Entry, token string, list *trust.List) (ListStatus, *statuslist.VerifiedToken, error) {
	if list == nil {
		return StatusUnknown, nil, fmt.Errorf("wallet: status: %w", ErrNoTrustList)
	}
	var is *trust.Issuer
	for i := range list.Issuers {
		if list.Issuers[i].ID == e.Issuer {
			is = &list.Issuers[i]
		}
	}
	if is == nil {
		return StatusUnknown, nil, fmt.Errorf("wallet: status: %w: %q is not named in the trust list (version %d)", ErrUntrustedIssuer, e.Issuer, list.Version)
	}
	vt, err := statuslist.VerifyToken(strings.TrimSpace(token), func(h jws.Header) (ed25519.PublicKey, error) {
		pub, ok := is.JWKS.Lookup(h.Kid)
		if !ok {
			return nil, fmt.Errorf("%w: kid %q is not a key of %q", jws.ErrUnknownKey, h.Kid, e.Issuer)
		}
		return pub, nil
	}, verifier.MaxStatusEntries)
	if err != nil {
		return StatusUnknown, nil, fmt.Errorf("wallet: status of %q: %w", e.PermitNo, err)
	}
	v, err := vt.Lookup(e.Status)
	if err != nil {
		return StatusUnknown, nil, fmt.Errorf("wallet: status of %q: %w", e.PermitNo, err)
	}
	return statusOf(v), vt, nil
}

// Status is what the wallet knows of a credential's standing: its status
// list entry as it last read it, and (through Entry) its yearly
// endorsement.
type Status struct {
	Entry
	// List is what the status list said when the wallet last read it.
	List ListStatus
	// ListIssued is when the issuer issued the status list the wallet
	// read (its iat); zero when none.
	ListIssued time.Time
	// Checked is when the wallet last fetched the status list or had the
	// issuer confirm that it had not changed, by the wallet's clock; zero
	// when never. Offline, it is the time the wallet has been offline
	// since, as far as this credential is concerned.
	Checked time.Time
	// Err is why the latest check could not read the status list (the
	// network, a list that did not verify), nil when it did or when there
	// was no check. List, ListIssued and Checked then still say what the
	// wallet knew before.
	Err error
}

// LiveCode reports whether the wallet should make codes of the credential:
// not when it is revoked or superseded. Both are final, so a status list
// read any time ago cannot be wrong about them, and every verifier refuses
// such a code.
//
// A suspended credential, or one overdue for its endorsement, still gets
// its code, shown with the warning that verifiers refuse it: a suspension
// is temporary and the wallet's copy of the list may predate a
// reinstatement (an offline phone must not lock its holder out), the
// verifier checks the status itself and refuses a suspended permit with
// that reason, so the code grants nothing, and the counter that lifts a
// suspension or takes a late endorsement finds the permit by scanning it.
func (s Status) LiveCode() bool {
	return s.List != StatusRevoked && s.List != StatusSuperseded
}

// Refreshable reports whether asking the issuer for the credential again
// (Wallet.Refresh) may give a newer one at now: the endorsement window is
// open or has passed (the permit may have been endorsed since), or a newer
// credential exists (it may be bound to this device key, or the issuer
// says whose it is). Never for a revoked credential.
func (s Status) Refreshable(now time.Time) bool {
	if s.List == StatusRevoked {
		return false
	}
	return s.List == StatusSuperseded || s.InWindow(now) || s.Overdue(now)
}

// StatusError reports a credential the wallet will not present because of
// its status: revoked or superseded (see Status.LiveCode). It matches
// ErrNoLiveCode.
type StatusError struct {
	PermitNo string
	Status   ListStatus
	// Checked is when the wallet learnt it.
	Checked time.Time
}

// Error names the permit, the status and when the wallet learnt it.
func (e *StatusError) Error() string {
	return fmt.Sprintf("wallet: permit %q is %s (status checked %s): no code is made of it",
		e.PermitNo, e.Status, e.Checked.In(permit.ChinaTime()).Format(time.RFC3339))
}

// Unwrap returns ErrNoLiveCode.
func (e *StatusError) Unwrap() error { return ErrNoLiveCode }
