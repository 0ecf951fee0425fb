package permit

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// idWeights are the GB 11643-1999 weights of the first 17 digits: 2^(18-i) mod 11 for position i = 1..17.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum mod 11 to the check character (ISO 7064 MOD 11-2).
const idCheckChars = "10X98765432"

// minIDBirthYear is the earliest birth year accepted in a citizen identity number. GB 11643 writes the full
// four-digit year; the standard's own sample 440524188001010014 is born in 1880.
const minIDBirthYear = 1800

// ValidateCitizenID checks the structure of a citizen identity number (公民身份号码) of GB 11643-1999:
//
//   - exactly 18 characters ([ErrIDLength]);
//   - 17 ASCII digits then an ASCII digit or an uppercase 'X' ([ErrIDFormat]; full-width digits are refused). A lowercase 'x' is refused: the
//     standard writes the Roman numeral X, and a number is an identifier that must compare equal byte for byte.
//     Callers reading human input may first apply [NormalizeCitizenID];
//   - digits 1-6 an address code with the shape of [Division.Valid] ([ErrIDDivision]);
//   - digits 7-14 a real calendar date YYYYMMDD from the year 1800 on ([ErrIDBirthDate]);
//   - character 18 the ISO 7064 MOD 11-2 check character of the first 17 ([ErrIDChecksum]).
//
// It does not compare the birth date with the clock; [ValidateCitizenIDOn] does. The first failed rule is
// returned, wrapped with context; the number is quoted only as [MaskID] prints it.
func ValidateCitizenID(id string) error {
	if n := utf8.RuneCountInString(id); n != 18 {
		return fmt.Errorf("permit: citizen id %q has %d characters: %w", MaskID(id), n, ErrIDLength)
	}
	if len(id) != 18 {
		return fmt.Errorf("permit: citizen id %q: contains non-ASCII characters: %w", MaskID(id), ErrIDFormat)
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return fmt.Errorf("permit: citizen id %q: character %d is not a digit: %w", MaskID(id), i+1, ErrIDFormat)
		}
	}
	if last := id[17]; last == 'x' {
		return fmt.Errorf("permit: citizen id %q: check character must be an uppercase X: %w", MaskID(id), ErrIDFormat)
	} else if (last < '0' || last > '9') && last != 'X' {
		return fmt.Errorf("permit: citizen id %q: last character is not a digit or X: %w", MaskID(id), ErrIDFormat)
	}
	if !validDivision(id[:6]) {
		return fmt.Errorf("permit: citizen id %q: address code %q: %w", MaskID(id), id[:6], ErrIDDivision)
	}
	if _, err := idBirth(id); err != nil {
		return err
	}
	want := checkChar(id[:17])
	if id[17] != want {
		return fmt.Errorf("permit: citizen id %q: %w", MaskID(id), ErrIDChecksum)
	}
	return nil
}

// ValidateCitizenIDOn is [ValidateCitizenID] plus one rule that needs a clock: the birth date must not be after
// today ([ErrIDBirthDate]).
func ValidateCitizenIDOn(id string, today Date) error {
	if err := ValidateCitizenID(id); err != nil {
		return err
	}
	b, _ := idBirth(id)
	if b.After(today) {
		return fmt.Errorf("permit: citizen id %q: birth date is after %s: %w", MaskID(id), today, ErrIDBirthDate)
	}
	return nil
}

// idBirth reads the birth date of an id whose first 17 characters are known to be digits.
func idBirth(id string) (Date, error) {
	y, _ := digits(id[6:10])
	m, _ := digits(id[10:12])
	d, _ := digits(id[12:14])
	date := Date{Year: y, Month: time.Month(m), Day: d}
	if y < minIDBirthYear || !date.Valid() {
		// The birth date digits are the ones MaskID hides: never quote them.
		return Date{}, fmt.Errorf("permit: citizen id %q: digits 7-14 are not a birth date from %d on: %w", MaskID(id), minIDBirthYear, ErrIDBirthDate)
	}
	return date, nil
}

// checkChar returns the ISO 7064 MOD 11-2 check character of 17 ASCII digits.
func checkChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// IDCheckChar returns the check character ('0'-'9' or 'X') that completes the first 17 digits of a citizen
// identity number. It only checks that first17 is 17 ASCII digits ([ErrIDFormat]).
func IDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("permit: check character: want 17 digits, got %d characters: %w", len(first17), ErrIDFormat)
	}
	for i := 0; i < 17; i++ {
		if first17[i] < '0' || first17[i] > '9' {
			return 0, fmt.Errorf("permit: check character: character %d is not a digit: %w", i+1, ErrIDFormat)
		}
	}
	return checkChar(first17), nil
}

// IDBirthDate returns the birth date written in a valid citizen identity number (digits 7-14).
func IDBirthDate(id string) (Date, error) {
	if err := ValidateCitizenID(id); err != nil {
		return Date{}, err
	}
	return idBirth(id)
}

// IDSex returns the sex written in a valid citizen identity number: the 17th digit (the last of the sequence
// code) is odd for a man and even for a woman.
func IDSex(id string) (Sex, error) {
	if err := ValidateCitizenID(id); err != nil {
		return "", err
	}
	if (id[16]-'0')%2 == 1 {
		return SexMale, nil
	}
	return SexFemale, nil
}

// NormalizeCitizenID prepares a number typed by a person for [ValidateCitizenID]: it trims surrounding white
// space and upper-cases a final 'x'. It changes nothing else.
func NormalizeCitizenID(s string) string {
	s = strings.TrimSpace(s)
	if n := len(s); n > 0 && s[n-1] == 'x' {
		s = s[:n-1] + "X"
	}
	return s
}

// MaskID returns a citizen identity number safe to print: the first six characters (the address code), eight
// '*' and the last four, as in "110105********002X". It never returns the whole input: when id does not have the
// shape of a number (18 characters, 17 digits then a digit or 'X', whatever the checksum), every character is
// masked except at most the last four, which are kept only if the input has at least eight characters and they
// are ASCII digits or 'X'. At most 14 '*' are written, so the result stays short for any input.
func MaskID(id string) string {
	if hasIDShape(id) {
		return id[:6] + "********" + id[14:]
	}
	n := utf8.RuneCountInString(id)
	keep := 0
	if n >= 8 && len(id) >= 4 && tailShown(id[len(id)-4:]) {
		keep = 4
	}
	stars := n - keep
	if stars > 14 {
		stars = 14
	}
	return strings.Repeat("*", stars) + id[len(id)-keep:]
}

// hasIDShape reports whether id is 17 ASCII digits followed by a digit or 'X' (or 'x').
func hasIDShape(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	last := id[17]
	return (last >= '0' && last <= '9') || last == 'X' || last == 'x'
}

// tailShown reports whether s consists only of ASCII digits and 'X'/'x'.
func tailShown(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != 'X' && c != 'x' {
			return false
		}
	}
	return true
}
