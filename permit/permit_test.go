package permit

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testAuthority = "杭州市公安局西湖区分局"

func issue(t *testing.T, a Application, issued Date) Permit {
	t.Helper()
	n := string(a.ResidenceDivision) + yearDigits(issued.Year) + "K7Q2MX"
	p, err := NewPermit(a, n, testAuthority, issued)
	if err != nil {
		t.Fatalf("NewPermit: %v", err)
	}
	return p
}

func TestNewPermit(t *testing.T) {
	t.Parallel()
	a := validApp()
	a.Basis = []BasisClaim{
		{Kind: BasisStudy, Evidence: "s"}, {Kind: BasisEmployment, Evidence: "e"},
		{Kind: BasisEmployment, Evidence: "e2"}, {Kind: BasisResidence},
	}
	a.Guardian = &Guardian{Name: "李母", CitizenID: "11010519491231002X", Relation: "mother"}
	p := issue(t, a, decisionDay)
	if p.Number != "33010626K7Q2MX" || p.IssueDate != decisionDay || p.ValidUntil != d(2027, 11, 27) ||
		p.Authority != testAuthority || p.CitizenID != a.CitizenID || p.ResidenceSince != a.ResidenceSince {
		t.Errorf("permit = %+v", p)
	}
	if want := []Basis{BasisEmployment, BasisStudy}; !reflect.DeepEqual(p.Basis, want) {
		t.Errorf("Basis = %v, want %v (kinds with evidence, deduplicated, in order)", p.Basis, want)
	}
	if p.Guardian == a.Guardian || *p.Guardian != *a.Guardian {
		t.Error("the guardian must be copied, not shared")
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestNewPermitRefusals(t *testing.T) {
	t.Parallel()
	good := validApp()
	short := validApp()
	short.ResidenceSince = d(2026, 6, 1)
	bad := validApp()
	bad.CitizenID = "110105199208140518"
	tests := []struct {
		name      string
		a         Application
		number    string
		authority string
		issued    Date
		want      error
	}{
		{"not eligible", short, "33010626K7Q2MX", testAuthority, decisionDay, ErrNotEligible},
		{"invalid application", bad, "33010626K7Q2MX", testAuthority, decisionDay, ErrInvalidApplication},
		{"malformed number", good, "33010626K7Q2M", testAuthority, decisionDay, ErrInvalidNumber},
		{"number of another division", good, "33021226K7Q2MX", testAuthority, decisionDay, ErrInvalidNumber},
		{"number of another year", good, "33010625K7Q2MX", testAuthority, decisionDay, ErrInvalidNumber},
		{"blank authority", good, "33010626K7Q2MX", " ", decisionDay, ErrInvalidPermit},
		{"invalid issue date", good, "33010626K7Q2MX", testAuthority, Date{}, ErrInvalidDate},
	}
	for _, tt := range tests {
		if _, err := NewPermit(tt.a, tt.number, tt.authority, tt.issued); !errors.Is(err, tt.want) {
			t.Errorf("%s: NewPermit = %v, want %v", tt.name, err, tt.want)
		}
	}
	_, err := NewPermit(short, "33010626K7Q2MX", testAuthority, decisionDay)
	if err == nil || !strings.Contains(err.Error(), CodeResidenceUnderSixMonths) {
		t.Errorf("the not-eligible error should name the condition: %v", err)
	}
}

func TestPermitJSONRoundTrip(t *testing.T) {
	t.Parallel()
	p := issue(t, validApp(), decisionDay)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"number":"33010626K7Q2MX"`, `"valid_until":"2027-11-27"`, `"basis":["employment"]`, `"residence_division":"330106"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON %s lacks %s", data, key)
		}
	}
	if strings.Contains(string(data), "guardian") {
		t.Errorf("JSON has an empty guardian: %s", data)
	}
	var back Permit
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, p)
	}
}

func TestPermitValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Permit)
		field  string
		code   string
	}{
		{"number of another division", func(p *Permit) { p.Number = "33021226K7Q2MX" }, "number", "number_mismatch"},
		{"malformed number", func(p *Permit) { p.Number = "x" }, "number", "number_invalid"},
		{"no number", func(p *Permit) { p.Number = "" }, "number", "required"},
		{"no basis", func(p *Permit) { p.Basis = nil }, "basis", "required"},
		{"unknown basis", func(p *Permit) { p.Basis = []Basis{"tourism"} }, "basis[0]", "basis_kind_unknown"},
		{"no authority", func(p *Permit) { p.Authority = "" }, "authority", "required"},
		{"valid until issue", func(p *Permit) { p.ValidUntil = p.IssueDate }, "valid_until", "valid_until_not_after_issue"},
		{"id tampered", func(p *Permit) { p.CitizenID = "110105199208140518" }, "citizen_id", "citizen_id_checksum"},
		{"sex tampered", func(p *Permit) { p.Sex = SexFemale }, "sex", "citizen_id_mismatch"},
		{"guardian incomplete", func(p *Permit) { p.Guardian = &Guardian{Name: "x", CitizenID: "11010519491231002X"} }, "guardian.relation", "required"},
	}
	for _, tt := range tests {
		p := issue(t, validApp(), decisionDay)
		tt.change(&p)
		err := p.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidPermit) || errors.Is(err, ErrInvalidApplication) {
			t.Errorf("%s: Validate() = %v", tt.name, err)
			continue
		}
		if len(ve.Problems) != 1 || ve.Problems[0].Field != tt.field || ve.Problems[0].Code != tt.code {
			t.Errorf("%s: problems = %+v, want %s %s", tt.name, ve.Problems, tt.field, tt.code)
		}
	}
	var nilPermit *Permit
	if err := nilPermit.Validate(); !errors.Is(err, ErrInvalidPermit) {
		t.Errorf("nil Validate() = %v", err)
	}
}
