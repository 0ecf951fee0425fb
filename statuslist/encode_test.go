package statuslist

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"runtime"
	"testing"
)

// TestDecodeVectors decodes the specification's examples and the two
// 2^20-entry lists and checks every entry.
func TestDecodeVectors(t *testing.T) {
	t.Parallel()
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := Decode(EncodedList{Bits: v.Bits, Lst: v.Lst}, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			want := v.expected(t)
			if l.Size() != len(want) || l.Bits() != v.Bits {
				t.Fatalf("size %d bits %d, want %d, %d", l.Size(), l.Bits(), len(want), v.Bits)
			}
			for i, w := range want {
				if got, err := l.Get(i); err != nil || got != w {
					t.Fatalf("Get(%d) = %v, %v, want %v", i, got, err, w)
				}
			}
			if v.ByteArrayHex != "" && !bytes.Equal(l.Bytes(), mustHex(t, v.ByteArrayHex)) {
				t.Errorf("bytes %x, want %s", l.Bytes(), v.ByteArrayHex)
			}
		})
	}
}

// TestEncodeExamples encodes the examples built with Set. Go's zlib output
// need not match the vector's byte for byte, so the test decodes the result
// and compares the content; it only logs whether the lst matched exactly.
func TestEncodeExamples(t *testing.T) {
	t.Parallel()
	vs := loadVectors(t)
	for _, name := range []string{"example_1bit", "example_2bit"} {
		v := vs[name]
		l, err := New(v.Bits, len(v.Statuses))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range v.Statuses {
			if err := l.Set(i, s); err != nil {
				t.Fatal(err)
			}
		}
		e, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(e.Lst)
		if err != nil {
			t.Fatal(err)
		}
		if raw[0] != 0x78 || raw[1] != 0xDA {
			t.Errorf("%s: zlib header %x, want 78da (best compression)", name, raw[:2])
		}
		t.Logf("%s: lst %s, vector %s, identical: %v", name, e.Lst, v.Lst, e.Lst == v.Lst)
		d, err := Decode(e, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if e.Bits != v.Bits || !bytes.Equal(d.Bytes(), mustHex(t, v.ByteArrayHex)) {
			t.Errorf("%s: round trip bits %d bytes %x, want %d %s", name, e.Bits, d.Bytes(), v.Bits, v.ByteArrayHex)
		}
		for i, want := range v.Statuses {
			if got, _ := d.Get(i); got != want {
				t.Errorf("%s: decoded Get(%d) = %v, want %v", name, i, got, want)
			}
		}
	}
}

func TestEncodeLevels(t *testing.T) {
	t.Parallel()
	l := sparseList(t, 2, 1<<14, 50)
	for _, level := range []int{zlib.DefaultCompression, zlib.NoCompression, zlib.BestSpeed, zlib.BestCompression, zlib.HuffmanOnly} {
		e, err := l.EncodeLevel(level)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		d, err := Decode(e, l.Size())
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if !bytes.Equal(d.Bytes(), l.Bytes()) {
			t.Errorf("level %d: round trip differs", level)
		}
	}
	if _, err := l.EncodeLevel(10); err == nil {
		t.Error("EncodeLevel(10) succeeded")
	}
}

// zlibBytes compresses b at the given level.
func zlibBytes(t testing.TB, b []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	good := zlibBytes(t, []byte{0xb9, 0xa3}, zlib.BestCompression)
	var deflated, gzipped, withDict bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write([]byte{0xb9, 0xa3})
	fw.Close()
	gw := gzip.NewWriter(&gzipped)
	gw.Write([]byte{0xb9, 0xa3})
	gw.Close()
	dw, _ := zlib.NewWriterLevelDict(&withDict, zlib.BestCompression, []byte("dict"))
	dw.Write([]byte{0xb9, 0xa3})
	dw.Close()
	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-1] ^= 1
	badHeader := append([]byte(nil), good...)
	badHeader[1] ^= 1

	tests := []struct {
		name string
		e    EncodedList
		max  int
		want error
	}{
		{"bits 0", EncodedList{0, b64(good)}, 16, ErrInvalidBits},
		{"bits 3", EncodedList{3, b64(good)}, 16, ErrInvalidBits},
		{"bits 16", EncodedList{16, b64(good)}, 16, ErrInvalidBits},
		{"max entries 0", EncodedList{1, b64(good)}, 0, ErrInvalidSize},
		{"empty lst", EncodedList{1, ""}, 16, ErrMalformed},
		{"padded", EncodedList{1, "eNrbuRgAAhcBXQ=="}, 16, ErrMalformed},
		{"standard alphabet", EncodedList{1, "eNrbuRgAAhcB+Q"}, 16, ErrMalformed},
		{"line break", EncodedList{1, "eNrbuRgAA\nhcBXQ"}, 16, ErrMalformed},
		{"carriage return", EncodedList{1, "eNrbuRgAAhcBXQ\r"}, 16, ErrMalformed},
		{"space", EncodedList{1, "eNrbuRgAA hcBXQ"}, 16, ErrMalformed},
		{"non-zero trailing bits", EncodedList{1, "eNrbuRgAAhcBXR"}, 16, ErrMalformed},
		{"raw deflate", EncodedList{1, b64(deflated.Bytes())}, 16, ErrMalformed},
		{"gzip", EncodedList{1, b64(gzipped.Bytes())}, 16, ErrMalformed},
		{"preset dictionary", EncodedList{1, b64(withDict.Bytes())}, 16, ErrMalformed},
		{"bad header check", EncodedList{1, b64(badHeader)}, 16, ErrMalformed},
		{"bad checksum", EncodedList{1, b64(badSum)}, 16, ErrMalformed},
		{"truncated checksum", EncodedList{1, b64(good[:len(good)-1])}, 16, ErrMalformed},
		{"truncated stream", EncodedList{1, b64(good[:4])}, 16, ErrMalformed},
		{"trailing byte", EncodedList{1, b64(append(append([]byte(nil), good...), 0))}, 16, ErrMalformed},
		{"two streams", EncodedList{1, b64(append(append([]byte(nil), good...), good...))}, 16, ErrMalformed},
		{"empty list", EncodedList{1, b64(zlibBytes(t, nil, 9))}, 16, ErrMalformed},
		{"one byte over the limit", EncodedList{1, b64(good)}, 8, ErrTooLarge},
		{"2-bit over the limit", EncodedList{2, b64(zlibBytes(t, make([]byte, 5), 9))}, 16, ErrTooLarge},
		{"lst longer than any list of max entries", EncodedList{1, b64(zlibBytes(t, make([]byte, 4096), zlib.NoCompression))}, 16, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := Decode(tt.e, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if l != nil {
				t.Errorf("Decode returned a list with an error")
			}
		})
	}
}

// TestDecodeLimitIsInclusive checks that a list of exactly maxEntries
// decodes, and that maxEntries is rounded up to a whole byte.
func TestDecodeLimitIsInclusive(t *testing.T) {
	t.Parallel()
	tests := []struct{ bits, bytes, max int }{
		{1, 2, 16}, {1, 2, 9}, {2, 3, 12}, {2, 3, 10}, {4, 4, 8}, {8, 5, 5},
	}
	for _, tt := range tests {
		e := EncodedList{Bits: tt.bits, Lst: b64(zlibBytes(t, make([]byte, tt.bytes), 9))}
		l, err := Decode(e, tt.max)
		if err != nil {
			t.Errorf("bits %d, %d bytes, max %d: %v", tt.bits, tt.bytes, tt.max, err)
			continue
		}
		if want := tt.bytes * 8 / tt.bits; l.Size() != want {
			t.Errorf("bits %d, %d bytes: size %d, want %d", tt.bits, tt.bytes, l.Size(), want)
		}
	}
}

// TestDecodeZipBomb feeds 64 MiB of zeros compressed to about 64 KiB, under
// the compressed bound for 2^20 2-bit entries, and checks that Decode stops
// at the inflated bound without allocating anywhere near 64 MiB.
func TestDecodeZipBomb(t *testing.T) {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		w.Write(zeros)
	}
	w.Close()
	e := EncodedList{Bits: 2, Lst: b64(buf.Bytes())}
	t.Logf("bomb: %d compressed bytes", buf.Len())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(e, DefaultSize)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode error = %v, want ErrTooLarge", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Decode of a bomb allocated %d bytes, want at most 4 MiB", alloc)
	}
}

// sparseList returns a list with n random entries set to random non-zero
// statuses, from a fixed seed.
func sparseList(t testing.TB, bits, size, n int) *List {
	t.Helper()
	l, err := New(bits, size)
	if err != nil {
		t.Fatal(err)
	}
	rng := newTestRand(uint64(size) + uint64(n))
	for range n {
		if err := l.Set(rng.IntN(size), Status(1+rng.IntN(1<<bits-1))); err != nil {
			t.Fatal(err)
		}
	}
	return l
}
