package permit

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

// crockford is Crockford's base32 alphabet: digits and upper-case letters without I, L, O and U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Permit numbers carry a year of issue from this range; the Regulations took effect on 2016-01-01.
const (
	minNumberYear = 2016
	maxNumberYear = 2099
)

// numberLen is the length of a permit number: 6 division digits, 2 year digits, 6 base32 characters.
const numberLen = 14

// NewNumber returns a new permit number: the six-digit residence division, the last two digits of the year of
// issue, and six characters of Crockford base32 (30 random bits read from r), such as "33010626K7Q2MX".
// The random part only makes numbers hard to guess; the issuer must still refuse a number it has already
// used. When r is nil, crypto/rand is used. div must be [Division.Valid] and year in 2016..2099.
func NewNumber(div Division, year int, r io.Reader) (string, error) {
	if !div.Valid() {
		return "", fmt.Errorf("permit: new number: division %q: %w", truncate(string(div)), ErrInvalidDivision)
	}
	if year < minNumberYear || year > maxNumberYear {
		return "", fmt.Errorf("permit: new number: year %d outside %d..%d: %w", year, minNumberYear, maxNumberYear, ErrInvalidNumber)
	}
	if r == nil {
		r = rand.Reader
	}
	var buf [4]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", fmt.Errorf("permit: new number: read random bits: %w", err)
	}
	// 2^30 divides 2^32, so the low 30 bits of a uniform 32-bit value are uniform.
	v := binary.BigEndian.Uint32(buf[:]) & (1<<30 - 1)
	var b [numberLen]byte
	copy(b[:6], div)
	y := year % 100
	b[6], b[7] = byte('0'+y/10), byte('0'+y%10)
	for i := numberLen - 1; i >= 8; i-- {
		b[i] = crockford[v&31]
		v >>= 5
	}
	return string(b[:]), nil
}

// ValidNumber reports whether s has the form of a permit number made by [NewNumber]: a valid division, two
// digits of a year from 2016 to 2099, and six upper-case Crockford base32 characters.
func ValidNumber(s string) bool {
	if len(s) != numberLen || !validDivision(s[:6]) {
		return false
	}
	y, ok := digits(s[6:8])
	if !ok || 2000+y < minNumberYear {
		return false
	}
	for i := 8; i < numberLen; i++ {
		if !isCrockford(s[i]) {
			return false
		}
	}
	return true
}

func isCrockford(c byte) bool {
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return true
		}
	}
	return false
}
