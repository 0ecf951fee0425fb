package main

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// sanitize returns s safe to show on a terminal. Text that comes from an
// issuer, a trust list, a server or a scanned code may hold characters that
// move the cursor, recolour or clear the screen, set the window title, ring
// the bell, or make text read differently from what it holds; every such
// character becomes a visible escape in the JSON form \uXXXX (a pair of them
// above U+FFFF):
//
//   - C0 controls, DEL and C1 controls (ESC, BEL, CR, LF, TAB, CSI, ...);
//   - line and paragraph separators (U+2028, U+2029);
//   - invisible format characters, Unicode category Cf: bidirectional
//     overrides, embeddings and isolates (U+202A to U+202E, U+2066 to
//     U+2069), zero-width characters (U+200B to U+200D, U+2060), marks
//     (U+200E, U+200F, U+061C), U+FEFF, tag characters, ...
//
// Invalid UTF-8 becomes U+FFFD. Every string the CLI prints that it did not
// write itself goes through sanitize; so does a JSON verdict, which stays
// valid JSON with the same meaning (json.Marshal has already escaped
// backslashes and quotes, and \uXXXX is a JSON escape).
func sanitize(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s { // invalid UTF-8 comes out as utf8.RuneError (U+FFFD)
		if !unsafeRune(r) {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			writeEscape(&b, hi)
			writeEscape(&b, lo)
			continue
		}
		writeEscape(&b, r)
	}
	return b.String()
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

func writeEscape(b *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hex[r>>shift&0xF])
	}
}
