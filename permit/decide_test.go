package permit

import (
	"reflect"
	"strings"
	"testing"
)

var decisionDay = d(2026, 11, 27)

func TestDecideEligible(t *testing.T) {
	t.Parallel()
	dec := Decide(validApp(), decisionDay)
	if !dec.Eligible || dec.Unmet == nil || len(dec.Unmet) != 0 {
		t.Fatalf("Decide = %+v, want eligible with an empty Unmet", dec)
	}
}

func TestSixMonthBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		since, today Date
		ok           bool
	}{
		{d(2026, 1, 15), d(2026, 7, 15), true},  // exactly six months
		{d(2026, 1, 15), d(2026, 7, 14), false}, // one day short
		{d(2026, 1, 15), d(2026, 7, 16), true},
		{d(2026, 5, 28), d(2026, 11, 27), false},
		{d(2026, 5, 28), d(2026, 11, 28), true},
		{d(2025, 8, 31), d(2026, 2, 27), false}, // month-end start: six months end on Feb 28
		{d(2025, 8, 31), d(2026, 2, 28), true},
		{d(2027, 1, 1), d(2026, 11, 27), false}, // residence starting in the future
	}
	for _, tt := range tests {
		a := validApp()
		a.ResidenceSince = tt.since
		dec := Decide(a, tt.today)
		if dec.Eligible != tt.ok {
			t.Errorf("since %v, today %v: eligible = %v (%v), want %v", tt.since, tt.today, dec.Eligible, dec.Codes(), tt.ok)
		}
		if !tt.ok && !reflect.DeepEqual(dec.Codes(), []string{CodeResidenceUnderSixMonths}) {
			t.Errorf("since %v, today %v: codes = %v", tt.since, tt.today, dec.Codes())
		}
	}
}

func TestSameCityRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		household, residence Division
		refused              bool
	}{
		{"330102", "330106", true},
		{"330106", "330106", true},
		{"110105", "110228", true}, // two Beijing codes
		{"330212", "330106", false},
		{"429004", "429005", false},
	}
	for _, tt := range tests {
		a := validApp()
		a.CitizenID = withCheck(t, string(tt.household)+"19920814051")
		a.HouseholdDivision, a.ResidenceDivision = tt.household, tt.residence
		dec := Decide(a, decisionDay)
		if got := dec.Has(CodeNotLeftHouseholdCity); got != tt.refused {
			t.Errorf("%s -> %s: refused = %v (%v), want %v", tt.household, tt.residence, got, dec.Codes(), tt.refused)
		}
	}
}

func TestNoBasis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		basis []BasisClaim
		ok    bool
	}{
		{"none", nil, false},
		{"empty list", []BasisClaim{}, false},
		{"blank evidence", []BasisClaim{{Kind: BasisEmployment, Evidence: "  "}}, false},
		{"study", []BasisClaim{{Kind: BasisStudy, Evidence: "student card 1"}}, true},
		{"residence", []BasisClaim{{Kind: BasisResidence, Evidence: "deed 2"}}, true},
		{"one of two with evidence", []BasisClaim{{Kind: BasisEmployment}, {Kind: BasisResidence, Evidence: "deed"}}, true},
	}
	for _, tt := range tests {
		a := validApp()
		a.Basis = tt.basis
		dec := Decide(a, decisionDay)
		if dec.Eligible != tt.ok || (!tt.ok && !reflect.DeepEqual(dec.Codes(), []string{CodeNoBasis})) {
			t.Errorf("%s: Decide = %v %v", tt.name, dec.Eligible, dec.Codes())
		}
	}
	a := validApp()
	a.Basis = []BasisClaim{{Kind: "marriage", Evidence: "certificate"}}
	if got := Decide(a, decisionDay).Codes(); !reflect.DeepEqual(got, []string{CodeInvalidApplication, CodeNoBasis}) {
		t.Errorf("unknown kind only: codes = %v", got)
	}
}

// minorApp returns an application of a boy born on birth, with a household in Wuhan, living in Hangzhou.
func minorApp(t *testing.T, birth Date, guardian *Guardian) Application {
	a := validApp()
	a.BirthDate = birth
	a.CitizenID = withCheck(t, "420106"+birth.String()[0:4]+birth.String()[5:7]+birth.String()[8:10]+"001")
	a.HouseholdDivision = "420106"
	a.ResidenceSince = birth
	a.Guardian = guardian
	return a
}

func TestMinors(t *testing.T) {
	t.Parallel()
	mother := &Guardian{Name: "陈静", CitizenID: "340104198803020044", Relation: "mother"}
	teen := &Guardian{Name: "吴某", CitizenID: withCheck(t, "42010620081128002"), Relation: "sister"} // 18 on 2026-11-28
	adultSister := &Guardian{Name: "吴某", CitizenID: withCheck(t, "42010620081127002"), Relation: "sister"}
	tests := []struct {
		name  string
		birth Date
		g     *Guardian
		codes []string
	}{
		{"15 without guardian", d(2010, 11, 28), nil, []string{CodeMinorNeedsGuardian}},
		{"16 today without guardian", d(2010, 11, 27), nil, nil},
		{"15 with mother", d(2010, 11, 28), mother, nil},
		{"infant with mother", d(2026, 5, 1), mother, nil},
		{"guardian 17", d(2015, 1, 1), teen, []string{CodeGuardianInvalid}},
		{"guardian 18 today", d(2015, 1, 1), adultSister, nil},
		{"guardian with bad id", d(2015, 1, 1), &Guardian{Name: "x", CitizenID: "340104198803020045", Relation: "mother"},
			[]string{CodeGuardianInvalid}},
		{"guardian missing everything", d(2015, 1, 1), &Guardian{},
			[]string{CodeGuardianInvalid, CodeGuardianInvalid, CodeGuardianInvalid}},
		{"born after today", d(2026, 11, 28), mother, []string{CodeInvalidApplication, CodeResidenceUnderSixMonths}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dec := Decide(minorApp(t, tt.birth, tt.g), decisionDay)
			got := dec.Codes()
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.codes) || dec.Eligible != (len(tt.codes) == 0) {
				t.Fatalf("Decide = %v %v, want %v", dec.Eligible, got, tt.codes)
			}
		})
	}
}

func TestGuardianNotAdultDetail(t *testing.T) {
	t.Parallel()
	g := &Guardian{Name: "吴某", CitizenID: withCheck(t, "42010620100101002"), Relation: "brother"}
	dec := Decide(minorApp(t, d(2015, 1, 1), g), decisionDay)
	if len(dec.Unmet) != 1 {
		t.Fatalf("Unmet = %+v", dec.Unmet)
	}
	c := dec.Unmet[0]
	if c.Code != CodeGuardianInvalid || c.Field != "guardian.citizen_id" || c.Reason != "guardian_not_adult" || c.Article != "Art. 9" {
		t.Errorf("condition = %+v", c)
	}
}

func TestDecideReportsEverythingAtOnce(t *testing.T) {
	t.Parallel()
	a := minorApp(t, d(2012, 9, 30), nil)
	a.Name = ""
	a.ResidenceDivision = "420111" // Wuhan again
	a.ResidenceSince = d(2026, 9, 1)
	a.Basis = nil
	dec := Decide(a, decisionDay)
	want := []string{CodeInvalidApplication, CodeNotLeftHouseholdCity, CodeResidenceUnderSixMonths, CodeNoBasis, CodeMinorNeedsGuardian}
	if dec.Eligible || !reflect.DeepEqual(dec.Codes(), want) {
		t.Fatalf("codes = %v, want %v", dec.Codes(), want)
	}
	for _, c := range dec.Unmet {
		if !strings.HasPrefix(c.ZH, "未满足：") || !strings.HasPrefix(c.EN, "Not met: ") ||
			!strings.HasSuffix(c.EN, "("+c.Article+")") || !strings.HasSuffix(c.ZH, "）") {
			t.Errorf("badly formed messages: %+v", c)
		}
	}
	six := dec.Unmet[2]
	if six.ZH != "未满足：在居住地居住满半年（第二条）" ||
		six.EN != "Not met: has lived in the city of residence for at least six months (Art. 2)" {
		t.Errorf("six-month messages = %q / %q", six.ZH, six.EN)
	}
	first := dec.Unmet[0]
	if first.Field != "name" || first.Reason != "required" || first.Article != "Art. 4" ||
		first.EN != "Not met: the application is complete and correct — Name: is required (Art. 4)" {
		t.Errorf("invalid_application condition = %+v", first)
	}
}

func TestDecideArticles(t *testing.T) {
	t.Parallel()
	a := validApp()
	a.ResidenceSince = Date{}
	a.Ethnicity = "00"
	dec := Decide(a, decisionDay)
	got := map[string]string{}
	for _, c := range dec.Unmet {
		got[c.Field] = c.Article
	}
	if got["residence_since"] != "Art. 9" || got["ethnicity"] != "Art. 4" {
		t.Errorf("articles = %v", got)
	}
}

func TestDecideInvalidToday(t *testing.T) {
	t.Parallel()
	for _, today := range []Date{{}, d(2026, 2, 30)} {
		dec := Decide(validApp(), today)
		if dec.Eligible || !reflect.DeepEqual(dec.Codes(), []string{CodeInvalidDecisionDate}) {
			t.Errorf("Decide(%+v) = %+v", today, dec)
		}
	}
}

func TestDecideZeroApplication(t *testing.T) {
	t.Parallel()
	dec := Decide(Application{}, decisionDay)
	if dec.Eligible || !dec.Has(CodeInvalidApplication) || !dec.Has(CodeNoBasis) {
		t.Errorf("Decide(zero) = %v", dec.Codes())
	}
	if dec.Has(CodeNotLeftHouseholdCity) || dec.Has(CodeResidenceUnderSixMonths) || dec.Has(CodeMinorNeedsGuardian) {
		t.Errorf("conditions on missing fields were evaluated: %v", dec.Codes())
	}
}

func BenchmarkDecide(b *testing.B) {
	a := validApp()
	for b.Loop() {
		if !Decide(a, decisionDay).Eligible {
			b.Fatal("not eligible")
		}
	}
}
