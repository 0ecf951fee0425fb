package permit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sex is the sex printed on a permit: [SexMale] or [SexFemale]. In JSON it is the string "M" or "F".
type Sex string

// The two values of [Sex], as written in the citizen identity number (odd 17th digit for a man).
const (
	SexMale   Sex = "M"
	SexFemale Sex = "F"
)

// Valid reports whether s is [SexMale] or [SexFemale].
func (s Sex) Valid() bool { return s == SexMale || s == SexFemale }

// Names returns the Chinese and English words for s ("男"/"male", "女"/"female"), or two empty strings when s is
// not valid.
func (s Sex) Names() (zh, en string) {
	switch s {
	case SexMale:
		return "男", "male"
	case SexFemale:
		return "女", "female"
	}
	return "", ""
}

// Basis is one of the three grounds of Art. 2 on which a residence permit may be requested.
type Basis string

// The three grounds of Art. 2: lawful stable employment (合法稳定就业), a lawful stable residence (合法稳定住所)
// and continuous study (连续就读).
const (
	BasisEmployment Basis = "employment"
	BasisResidence  Basis = "residence"
	BasisStudy      Basis = "study"
)

// Valid reports whether b is one of the three grounds of Art. 2.
func (b Basis) Valid() bool {
	return b == BasisEmployment || b == BasisResidence || b == BasisStudy
}

// BasisClaim is one ground the applicant relies on, with a reference to the evidence Art. 9 asks for: a labour
// contract or business licence number for employment, a tenancy or title deed number for a residence, a student
// card number for study. The evidence itself stays with the authority; only its reference is recorded.
type BasisClaim struct {
	Kind     Basis  `json:"kind"`
	Evidence string `json:"evidence"`
}

// Guardian is the person who applies on behalf of the applicant (Art. 9: a guardian or close relative of a minor
// under 16, or of an elderly or disabled person), identified by a citizen identity number.
type Guardian struct {
	Name      string `json:"name"`
	CitizenID string `json:"citizen_id"`
	// Relation says how the guardian is related to the applicant, in free text such as "mother".
	Relation string `json:"relation"`
}

// Application is a request for a residence permit: the Art. 4 particulars of the applicant plus the Art. 9
// materials (where and since when the applicant lives, and on which grounds). It is the public input format read
// by the command line, the HTTP API and the files in examples/.
type Application struct {
	Name      string `json:"name"`
	Sex       Sex    `json:"sex"`
	Ethnicity string `json:"ethnicity"` // two-digit GB/T 3304 code, see [EthnicityName]
	BirthDate Date   `json:"birth_date"`
	CitizenID string `json:"citizen_id"`
	// PhotoSHA256 is the unpadded base64url encoding of the SHA-256 digest of the photo (43 characters), as
	// [PhotoDigest] computes it. It is optional: the authority may take the photo at the counter.
	PhotoSHA256       string       `json:"photo_sha256,omitempty"`
	HouseholdAddress  string       `json:"household_address"`
	HouseholdDivision Division     `json:"household_division"`
	ResidenceAddress  string       `json:"residence_address"`
	ResidenceDivision Division     `json:"residence_division"`
	ResidenceSince    Date         `json:"residence_since"`
	Basis             []BasisClaim `json:"basis"`
	Guardian          *Guardian    `json:"guardian,omitempty"`
}

// Length limits for free-text fields, in characters.
const (
	maxNameLen     = 64
	maxAddressLen  = 256
	maxEvidenceLen = 128
	maxRelationLen = 32
	maxAuthority   = 128
)

// Problem is one thing wrong with an application or a permit: the JSON field at fault, a stable code, and a
// description in Chinese and in English. Codes are listed in the package documentation.
type Problem struct {
	Field string `json:"field"`
	Code  string `json:"code"`
	ZH    string `json:"zh"`
	EN    string `json:"en"`
	// Err is the underlying error when there is one (such as an error wrapping [ErrIDChecksum]).
	Err error `json:"-"`
}

// ValidationError lists every problem found in an application or a permit at once, so that the applicant can
// correct everything in one go (Art. 9). It matches [ErrInvalidApplication] or [ErrInvalidPermit] with errors.Is,
// and also every problem's Err.
type ValidationError struct {
	Problems []Problem
	kind     error
}

// Error returns the problems in English on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("permit: ")
	b.WriteString(e.target().Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(problemTexts[p.Code].en)
	}
	return b.String()
}

func (e *ValidationError) target() error {
	if e.kind == nil {
		return ErrInvalidApplication
	}
	return e.kind
}

// Is reports whether target is [ErrInvalidApplication] (for an application) or [ErrInvalidPermit] (for a permit).
func (e *ValidationError) Is(target error) bool { return target == e.target() }

// Unwrap returns the underlying errors of the problems, so that errors.Is(err, ErrIDChecksum) works.
func (e *ValidationError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Codes returns the problem codes in order.
func (e *ValidationError) Codes() []string {
	codes := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		codes[i] = p.Code
	}
	return codes
}

// text is a description in Chinese and English.
type text struct{ zh, en string }

// Stable problem codes.
const (
	codeRequired         = "required"
	codeUnknownField     = "unknown_field"
	codeWrongType        = "wrong_type"
	codeTooLong          = "too_long"
	codeInvalidText      = "invalid_text"
	codeFormatChar       = "format_character"
	codeInvalidDate      = "invalid_date"
	codeDateInFuture     = "date_in_future"
	codeBeforeBirth      = "before_birth"
	codeSexUnknown       = "sex_unknown"
	codeIDMismatch       = "citizen_id_mismatch"
	codeEthnicityUnknown = "ethnicity_unknown"
	codeDivisionInvalid  = "division_invalid"
	codePhotoInvalid     = "photo_digest_invalid"
	codeBasisUnknown     = "basis_kind_unknown"
	codeGuardianIsSelf   = "guardian_is_applicant"
	codeGuardianMinor    = "guardian_not_adult"
	codeNumberInvalid    = "number_invalid"
	codeNumberMismatch   = "number_mismatch"
	codeValidUntil       = "valid_until_not_after_issue"
	codeIDLength         = "citizen_id_length"
	codeIDFormat         = "citizen_id_format"
	codeIDDivision       = "citizen_id_division"
	codeIDBirthDate      = "citizen_id_birth_date"
	codeIDChecksum       = "citizen_id_checksum"
)

var problemTexts = map[string]text{
	codeRequired:         {"必须填写", "is required"},
	codeUnknownField:     {"不是申领表的栏目", "is not a field of the application form"},
	codeWrongType:        {"类型不对", "has a value of the wrong type"},
	codeTooLong:          {"过长", "is too long"},
	codeInvalidText:      {"含有控制字符、换行符或无效编码", "contains control characters, line breaks or invalid UTF-8"},
	codeFormatChar:       {"含有零宽空格、双向文本控制符等不可见的格式字符", "contains an invisible formatting character such as a zero-width space or a bidirectional override"},
	codeInvalidDate:      {"不是有效日期", "is not a valid date"},
	codeDateInFuture:     {"晚于当日", "is after today"},
	codeBeforeBirth:      {"早于出生日期", "is before the date of birth"},
	codeSexUnknown:       {"应为 M（男）或 F（女）", `must be "M" (male) or "F" (female)`},
	codeIDMismatch:       {"与公民身份号码不符", "does not match the citizen ID number"},
	codeEthnicityUnknown: {"不是 GB/T 3304 民族代码（01 至 56）", "is not a GB/T 3304 ethnic group code (01 to 56)"},
	codeDivisionInvalid:  {"不是有效的行政区划代码", "is not a valid administrative division code"},
	codePhotoInvalid:     {"应为相片 SHA-256 摘要的 base64url 编码（43 个字符）", "must be the base64url SHA-256 digest of the photo (43 characters)"},
	codeBasisUnknown:     {"应为 employment、residence 或 study", "must be employment, residence or study"},
	codeGuardianIsSelf:   {"不能是申领人本人", "must not be the applicant"},
	codeGuardianMinor:    {"代办人未满十八周岁", "belongs to a person under 18"},
	codeNumberInvalid:    {"格式无效", "does not have the permit number format"},
	codeNumberMismatch:   {"与居住地区划或签发年份不符", "does not match the residence division or the year of issue"},
	codeValidUntil:       {"应晚于签发日期", "must be after the issue date"},
	codeIDLength:         {"应为 18 位", "must be 18 characters"},
	codeIDFormat:         {"应为 17 位数字加 1 位数字或大写 X", "must be 17 digits followed by a digit or an uppercase X"},
	codeIDDivision:       {"地址码无效", "has an invalid address code"},
	codeIDBirthDate:      {"出生日期码无效", "has an invalid birth date"},
	codeIDChecksum:       {"校验码不符", "has a check character that does not match"},
}

// fieldLabels names the JSON fields in Chinese and English; indexes such as [0] are removed before look-up.
var fieldLabels = map[string]text{
	"application":         {"申领信息", "Application"},
	"permit":              {"居住证", "Permit"},
	"basis[]":             {"申领依据类别", "Basis kind"},
	"name":                {"姓名", "Name"},
	"sex":                 {"性别", "Sex"},
	"ethnicity":           {"民族", "Ethnicity"},
	"birth_date":          {"出生日期", "Date of birth"},
	"citizen_id":          {"公民身份号码", "Citizen ID number"},
	"photo_sha256":        {"本人相片", "Photo"},
	"household_address":   {"常住户口所在地住址", "Household registration address"},
	"household_division":  {"常住户口所在地行政区划", "Household registration division"},
	"residence_address":   {"居住地住址", "Residence address"},
	"residence_division":  {"居住地行政区划", "Residence division"},
	"residence_since":     {"居住起始日期", "Living at the residence since"},
	"basis":               {"申领依据", "Basis"},
	"basis[].kind":        {"申领依据类别", "Basis kind"},
	"basis[].evidence":    {"证明材料编号", "Evidence reference"},
	"guardian":            {"代办人", "Guardian"},
	"guardian.name":       {"代办人姓名", "Guardian's name"},
	"guardian.citizen_id": {"代办人公民身份号码", "Guardian's citizen ID number"},
	"guardian.relation":   {"代办人与申领人关系", "Guardian's relation to the applicant"},
	"number":              {"居住证号码", "Permit number"},
	"authority":           {"签发机关", "Issuing authority"},
	"issue_date":          {"签发日期", "Issue date"},
	"valid_until":         {"有效期至", "Valid until"},
}

// fieldLabel returns the labels of a JSON field path such as "basis[2].kind".
func fieldLabel(field string) text {
	var b strings.Builder
	skip := false
	for _, r := range field {
		switch {
		case r == '[':
			skip = true
			b.WriteRune(r)
		case r == ']':
			skip = false
			b.WriteRune(r)
		case !skip:
			b.WriteRune(r)
		}
	}
	if t, ok := fieldLabels[b.String()]; ok {
		return t
	}
	return text{field, field}
}

// problems collects problems in field order.
type problems []Problem

func (ps *problems) add(field, code string, err error) {
	ps.addDetail(field, code, text{}, err)
}

// addDetail adds a problem whose descriptions end with detail in parentheses, such as the character at fault.
func (ps *problems) addDetail(field, code string, detail text, err error) {
	l := fieldLabel(field)
	t := problemTexts[code]
	p := Problem{Field: field, Code: code, ZH: l.zh + "：" + t.zh, EN: l.en + ": " + t.en, Err: err}
	if detail != (text{}) {
		p.ZH += "（" + detail.zh + "）"
		p.EN += " (" + detail.en + ")"
	}
	*ps = append(*ps, p)
}

// text checks a free-text field: required (after trimming white space), at most max characters, valid UTF-8,
// free of control characters and line separators, and free of invisible format characters (Unicode category Cf:
// zero-width spaces, bidirectional overrides and isolates, byte order marks), which would make the text read
// differently from what it holds.
func (ps *problems) text(field, s string, max int, required bool) {
	format := strings.IndexFunc(s, isFormat)
	switch {
	case strings.TrimSpace(s) == "":
		if required {
			ps.add(field, codeRequired, nil)
		}
	case !utf8.ValidString(s) || strings.IndexFunc(s, isControl) >= 0:
		ps.add(field, codeInvalidText, nil)
	case format >= 0:
		r, _ := utf8.DecodeRuneInString(s[format:])
		at := utf8.RuneCountInString(s[:format]) + 1
		ps.addDetail(field, codeFormatChar, text{fmt.Sprintf("U+%04X，第 %d 个字符", r, at), fmt.Sprintf("U+%04X, character %d", r, at)},
			fmt.Errorf("permit: %s: format character U+%04X at character %d", field, r, at))
	case utf8.RuneCountInString(s) > max:
		ps.add(field, codeTooLong, nil)
	}
}

// isControl reports whether r is a control character (C0, DEL, C1) or a line or paragraph separator.
func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

// isFormat reports whether r is an invisible format character, Unicode category Cf (U+200B, U+202E, U+2066 to
// U+2069, U+FEFF and the like).
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// citizenID checks an identity number and reports whether it is valid.
func (ps *problems) citizenID(field, id string) bool {
	if id == "" {
		ps.add(field, codeRequired, nil)
		return false
	}
	if err := ValidateCitizenID(id); err != nil {
		ps.add(field, idErrorCode(err), err)
		return false
	}
	return true
}

// idErrorCode returns the problem code of an error from ValidateCitizenID.
func idErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrIDLength):
		return codeIDLength
	case errors.Is(err, ErrIDFormat):
		return codeIDFormat
	case errors.Is(err, ErrIDDivision):
		return codeIDDivision
	case errors.Is(err, ErrIDBirthDate):
		return codeIDBirthDate
	default:
		return codeIDChecksum
	}
}

// date checks a required date and reports whether it is valid.
func (ps *problems) date(field string, d Date) bool {
	switch {
	case d.IsZero():
		ps.add(field, codeRequired, nil)
		return false
	case !d.Valid():
		ps.add(field, codeInvalidDate, fmt.Errorf("permit: %s: %w", field, ErrInvalidDate))
		return false
	}
	return true
}

// division checks a required division code.
func (ps *problems) division(field string, d Division) {
	switch {
	case d == "":
		ps.add(field, codeRequired, nil)
	case !d.Valid():
		ps.add(field, codeDivisionInvalid, fmt.Errorf("permit: %s %q: %w", field, truncate(string(d)), ErrInvalidDivision))
	}
}

// person checks the Art. 4 particulars shared by applications and permits: name, sex, ethnicity, birth date,
// citizen identity number (with the cross-checks of sex and birth date against it), photo digest and the two
// addresses with their divisions.
func (ps *problems) person(name string, sex Sex, eth string, birth Date, id, photo, hAddr string, hDiv Division, rAddr string, rDiv Division) {
	ps.text("name", name, maxNameLen, true)
	switch {
	case sex == "":
		ps.add("sex", codeRequired, nil)
	case !sex.Valid():
		ps.add("sex", codeSexUnknown, nil)
	}
	if eth == "" {
		ps.add("ethnicity", codeRequired, nil)
	} else if _, _, ok := EthnicityName(eth); !ok {
		ps.add("ethnicity", codeEthnicityUnknown, nil)
	}
	birthOK := ps.date("birth_date", birth)
	if ps.citizenID("citizen_id", id) {
		if idBirthDate, _ := idBirth(id); birthOK && birth != idBirthDate {
			ps.add("birth_date", codeIDMismatch, nil)
		}
		if idSex, _ := IDSex(id); sex.Valid() && sex != idSex {
			ps.add("sex", codeIDMismatch, nil)
		}
	}
	if photo != "" && !validPhotoDigest(photo) {
		ps.add("photo_sha256", codePhotoInvalid, nil)
	}
	ps.text("household_address", hAddr, maxAddressLen, true)
	ps.division("household_division", hDiv)
	ps.text("residence_address", rAddr, maxAddressLen, true)
	ps.division("residence_division", rDiv)
}

// validPhotoDigest reports whether s is the unpadded base64url encoding of 32 bytes.
func validPhotoDigest(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// problems returns every shape problem of a, in field order; none of them depends on the date of the decision.
func (a *Application) problems() problems {
	var ps problems
	ps.person(a.Name, a.Sex, a.Ethnicity, a.BirthDate, a.CitizenID, a.PhotoSHA256,
		a.HouseholdAddress, a.HouseholdDivision, a.ResidenceAddress, a.ResidenceDivision)
	if ps.date("residence_since", a.ResidenceSince) && a.BirthDate.Valid() && a.ResidenceSince.Before(a.BirthDate) {
		ps.add("residence_since", codeBeforeBirth, nil)
	}
	for i, c := range a.Basis {
		field := fmt.Sprintf("basis[%d]", i)
		switch {
		case c.Kind == "":
			ps.add(field+".kind", codeRequired, nil)
		case !c.Kind.Valid():
			ps.add(field+".kind", codeBasisUnknown, nil)
		}
		ps.text(field+".evidence", c.Evidence, maxEvidenceLen, false)
	}
	if g := a.Guardian; g != nil {
		ps.text("guardian.name", g.Name, maxNameLen, true)
		if ps.citizenID("guardian.citizen_id", g.CitizenID) && g.CitizenID == a.CitizenID {
			ps.add("guardian.citizen_id", codeGuardianIsSelf, nil)
		}
		ps.text("guardian.relation", g.Relation, maxRelationLen, true)
	}
	return ps
}

// Validate checks the shape of the application and returns every problem at once as a [*ValidationError], or nil.
// It checks that the required fields are present, that the citizen identity number is valid, that the birth date
// and sex agree with it, that the ethnicity code is known, that the divisions are valid, that the photo digest (if
// any) is well formed, that basis kinds are known, and that a guardian (if any) is complete with a valid
// number. It does not decide eligibility, and does not look at the clock: [Decide] does both.
func (a *Application) Validate() error {
	if a == nil {
		var ps problems
		ps.add("application", codeRequired, nil)
		return &ValidationError{Problems: ps, kind: ErrInvalidApplication}
	}
	if ps := a.problems(); len(ps) > 0 {
		return &ValidationError{Problems: ps, kind: ErrInvalidApplication}
	}
	return nil
}

// ParseApplication decodes one JSON application. The body must be one JSON
// object and nothing after it; otherwise the error is a plain one. Inside it,
// every problem is collected at once, as an applicant correcting a form
// expects (Art. 9): an unknown field, a value of the wrong type, a date that
// is not a calendar day, and, when there is any such problem, the problems
// [Application.Validate] finds in the fields that did parse — all in one
// [*ValidationError]. When the form parses, it is returned unvalidated: call
// [Application.Validate] or [Decide] next.
func ParseApplication(data []byte) (Application, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return Application{}, fmt.Errorf("permit: parse application: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Application{}, fmt.Errorf("permit: parse application: trailing data after the JSON object")
	}
	if raw == nil {
		return Application{}, fmt.Errorf("permit: parse application: not a JSON object")
	}
	var a Application
	targets := map[string]any{
		"name": &a.Name, "sex": &a.Sex, "ethnicity": &a.Ethnicity, "birth_date": &a.BirthDate, "citizen_id": &a.CitizenID,
		"photo_sha256": &a.PhotoSHA256, "household_address": &a.HouseholdAddress, "household_division": &a.HouseholdDivision,
		"residence_address": &a.ResidenceAddress, "residence_division": &a.ResidenceDivision, "residence_since": &a.ResidenceSince,
		"basis": &a.Basis, "guardian": &a.Guardian,
	}
	var ps problems
	failed := map[string]bool{}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		target, ok := targets[name]
		if !ok {
			ps.add(name, codeUnknownField, nil)
			continue
		}
		d := json.NewDecoder(bytes.NewReader(raw[name]))
		d.DisallowUnknownFields()
		if err := d.Decode(target); err != nil {
			failed[name] = true
			code := codeWrongType
			if errors.Is(err, ErrInvalidDate) {
				code = codeInvalidDate
			} else if strings.Contains(err.Error(), "unknown field") {
				code = codeUnknownField
			}
			ps.addDetail(name, code, text{clip(err.Error()), clip(err.Error())}, err)
		}
	}
	if len(ps) == 0 {
		return a, nil
	}
	// The problems of the fields that parsed, but not again those that did not.
	for _, p := range a.problems() {
		top, _, _ := strings.Cut(p.Field, ".")
		top, _, _ = strings.Cut(top, "[")
		if !failed[top] {
			ps = append(ps, p)
		}
	}
	return a, &ValidationError{Problems: ps, kind: ErrInvalidApplication}
}

// clip shortens a decoder's message quoted in a problem.
func clip(s string) string {
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// PhotoDigest returns the value of [Application.PhotoSHA256] for a photo: the unpadded base64url encoding of the
// SHA-256 digest of its bytes.
func PhotoDigest(photo []byte) string {
	sum := sha256.Sum256(photo)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
