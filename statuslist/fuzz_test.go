package statuslist

import (
	"bytes"
	"compress/zlib"
	"testing"
)

// fuzzMaxEntries bounds what FuzzDecode may inflate: 2^16 entries is at
// most 64 KiB at 8 bits.
const fuzzMaxEntries = 1 << 16

// FuzzDecode checks that Decode never panics, never returns a list beyond
// its bound, and that whatever it accepts survives an Encode round trip.
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Bits, v.Lst)
	}
	f.Add(1, "")
	f.Add(3, "eNrbuRgAAhcBXQ")
	f.Add(8, "eNrbuRgAAhcBXQ==")
	f.Add(2, b64(zlibBytes(f, make([]byte, 1<<17), zlib.BestCompression))) // inflates past the bound
	f.Add(4, b64(append(zlibBytes(f, []byte{1, 2, 3}, 9), 0)))             // trailing byte
	f.Fuzz(func(t *testing.T, bits int, lst string) {
		l, err := Decode(EncodedList{Bits: bits, Lst: lst}, fuzzMaxEntries)
		if err != nil {
			if l != nil {
				t.Fatal("list returned with an error")
			}
			return
		}
		maxBytes := (fuzzMaxEntries*bits + 7) / 8
		b := l.Bytes()
		if len(b) == 0 || len(b) > maxBytes || l.Size() != len(b)*8/bits || l.Bits() != bits {
			t.Fatalf("bits %d: %d bytes, size %d, bound %d bytes", bits, len(b), l.Size(), maxBytes)
		}
		if _, err := l.Get(l.Size() - 1); err != nil {
			t.Fatal(err)
		}
		e, err := l.EncodeLevel(zlib.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(e, fuzzMaxEntries)
		if err != nil || !bytes.Equal(d.Bytes(), b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
