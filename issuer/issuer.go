// Package issuer is the issuing authority's side of e-permit: it turns an
// approved residence permit into a signed credential for the resident's
// wallet. This file holds the pure core shared by offline issuance (the
// permit CLI) and the issuer service.
package issuer

import (
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// Claims maps a permit record to the claims of its credential, bound to the
// holder's device key (an ed25519.PublicKey or a P-256 *ecdsa.PublicKey)
// and to its status list entry. The credential expires
// at the start of the day its next endorsement is due (China time): from
// then on verifiers report "endorsement overdue".
func Claims(p permit.Permit, issuerID string, holder crypto.PublicKey, ref statuslist.Reference, now time.Time) (credential.Claims, error) {
	if err := p.Validate(); err != nil {
		return credential.Claims{}, fmt.Errorf("issuer: %w", err)
	}
	if err := ref.Validate(); err != nil {
		return credential.Claims{}, fmt.Errorf("issuer: %w", err)
	}
	basis := make([]string, len(p.Basis))
	for i, b := range p.Basis {
		basis[i] = string(b)
	}
	due := p.ValidUntil
	return credential.Claims{
		Issuer:   issuerID,
		IssuedAt: now.Truncate(time.Second),
		Expires:  time.Date(due.Year, due.Month, due.Day, 0, 0, 0, 0, permit.ChinaTime()),
		Status:   ref,
		Holder:   holder,
		Name:     p.Name,
		MaskedID: permit.MaskID(p.CitizenID),
		Region:   string(p.ResidenceDivision),
		PermitNo: p.Number,
		Identity: &credential.Identity{CitizenID: p.CitizenID, Ethnicity: p.Ethnicity, PhotoSHA256: p.PhotoSHA256},
		Residence: &credential.Residence{
			Address:           p.ResidenceAddress,
			HouseholdAddress:  p.HouseholdAddress,
			HouseholdDivision: string(p.HouseholdDivision),
			Since:             p.ResidenceSince.String(),
			Basis:             basis,
			IssueDate:         p.IssueDate.String(),
		},
	}, nil
}

// Issue signs the credential of permit p for the holder's key: the SD-JWT
// with every disclosure, ready for the wallet.
func Issue(s crypto.Signer, kid string, p permit.Permit, issuerID string, holder crypto.PublicKey, ref statuslist.Reference, now time.Time, r io.Reader) (string, error) {
	c, err := Claims(p, issuerID, holder, ref, now)
	if err != nil {
		return "", err
	}
	return credential.Issue(s, kid, c, r)
}
