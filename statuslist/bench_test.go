package statuslist

import (
	"compress/zlib"
	"testing"
)

// benchList is a DefaultSize list at DefaultBits with 2 % of entries set to
// a non-zero status, the load the benchmarks measure.
func benchList(b *testing.B) *List {
	b.Helper()
	return sparseList(b, DefaultBits, DefaultSize, DefaultSize/50)
}

func BenchmarkGet(b *testing.B) {
	l := benchList(b)
	b.ReportAllocs()
	var sink Status
	i := 0
	for b.Loop() {
		s, err := l.Get(i)
		if err != nil {
			b.Fatal(err)
		}
		sink |= s
		i = (i + 7919) & (DefaultSize - 1)
	}
	_ = sink
}

func BenchmarkSet(b *testing.B) {
	l := benchList(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := l.Set(i, Status(i&3)); err != nil {
			b.Fatal(err)
		}
		i = (i + 7919) & (DefaultSize - 1)
	}
}

func benchmarkEncode(b *testing.B, level int) {
	l := benchList(b)
	b.ReportAllocs()
	var e EncodedList
	for b.Loop() {
		var err error
		if e, err = l.EncodeLevel(level); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(e.Lst)), "lst-bytes")
}

func BenchmarkEncodeBest(b *testing.B)    { benchmarkEncode(b, zlib.BestCompression) }
func BenchmarkEncodeDefault(b *testing.B) { benchmarkEncode(b, zlib.DefaultCompression) }

func BenchmarkDecode(b *testing.B) {
	e, err := benchList(b).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(e, DefaultSize); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocate measures Allocate with crypto/rand on a list kept
// between empty and half full.
func BenchmarkAllocate(b *testing.B) {
	a, err := NewAllocator(DefaultSize, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if a.n >= DefaultSize/2 {
			b.StopTimer()
			a, _ = NewAllocator(DefaultSize, nil)
			b.StartTimer()
		}
		if _, err := a.Allocate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocateNearlyFull measures Allocate at 99.9 % full, where it
// scans from a random start.
func BenchmarkAllocateNearlyFull(b *testing.B) {
	a, err := NewAllocator(DefaultSize, nil)
	if err != nil {
		b.Fatal(err)
	}
	full := make([]byte, DefaultSize/8)
	for i := range full {
		full[i] = 0xFF
	}
	rng := newTestRand(1)
	for range DefaultSize / 1000 {
		i := rng.IntN(DefaultSize)
		full[i>>3] &^= 1 << (i & 7)
	}
	if err := a.LoadUsed(full); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		i, err := a.Allocate()
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Release(i); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignToken(b *testing.B) {
	c := TokenClaims{Sub: testURI, IssuedAt: testIat, List: benchList(b)}
	b.ReportAllocs()
	var tok string
	for b.Loop() {
		var err error
		if tok, err = SignToken(testKey, testKeyID, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tok)), "token-bytes")
}

func BenchmarkVerifyToken(b *testing.B) {
	tok, err := SignToken(testKey, testKeyID, TokenClaims{Sub: testURI, IssuedAt: testIat, List: benchList(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyToken(tok, keyFor, DefaultSize); err != nil {
			b.Fatal(err)
		}
	}
}
