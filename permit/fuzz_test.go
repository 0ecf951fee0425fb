package permit

import (
	"testing"
)

// FuzzParseApplication feeds arbitrary bodies to the application parser and
// validator, which read what anyone on the internet submits: they must
// refuse with a reason, never panic, and decide only valid forms.
func FuzzParseApplication(f *testing.F) {
	f.Add([]byte(`{"name":"李明","sex":"M","ethnicity":"01","birth_date":"1992-08-14","citizen_id":"110105199208140517","household_address":"北京市","household_division":"110105","residence_address":"杭州市","residence_division":"330106","residence_since":"2024-03-15","basis":[{"kind":"employment","evidence":"x"}]}`))
	f.Add([]byte(`{"name":"\u202e","birth_date":"2024-02-30"}`))
	f.Add([]byte(`{"guardian":{"name":"x","citizen_id":"1","relation":""}}`))
	today, _ := NewDate(2026, 12, 3)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseApplication(data)
		if err != nil {
			return
		}
		verr := a.Validate()
		d := Decide(a, today)
		if verr != nil && d.Eligible {
			t.Fatalf("an invalid form was found eligible: %v", verr)
		}
		if d.Unmet == nil {
			t.Fatal("Decide returned a nil Unmet")
		}
	})
}
