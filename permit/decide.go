package permit

import "strings"

// Condition codes reported by [Decide]. They are stable: clients may match on them.
const (
	// CodeNotLeftHouseholdCity: the residence is in the city of household registration (Art. 2).
	CodeNotLeftHouseholdCity = "not_left_household_city"
	// CodeResidenceUnderSixMonths: the applicant has lived in the city for less than six months (Art. 2).
	CodeResidenceUnderSixMonths = "residence_under_six_months"
	// CodeNoBasis: no ground of employment, residence or study with an evidence reference (Art. 2).
	CodeNoBasis = "no_basis"
	// CodeMinorNeedsGuardian: the applicant is under 16 and no guardian applies on their behalf (Art. 9).
	CodeMinorNeedsGuardian = "minor_needs_guardian"
	// CodeGuardianInvalid: the guardian's particulars are incomplete or invalid, or the guardian is under 18
	// (Art. 9). Field and Reason say what is wrong.
	CodeGuardianInvalid = "guardian_invalid"
	// CodeInvalidApplication: a particular of the application is missing or wrong (Art. 4, or Art. 9 for the
	// materials). Field and Reason say what is wrong.
	CodeInvalidApplication = "invalid_application"
	// CodeInvalidDecisionDate: the date given to Decide is not a calendar day; nothing else was decided.
	CodeInvalidDecisionDate = "invalid_decision_date"
)

// Ages that matter to the Regulations: under 16 a guardian applies (Art. 9); an adult is 18 or older (Civil Code
// Art. 17), which is required of the guardian.
const (
	minorAge = 16
	adultAge = 18
)

// Condition is one condition of the Regulations that an application does not meet, with the article it comes
// from and a message in Chinese and English.
type Condition struct {
	Code    string `json:"code"`
	Article string `json:"article"` // such as "Art. 2"
	// Field is the JSON field at fault, for CodeInvalidApplication and CodeGuardianInvalid.
	Field string `json:"field,omitempty"`
	// Reason is the problem code (see [Problem]), for CodeInvalidApplication and CodeGuardianInvalid.
	Reason string `json:"reason,omitempty"`
	ZH     string `json:"zh"`
	EN     string `json:"en"`
}

// Decision is the outcome of [Decide]: eligible, or every unmet condition at once (Art. 9). Unmet is never nil.
type Decision struct {
	Eligible bool        `json:"eligible"`
	Unmet    []Condition `json:"unmet"`
}

// Codes returns the codes of the unmet conditions, in order.
func (d Decision) Codes() []string {
	codes := make([]string, len(d.Unmet))
	for i, c := range d.Unmet {
		codes[i] = c.Code
	}
	return codes
}

// Has reports whether a condition with the given code is unmet.
func (d Decision) Has(code string) bool {
	for _, c := range d.Unmet {
		if c.Code == code {
			return true
		}
	}
	return false
}

// articleZH gives the Chinese form of an article reference.
var articleZH = map[string]string{"Art. 2": "第二条", "Art. 4": "第四条", "Art. 9": "第九条", "Art. 10": "第十条"}

// conditionTexts holds the requirement each condition code states, without the "Not met" prefix.
var conditionTexts = map[string]text{
	CodeNotLeftHouseholdCity:    {"离开常住户口所在城市，到其他城市居住", "lives in a city other than the city of household registration"},
	CodeResidenceUnderSixMonths: {"在居住地居住满半年", "has lived in the city of residence for at least six months"},
	CodeNoBasis:                 {"有合法稳定就业、合法稳定住所、连续就读条件之一，并提供证明材料", "has lawful stable employment, a lawful stable residence or continuous study, with a reference to the evidence"},
	CodeMinorNeedsGuardian:      {"未满十六周岁的，由监护人代为申领", "an applicant under 16 applies through a guardian"},
	CodeGuardianInvalid:         {"代办人提供合法有效身份证件", "the guardian is identified by a valid identity document"},
	CodeInvalidApplication:      {"申领信息完整准确", "the application is complete and correct"},
}

// condition builds a Condition; detail (a problem description) is appended when not empty.
func condition(code, article string, p *Problem) Condition {
	t := conditionTexts[code]
	c := Condition{Code: code, Article: article}
	zh, en := t.zh, t.en
	if p != nil {
		c.Field, c.Reason = p.Field, p.Code
		zh += "——" + p.ZH
		en += " — " + p.EN
	}
	c.ZH = "未满足：" + zh + "（" + articleZH[article] + "）"
	c.EN = "Not met: " + en + " (" + article + ")"
	return c
}

// Decide applies the Regulations to an application on day today and returns every unmet condition at once, in
// this order:
//
//   - CodeInvalidApplication, one per shape problem found by [Application.Validate], plus a birth date after
//     today (article "Art. 4" for the Art. 4 particulars, "Art. 9" for the residence date and the grounds);
//   - CodeNotLeftHouseholdCity (Art. 2): the residence division is in the same city as the household
//     division, as [Division.SameCity] decides;
//   - CodeResidenceUnderSixMonths (Art. 2): ResidenceSince.AddMonths(6) is after today. Six calendar months to
//     the day are enough (2026-01-15 qualifies on 2026-07-15, not on 2026-07-14; a month-end start is clamped by
//     [Date.AddMonths], so 2025-08-31 qualifies on 2026-02-28);
//   - CodeNoBasis (Art. 2): no basis of a known kind with a non-blank evidence reference;
//   - CodeMinorNeedsGuardian (Art. 9): the applicant is under 16 on today and names no guardian;
//   - CodeGuardianInvalid (Art. 9), one per problem of a named guardian (whatever the applicant's age): missing
//     name or relation, invalid citizen identity number, the applicant's own number, or a guardian under 18.
//
// A condition that depends on a field already reported as invalid is not evaluated (no city check without two
// valid divisions). Decide never panics; an invalid today gives the single condition CodeInvalidDecisionDate.
func Decide(a Application, today Date) Decision {
	if !today.Valid() {
		return Decision{Unmet: []Condition{{
			Code: CodeInvalidDecisionDate,
			ZH:   "无法审核：审核日期无效",
			EN:   "Cannot decide: the date of the decision is not a valid date",
		}}}
	}
	ps := a.problems()
	if a.BirthDate.Valid() && a.BirthDate.After(today) {
		ps.add("birth_date", codeDateInFuture, nil)
	}
	if g := a.Guardian; g != nil && ValidateCitizenID(g.CitizenID) == nil {
		if gb, _ := idBirth(g.CitizenID); gb.AgeOn(today) < adultAge {
			ps.add("guardian.citizen_id", codeGuardianMinor, nil)
		}
	}

	unmet := []Condition{}
	var guardian []Condition
	for i := range ps {
		p := &ps[i]
		switch {
		case strings.HasPrefix(p.Field, "guardian"):
			guardian = append(guardian, condition(CodeGuardianInvalid, "Art. 9", p))
		case p.Field == "residence_since" || strings.HasPrefix(p.Field, "basis"):
			unmet = append(unmet, condition(CodeInvalidApplication, "Art. 9", p))
		default:
			unmet = append(unmet, condition(CodeInvalidApplication, "Art. 4", p))
		}
	}

	if a.HouseholdDivision.SameCity(a.ResidenceDivision) {
		unmet = append(unmet, condition(CodeNotLeftHouseholdCity, "Art. 2", nil))
	}
	if a.ResidenceSince.Valid() && a.ResidenceSince.AddMonths(6).After(today) {
		unmet = append(unmet, condition(CodeResidenceUnderSixMonths, "Art. 2", nil))
	}
	if len(basisKinds(a.Basis)) == 0 {
		unmet = append(unmet, condition(CodeNoBasis, "Art. 2", nil))
	}
	if birth, ok := applicantBirth(&a); ok && !birth.After(today) && birth.AgeOn(today) < minorAge && a.Guardian == nil {
		unmet = append(unmet, condition(CodeMinorNeedsGuardian, "Art. 9", nil))
	}
	unmet = append(unmet, guardian...)
	return Decision{Eligible: len(unmet) == 0, Unmet: unmet}
}

// applicantBirth returns the applicant's birth date from the birth_date field, or else from a valid citizen
// identity number.
func applicantBirth(a *Application) (Date, bool) {
	if a.BirthDate.Valid() {
		return a.BirthDate, true
	}
	if d, err := IDBirthDate(a.CitizenID); err == nil {
		return d, true
	}
	return Date{}, false
}

// basisKinds returns the distinct known kinds that come with a non-blank evidence reference, in the canonical
// order employment, residence, study.
func basisKinds(claims []BasisClaim) []Basis {
	var has [3]bool
	for _, c := range claims {
		if strings.TrimSpace(c.Evidence) == "" {
			continue
		}
		switch c.Kind {
		case BasisEmployment:
			has[0] = true
		case BasisResidence:
			has[1] = true
		case BasisStudy:
			has[2] = true
		}
	}
	var kinds []Basis
	for i, k := range []Basis{BasisEmployment, BasisResidence, BasisStudy} {
		if has[i] {
			kinds = append(kinds, k)
		}
	}
	return kinds
}
