package permit

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exampleWant is the expected decision for each example of ../examples, whatever the day: each .json file there,
// and each application examples/dated.sh prints ("dated.sh NAME"), whose dates are counted back from the day of
// the decision. Each invalid one breaks exactly one rule.
var exampleWant = map[string]struct {
	codes  []string
	reason string // the Reason of the single condition, when it has one
}{
	"application-adult-hangzhou.json": {},
	"application-minor-guardian.json": {},
	"invalid-same-city.json":          {codes: []string{CodeNotLeftHouseholdCity}},
	"invalid-no-basis.json":           {codes: []string{CodeNoBasis}},
	"invalid-id-checksum.json":        {codes: []string{CodeInvalidApplication}, reason: "citizen_id_checksum"},
	"dated.sh short-residence":        {codes: []string{CodeResidenceUnderSixMonths}},
	"dated.sh minor-no-guardian":      {codes: []string{CodeMinorNeedsGuardian}},
}

// loadExample reads the example called name as it is on day: a file of ../examples, or what dated.sh prints
// for day.
func loadExample(t *testing.T, name string, day Date) Application {
	t.Helper()
	var data []byte
	var err error
	if script, arg, ok := strings.Cut(name, " "); ok {
		cmd := exec.Command("bash", filepath.Join("..", "examples", script), arg, day.String())
		cmd.Stderr = os.Stderr
		data, err = cmd.Output()
	} else {
		data, err = os.ReadFile(filepath.Join("..", "examples", name))
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	a, err := ParseApplication(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

// exampleDays are the days the examples are decided on: today in China, and five years on. The examples are
// meant to be tried by hand and in make demo on the real clock, so their verdicts must not depend on the date.
func exampleDays() []Date {
	today := DateOf(time.Now(), ChinaTime())
	return []Date{today, today.AddMonths(5 * 12)}
}

func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := exampleWant[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected decision in exampleWant", filepath.Base(f))
		}
	}
	for name, want := range exampleWant {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			for _, day := range exampleDays() {
				a := loadExample(t, name, day)
				dec := Decide(a, day)
				got := dec.Codes()
				if len(got) == 0 {
					got = nil
				}
				if !reflect.DeepEqual(got, want.codes) || dec.Eligible != (len(want.codes) == 0) {
					t.Fatalf("Decide on %v = %v %+v, want %v", day, dec.Eligible, dec.Unmet, want.codes)
				}
				if want.reason != "" && dec.Unmet[0].Reason != want.reason {
					t.Errorf("on %v: reason = %q, want %q", day, dec.Unmet[0].Reason, want.reason)
				}
			}
		})
	}
}

// TestDatedExamples pins what examples/README.md says of the applications dated.sh prints.
func TestDatedExamples(t *testing.T) {
	t.Parallel()
	for _, day := range []Date{d(2026, 11, 27), d(2027, 1, 31), d(2028, 2, 29), d(2030, 12, 31)} {
		short := loadExample(t, "dated.sh short-residence", day)
		if moved := short.ResidenceSince.AddMonths(3); moved.Year != day.Year || moved.Month != day.Month || moved.After(day) {
			t.Errorf("on %v the short residence began on %v, not three months before", day, short.ResidenceSince)
		}
		if Decide(short, short.ResidenceSince.AddMonths(6).AddDays(-1)).Eligible || !Decide(short, short.ResidenceSince.AddMonths(6)).Eligible {
			t.Errorf("on %v: the short residence does not qualify exactly six months after %v", day, short.ResidenceSince)
		}
		minor := loadExample(t, "dated.sh minor-no-guardian", day)
		if age := minor.BirthDate.AgeOn(day); age != 10 {
			t.Errorf("on %v the minor is %d, want 10", day, age)
		}
		if err := ValidateCitizenIDOn(minor.CitizenID, day); err != nil {
			t.Errorf("on %v: %v", day, err)
		}
		minor.Guardian = &Guardian{Name: "吴芳", CitizenID: "42010619850101002X", Relation: "mother"}
		if dec := Decide(minor, day); !dec.Eligible {
			t.Errorf("on %v the minor with a guardian is refused: %v", day, dec.Codes())
		}
	}
	for _, args := range [][]string{{}, {"nonsense"}, {"short-residence", "2026-13-01"}, {"short-residence", "27.11.2026"}} {
		cmd := exec.Command("bash", append([]string{filepath.Join("..", "examples", "dated.sh")}, args...)...)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "usage:") {
			t.Errorf("dated.sh %v: %v %s", args, err, out)
		}
	}
}

// TestExampleDetails pins the facts examples/README.md states about the files.
func TestExampleDetails(t *testing.T) {
	t.Parallel()
	today := exampleDays()[0]
	bad := loadExample(t, "invalid-id-checksum.json", today)
	fixed := bad.CitizenID[:17] + "5"
	if err := ValidateCitizenID(fixed); err != nil {
		t.Errorf("the corrected number %s is refused: %v", fixed, err)
	}
	bad.CitizenID = fixed
	if !Decide(bad, today).Eligible {
		t.Error("invalid-id-checksum.json with the corrected check character should be eligible")
	}
	adult := loadExample(t, "application-adult-hangzhou.json", today)
	if zh, _, _ := adult.ResidenceDivision.CityName(); zh != "杭州市" {
		t.Errorf("adult example lives in %q", zh)
	}
	// The minor of application-minor-guardian.json turns 16 on 2031-05-20 and stays eligible.
	minor := loadExample(t, "application-minor-guardian.json", today)
	if !Decide(minor, d(2031, 5, 20)).Eligible || minor.BirthDate.AddMonths(16*12) != d(2031, 5, 20) {
		t.Error("application-minor-guardian.json: not eligible on her 16th birthday")
	}
}
