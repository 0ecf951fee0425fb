package permit

import (
	"fmt"
	"strings"
)

// Permit is an issued residence permit (居住证): the particulars Art. 4 requires it to carry, plus the permit
// number, the grounds it was issued on, and the endorsement state of Art. 10.
type Permit struct {
	// Number is the permit number, in the form made by [NewNumber].
	Number            string   `json:"number"`
	Name              string   `json:"name"`
	Sex               Sex      `json:"sex"`
	Ethnicity         string   `json:"ethnicity"`
	BirthDate         Date     `json:"birth_date"`
	CitizenID         string   `json:"citizen_id"`
	PhotoSHA256       string   `json:"photo_sha256,omitempty"`
	HouseholdAddress  string   `json:"household_address"`
	HouseholdDivision Division `json:"household_division"`
	ResidenceAddress  string   `json:"residence_address"`
	ResidenceDivision Division `json:"residence_division"`
	// ResidenceSince is the start of the residence period counted in the city. A late endorsement restarts it
	// (Art. 10).
	ResidenceSince Date `json:"residence_since"`
	// Basis lists the grounds of Art. 2 the permit was issued on (kinds only; evidence stays with the authority).
	Basis []Basis `json:"basis"`
	// Authority identifies the issuing authority, a county-level public security organ (Art. 10).
	Authority string `json:"authority"`
	// IssueDate is the date of first issue.
	IssueDate Date `json:"issue_date"`
	// ValidUntil is the next anniversary at which an endorsement is due. The permit is in force while
	// today < ValidUntil; see [Permit.State].
	ValidUntil Date      `json:"valid_until"`
	Guardian   *Guardian `json:"guardian,omitempty"`
}

// NewPermit issues a permit on day issued to the applicant of a, under the given number and issuing authority.
// It refuses an application that does not validate (a [*ValidationError]) or that [Decide] finds not eligible on
// the issue date (an error wrapping [ErrNotEligible] that lists the condition codes), a number that is not
// [ValidNumber] or does not start with the residence division and the two-digit year of issued
// ([ErrInvalidNumber]), and a blank authority ([ErrInvalidPermit]). The permit is valid for one year:
// ValidUntil is issued plus twelve months.
func NewPermit(a Application, number, authority string, issued Date) (Permit, error) {
	if !issued.Valid() {
		return Permit{}, fmt.Errorf("permit: new permit: issue date: %w", ErrInvalidDate)
	}
	if err := a.Validate(); err != nil {
		return Permit{}, err
	}
	if d := Decide(a, issued); !d.Eligible {
		return Permit{}, fmt.Errorf("permit: new permit: %s: %w", strings.Join(d.Codes(), ", "), ErrNotEligible)
	}
	if !ValidNumber(number) {
		return Permit{}, fmt.Errorf("permit: new permit: number %q: %w", truncate(number), ErrInvalidNumber)
	}
	if prefix := string(a.ResidenceDivision) + yearDigits(issued.Year); number[:8] != prefix {
		return Permit{}, fmt.Errorf("permit: new permit: number %q does not start with %q: %w", number, prefix, ErrInvalidNumber)
	}
	var ps problems
	ps.text("authority", authority, maxAuthority, true)
	if len(ps) > 0 {
		return Permit{}, fmt.Errorf("permit: new permit: authority %s: %w", ps[0].Code, ErrInvalidPermit)
	}
	p := Permit{
		Number:            number,
		Name:              a.Name,
		Sex:               a.Sex,
		Ethnicity:         a.Ethnicity,
		BirthDate:         a.BirthDate,
		CitizenID:         a.CitizenID,
		PhotoSHA256:       a.PhotoSHA256,
		HouseholdAddress:  a.HouseholdAddress,
		HouseholdDivision: a.HouseholdDivision,
		ResidenceAddress:  a.ResidenceAddress,
		ResidenceDivision: a.ResidenceDivision,
		ResidenceSince:    a.ResidenceSince,
		Basis:             basisKinds(a.Basis),
		Authority:         authority,
		IssueDate:         issued,
		ValidUntil:        issued.AddMonths(12),
	}
	if a.Guardian != nil {
		g := *a.Guardian
		p.Guardian = &g
	}
	return p, nil
}

// yearDigits returns the last two digits of year.
func yearDigits(year int) string {
	y := year % 100
	return string([]byte{byte('0' + y/10), byte('0' + y%10)})
}

// Validate checks the shape of a permit, for example one decoded from storage or from a credential, and returns
// every problem at once as a [*ValidationError] matching [ErrInvalidPermit], or nil. Besides the particulars
// checked for an application, it checks the number (its form, and that it starts with the residence division
// and the year of IssueDate), the authority, the basis kinds (at least one), and that ValidUntil is after
// IssueDate. It does not re-decide eligibility.
func (p *Permit) Validate() error {
	var ps problems
	if p == nil {
		ps.add("permit", codeRequired, nil)
		return &ValidationError{Problems: ps, kind: ErrInvalidPermit}
	}
	switch {
	case p.Number == "":
		ps.add("number", codeRequired, nil)
	case !ValidNumber(p.Number):
		ps.add("number", codeNumberInvalid, fmt.Errorf("permit: number %q: %w", truncate(p.Number), ErrInvalidNumber))
	case p.IssueDate.Valid() && p.Number[:8] != string(p.ResidenceDivision)+yearDigits(p.IssueDate.Year):
		ps.add("number", codeNumberMismatch, fmt.Errorf("permit: number %q: %w", p.Number, ErrInvalidNumber))
	}
	ps.person(p.Name, p.Sex, p.Ethnicity, p.BirthDate, p.CitizenID, p.PhotoSHA256,
		p.HouseholdAddress, p.HouseholdDivision, p.ResidenceAddress, p.ResidenceDivision)
	ps.date("residence_since", p.ResidenceSince)
	if len(p.Basis) == 0 {
		ps.add("basis", codeRequired, nil)
	}
	for i, b := range p.Basis {
		if !b.Valid() {
			ps.add(fmt.Sprintf("basis[%d]", i), codeBasisUnknown, nil)
		}
	}
	ps.text("authority", p.Authority, maxAuthority, true)
	issueOK := ps.date("issue_date", p.IssueDate)
	if ps.date("valid_until", p.ValidUntil) && issueOK && !p.ValidUntil.After(p.IssueDate) {
		ps.add("valid_until", codeValidUntil, nil)
	}
	if g := p.Guardian; g != nil {
		ps.text("guardian.name", g.Name, maxNameLen, true)
		if ps.citizenID("guardian.citizen_id", g.CitizenID) && g.CitizenID == p.CitizenID {
			ps.add("guardian.citizen_id", codeGuardianIsSelf, nil)
		}
		ps.text("guardian.relation", g.Relation, maxRelationLen, true)
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps, kind: ErrInvalidPermit}
	}
	return nil
}
