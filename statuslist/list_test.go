package statuslist

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// vector is one entry of testdata/vectors.json (token_status_list).
type vector struct {
	Bits         int               `json:"bits"`
	Statuses     []Status          `json:"statuses"`
	ByteArrayHex string            `json:"byte_array_hex"`
	ZlibHex      string            `json:"zlib_hex"`
	Lst          string            `json:"lst"`
	Size         int               `json:"size"`
	Nonzero      map[string]Status `json:"nonzero"`
}

func loadVectors(t testing.TB) map[string]vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		TokenStatusList map[string]vector `json:"token_status_list"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"example_1bit", "example_2bit", "large_1bit", "large_2bit"} {
		if _, ok := f.TokenStatusList[name]; !ok {
			t.Fatalf("vector %q missing", name)
		}
	}
	return f.TokenStatusList
}

// expected returns the full list of statuses a vector describes.
func (v vector) expected(t testing.TB) []Status {
	t.Helper()
	if v.Statuses != nil {
		return v.Statuses
	}
	want := make([]Status, v.Size)
	for k, s := range v.Nonzero {
		i, err := strconv.Atoi(k)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = s
	}
	return want
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewRejectsBadParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bits, size int
		want       error
	}{
		{0, 8, ErrInvalidBits},
		{3, 8, ErrInvalidBits},
		{5, 8, ErrInvalidBits},
		{16, 8, ErrInvalidBits},
		{-1, 8, ErrInvalidBits},
		{1, 0, ErrInvalidSize},
		{2, -1, ErrInvalidSize},
		{8, maxSize + 1, ErrInvalidSize},
	}
	for _, tt := range tests {
		if _, err := New(tt.bits, tt.size); !errors.Is(err, tt.want) {
			t.Errorf("New(%d, %d) error = %v, want %v", tt.bits, tt.size, err, tt.want)
		}
	}
}

func TestNewSizes(t *testing.T) {
	t.Parallel()
	tests := []struct{ bits, size, bytes int }{
		{1, 1, 1}, {1, 8, 1}, {1, 9, 2}, {2, 12, 3}, {2, 13, 4}, {4, 3, 2}, {8, 5, 5},
		{DefaultBits, DefaultSize, DefaultSize / 4},
	}
	for _, tt := range tests {
		l, err := New(tt.bits, tt.size)
		if err != nil {
			t.Fatal(err)
		}
		if l.Size() != tt.size || l.Bits() != tt.bits || len(l.Bytes()) != tt.bytes {
			t.Errorf("New(%d, %d): size %d bits %d bytes %d, want bytes %d", tt.bits, tt.size, l.Size(), l.Bits(), len(l.Bytes()), tt.bytes)
		}
	}
}

// TestPackingVectors builds the specification's examples with Set and
// compares the byte array.
func TestPackingVectors(t *testing.T) {
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
				t.Fatalf("%s: Set(%d, %d): %v", name, i, s, err)
			}
		}
		if got, want := l.Bytes(), mustHex(t, v.ByteArrayHex); !bytes.Equal(got, want) {
			t.Errorf("%s: bytes %x, want %x", name, got, want)
		}
		for i, want := range v.Statuses {
			if got, err := l.Get(i); err != nil || got != want {
				t.Errorf("%s: Get(%d) = %v, %v, want %v", name, i, got, err, want)
			}
		}
	}
}

// TestPackingLayout pins the least-significant-bit-first layout for every
// width, with values chosen so that a most-significant-first layout fails.
func TestPackingLayout(t *testing.T) {
	t.Parallel()
	type set struct {
		i int
		s Status
	}
	tests := []struct {
		bits int
		size int
		sets []set
		want string
	}{
		{1, 16, []set{{0, 1}}, "0100"},
		{1, 16, []set{{9, 1}}, "0002"},
		{1, 16, []set{{7, 1}, {15, 1}}, "8080"},
		{2, 8, []set{{0, 1}}, "0100"},
		{2, 8, []set{{3, 2}}, "8000"},
		{2, 8, []set{{5, 3}}, "000c"},
		{4, 4, []set{{0, 0x3}, {1, 0xA}}, "a300"},
		{4, 4, []set{{3, 0xF}}, "00f0"},
		{8, 3, []set{{1, 0xFF}, {2, 0x12}}, "00ff12"},
	}
	for _, tt := range tests {
		l, err := New(tt.bits, tt.size)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tt.sets {
			if err := l.Set(s.i, s.s); err != nil {
				t.Fatal(err)
			}
		}
		if got := hex.EncodeToString(l.Bytes()); got != tt.want {
			t.Errorf("bits %d sets %v: bytes %s, want %s", tt.bits, tt.sets, got, tt.want)
		}
	}
}

func TestSetRefusesStatusThatDoesNotFit(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{1, 2, 4} {
		l, err := New(bits, 16)
		if err != nil {
			t.Fatal(err)
		}
		max := Status(1<<bits - 1)
		if err := l.Set(3, max); err != nil {
			t.Fatalf("bits %d: Set(3, %d): %v", bits, max, err)
		}
		before := l.Bytes()
		for _, s := range []Status{max + 1, 1 << bits, 0xFF} {
			if err := l.Set(3, s); !errors.Is(err, ErrStatusTooLarge) {
				t.Errorf("bits %d: Set(3, %d) error = %v, want ErrStatusTooLarge", bits, s, err)
			}
		}
		if !bytes.Equal(l.Bytes(), before) {
			t.Errorf("bits %d: refused Set changed the list", bits)
		}
	}
	l, _ := New(8, 2)
	if err := l.Set(1, 0xFF); err != nil {
		t.Errorf("8-bit Set(1, 0xFF): %v", err)
	}
}

func TestIndexOutOfRange(t *testing.T) {
	t.Parallel()
	l, err := New(2, 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{-1, 12, 13, 1 << 40, -1 << 62} {
		if _, err := l.Get(i); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Get(%d) error = %v, want ErrIndexOutOfRange", i, err)
		}
		if err := l.Set(i, Invalid); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Set(%d) error = %v, want ErrIndexOutOfRange", i, err)
		}
	}
}

// TestSetGetAgainstModel sets random statuses and checks every entry
// against a plain slice, so that a Set that disturbs a neighbour fails.
func TestSetGetAgainstModel(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{1, 2, 4, 8} {
		const size = 999
		l, err := New(bits, size)
		if err != nil {
			t.Fatal(err)
		}
		model := make([]Status, size)
		for range 5000 {
			i := rng.IntN(size)
			s := Status(rng.IntN(1 << bits))
			model[i] = s
			if err := l.Set(i, s); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range model {
			if got, _ := l.Get(i); got != want {
				t.Fatalf("bits %d: Get(%d) = %d, want %d", bits, i, got, want)
			}
		}
	}
}

func TestBytesReturnsCopy(t *testing.T) {
	t.Parallel()
	l, _ := New(1, 8)
	b := l.Bytes()
	b[0] = 0xFF
	if s, _ := l.Get(0); s != Valid {
		t.Errorf("changing Bytes() changed the list: Get(0) = %v", s)
	}
	src := []byte{0x01}
	f, err := FromBytes(1, src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 0
	if s, _ := f.Get(0); s != Invalid || f.Size() != 8 {
		t.Errorf("FromBytes: Get(0) = %v, size %d; want INVALID, 8", s, f.Size())
	}
	if _, err := FromBytes(3, src); !errors.Is(err, ErrInvalidBits) {
		t.Errorf("FromBytes(3) error = %v", err)
	}
	if _, err := FromBytes(1, nil); !errors.Is(err, ErrInvalidSize) {
		t.Errorf("FromBytes(nil) error = %v", err)
	}
}

func TestStatusString(t *testing.T) {
	t.Parallel()
	tests := map[Status]string{Valid: "VALID", Invalid: "INVALID", Suspended: "SUSPENDED", Superseded: "SUPERSEDED", 0x0C: "STATUS(0x0C)", 0xFF: "STATUS(0xFF)"}
	for s, want := range tests {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}
