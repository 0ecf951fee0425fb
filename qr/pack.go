package qr

import (
	"errors"
	"fmt"
	"strings"
)

// PackedPrefix starts every packed presentation. It is followed by two
// decimal digits per character of the presentation.
//
// The prefix is lower case on purpose: lower-case letters force a byte-mode
// segment. An upper-case "EP1:" would go into an alphanumeric segment, and
// skip2/go-qrcode then fails to size symbols of versions 10 to 26 for more
// than 2,047 characters in total (its segment optimiser errors out on the
// 11-bit alphanumeric count instead of leaving the segments apart) and jumps
// to version 27: a 1,200-character presentation at level L took version 27
// packed against 25 raw. With "ep1:" it takes version 23. [Unpack] and
// [NormalizeScanned] accept the prefix in either case.
const PackedPrefix = "ep1:"

// Characters that can be packed: '-' (45) to '~' (126), a range that holds
// the base64url alphabet and the '.' and '~' separators of an SD-JWT.
const (
	packMin = '-'
	packMax = '~'
)

// ErrNotPackable is returned by [Pack] for text with a character outside
// '-' (45) .. '~' (126).
var ErrNotPackable = errors.New("qr: character cannot be packed")

// ErrBadPacked is returned by [Unpack] for malformed packed text.
var ErrBadPacked = errors.New("qr: malformed packed text")

// Pack returns text in the compact form used inside QR codes. A well-formed
// presentation (canonical base64url segments separated by '.' and '~') gets
// the compressed form of [CompactPrefix] when that is shorter, as it is for
// any real presentation; other text gets [PackedPrefix] followed by two
// digits per character (the character's code minus 45,
// zero-padded, so '-' is "00" and '~' is "81"). The digits go into a numeric
// QR segment at 10 bits per three digits, 6.67 bits per character instead of
// 8 in byte mode: the same trick as SMART Health Cards. Pack refuses empty
// text, text that already starts with PackedPrefix (it would be ambiguous
// when scanned) and characters outside '-' .. '~'.
func Pack(text string) (string, error) {
	if err := checkPresentation(text); err != nil {
		return "", err
	}
	d, err := packDigits(text)
	if err != nil {
		return "", err
	}
	if c, ok := packCompact(text); ok && len(c) < len(d) {
		return c, nil
	}
	return d, nil
}

// packDigits is the two-digits-a-character form of [PackedPrefix].
func packDigits(text string) (string, error) {
	var b strings.Builder
	b.Grow(len(PackedPrefix) + 2*len(text))
	b.WriteString(PackedPrefix)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < packMin || c > packMax {
			return "", fmt.Errorf("%w: %q at offset %d", ErrNotPackable, c, i)
		}
		v := c - packMin
		b.WriteByte('0' + v/10)
		b.WriteByte('0' + v%10)
	}
	return b.String(), nil
}

// Unpack reverses [Pack]: it takes CompactPrefix (or the "ep2:" before it)
// followed by digits, or PackedPrefix followed by an even number of digits,
// each pair at most 81 (any prefix in either case), and returns the
// presentation text.
func Unpack(s string) (string, error) {
	if hasPrefixFold(s, CompactPrefix) || hasPrefixFold(s, compactPrefixV2) {
		text, err := unpackCompact(s)
		if err != nil {
			return "", err
		}
		if hasPackedPrefix(text) {
			return "", fmt.Errorf("%w: result starts with a packed prefix", ErrBadPacked)
		}
		return text, nil
	}
	if !hasPrefixFold(s, PackedPrefix) {
		return "", fmt.Errorf("%w: missing prefix %q", ErrBadPacked, PackedPrefix)
	}
	digits := s[len(PackedPrefix):]
	if len(digits) == 0 {
		return "", fmt.Errorf("%w: no digits", ErrBadPacked)
	}
	if len(digits)%2 != 0 {
		return "", fmt.Errorf("%w: odd number of digits (%d)", ErrBadPacked, len(digits))
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		hi, lo := digits[2*i], digits[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return "", fmt.Errorf("%w: non-digit in %q at offset %d",
				ErrBadPacked, digits[2*i:2*i+2], len(PackedPrefix)+2*i)
		}
		v := (hi-'0')*10 + (lo - '0')
		if v > packMax-packMin {
			return "", fmt.Errorf("%w: value %d at offset %d above %d",
				ErrBadPacked, v, len(PackedPrefix)+2*i, packMax-packMin)
		}
		out[i] = packMin + v
	}
	text := string(out)
	if hasPackedPrefix(text) {
		return "", fmt.Errorf("%w: result starts with %q", ErrBadPacked, PackedPrefix)
	}
	return text, nil
}

// NormalizeScanned turns what a scanner read into presentation text. It
// trims surrounding white space (USB scanners end with Enter, CR or LF) and
// unpacks text that starts with [CompactPrefix], "ep2:" or [PackedPrefix]
// (in either case); other text is returned as is.
func NormalizeScanned(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: scanned text is blank", ErrEmpty)
	}
	if hasPackedPrefix(s) {
		return Unpack(s)
	}
	return s, nil
}

// checkPresentation refuses text that would not read back unchanged through
// NormalizeScanned.
func checkPresentation(text string) error {
	switch {
	case text == "":
		return ErrEmpty
	case hasPackedPrefix(text):
		return fmt.Errorf("qr: presentation starts with a packed prefix (%q, %q or %q)", PackedPrefix, compactPrefixV2, CompactPrefix)
	case strings.TrimSpace(text) != text:
		return errors.New("qr: presentation has surrounding white space")
	}
	return nil
}

// hasPackedPrefix reports whether s starts with PackedPrefix or a compact
// prefix (CompactPrefix, or the "ep2:" before it), ignoring case.
func hasPackedPrefix(s string) bool {
	return hasPrefixFold(s, PackedPrefix) || hasPrefixFold(s, CompactPrefix) || hasPrefixFold(s, compactPrefixV2)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
