package qr

import (
	"errors"
	"fmt"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// This file reads the payload bytes back out of a symbol's data codewords.
//
// gozxing gives the payload as text (byte segments go through a guessed
// character set) plus BYTE_SEGMENTS metadata that holds the byte-mode
// segments only. A symbol may mix modes: skip2/go-qrcode puts the packed
// form in an alphanumeric segment ("EP1:") and a numeric one, and splits raw
// text wherever a long run of digits or upper-case letters makes that
// cheaper. Neither the text nor the metadata alone is then the exact
// payload, so we walk the segments ourselves (ISO/IEC 18004:2015 §7.4) over
// the error-corrected codewords gozxing returns as raw bytes.

// Segment modes (the 4-bit mode indicators).
const (
	modeTerminator     = 0x0
	modeNumeric        = 0x1
	modeAlphanumeric   = 0x2
	modeStructAppend   = 0x3
	modeByte           = 0x4
	modeFNC1First      = 0x5
	modeECI            = 0x7
	modeKanji          = 0x8
	modeFNC1Second     = 0x9
	modeHanzi          = 0xD
	hanziSubsetGB2312  = 1
	alphanumericTable  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	maxVersion         = 40
	fnc1GroupSeparator = 0x1D
)

var errBitstream = errors.New("qr: malformed data bitstream")

// segment is one decoded segment, kept for tests and diagnostics.
type segment struct {
	mode  int
	count int // characters as counted by the symbol
	data  []byte
}

// bitReader reads big-endian bit fields.
type bitReader struct {
	buf []byte
	pos int // in bits
}

func (r *bitReader) available() int { return 8*len(r.buf) - r.pos }

func (r *bitReader) read(n int) (int, error) {
	if n > r.available() {
		return 0, fmt.Errorf("%w: want %d bits, %d left", errBitstream, n, r.available())
	}
	v := 0
	for range n {
		bit := r.buf[r.pos/8] >> (7 - r.pos%8) & 1
		v = v<<1 | int(bit)
		r.pos++
	}
	return v, nil
}

// versionGroup returns 0 for versions 1-9, 1 for 10-26 and 2 for 27-40:
// the character-count fields have one width per group.
func versionGroup(version int) int {
	switch {
	case version <= 9:
		return 0
	case version <= 26:
		return 1
	}
	return 2
}

// countBits is the width of the character-count field per mode and group.
func countBits(mode, group int) int {
	switch mode {
	case modeNumeric:
		return [3]int{10, 12, 14}[group]
	case modeAlphanumeric:
		return [3]int{9, 11, 13}[group]
	case modeByte:
		return [3]int{8, 16, 16}[group]
	}
	return [3]int{8, 10, 12}[group] // Kanji and Hanzi
}

// versionForDataCodewords finds the version whose symbol at ecLevel holds
// exactly n data codewords. For a fixed level the count grows strictly with
// the version, so the answer is unique.
func versionForDataCodewords(n int, ecLevel string) (int, error) {
	ecl, err := decoder.ErrorCorrectionLevel_ValueOf(ecLevel)
	if err != nil {
		return 0, fmt.Errorf("%w: error-correction level %q", errBitstream, ecLevel)
	}
	for v := 1; v <= maxVersion; v++ {
		if dataCodewords(v, ecl) == n {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: no version has %d data codewords at level %s", errBitstream, n, ecLevel)
}

func dataCodewords(version int, ecl decoder.ErrorCorrectionLevel) int {
	ver, err := decoder.Version_GetVersionForNumber(version)
	if err != nil {
		return -1
	}
	return ver.GetTotalCodewords() - ver.GetECBlocksForLevel(ecl).GetTotalECCodewords()
}

// parseSegments walks the data codewords of a version-`version` symbol and
// returns its segments. Byte segments carry their bytes unchanged; numeric
// and alphanumeric segments their ASCII characters; Kanji and Hanzi segments
// the Shift JIS and GB 2312 byte pairs they encode. ECI and structured-append
// headers are skipped. FNC1 alters alphanumeric text the way gozxing does.
func parseSegments(codewords []byte, version int) ([]segment, error) {
	r := &bitReader{buf: codewords}
	group := versionGroup(version)
	fnc1 := false
	var segs []segment
	for r.available() >= 4 {
		mode, _ := r.read(4)
		switch mode {
		case modeTerminator:
			return segs, nil
		case modeFNC1First, modeFNC1Second:
			fnc1 = true
			continue
		case modeStructAppend:
			if _, err := r.read(16); err != nil {
				return nil, err
			}
			continue
		case modeECI:
			if err := skipECI(r); err != nil {
				return nil, err
			}
			continue
		case modeHanzi:
			subset, err := r.read(4)
			if err != nil {
				return nil, err
			}
			if subset != hanziSubsetGB2312 {
				return nil, fmt.Errorf("%w: hanzi subset %d", errBitstream, subset)
			}
		case modeNumeric, modeAlphanumeric, modeByte, modeKanji:
		default:
			return nil, fmt.Errorf("%w: unknown mode %#x", errBitstream, mode)
		}
		count, err := r.read(countBits(mode, group))
		if err != nil {
			return nil, err
		}
		var data []byte
		switch mode {
		case modeNumeric:
			data, err = readNumeric(r, count)
		case modeAlphanumeric:
			data, err = readAlphanumeric(r, count, fnc1)
		case modeByte:
			data, err = readBytes(r, count)
		case modeKanji:
			data, err = readDoubleByte(r, count, 0xC0, 0x1F00, 0x8140, 0xC140)
		case modeHanzi:
			data, err = readDoubleByte(r, count, 0x60, 0x0A00, 0xA1A1, 0xA6A1)
		}
		if err != nil {
			return nil, err
		}
		segs = append(segs, segment{mode: mode, count: count, data: data})
	}
	return segs, nil
}

// payload concatenates the data of all segments.
func payload(segs []segment) []byte {
	n := 0
	for _, s := range segs {
		n += len(s.data)
	}
	out := make([]byte, 0, n)
	for _, s := range segs {
		out = append(out, s.data...)
	}
	return out
}

func skipECI(r *bitReader) error {
	first, err := r.read(8)
	if err != nil {
		return err
	}
	switch {
	case first&0x80 == 0:
		return nil
	case first&0xC0 == 0x80:
		_, err = r.read(8)
	case first&0xE0 == 0xC0:
		_, err = r.read(16)
	default:
		err = fmt.Errorf("%w: bad ECI designator %#x", errBitstream, first)
	}
	return err
}

func readNumeric(r *bitReader, count int) ([]byte, error) {
	out := make([]byte, 0, count)
	for count > 0 {
		n, bits, limit := 3, 10, 1000
		if count == 2 {
			n, bits, limit = 2, 7, 100
		} else if count == 1 {
			n, bits, limit = 1, 4, 10
		}
		v, err := r.read(bits)
		if err != nil {
			return nil, err
		}
		if v >= limit {
			return nil, fmt.Errorf("%w: numeric group %d", errBitstream, v)
		}
		switch n {
		case 3:
			out = append(out, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
		case 2:
			out = append(out, byte('0'+v/10), byte('0'+v%10))
		case 1:
			out = append(out, byte('0'+v))
		}
		count -= n
	}
	return out, nil
}

func readAlphanumeric(r *bitReader, count int, fnc1 bool) ([]byte, error) {
	out := make([]byte, 0, count)
	for count > 0 {
		if count >= 2 {
			v, err := r.read(11)
			if err != nil {
				return nil, err
			}
			if v >= 45*45 {
				return nil, fmt.Errorf("%w: alphanumeric pair %d", errBitstream, v)
			}
			out = append(out, alphanumericTable[v/45], alphanumericTable[v%45])
			count -= 2
			continue
		}
		v, err := r.read(6)
		if err != nil {
			return nil, err
		}
		if v >= 45 {
			return nil, fmt.Errorf("%w: alphanumeric value %d", errBitstream, v)
		}
		out = append(out, alphanumericTable[v])
		count--
	}
	if !fnc1 {
		return out, nil
	}
	// Under FNC1, "%%" stands for '%' and a lone '%' for the GS separator.
	res := out[:0]
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == '%' && i+1 < len(out) && out[i+1] == '%':
			res = append(res, '%')
			i++
		case out[i] == '%':
			res = append(res, fnc1GroupSeparator)
		default:
			res = append(res, out[i])
		}
	}
	return res, nil
}

func readBytes(r *bitReader, count int) ([]byte, error) {
	if 8*count > r.available() {
		return nil, fmt.Errorf("%w: byte segment of %d bytes, %d bits left", errBitstream, count, r.available())
	}
	out := make([]byte, count)
	for i := range out {
		v, _ := r.read(8)
		out[i] = byte(v)
	}
	return out, nil
}

// readDoubleByte reads count 13-bit Kanji or Hanzi characters and returns
// the two-byte codes they stand for.
func readDoubleByte(r *bitReader, count, div, split, lowBase, highBase int) ([]byte, error) {
	if 13*count > r.available() {
		return nil, fmt.Errorf("%w: %d double-byte characters, %d bits left", errBitstream, count, r.available())
	}
	out := make([]byte, 0, 2*count)
	for range count {
		v, _ := r.read(13)
		code := (v/div)<<8 | v%div
		if code < split {
			code += lowBase
		} else {
			code += highBase
		}
		out = append(out, byte(code>>8), byte(code))
	}
	return out, nil
}
