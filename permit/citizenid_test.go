package permit

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type gbVectors struct {
	Weights    []int    `json:"weights"`
	CheckChars string   `json:"check_chars_by_sum_mod_11"`
	Valid      []string `json:"valid"`
}

func loadGBVectors(t testing.TB) gbVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/gb11643.json")
	if err != nil {
		t.Fatal(err)
	}
	var v gbVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) == 0 {
		t.Fatal("no valid vectors in testdata/gb11643.json")
	}
	return v
}

// withCheck completes 17 digits with their check character.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := IDCheckChar(first17)
	if err != nil {
		t.Fatalf("IDCheckChar(%q): %v", first17, err)
	}
	return first17 + string(c)
}

func TestGB11643Vectors(t *testing.T) {
	t.Parallel()
	v := loadGBVectors(t)
	if len(v.Weights) != len(idWeights) {
		t.Fatalf("vector weights have %d entries, code has %d", len(v.Weights), len(idWeights))
	}
	for i, w := range v.Weights {
		if idWeights[i] != w {
			t.Errorf("weight %d = %d, vectors say %d", i+1, idWeights[i], w)
		}
	}
	if idCheckChars != v.CheckChars {
		t.Errorf("check chars %q, vectors say %q", idCheckChars, v.CheckChars)
	}
	for _, id := range v.Valid {
		if err := ValidateCitizenID(id); err != nil {
			t.Errorf("ValidateCitizenID(%q) = %v, want nil", id, err)
		}
	}
}

func TestIDHelpersOnVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id    string
		birth Date
		sex   Sex
		mask  string
	}{
		{"11010519491231002X", Date{1949, time.December, 31}, SexFemale, "110105********002X"},
		{"440524188001010014", Date{1880, time.January, 1}, SexMale, "440524********0014"},
	}
	for _, tt := range tests {
		b, err := IDBirthDate(tt.id)
		if err != nil || b != tt.birth {
			t.Errorf("IDBirthDate(%q) = %v, %v; want %v", tt.id, b, err, tt.birth)
		}
		s, err := IDSex(tt.id)
		if err != nil || s != tt.sex {
			t.Errorf("IDSex(%q) = %q, %v; want %q", tt.id, s, err, tt.sex)
		}
		if got := MaskID(tt.id); got != tt.mask {
			t.Errorf("MaskID(%q) = %q, want %q", tt.id, got, tt.mask)
		}
	}
}

func TestValidateCitizenIDRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want error
	}{
		{"empty", "", ErrIDLength},
		{"17 digits", "11010519491231002", ErrIDLength},
		{"19 characters", "11010519491231002X0", ErrIDLength},
		{"full-width digits", "１１０１０５１９４９１２３１００２Ｘ", ErrIDFormat},
		{"17 full-width digits", "１１０１０５１９４９１２３１００２", ErrIDLength},
		{"letter inside", "1101051949123A002X", ErrIDFormat},
		{"lowercase x", "11010519491231002x", ErrIDFormat},
		{"last char Y", "11010519491231002Y", ErrIDFormat},
		{"space", " 1010519491231002X", ErrIDFormat},
		{"province 00", withCheck(t, "00010519491231002"), ErrIDDivision},
		{"province 99", withCheck(t, "99010519491231002"), ErrIDDivision},
		{"province 20", withCheck(t, "20010519491231002"), ErrIDDivision},
		{"Hong Kong 810000", withCheck(t, "81000019900101001"), ErrIDDivision},
		{"Taiwan 830000", withCheck(t, "83000019900101001"), ErrIDDivision},
		{"province only 110000", withCheck(t, "11000019900101001"), ErrIDDivision},
		{"prefecture 00", withCheck(t, "11000519900101001"), ErrIDDivision},
		{"month 13", withCheck(t, "11010519491331002"), ErrIDBirthDate},
		{"day 00", withCheck(t, "11010519491200002"), ErrIDBirthDate},
		{"Feb 29 of common year", withCheck(t, "11010519490229002"), ErrIDBirthDate},
		{"Feb 29 of 1900", withCheck(t, "11010519000229002"), ErrIDBirthDate},
		{"year 1799", withCheck(t, "11010517991231002"), ErrIDBirthDate},
		{"year 0000", withCheck(t, "11010500000101002"), ErrIDBirthDate},
		{"checksum", "110105194912310020", ErrIDChecksum},
		{"checksum of 440524", "440524188001010015", ErrIDChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateCitizenID(tt.id)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidateCitizenID(%q) = %v, want %v", tt.id, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "permit: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(tt.id) >= 10 && strings.Contains(err.Error(), tt.id) {
				t.Errorf("error %q contains the full number", err)
			}
			if hasIDShape(tt.id) && strings.Contains(err.Error(), tt.id[6:14]) {
				t.Errorf("error %q contains the digits MaskID hides", err)
			}
		})
	}
}

func TestValidateCitizenIDAccepts(t *testing.T) {
	t.Parallel()
	for _, id := range []string{
		withCheck(t, "33010620000229001"), // Feb 29 2000, a leap year
		withCheck(t, "44190020010101001"), // Dongguan: a prefecture code with no county part
		withCheck(t, "42900419800101001"), // Xiantao, county-level city ruled by Hubei
		withCheck(t, "65010218000101001"), // earliest year accepted
	} {
		if err := ValidateCitizenID(id); err != nil {
			t.Errorf("ValidateCitizenID(%q) = %v, want nil", id, err)
		}
	}
}

// TestSingleDigitChange changes every digit of the valid vectors to every other value: all such numbers must be
// refused, and those still of valid shape, division and date must be refused for their checksum (ISO 7064
// MOD 11-2 detects every single substitution).
func TestSingleDigitChange(t *testing.T) {
	t.Parallel()
	v := loadGBVectors(t)
	for _, id := range v.Valid {
		checksumRefusals := 0
		for pos := 0; pos < 18; pos++ {
			alphabet := "0123456789"
			if pos == 17 {
				alphabet = "0123456789X"
			}
			for i := 0; i < len(alphabet); i++ {
				c := alphabet[i]
				if c == id[pos] {
					continue
				}
				changed := id[:pos] + string(c) + id[pos+1:]
				err := ValidateCitizenID(changed)
				if err == nil {
					t.Errorf("%q (position %d changed) accepted", changed, pos+1)
					continue
				}
				if errors.Is(err, ErrIDChecksum) {
					checksumRefusals++
				}
				if validDivision(changed[:6]) {
					if _, derr := idBirth(changed); derr == nil && !errors.Is(err, ErrIDChecksum) {
						t.Errorf("%q refused with %v, want ErrIDChecksum", changed, err)
					}
				}
			}
		}
		if checksumRefusals < 100 {
			t.Errorf("%s: only %d checksum refusals; the checksum rule is not being exercised", id, checksumRefusals)
		}
	}
}

func TestAdjacentTranspositionRefused(t *testing.T) {
	t.Parallel()
	for _, id := range loadGBVectors(t).Valid {
		for pos := 0; pos+1 < 18; pos++ {
			if id[pos] == id[pos+1] {
				continue
			}
			b := []byte(id)
			b[pos], b[pos+1] = b[pos+1], b[pos]
			if err := ValidateCitizenID(string(b)); err == nil {
				t.Errorf("%q (positions %d and %d swapped) accepted", b, pos+1, pos+2)
			}
		}
	}
}

func TestIDCheckChar(t *testing.T) {
	t.Parallel()
	if c, err := IDCheckChar("11010519491231002"); err != nil || c != 'X' {
		t.Errorf("IDCheckChar = %q, %v; want 'X'", c, err)
	}
	for _, bad := range []string{"", "1101051949123100", "1101051949123100A", "110105194912310021"} {
		if _, err := IDCheckChar(bad); !errors.Is(err, ErrIDFormat) {
			t.Errorf("IDCheckChar(%q) = %v, want ErrIDFormat", bad, err)
		}
	}
}

func TestValidateCitizenIDOn(t *testing.T) {
	t.Parallel()
	id := withCheck(t, "33010620260315001") // born 2026-03-15
	if err := ValidateCitizenIDOn(id, Date{2026, time.March, 15}); err != nil {
		t.Errorf("on the birth day: %v", err)
	}
	if err := ValidateCitizenIDOn(id, Date{2026, time.March, 14}); !errors.Is(err, ErrIDBirthDate) {
		t.Errorf("the day before birth: %v, want ErrIDBirthDate", err)
	}
	if err := ValidateCitizenIDOn("110105194912310020", Date{2026, time.March, 14}); !errors.Is(err, ErrIDChecksum) {
		t.Errorf("structural errors first: %v", err)
	}
}

func TestIDSexParity(t *testing.T) {
	t.Parallel()
	for d := byte('0'); d <= '9'; d++ {
		id := withCheck(t, "3301061990010100"+string(d))
		got, err := IDSex(id)
		if err != nil {
			t.Fatal(err)
		}
		want := SexFemale
		if (d-'0')%2 == 1 {
			want = SexMale
		}
		if got != want {
			t.Errorf("17th digit %c: IDSex = %q, want %q", d, got, want)
		}
	}
	if _, err := IDSex("110105194912310020"); err == nil {
		t.Error("IDSex accepted an invalid number")
	}
	if _, err := IDBirthDate("110105194912310020"); err == nil {
		t.Error("IDBirthDate accepted an invalid number")
	}
}

func TestNormalizeCitizenID(t *testing.T) {
	t.Parallel()
	if got := NormalizeCitizenID("  11010519491231002x\n"); got != "11010519491231002X" {
		t.Errorf("NormalizeCitizenID = %q", got)
	}
	if got := NormalizeCitizenID(""); got != "" {
		t.Errorf("NormalizeCitizenID(\"\") = %q", got)
	}
}

func TestMaskID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"11010519491231002X", "110105********002X"},
		{"110105194912310020", "110105********0020"}, // wrong checksum, right shape
		{"11010519491231002x", "110105********002x"},
		{"", ""},
		{"123", "***"},
		{"1234567", "*******"},
		{"12345678", "****5678"},
		{"11010519491231002", "*************1002"},
		{"1101051949123100200000000000", "**************0000"},
		{"张三李四王五赵六", "********"},
		{"abcdefghijklmnop", "**************"},
		{"１１０１０５１９４９１２３１００２Ｘ", "**************"},
	}
	for _, tt := range tests {
		if got := MaskID(tt.in); got != tt.want {
			t.Errorf("MaskID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// revealed returns the number of characters of MaskID's output that are not '*'.
func revealed(masked string) int {
	return utf8.RuneCountInString(strings.ReplaceAll(masked, "*", ""))
}

func FuzzValidateCitizenID(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "440524188001010014", "11010519491231002x", "", "X", "11010519491231002",
		"99999999999999999X", "110105200002290010", "１１０１０５１９４９１２３１００２Ｘ", "\xff\xfe0000000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateCitizenID(id)
		masked := MaskID(id)
		if hasIDShape(id) {
			if masked != id[:6]+"********"+id[14:] {
				t.Fatalf("MaskID(%q) = %q", id, masked)
			}
		} else if revealed(masked) > 4 {
			t.Fatalf("MaskID(%q) = %q reveals more than 4 characters of a malformed number", id, masked)
		}
		if revealed(masked) > 10 || len(masked) > 18+4 {
			t.Fatalf("MaskID(%q) = %q reveals too much", id, masked)
		}
		if revealed(id) > 4 && masked == id {
			t.Fatalf("MaskID(%q) returned its input", id)
		}
		if err != nil {
			if revealed(id) > 4 && strings.Contains(err.Error(), id) {
				t.Fatalf("error %q contains the number", err)
			}
			if hasIDShape(id) && strings.Contains(err.Error(), id[6:14]) {
				t.Fatalf("error %q contains the masked digits of %q", err, id)
			}
			return
		}
		// A valid number has a birth date, a sex, and survives recomputing its check character.
		if _, err := IDBirthDate(id); err != nil {
			t.Fatalf("IDBirthDate(%q): %v", id, err)
		}
		if _, err := IDSex(id); err != nil {
			t.Fatalf("IDSex(%q): %v", id, err)
		}
		if c, _ := IDCheckChar(id[:17]); c != id[17] {
			t.Fatalf("%q accepted with check char %q, want %q", id, id[17], c)
		}
	})
}

func BenchmarkValidateCitizenID(b *testing.B) {
	for b.Loop() {
		if err := ValidateCitizenID("11010519491231002X"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMaskID(b *testing.B) {
	for b.Loop() {
		_ = MaskID("11010519491231002X")
	}
}
