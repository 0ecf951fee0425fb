package statuslist

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sync"
)

// Errors returned by Allocator methods, wrapped with context.
var (
	// ErrFull reports that every index of the list has been issued.
	ErrFull = errors.New("no free index")
	// ErrIndexInUse reports MarkUsed of an index that is already issued.
	ErrIndexInUse = errors.New("index already in use")
	// ErrIndexNotInUse reports Release of an index that is not issued.
	ErrIndexNotInUse = errors.New("index not in use")
	// ErrBadBitmap reports a persisted used bitmap of the wrong length or
	// with bits set beyond the list's size.
	ErrBadBitmap = errors.New("bad used bitmap")
)

// maxProbes is the number of random probes Allocate makes before falling
// back to a scan. With a fraction f of indices in use, all probes miss with
// probability f^maxProbes: 1e-3 at 90 % full.
const maxProbes = 64

// scanAbove is the used fraction, in 1/1024ths, above which Allocate skips
// random probing and scans from a random start straight away.
const scanAbove = 1000

// Allocator hands out the indices of one status list so that the index of a
// credential reveals nothing about when it was issued: consecutive indices
// would let anyone holding two permits, or watching the list, estimate
// issuance order and volume, and would make neighbours in the list
// neighbours in time.
//
// It keeps a used bitmap separate from the list's statuses: an index is used
// once issued, even while its status is still Valid (0), and must never be
// given to a second credential. Every issuance takes its index from
// [Allocator.Allocate] and gives it back with [Allocator.Release] if the
// issuance fails part-way.
//
// An Allocator is safe for concurrent use.
type Allocator struct {
	mu   sync.Mutex
	size int
	used []byte
	n    int
	r    io.Reader
	rbuf [512]byte
	roff int
}

// NewAllocator returns an allocator over the indices [0, size), all free,
// drawing randomness from r (crypto/rand.Reader when r is nil). Its size is
// normally the Size of the [List] it serves.
func NewAllocator(size int, r io.Reader) (*Allocator, error) {
	if size <= 0 || size > maxSize {
		return nil, fmt.Errorf("statuslist: allocator of %d entries: %w", size, ErrInvalidSize)
	}
	if r == nil {
		r = rand.Reader
	}
	a := &Allocator{size: size, used: make([]byte, (size+7)/8), r: r}
	a.roff = len(a.rbuf)
	return a, nil
}

// Size returns the number of indices a manages.
func (a *Allocator) Size() int { return a.size }

// Used returns the number of indices in use.
func (a *Allocator) Used() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// Allocate marks a free index as used and returns it. The index is drawn
// uniformly from the free indices by random probing; once the list is
// nearly full, or probing keeps missing, it is instead the first free index
// at or after a uniformly random start, wrapping around. It returns
// [ErrFull] when no index is free.
func (a *Allocator) Allocate() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n >= a.size {
		return 0, fmt.Errorf("statuslist: allocate among %d indices: %w", a.size, ErrFull)
	}
	probes := maxProbes
	if int64(a.n)*1024 > int64(a.size)*scanAbove {
		probes = 0
	}
	for range probes {
		i, err := a.randIndex()
		if err != nil {
			return 0, err
		}
		if !a.isUsed(i) {
			a.setUsed(i)
			return i, nil
		}
	}
	start, err := a.randIndex()
	if err != nil {
		return 0, err
	}
	i := a.scanFree(start)
	if i < 0 {
		// Unreachable while a.n < a.size; kept so that a corrupted count
		// cannot hand out a used index.
		return 0, fmt.Errorf("statuslist: allocate among %d indices: %w", a.size, ErrFull)
	}
	a.setUsed(i)
	return i, nil
}

// MarkUsed records index i as used, for example while rebuilding the
// allocator from issued credentials. It refuses an index already in use.
func (a *Allocator) MarkUsed(i int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if uint(i) >= uint(a.size) {
		return fmt.Errorf("statuslist: mark index %d of %d used: %w", i, a.size, ErrIndexOutOfRange)
	}
	if a.isUsed(i) {
		return fmt.Errorf("statuslist: mark index %d used: %w", i, ErrIndexInUse)
	}
	a.setUsed(i)
	return nil
}

// Release frees index i so that it can be allocated again. Call it only for
// an index whose credential was never issued (an issuance that failed
// part-way): the index of an issued credential stays used for the life of
// the list, revoked or not.
func (a *Allocator) Release(i int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if uint(i) >= uint(a.size) {
		return fmt.Errorf("statuslist: release index %d of %d: %w", i, a.size, ErrIndexOutOfRange)
	}
	if !a.isUsed(i) {
		return fmt.Errorf("statuslist: release index %d: %w", i, ErrIndexNotInUse)
	}
	a.used[i>>3] &^= 1 << (uint(i) & 7)
	a.n--
	return nil
}

// IsUsed reports whether index i is in use; it is false for an index out of
// range.
func (a *Allocator) IsUsed(i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return uint(i) < uint(a.size) && a.isUsed(i)
}

// UsedBitmap returns a copy of the used bitmap, one bit per index packed
// least significant bit first, for persistence with [Allocator.LoadUsed].
func (a *Allocator) UsedBitmap() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]byte(nil), a.used...)
}

// LoadUsed replaces the used bitmap with a copy of b, as returned by
// [Allocator.UsedBitmap] for an allocator of the same size. It refuses a
// bitmap of the wrong length or with bits set beyond the size.
func (a *Allocator) LoadUsed(b []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(b) != len(a.used) {
		return fmt.Errorf("statuslist: load used bitmap of %d bytes, want %d: %w", len(b), len(a.used), ErrBadBitmap)
	}
	if rem := uint(a.size) & 7; rem != 0 && b[len(b)-1]>>rem != 0 {
		return fmt.Errorf("statuslist: load used bitmap: bits set beyond index %d: %w", a.size-1, ErrBadBitmap)
	}
	n := 0
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	copy(a.used, b)
	a.n = n
	return nil
}

func (a *Allocator) isUsed(i int) bool { return a.used[i>>3]&(1<<(uint(i)&7)) != 0 }

func (a *Allocator) setUsed(i int) {
	a.used[i>>3] |= 1 << (uint(i) & 7)
	a.n++
}

// scanFree returns the first free index at or after start, wrapping around,
// or -1 if there is none. It skips full bytes eight indices at a time.
func (a *Allocator) scanFree(start int) int {
	for k := 0; k < 2; k++ {
		lo, hi := start, a.size
		if k == 1 {
			lo, hi = 0, start
		}
		for i := lo; i < hi; {
			if i&7 == 0 && a.used[i>>3] == 0xFF {
				i += 8
				continue
			}
			if !a.isUsed(i) {
				return i
			}
			i++
		}
	}
	return -1
}

// randIndex returns a uniformly random index in [0, a.size), rejecting the
// top of the 64-bit range to avoid modulo bias.
func (a *Allocator) randIndex() (int, error) {
	n := uint64(a.size)
	limit := math.MaxUint64 - math.MaxUint64%n
	for {
		if a.roff+8 > len(a.rbuf) {
			if _, err := io.ReadFull(a.r, a.rbuf[:]); err != nil {
				return 0, fmt.Errorf("statuslist: read randomness: %w", err)
			}
			a.roff = 0
		}
		v := binary.LittleEndian.Uint64(a.rbuf[a.roff:])
		a.roff += 8
		if v < limit {
			return int(v % n), nil
		}
	}
}
