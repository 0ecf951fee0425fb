package permit

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// adultID is a made-up valid number: born 1992-08-14, male, household in Beijing (110105).
const adultID = "110105199208140517"

// validApp returns an application eligible on 2026-11-27 (and any later day).
func validApp() Application {
	return Application{
		Name:              "李明",
		Sex:               SexMale,
		Ethnicity:         "01",
		BirthDate:         d(1992, 8, 14),
		CitizenID:         adultID,
		PhotoSHA256:       PhotoDigest([]byte("photo")),
		HouseholdAddress:  "北京市朝阳区示例路 12 号",
		HouseholdDivision: "110105",
		ResidenceAddress:  "浙江省杭州市西湖区示例街 88 号",
		ResidenceDivision: "330106",
		ResidenceSince:    d(2024, 3, 15),
		Basis:             []BasisClaim{{Kind: BasisEmployment, Evidence: "labour contract HZ-1"}},
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	t.Parallel()
	a := validApp()
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	a.PhotoSHA256 = ""
	a.Basis = nil // no basis is a condition of Art. 2, not a shape problem
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate() without photo and basis = %v", err)
	}
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	type want struct{ field, code string }
	tests := []struct {
		name   string
		change func(*Application)
		want   []want
	}{
		{"no name", func(a *Application) { a.Name = "  " }, []want{{"name", "required"}}},
		{"control char in name", func(a *Application) { a.Name = "李\x00明" }, []want{{"name", "invalid_text"}}},
		{"bad utf-8 in address", func(a *Application) { a.ResidenceAddress = "杭州\xff" }, []want{{"residence_address", "invalid_text"}}},
		{"line separator in address", func(a *Application) { a.HouseholdAddress = "北京\u2028朝阳" }, []want{{"household_address", "invalid_text"}}},
		{"ESC in name", func(a *Application) { a.Name = "李\x1b[2J明" }, []want{{"name", "invalid_text"}}},
		{"C1 CSI in name", func(a *Application) { a.Name = "李\u009b2J明" }, []want{{"name", "invalid_text"}}},
		{"zero-width space in name", func(a *Application) { a.Name = "李\u200b明" }, []want{{"name", "format_character"}}},
		{"RLO in residence address", func(a *Application) { a.ResidenceAddress += "\u202e" }, []want{{"residence_address", "format_character"}}},
		{"isolate in household address", func(a *Application) { a.HouseholdAddress = "\u2066北京\u2069" }, []want{{"household_address", "format_character"}}},
		{"BOM in guardian name", func(a *Application) {
			a.Guardian = &Guardian{Name: "\ufeff陈静", CitizenID: "340104198803020044", Relation: "mother"}
		}, []want{{"guardian.name", "format_character"}}},
		{"LRM in relation", func(a *Application) {
			a.Guardian = &Guardian{Name: "陈静", CitizenID: "340104198803020044", Relation: "mother\u200e"}
		}, []want{{"guardian.relation", "format_character"}}},
		{"soft hyphen in evidence", func(a *Application) { a.Basis[0].Evidence = "HZ\u00ad1" }, []want{{"basis[0].evidence", "format_character"}}},
		{"long name", func(a *Application) { a.Name = strings.Repeat("名", 65) }, []want{{"name", "too_long"}}},
		{"no sex", func(a *Application) { a.Sex = "" }, []want{{"sex", "required"}}},
		{"sex word", func(a *Application) { a.Sex = "male" }, []want{{"sex", "sex_unknown"}}},
		{"sex against id", func(a *Application) { a.Sex = SexFemale }, []want{{"sex", "citizen_id_mismatch"}}},
		{"birth date against id", func(a *Application) { a.BirthDate = d(1992, 8, 15) }, []want{{"birth_date", "citizen_id_mismatch"}}},
		{"no birth date", func(a *Application) { a.BirthDate = Date{} }, []want{{"birth_date", "required"}}},
		{"impossible birth date", func(a *Application) { a.BirthDate = d(1992, 2, 30) }, []want{{"birth_date", "invalid_date"}}},
		{"no ethnicity", func(a *Application) { a.Ethnicity = "" }, []want{{"ethnicity", "required"}}},
		{"ethnicity 57", func(a *Application) { a.Ethnicity = "57" }, []want{{"ethnicity", "ethnicity_unknown"}}},
		{"ethnicity name", func(a *Application) { a.Ethnicity = "汉族" }, []want{{"ethnicity", "ethnicity_unknown"}}},
		{"no id", func(a *Application) { a.CitizenID = "" }, []want{{"citizen_id", "required"}}},
		{"id checksum", func(a *Application) { a.CitizenID = "110105199208140518" }, []want{{"citizen_id", "citizen_id_checksum"}}},
		{"id length", func(a *Application) { a.CitizenID = "11010519920814051" }, []want{{"citizen_id", "citizen_id_length"}}},
		{"id lowercase x", func(a *Application) { a.CitizenID = "11010519491231002x" }, []want{{"citizen_id", "citizen_id_format"}}},
		{"photo hex", func(a *Application) { a.PhotoSHA256 = strings.Repeat("ab", 32) }, []want{{"photo_sha256", "photo_digest_invalid"}}},
		{"photo padded", func(a *Application) { a.PhotoSHA256 = PhotoDigest(nil) + "=" }, []want{{"photo_sha256", "photo_digest_invalid"}}},
		{"photo std base64", func(a *Application) { a.PhotoSHA256 = "+" + PhotoDigest(nil)[1:] }, []want{{"photo_sha256", "photo_digest_invalid"}}},
		{"no household division", func(a *Application) { a.HouseholdDivision = "" }, []want{{"household_division", "required"}}},
		{"bad residence division", func(a *Application) { a.ResidenceDivision = "330000" }, []want{{"residence_division", "division_invalid"}}},
		{"no addresses", func(a *Application) { a.HouseholdAddress, a.ResidenceAddress = "", "" },
			[]want{{"household_address", "required"}, {"residence_address", "required"}}},
		{"no residence date", func(a *Application) { a.ResidenceSince = Date{} }, []want{{"residence_since", "required"}}},
		{"residence before birth", func(a *Application) { a.ResidenceSince = d(1992, 8, 13) }, []want{{"residence_since", "before_birth"}}},
		{"unknown basis", func(a *Application) { a.Basis = append(a.Basis, BasisClaim{Kind: "marriage", Evidence: "x"}) },
			[]want{{"basis[1].kind", "basis_kind_unknown"}}},
		{"basis without kind", func(a *Application) { a.Basis[0].Kind = "" }, []want{{"basis[0].kind", "required"}}},
		{"long evidence", func(a *Application) { a.Basis[0].Evidence = strings.Repeat("x", 129) }, []want{{"basis[0].evidence", "too_long"}}},
		{"guardian incomplete", func(a *Application) { a.Guardian = &Guardian{} },
			[]want{{"guardian.name", "required"}, {"guardian.citizen_id", "required"}, {"guardian.relation", "required"}}},
		{"guardian is applicant", func(a *Application) { a.Guardian = &Guardian{Name: "李明", CitizenID: adultID, Relation: "self"} },
			[]want{{"guardian.citizen_id", "guardian_is_applicant"}}},
		{"guardian bad id", func(a *Application) {
			a.Guardian = &Guardian{Name: "陈静", CitizenID: "340104198803020045", Relation: "mother"}
		}, []want{{"guardian.citizen_id", "citizen_id_checksum"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := validApp()
			tt.change(&a)
			err := a.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			var got []want
			for _, p := range ve.Problems {
				got = append(got, want{p.Field, p.Code})
				if p.ZH == "" || p.EN == "" {
					t.Errorf("problem %+v lacks a message", p)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems = %v, want %v", got, tt.want)
			}
			if !errors.Is(err, ErrInvalidApplication) || errors.Is(err, ErrInvalidPermit) {
				t.Errorf("errors.Is mismatch for %v", err)
			}
		})
	}
}

func TestValidateReportsAllAtOnce(t *testing.T) {
	t.Parallel()
	a := validApp()
	a.Name = ""
	a.CitizenID = "110105199208140518"
	a.Ethnicity = "99"
	a.ResidenceDivision = "12345"
	err := a.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v", err)
	}
	want := []string{"required", "ethnicity_unknown", "citizen_id_checksum", "division_invalid"}
	if got := ve.Codes(); !reflect.DeepEqual(got, want) {
		t.Errorf("codes = %v, want %v", got, want)
	}
	if !errors.Is(err, ErrIDChecksum) || !errors.Is(err, ErrInvalidDivision) {
		t.Errorf("the problems' errors do not unwrap: %v", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "permit: invalid application: name: is required; ") {
		t.Errorf("Error() = %q", msg)
	}
	if strings.Contains(msg, a.CitizenID) {
		t.Errorf("Error() leaks the citizen id: %q", msg)
	}
}

// TestFormatCharacterReason: the problem names the invisible character and where it is, in both languages, so
// that an applicant who pasted a name can find what to remove.
func TestFormatCharacterReason(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
		0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0x061C, 0xE0041} {
		a := validApp()
		a.Name = "李" + string(r) + "明"
		var ve *ValidationError
		if !errors.As(a.Validate(), &ve) || len(ve.Problems) != 1 {
			t.Errorf("U+%04X in a name: Validate() = %v", r, a.Validate())
			continue
		}
		p := ve.Problems[0]
		code := fmt.Sprintf("U+%04X", r)
		if p.Code != "format_character" || !strings.Contains(p.EN, code+", character 2") || !strings.Contains(p.ZH, code+"，第 2 个字符") ||
			!strings.HasPrefix(p.ZH, "姓名：含有零宽空格、双向文本控制符等不可见的格式字符") || !strings.HasPrefix(p.EN, "Name: contains an invisible formatting character") {
			t.Errorf("U+%04X: %+v", r, p)
		}
	}
	// Visible text of every script the regulations' forms meet is not affected.
	a := validApp()
	a.Name, a.ResidenceAddress = "阿依古丽·买买提", "浙江省杭州市西湖区示例街 88 号 (B 座) 1203-2 室"
	if err := a.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	// Decide reports it as an invalid application, with the field and the reason.
	a.Name = "李明\u202e"
	d := Decide(a, d(2026, 11, 27))
	if d.Eligible || len(d.Unmet) != 1 || d.Unmet[0].Field != "name" || d.Unmet[0].Reason != "format_character" ||
		!strings.Contains(d.Unmet[0].EN, "bidirectional override (U+202E, character 3)") {
		t.Errorf("Decide = %+v", d)
	}
}

func TestValidateNil(t *testing.T) {
	t.Parallel()
	var a *Application
	if err := a.Validate(); !errors.Is(err, ErrInvalidApplication) {
		t.Errorf("nil Validate() = %v", err)
	}
}

func TestParseApplication(t *testing.T) {
	t.Parallel()
	good := `{"name":"李明","sex":"M","ethnicity":"01","birth_date":"1992-08-14","citizen_id":"110105199208140517",
		"household_address":"a","household_division":"110105","residence_address":"b","residence_division":"330106",
		"residence_since":"2024-03-15","basis":[{"kind":"employment","evidence":"c"}],
		"guardian":{"name":"g","citizen_id":"11010519491231002X","relation":"grandmother"}}`
	a, err := ParseApplication([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if a.BirthDate != d(1992, 8, 14) || a.ResidenceDivision != "330106" || len(a.Basis) != 1 || a.Guardian == nil ||
		a.Guardian.Relation != "grandmother" {
		t.Errorf("decoded %+v", a)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"name":"x","nationality":"CN"}`,
		"trailing data": `{"name":"x"} {}`,
		"bad date":      `{"birth_date":"1992-02-30"}`,
		"not an object": `[]`,
		"empty":         ``,
	} {
		if _, err := ParseApplication([]byte(bad)); err == nil {
			t.Errorf("%s: ParseApplication accepted %s", name, bad)
		}
	}
}

func TestPhotoDigest(t *testing.T) {
	t.Parallel()
	// SHA-256 of the empty string, base64url without padding.
	if got := PhotoDigest(nil); got != "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU" {
		t.Errorf("PhotoDigest(nil) = %q", got)
	}
}

func BenchmarkApplicationValidate(b *testing.B) {
	a := validApp()
	for b.Loop() {
		if err := a.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseApplicationListsEveryProblem: a form with several problems —
// unknown fields, a bad date, a wrong type, and invalid values elsewhere —
// gets all of them in one answer.
func TestParseApplicationListsEveryProblem(t *testing.T) {
	body := `{"name":"李\u200b明","sex":"M","ethnicity":"01","birth_date":"1992-02-30","citizen_id":"110105199208140517",
		"household_address":"北京市","household_division":"110105","residence_address":"杭州市","residence_division":330106,
		"residence_since":"2024-03-15","basis":[{"kind":"employment","evidence":"x"}],"salary":1,"Nickname":"x"}`
	_, err := ParseApplication([]byte(body))
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidApplication) {
		t.Fatalf("err = %v", err)
	}
	got := map[string]string{}
	for _, p := range ve.Problems {
		got[p.Field] = p.Code
		if p.ZH == "" || p.EN == "" {
			t.Errorf("problem %+v without its texts", p)
		}
	}
	want := map[string]string{"birth_date": "invalid_date", "residence_division": "wrong_type", "salary": "unknown_field",
		"Nickname": "unknown_field", "name": "format_character"}
	for f, c := range want {
		if got[f] != c {
			t.Errorf("field %s: %q, want %q (all: %v)", f, got[f], c, got)
		}
	}
	// Not a JSON object at all: a plain error.
	for _, bad := range []string{`[1]`, `{"name":`, `{} {}`, `null`} {
		if _, err := ParseApplication([]byte(bad)); err == nil || errors.As(err, &ve) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
