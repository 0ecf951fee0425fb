package store

import (
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
)

// Role is what an official's API token allows.
type Role string

// The roles of officials. An administrator may do everything the others may.
const (
	// RoleOfficer approves and rejects applications and endorses permits.
	RoleOfficer Role = "officer"
	// RoleRevoker revokes, suspends and reinstates permits.
	RoleRevoker Role = "revoker"
	// RoleAuditor reads permit records and the audit log.
	RoleAuditor Role = "auditor"
	// RoleAdmin creates tokens, takes backups and may act in every other role.
	RoleAdmin Role = "admin"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOfficer, RoleRevoker, RoleAuditor, RoleAdmin:
		return true
	}
	return false
}

// Allows reports whether a token of role r may act in role want.
func (r Role) Allows(want Role) bool { return r == want || r == RoleAdmin }

// APIToken is an official's bearer token as stored: only the SHA-256 of its
// secret is kept, as the key of its record.
type APIToken struct {
	// ID is a short public identifier of the token, safe to log.
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Authority limits the token to the applications and permits of one
	// issuing authority (its slug); "" means every authority hosted, as for
	// a provincial official.
	Authority string    `json:"authority,omitempty"`
	Created   time.Time `json:"created"`
}

// Covers reports whether the token may act on records of the authority.
func (t APIToken) Covers(authority string) bool { return t.Authority == "" || t.Authority == authority }

// Actor is who performs a write, as the audit log records it.
type Actor struct {
	Name string
	Role Role
}

// AppState is where an application stands.
type AppState string

// The states of an application.
const (
	// AppPending: eligible on submission, waiting for an officer.
	AppPending AppState = "pending"
	// AppIneligible: refused on submission; the decision lists every unmet condition.
	AppIneligible AppState = "ineligible"
	// AppApproved: a permit was issued; PermitNo names it.
	AppApproved AppState = "approved"
	// AppRejected: an officer refused it, with reasons.
	AppRejected AppState = "rejected"
)

// Application is a resident's application as stored.
type Application struct {
	ID        string   `json:"id"`
	Authority string   `json:"authority"`
	State     AppState `json:"state"`
	// SecretHash is the hex SHA-256 of the secret the applicant received, which lets them read the record.
	SecretHash string `json:"secret_hash"`
	// Form is the application itself. It is kept while the application is pending and dropped once decided.
	Form *permit.Application `json:"form,omitempty"`
	// MaskedID is the applicant's masked citizen identity number, for display and audit.
	MaskedID string `json:"masked_id"`
	// City is the four-digit city code of the residence division.
	City          string          `json:"city"`
	Decision      permit.Decision `json:"decision"`
	RejectReasons []string        `json:"reject_reasons,omitempty"`
	PermitNo      string          `json:"permit_no,omitempty"`
	// PhotoType is the media type of the stored photo, "" when none was sent.
	PhotoType string    `json:"photo_type,omitempty"`
	Submitted time.Time `json:"submitted"`
	Updated   time.Time `json:"updated"`
}

// PermitState is the administrative state of a permit, mirrored in its
// status list entry. Endorsement (expiry) is separate: see [permit.Permit.State].
type PermitState string

// The administrative states of a permit.
const (
	PermitActive    PermitState = "active"
	PermitSuspended PermitState = "suspended"
	PermitRevoked   PermitState = "revoked"
)

// Event is one entry of a permit's history.
type Event struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
}

// Permit is a permit record: the permit, its administrative state, its
// status list entry, the holder key its credentials are bound to, and its
// history.
type Permit struct {
	Permit permit.Permit `json:"permit"`
	// Authority is the short name of the issuing authority that holds it.
	Authority string      `json:"authority_id"`
	State     PermitState `json:"state"`
	// List and Idx locate its entry in a status list.
	List        string `json:"status_list"`
	Idx         int    `json:"status_idx"`
	Application string `json:"application"`
	// Holder is the wallet key its credentials are bound to, set when the first credential is issued.
	Holder *keys.JWK `json:"holder,omitempty"`
	// Credentials counts the credentials issued for it.
	Credentials int       `json:"credentials"`
	History     []Event   `json:"history"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// OfferKind says why a credential offer was made.
type OfferKind string

// Kinds of offers.
const (
	OfferIssue   OfferKind = "issue"
	OfferEndorse OfferKind = "endorse"
)

// Offer is a pending OpenID4VCI credential offer, stored under the
// identifier of its pre-authorized code (see [DB.NewGrant]).
type Offer struct {
	// CodeHash is the hex SHA-256 of the pre-authorized code.
	CodeHash  string    `json:"code_hash"`
	PermitNo  string    `json:"permit_no"`
	Authority string    `json:"authority"`
	Kind      OfferKind `json:"kind"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used"`
}

// Access is an access token granted for a redeemed offer, stored under the
// token's identifier. It allows one credential request with its nonce.
type Access struct {
	// TokenHash is the hex SHA-256 of the access token.
	TokenHash string    `json:"token_hash"`
	PermitNo  string    `json:"permit_no"`
	Authority string    `json:"authority"`
	CNonce    string    `json:"c_nonce"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used"`
}

// ListInfo describes a status list.
type ListInfo struct {
	// ID names the list in its URI: "<authority>-<seq>".
	ID        string    `json:"id"`
	Authority string    `json:"authority"`
	Seq       int       `json:"seq"`
	Bits      int       `json:"bits"`
	Size      int       `json:"size"`
	Created   time.Time `json:"created"`
}

// StatusEvent is one change of a status list entry, kept in the revocation
// event log.
type StatusEvent struct {
	Time     time.Time   `json:"time"`
	PermitNo string      `json:"permit_no"`
	List     string      `json:"list"`
	Idx      int         `json:"idx"`
	From     PermitState `json:"from"`
	To       PermitState `json:"to"`
	Reason   string      `json:"reason"`
	Actor    string      `json:"actor"`
}
