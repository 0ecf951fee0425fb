package verifier

import (
	"time"

	"github.com/epermit/epermit/permit"
)

// MarshalJSON encodes the result with its claims as a flat object of
// readable names and the data ages in whole seconds (AppendJSON).
func (r *Result) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// ClaimsMap returns the verified claims under readable names, or nil.
func (r *Result) ClaimsMap() map[string]any {
	c := r.Claims
	if c == nil {
		return nil
	}
	m := map[string]any{
		"name":        c.Name,
		"masked_id":   c.MaskedID,
		"region":      c.Region,
		"permit_no":   c.PermitNo,
		"issued_at":   c.IssuedAt.In(permit.ChinaTime()).Format(time.RFC3339),
		"valid_until": c.Expires.In(permit.ChinaTime()).Format(time.RFC3339),
	}
	if id := c.Identity; id != nil {
		m["citizen_id"] = id.CitizenID
		m["ethnicity"] = id.Ethnicity
		if id.PhotoSHA256 != "" {
			m["photo_sha256"] = id.PhotoSHA256
		}
	}
	if res := c.Residence; res != nil {
		m["residence_address"] = res.Address
		m["household_address"] = res.HouseholdAddress
		m["household_division"] = res.HouseholdDivision
		m["residence_since"] = res.Since
		m["basis"] = res.Basis
		m["issue_date"] = res.IssueDate
	}
	return m
}
