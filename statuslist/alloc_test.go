package statuslist

import (
	"errors"
	"io"
	"slices"
	"testing"
)

func newTestAllocator(t testing.TB, size int, seed byte) *Allocator {
	t.Helper()
	a, err := NewAllocator(size, newTestReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewAllocatorRejectsBadSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, -1, maxSize + 1} {
		if _, err := NewAllocator(size, nil); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("NewAllocator(%d) error = %v, want ErrInvalidSize", size, err)
		}
	}
}

// TestAllocateEveryIndexOnce fills an allocator whose size is not a
// multiple of 8, through probing and then the scan, and checks that every
// index comes out exactly once before ErrFull.
func TestAllocateEveryIndexOnce(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 7, 1001, 4096} {
		a := newTestAllocator(t, size, 1)
		seen := make([]bool, size)
		for k := range size {
			i, err := a.Allocate()
			if err != nil {
				t.Fatalf("size %d: allocation %d: %v", size, k, err)
			}
			if i < 0 || i >= size || seen[i] {
				t.Fatalf("size %d: allocation %d gave %d (seen: %v)", size, k, i, i >= 0 && i < size && seen[i])
			}
			seen[i] = true
		}
		if a.Used() != size {
			t.Errorf("size %d: Used() = %d", size, a.Used())
		}
		if _, err := a.Allocate(); !errors.Is(err, ErrFull) {
			t.Errorf("size %d: Allocate on a full list: %v, want ErrFull", size, err)
		}
	}
}

// TestAllocateIsNotSequential checks that successive indices do not follow
// issuance order: few are consecutive, about half are ascending, and they
// spread over the whole list.
func TestAllocateIsNotSequential(t *testing.T) {
	t.Parallel()
	const size, n = 1 << 16, 1000
	a := newTestAllocator(t, size, 2)
	got := make([]int, n)
	for k := range got {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got[k] = i
	}
	consecutive, ascending := 0, 0
	for k := 1; k < n; k++ {
		if got[k] == got[k-1]+1 {
			consecutive++
		}
		if got[k] > got[k-1] {
			ascending++
		}
	}
	if consecutive > 2 {
		t.Errorf("%d of %d successive indices are consecutive", consecutive, n-1)
	}
	if ascending < 400 || ascending > 600 {
		t.Errorf("%d of %d successive indices ascend, want about half", ascending, n-1)
	}
	if lo, hi := slices.Min(got), slices.Max(got); lo > size/50 || hi < size-size/50 {
		t.Errorf("indices span [%d, %d] of [0, %d)", lo, hi, size)
	}
}

// TestAllocateIsUniformOverFreeIndices marks half of a small list used and
// allocates and releases many times: every free index must come out about
// equally often (chi-square, 7 degrees of freedom) and no used one ever.
func TestAllocateIsUniformOverFreeIndices(t *testing.T) {
	t.Parallel()
	const size, trials = 16, 16000
	a := newTestAllocator(t, size, 3)
	for i := 0; i < size; i += 2 {
		if err := a.MarkUsed(i); err != nil {
			t.Fatal(err)
		}
	}
	counts := make([]int, size)
	for range trials {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		counts[i]++
		if err := a.Release(i); err != nil {
			t.Fatal(err)
		}
	}
	expected := float64(trials) / (size / 2)
	chi2 := 0.0
	for i, c := range counts {
		if i%2 == 0 {
			if c != 0 {
				t.Fatalf("used index %d allocated %d times", i, c)
			}
			continue
		}
		d := float64(c) - expected
		chi2 += d * d / expected
	}
	// 24.3 is the 0.001 critical value for 7 degrees of freedom; the seed
	// is fixed, so the test is deterministic.
	if chi2 > 24.3 {
		t.Errorf("chi-square %.1f over free indices, counts %v", chi2, counts)
	}
}

func TestReleaseMakesIndexAvailableAgain(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t, 1, 4)
	i, err := a.Allocate()
	if err != nil || i != 0 {
		t.Fatalf("Allocate() = %d, %v", i, err)
	}
	if _, err := a.Allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("second Allocate error = %v, want ErrFull", err)
	}
	// An issuance that failed part-way gives its index back.
	if err := a.Release(i); err != nil {
		t.Fatal(err)
	}
	if a.Used() != 0 || a.IsUsed(0) {
		t.Errorf("after Release: Used() = %d, IsUsed(0) = %v", a.Used(), a.IsUsed(0))
	}
	if err := a.Release(i); !errors.Is(err, ErrIndexNotInUse) {
		t.Errorf("double Release error = %v, want ErrIndexNotInUse", err)
	}
	if j, err := a.Allocate(); err != nil || j != 0 {
		t.Errorf("Allocate after Release = %d, %v", j, err)
	}
	for _, bad := range []int{-1, 1} {
		if err := a.Release(bad); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Release(%d) error = %v, want ErrIndexOutOfRange", bad, err)
		}
		if err := a.MarkUsed(bad); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("MarkUsed(%d) error = %v, want ErrIndexOutOfRange", bad, err)
		}
		if a.IsUsed(bad) {
			t.Errorf("IsUsed(%d) = true", bad)
		}
	}
}

func TestMarkUsed(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t, 10, 5)
	if err := a.MarkUsed(9); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkUsed(9); !errors.Is(err, ErrIndexInUse) {
		t.Errorf("second MarkUsed error = %v, want ErrIndexInUse", err)
	}
	if a.Used() != 1 || !a.IsUsed(9) {
		t.Errorf("Used() = %d, IsUsed(9) = %v", a.Used(), a.IsUsed(9))
	}
}

// TestNearlyFullUsesScan leaves three free indices in a large list, where
// probing is skipped, and checks that exactly those come out.
func TestNearlyFullUsesScan(t *testing.T) {
	t.Parallel()
	const size = 1 << 12
	a := newTestAllocator(t, size, 6)
	free := []int{0, 2049, size - 1}
	for i := range size {
		if !slices.Contains(free, i) {
			if err := a.MarkUsed(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []int
	for range free {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	slices.Sort(got)
	if !slices.Equal(got, free) {
		t.Errorf("allocated %v, want %v", got, free)
	}
	if _, err := a.Allocate(); !errors.Is(err, ErrFull) {
		t.Errorf("Allocate on full list: %v", err)
	}
}

func TestUsedBitmapRoundTrip(t *testing.T) {
	t.Parallel()
	const size = 1001
	a := newTestAllocator(t, size, 7)
	for range 300 {
		if _, err := a.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	bm := a.UsedBitmap()
	b := newTestAllocator(t, size, 8)
	if err := b.LoadUsed(bm); err != nil {
		t.Fatal(err)
	}
	if b.Used() != 300 {
		t.Fatalf("loaded Used() = %d, want 300", b.Used())
	}
	for i := range size {
		if a.IsUsed(i) != b.IsUsed(i) {
			t.Fatalf("IsUsed(%d) differs after LoadUsed", i)
		}
	}
	// The rest of the indices come out of the reloaded allocator once each.
	for range size - 300 {
		i, err := b.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if a.IsUsed(i) {
			t.Fatalf("reloaded allocator handed out used index %d", i)
		}
	}
	bm[0] ^= 0xFF // changing the copy must not change a
	if a.Used() != 300 || !slices.Equal(a.UsedBitmap()[1:], bm[1:]) {
		t.Error("UsedBitmap did not return a copy")
	}
}

func TestLoadUsedRejects(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t, 10, 9)
	tests := []struct {
		name string
		b    []byte
	}{
		{"short", []byte{0}},
		{"long", []byte{0, 0, 0}},
		{"bit beyond size", []byte{0, 0x04}},
		{"top bit beyond size", []byte{0xFF, 0x80}},
	}
	for _, tt := range tests {
		if err := a.LoadUsed(tt.b); !errors.Is(err, ErrBadBitmap) {
			t.Errorf("%s: LoadUsed error = %v, want ErrBadBitmap", tt.name, err)
		}
	}
	if err := a.LoadUsed([]byte{0xFF, 0x03}); err != nil || a.Used() != 10 {
		t.Errorf("LoadUsed of a full bitmap: %v, Used() = %d", err, a.Used())
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestAllocateRandomnessFailure(t *testing.T) {
	t.Parallel()
	a, err := NewAllocator(100, failingReader{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Allocate error = %v, want the reader's error", err)
	}
	if a.Used() != 0 {
		t.Errorf("failed Allocate left Used() = %d", a.Used())
	}
}

func TestAllocatorDefaultsToCryptoRand(t *testing.T) {
	t.Parallel()
	a, err := NewAllocator(DefaultSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	i, err := a.Allocate()
	if err != nil || !a.IsUsed(i) {
		t.Errorf("Allocate() = %d, %v", i, err)
	}
}

func TestAllocateConcurrently(t *testing.T) {
	t.Parallel()
	const size, workers = 4000, 8
	a := newTestAllocator(t, size, 10)
	results := make(chan []int, workers)
	for range workers {
		go func() {
			var got []int
			for range size / workers {
				i, err := a.Allocate()
				if err != nil {
					t.Error(err)
					break
				}
				got = append(got, i)
			}
			results <- got
		}()
	}
	seen := make([]bool, size)
	for range workers {
		for _, i := range <-results {
			if seen[i] {
				t.Fatalf("index %d allocated twice", i)
			}
			seen[i] = true
		}
	}
	if a.Used() != size {
		t.Errorf("Used() = %d, want %d", a.Used(), size)
	}
}
