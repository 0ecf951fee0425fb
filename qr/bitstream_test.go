package qr

import (
	"errors"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// bitWriter builds test bitstreams.
type bitWriter struct {
	buf []byte
	n   int
}

func (w *bitWriter) put(v, bits int) *bitWriter {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>i&1 == 1 {
			w.buf[w.n/8] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
	return w
}

// padded returns the stream padded to size bytes.
func (w *bitWriter) padded(size int) *bitWriter {
	return &bitWriter{buf: w.codewords(size), n: 8 * size}
}

// codewords pads the stream to size bytes the way encoders do.
func (w *bitWriter) codewords(size int) []byte {
	out := append([]byte(nil), w.buf...)
	for i := 0; len(out) < size; i++ {
		out = append(out, []byte{0xEC, 0x11}[i%2])
	}
	return out
}

func TestVersionForDataCodewords(t *testing.T) {
	t.Parallel()
	for _, lv := range []string{"L", "M", "Q", "H"} {
		ecl, _ := decoder.ErrorCorrectionLevel_ValueOf(lv)
		prev := 0
		for v := 1; v <= maxVersion; v++ {
			n := dataCodewords(v, ecl)
			if n <= prev {
				t.Fatalf("level %s: version %d has %d data codewords, not more than %d", lv, v, n, prev)
			}
			prev = n
			if got, err := versionForDataCodewords(n, lv); err != nil || got != v {
				t.Fatalf("level %s, %d codewords: version %d, %v; want %d", lv, n, got, err, v)
			}
		}
	}
	// Version 1-M holds 16 data codewords; 40-L holds 2,956.
	if v, _ := versionForDataCodewords(16, "M"); v != 1 {
		t.Errorf("16 codewords at M: version %d", v)
	}
	if v, _ := versionForDataCodewords(2956, "L"); v != 40 {
		t.Errorf("2956 codewords at L: version %d", v)
	}
	for _, bad := range []struct {
		n  int
		lv string
	}{{17, "M"}, {16, ""}, {16, "X"}} {
		if _, err := versionForDataCodewords(bad.n, bad.lv); err == nil {
			t.Errorf("%d codewords at %q accepted", bad.n, bad.lv)
		}
	}
}

func TestParseSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		version int
		stream  *bitWriter
		want    string
		modes   []int
	}{
		{
			// ISO/IEC 18004 7.4.3 example: "01234567" in version 1.
			name: "numeric", version: 1,
			stream: new(bitWriter).put(1, 4).put(8, 10).put(12, 10).put(345, 10).put(67, 7).put(0, 4),
			want:   "01234567", modes: []int{modeNumeric},
		},
		{
			// ISO/IEC 18004 7.4.4 example: "AC-42" in version 1.
			name: "alphanumeric", version: 1,
			stream: new(bitWriter).put(2, 4).put(5, 9).put(10*45+12, 11).put(41*45+4, 11).put(2, 6),
			want:   "AC-42", modes: []int{modeAlphanumeric},
		},
		{
			name: "byte then numeric, version 10 count widths", version: 10,
			stream: new(bitWriter).put(4, 4).put(4, 16).put('e', 8).put('p', 8).put('1', 8).put(':', 8).
				put(1, 4).put(4, 12).put(567, 10).put(6, 4).put(0, 4),
			want: "ep1:5676", modes: []int{modeByte, modeNumeric},
		},
		{
			name: "version 27 count widths", version: 27,
			stream: new(bitWriter).put(1, 4).put(2, 14).put(42, 7).put(2, 4).put(1, 13).put(35, 6).
				put(4, 4).put(1, 16).put(0xFF, 8),
			want: "42Z\xff", modes: []int{modeNumeric, modeAlphanumeric, modeByte},
		},
		{
			// ISO/IEC 18004 7.4.6 examples: Shift JIS 0x935F and 0xE4AA.
			name: "kanji", version: 1,
			stream: new(bitWriter).put(8, 4).put(2, 8).put(0x0D9F, 13).put(0x1AAA, 13),
			want:   "\x93\x5f\xe4\xaa", modes: []int{modeKanji},
		},
		{
			// GB 2312 0xB0A1 ("啊") and 0xA1A1 (ideographic space).
			name: "hanzi", version: 1,
			stream: new(bitWriter).put(0xD, 4).put(1, 4).put(2, 8).put(0x3C0, 13).put(0, 13),
			want:   "\xb0\xa1\xa1\xa1", modes: []int{modeHanzi},
		},
		{
			name: "ECI and structured append are skipped", version: 1,
			stream: new(bitWriter).put(3, 4).put(0x12, 8).put(0x34, 8).put(7, 4).put(26, 8).
				put(4, 4).put(2, 8).put(0xC3, 8).put(0xA9, 8),
			want: "\xc3\xa9", modes: []int{modeByte},
		},
		{
			name: "two-byte ECI designator", version: 1,
			stream: new(bitWriter).put(7, 4).put(0x80|0x03, 8).put(0xE8, 8).put(4, 4).put(1, 8).put('a', 8),
			want:   "a", modes: []int{modeByte},
		},
		{
			name: "FNC1 alters alphanumeric percent signs", version: 1,
			// "A%%B%C": %% is '%', a lone % is GS.
			stream: new(bitWriter).put(5, 4).put(2, 4).put(6, 9).
				put(10*45+38, 11).put(38*45+11, 11).put(38*45+12, 11),
			want: "A%B\x1dC", modes: []int{modeAlphanumeric},
		},
		{
			name: "stream ending without terminator", version: 1,
			stream: new(bitWriter).put(4, 4).put(1, 8).put('z', 8),
			want:   "z", modes: []int{modeByte},
		},
		{
			name: "padding after the terminator", version: 1,
			stream: new(bitWriter).put(4, 4).put(2, 8).put('o', 8).put('k', 8).put(0, 4).padded(16),
			want:   "ok", modes: []int{modeByte},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs, err := parseSegments(tt.stream.buf, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if got := payload(segs); string(got) != tt.want {
				t.Errorf("payload %q, want %q", got, tt.want)
			}
			var modes []int
			for _, s := range segs {
				modes = append(modes, s.mode)
			}
			if !equalInts(modes, tt.modes) {
				t.Errorf("modes %v, want %v", modes, tt.modes)
			}
		})
	}
}

func TestParseSegmentsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream *bitWriter
	}{
		{"numeric group over 999", new(bitWriter).put(1, 4).put(3, 10).put(1000, 10)},
		{"numeric pair over 99", new(bitWriter).put(1, 4).put(2, 10).put(100, 7)},
		{"numeric digit over 9", new(bitWriter).put(1, 4).put(1, 10).put(10, 4)},
		{"alphanumeric pair out of range", new(bitWriter).put(2, 4).put(2, 9).put(45*45, 11)},
		{"alphanumeric single out of range", new(bitWriter).put(2, 4).put(1, 9).put(45, 6)},
		{"byte count past the end", new(bitWriter).put(4, 4).put(200, 8).put('a', 8)},
		{"kanji count past the end", new(bitWriter).put(8, 4).put(9, 8).put(1, 13)},
		{"unknown mode 6", new(bitWriter).put(6, 4).put(0, 12)},
		{"hanzi subset 2", new(bitWriter).put(0xD, 4).put(2, 4).put(0, 8)},
		{"bad ECI designator", new(bitWriter).put(7, 4).put(0xF0, 8)},
		{"truncated count", new(bitWriter).put(1, 4).put(1, 3)},
		{"truncated structured append", new(bitWriter).put(3, 4).put(1, 4)},
	}
	for _, tt := range tests {
		if segs, err := parseSegments(tt.stream.buf, 1); !errors.Is(err, errBitstream) {
			t.Errorf("%s: got %q, %v; want errBitstream", tt.name, payload(segs), err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseSegments checks that the parser never panics and agrees with
// gozxing's own bitstream parser on ASCII payloads.
func FuzzParseSegments(f *testing.F) {
	f.Add(new(bitWriter).put(1, 4).put(8, 10).put(12, 10).put(345, 10).put(67, 7).put(0, 4).codewords(16), 1)
	f.Add(new(bitWriter).put(4, 4).put(2, 16).put('e', 8).put('p', 8).put(1, 4).put(2, 12).put(42, 7).codewords(20), 12)
	f.Add(new(bitWriter).put(5, 4).put(2, 4).put(3, 9).put(38*45+38, 11).put(38, 6).codewords(16), 30)
	f.Fuzz(func(t *testing.T, data []byte, version int) {
		version = 1 + (version%maxVersion+maxVersion)%maxVersion
		segs, err := parseSegments(data, version)
		if err != nil {
			return
		}
		ver, _ := decoder.Version_GetVersionForNumber(version)
		res, err := decoder.DecodedBitStreamParser_Decode(data, ver, decoder.ErrorCorrectionLevel_M, nil)
		if err != nil {
			return
		}
		got := payload(segs)
		for _, s := range segs {
			if s.mode == modeKanji || s.mode == modeHanzi {
				return
			}
		}
		for _, c := range got {
			if c >= 0x80 {
				return
			}
		}
		if string(got) != res.GetText() {
			t.Fatalf("payload %q, gozxing %q", got, res.GetText())
		}
	})
}
