package issuer

import (
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/vault"
)

// Role is what an official's API token allows.
type Role string

// The roles of officials. An administrator may do everything the others may.
const (
	// RoleOfficer approves and rejects applications, endorses and re-issues permits.
	RoleOfficer Role = "officer"
	// RoleRevoker revokes, suspends and reinstates permits.
	RoleRevoker Role = "revoker"
	// RoleAuditor reads permit records and the audit log.
	RoleAuditor Role = "auditor"
	// RoleAdmin manages tokens, takes backups and may act in every other role.
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

// Token is an official's API token as stored, under the SHA-256 of its
// secret; the secret itself is never stored.
type Token struct {
	// ID is a short public identifier of the token, safe to log and to name
	// the token by (list, revoke).
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Authority limits the token to the records of one issuing authority
	// (its slug); "" means every authority hosted, as for a provincial
	// official.
	Authority string    `json:"authority,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	// Expires is when the token stops working.
	Expires time.Time `json:"expires"`
	// Revoked is when an administrator withdrew it; zero while it works.
	Revoked  time.Time `json:"revoked,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Covers reports whether the token may act on records of the authority.
func (t Token) Covers(authority string) bool { return t.Authority == "" || t.Authority == authority }

// Active reports whether the token works at now.
func (t Token) Active(now time.Time) bool { return t.Revoked.IsZero() && now.Before(t.Expires) }

// Official is who acts through the API: the token's holder.
type Official = Token

// actorName is how the audit log names an official.
func (t Token) actorName() string {
	if t.ID == "" {
		return t.Name
	}
	return t.Name + " (" + t.ID + ")"
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
	// AppRejected: an officer refused it, with reasons; its personal data was shredded.
	AppRejected AppState = "rejected"
)

// Application is a resident's application as stored. The form and the
// photo are sealed under the person-record's data key; the rest holds no
// personal data beyond the masked identity number.
type Application struct {
	ID        string   `json:"id"`
	Authority string   `json:"authority"`
	State     AppState `json:"state"`
	// SecretHash is the hex SHA-256 of the secret the applicant received.
	SecretHash string `json:"secret_hash,omitempty"`
	MaskedID   string `json:"masked_id"`
	// City is the four-digit city code and Division the residence division.
	City     string          `json:"city"`
	Division permit.Division `json:"division"`
	// PersonKey is the keyed hash of the citizen ID (the person index key).
	PersonKey []byte `json:"person_key,omitempty"`
	// DataKey names the person-record's data key; Form is the sealed form.
	DataKey       vault.Ref       `json:"data_key,omitempty"`
	Form          []byte          `json:"form,omitempty"`
	PhotoType     string          `json:"photo_type,omitempty"`
	Decision      permit.Decision `json:"decision"`
	RejectReasons []string        `json:"reject_reasons,omitempty"`
	PermitNo      string          `json:"permit_no,omitempty"`
	Submitted     time.Time       `json:"submitted"`
	Updated       time.Time       `json:"updated"`
	DecidedBy     string          `json:"decided_by,omitempty"`
}

// CheckSecret reports whether secret is the one returned when a was submitted.
func (a *Application) CheckSecret(secret string) bool { return hashEqual(a.SecretHash, Hash(secret)) }

// PermitState is the administrative state of a permit, mirrored in its
// current credential's status list entry. Endorsement (expiry) is separate:
// see [permit.Permit.State].
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

// Credential is one credential issued for a permit: its own status list
// entry and the wallet key it is bound to. A newer credential supersedes
// the older ones.
type Credential struct {
	// N numbers the permit's credentials from 1.
	N    int    `json:"n"`
	List string `json:"status_list"`
	Idx  int    `json:"status_idx"`
	// Holder is the wallet key it is bound to; HolderKid its RFC 7638 thumbprint.
	Holder    keys.JWK  `json:"holder"`
	HolderKid string    `json:"holder_kid"`
	Issued    time.Time `json:"issued"`
	// ValidUntil is the endorsement date the credential carries (its exp).
	ValidUntil permit.Date `json:"valid_until"`
	// Via is the offer kind that led to it, or "refresh".
	Via string `json:"via"`
	// Superseded is when a newer credential replaced it; zero while current.
	Superseded time.Time `json:"superseded,omitzero"`
}

// Permit is a permit record. Its particulars are sealed under the
// person-record's data key; the dates, the division and the masked number
// are kept in clear for endorsement, routing and display.
type Permit struct {
	Number      string      `json:"number"`
	Authority   string      `json:"authority"`
	State       PermitState `json:"state"`
	Application string      `json:"application"`
	MaskedID    string      `json:"masked_id"`
	PersonKey   []byte      `json:"person_key"`
	City        string      `json:"city"`
	// Division is the residence division.
	Division       permit.Division `json:"division"`
	IssueDate      permit.Date     `json:"issue_date"`
	ValidUntil     permit.Date     `json:"valid_until"`
	ResidenceSince permit.Date     `json:"residence_since"`
	DataKey        vault.Ref       `json:"data_key,omitempty"`
	// Particulars is the sealed permit.Permit (personal fields); nil once shredded.
	Particulars []byte       `json:"particulars,omitempty"`
	PhotoType   string       `json:"photo_type,omitempty"`
	Credentials []Credential `json:"credentials,omitempty"`
	History     []Event      `json:"history"`
	Created     time.Time    `json:"created"`
	Updated     time.Time    `json:"updated"`
	// Revoked is when it was revoked; ShredDue when its personal data goes.
	Revoked  time.Time `json:"revoked,omitzero"`
	ShredDue time.Time `json:"shred_due,omitzero"`
	Shredded bool      `json:"shredded,omitempty"`
}

// Current returns the permit's current (not superseded) credential, or nil.
func (p *Permit) Current() *Credential {
	for i := len(p.Credentials) - 1; i >= 0; i-- {
		if p.Credentials[i].Superseded.IsZero() {
			return &p.Credentials[i]
		}
	}
	return nil
}

// dates returns a permit.Permit holding only the permit's dates, for the
// endorsement rules.
func (p *Permit) dates() permit.Permit {
	return permit.Permit{Number: p.Number, IssueDate: p.IssueDate, ValidUntil: p.ValidUntil, ResidenceSince: p.ResidenceSince}
}

// OfferKind says why a credential offer was made.
type OfferKind string

// Kinds of offers.
const (
	// OfferIssue: the first credential of a permit just approved.
	OfferIssue OfferKind = "issue"
	// OfferReissue: a new credential for a new phone or a lost offer.
	OfferReissue OfferKind = "reissue"
	// OfferEndorse: the credential of a permit just endorsed.
	OfferEndorse OfferKind = "endorse"
)

// Offer is a pending OpenID4VCI credential offer, stored under the
// identifier of its pre-authorized code.
type Offer struct {
	CodeHash  string    `json:"code_hash"`
	PermitNo  string    `json:"permit_no"`
	Authority string    `json:"authority"`
	Kind      OfferKind `json:"kind"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used,omitempty"`
}

// Access is an access token granted for a redeemed offer, stored under the
// token's identifier. It allows one credential.
type Access struct {
	TokenHash string    `json:"token_hash"`
	PermitNo  string    `json:"permit_no"`
	Authority string    `json:"authority"`
	Kind      OfferKind `json:"kind"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used,omitempty"`
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
	// Version counts the changes of the list's statuses; it only grows.
	Version uint64 `json:"version"`
}

// StatusEvent is one change of a status list entry, kept in the revocation
// event log.
type StatusEvent struct {
	Time     time.Time   `json:"time"`
	PermitNo string      `json:"permit_no"`
	List     string      `json:"list"`
	Idx      int         `json:"idx"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Reason   string      `json:"reason"`
	Actor    string      `json:"actor"`
	State    PermitState `json:"state"`
}
