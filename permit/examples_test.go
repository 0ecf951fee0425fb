package permit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// exampleDay is the decision date the examples are documented against (examples/README.md).
var exampleDay = d(2026, 11, 27)

// exampleWant is the expected decision for each file in ../examples; each invalid file breaks exactly one rule.
var exampleWant = map[string]struct {
	codes  []string
	reason string // the Reason of the single condition, when it has one
}{
	"application-adult-hangzhou.json": {},
	"application-minor-guardian.json": {},
	"invalid-same-city.json":          {codes: []string{CodeNotLeftHouseholdCity}},
	"invalid-short-residence.json":    {codes: []string{CodeResidenceUnderSixMonths}},
	"invalid-no-basis.json":           {codes: []string{CodeNoBasis}},
	"invalid-id-checksum.json":        {codes: []string{CodeInvalidApplication}, reason: "citizen_id_checksum"},
	"invalid-minor-no-guardian.json":  {codes: []string{CodeMinorNeedsGuardian}},
}

func loadExample(t *testing.T, name string) Application {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseApplication(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		want, ok := exampleWant[name]
		if !ok {
			t.Errorf("%s has no expected decision in exampleWant", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := loadExample(t, name)
			dec := Decide(a, exampleDay)
			got := dec.Codes()
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, want.codes) || dec.Eligible != (len(want.codes) == 0) {
				t.Fatalf("Decide on %v = %v %+v, want %v", exampleDay, dec.Eligible, dec.Unmet, want.codes)
			}
			if want.reason != "" && dec.Unmet[0].Reason != want.reason {
				t.Errorf("reason = %q, want %q", dec.Unmet[0].Reason, want.reason)
			}
			if strings.HasPrefix(name, "application-") {
				for _, day := range []Date{d(2026, 6, 1), d(2035, 1, 1)} {
					if dec := Decide(a, day); !dec.Eligible {
						t.Errorf("not eligible on %v: %v", day, dec.Codes())
					}
				}
			}
		})
	}
	for name := range exampleWant {
		if !seen[name] {
			t.Errorf("examples/%s is missing", name)
		}
	}
}

// TestExampleDetails pins the facts examples/README.md states about the files.
func TestExampleDetails(t *testing.T) {
	t.Parallel()
	short := loadExample(t, "invalid-short-residence.json")
	if !Decide(short, d(2026, 11, 28)).Eligible {
		t.Error("invalid-short-residence.json should qualify on 2026-11-28")
	}
	minor := loadExample(t, "invalid-minor-no-guardian.json")
	if Decide(minor, d(2028, 9, 29)).Eligible || !Decide(minor, d(2028, 9, 30)).Eligible {
		t.Error("invalid-minor-no-guardian.json should be refused until 2028-09-30 only")
	}
	bad := loadExample(t, "invalid-id-checksum.json")
	fixed := bad.CitizenID[:17] + "5"
	if err := ValidateCitizenID(fixed); err != nil {
		t.Errorf("the corrected number %s is refused: %v", fixed, err)
	}
	bad.CitizenID = fixed
	if !Decide(bad, exampleDay).Eligible {
		t.Error("invalid-id-checksum.json with the corrected check character should be eligible")
	}
	adult := loadExample(t, "application-adult-hangzhou.json")
	if zh, _, _ := adult.ResidenceDivision.CityName(); zh != "杭州市" {
		t.Errorf("adult example lives in %q", zh)
	}
}
