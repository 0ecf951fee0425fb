package trust

import (
	"fmt"
	"time"
)

// Purpose identifiers. DefaultPurpose is used when a verifier names none.
const (
	PurposeResidenceProof = "residence-proof"
	PurposePublicService  = "public-service"
	PurposeConvenience    = "convenience"
	PurposePoliceCheck    = "police-check"
	PurposeIdentityCard   = "identity-card"
	PurposeCreditLoan     = "credit-loan"

	DefaultPurpose = PurposeResidenceProof
)

// Purpose says whether a permit may be used for one purpose and what a
// presentation for it must contain.
type Purpose struct {
	ID string `json:"id"`
	// Allowed is false for purposes a residence permit cannot serve.
	Allowed bool `json:"allowed"`
	// HolderBinding requires a valid key-binding JWT.
	HolderBinding bool `json:"holder_binding"`
	// Required lists the claim groups that must be disclosed.
	Required []string `json:"required,omitempty"`
	// Article cites the regulation the purpose rests on.
	Article string `json:"article,omitempty"`
	// Title names the purpose; Refusal says why it is refused, if it is.
	Title   Text `json:"title"`
	Refusal Text `json:"refusal,omitzero"`
}

// Policy is the verification policy a trust list distributes.
type Policy struct {
	Purposes []Purpose `json:"purposes"`
	// Freshness is how old a key-binding JWT may be.
	Freshness Seconds `json:"freshness"`
	// ClockSkew is the allowance for clocks that disagree.
	ClockSkew Seconds `json:"clock_skew"`
	// TrustMaxAge is the age of trust data after which verifiers warn.
	TrustMaxAge Seconds `json:"trust_max_age"`
	// ExpiryGrace is how long after its exp a trust list is still used,
	// with a warning, before verifiers refuse.
	ExpiryGrace Seconds `json:"expiry_grace"`
	// StatusMaxAge is the age of a status list after which it is stale.
	StatusMaxAge Seconds `json:"status_max_age"`
	// StatusRequired refuses a permit whose status list is missing or
	// stale; when false, that is only a warning.
	StatusRequired bool `json:"status_required"`
}

// Seconds is a duration carried as whole seconds in JSON.
type Seconds int64

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }

// DefaultPolicy returns the policy of the Interim Regulations as e-permit
// reads them: six purposes, two of them refused outright.
func DefaultPolicy() Policy {
	return Policy{
		Purposes: []Purpose{
			{ID: PurposeResidenceProof, Allowed: true, Article: "Art. 2",
				Title: Text{"居住证明", "proof of residence"}},
			{ID: PurposePublicService, Allowed: true, HolderBinding: true, Required: []string{"res"}, Article: "Art. 12",
				Title: Text{"基本公共服务", "basic public services"}},
			{ID: PurposeConvenience, Allowed: true, HolderBinding: true, Required: []string{"idn"}, Article: "Art. 13",
				Title: Text{"便利事项办理", "convenience services"}},
			{ID: PurposePoliceCheck, Allowed: true, HolderBinding: true, Required: []string{"idn"},
				Title: Text{"公安查验", "police check"}},
			{ID: PurposeIdentityCard, Allowed: false, HolderBinding: true,
				Title:   Text{"身份证明", "identity card"},
				Refusal: Text{"居住证不是身份证，不能代替身份证使用", "a residence permit is not an identity card"}},
			{ID: PurposeCreditLoan, Allowed: false, HolderBinding: true,
				Title:   Text{"信用贷款", "credit loan"},
				Refusal: Text{"居住证不能用于办理信用贷款", "a residence permit cannot be used for credit loans"}},
		},
		Freshness:      60,
		ClockSkew:      10,
		TrustMaxAge:    24 * 3600,
		ExpiryGrace:    7 * 24 * 3600,
		StatusMaxAge:   24 * 3600,
		StatusRequired: true,
	}
}

// Purpose returns the purpose with the given identifier.
func (p *Policy) Purpose(id string) (*Purpose, bool) {
	for i := range p.Purposes {
		if p.Purposes[i].ID == id {
			return &p.Purposes[i], true
		}
	}
	return nil, false
}

func (p *Policy) validate() error {
	if len(p.Purposes) == 0 {
		return fmt.Errorf("%w: policy names no purpose", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, pu := range p.Purposes {
		if pu.ID == "" || seen[pu.ID] {
			return fmt.Errorf("%w: purpose %q empty or listed twice", ErrInvalid, pu.ID)
		}
		seen[pu.ID] = true
		if !pu.Allowed && pu.Refusal.EN == "" {
			return fmt.Errorf("%w: refused purpose %q gives no reason", ErrInvalid, pu.ID)
		}
	}
	if p.Freshness <= 0 || p.ClockSkew < 0 || p.TrustMaxAge <= 0 || p.ExpiryGrace < 0 || p.StatusMaxAge <= 0 {
		return fmt.Errorf("%w: policy durations out of range", ErrInvalid)
	}
	return nil
}
