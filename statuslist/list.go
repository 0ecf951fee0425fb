package statuslist

import (
	"errors"
	"fmt"
	"math"
)

// DefaultSize is the number of entries in one shard of the status list: a
// province's tens of millions of permits are spread over many lists of this
// size, so that a revocation re-signs one small list, not all of them.
const DefaultSize = 1 << 20

// DefaultBits is the number of bits per entry used for new lists: two bits
// hold Valid, Invalid and Suspended.
const DefaultBits = 2

// Errors returned by List operations. They are wrapped with context; test
// for them with errors.Is.
var (
	// ErrInvalidBits reports a bits-per-entry value other than 1, 2, 4 or 8.
	ErrInvalidBits = errors.New("bits must be 1, 2, 4 or 8")
	// ErrInvalidSize reports a list size that is not positive or too large.
	ErrInvalidSize = errors.New("invalid list size")
	// ErrIndexOutOfRange reports an index outside [0, Size()).
	ErrIndexOutOfRange = errors.New("index out of range")
	// ErrStatusTooLarge reports a status value that does not fit in the
	// list's bits per entry.
	ErrStatusTooLarge = errors.New("status does not fit in bits per entry")
)

// Status is the status of one referenced token, as defined by the Token
// Status List specification.
type Status uint8

// Status values registered by the Token Status List specification. Values
// 0x03 and 0x0C to 0x0F are application-specific; the rest are reserved.
const (
	// Valid means the referenced token is valid, correct or legal.
	Valid Status = 0x00
	// Invalid means the referenced token has been revoked, annulled or
	// taken back; it is final.
	Invalid Status = 0x01
	// Suspended means the referenced token is temporarily invalid; it may
	// become Valid again.
	Suspended Status = 0x02
	// Superseded is e-permit's application-specific value (0x03): the
	// credential was replaced by a newer one for the same permit (a new
	// phone, an endorsement); it is final. Verifiers that do not know it
	// treat it, as the specification asks, as not valid.
	Superseded Status = 0x03
)

// String returns the registered name of s (VALID, INVALID, SUSPENDED) or
// its hexadecimal value for application-specific and reserved values.
func (s Status) String() string {
	switch s {
	case Valid:
		return "VALID"
	case Invalid:
		return "INVALID"
	case Suspended:
		return "SUSPENDED"
	case Superseded:
		return "SUPERSEDED"
	default:
		return fmt.Sprintf("STATUS(0x%02X)", uint8(s))
	}
}

// List is a fixed-size array of statuses of 1, 2, 4 or 8 bits each, packed
// as the Token Status List specification requires.
//
// A List is not safe for concurrent mutation: callers that Set from several
// goroutines must synchronise. Concurrent Get calls are safe when no Set runs.
type List struct {
	bits uint8
	mask uint8
	size int
	b    []byte
}

// ValidBits reports whether bits is a bits-per-entry value the
// specification allows (1, 2, 4 or 8).
func ValidBits(bits int) bool {
	return bits == 1 || bits == 2 || bits == 4 || bits == 8
}

// maxSize bounds a list's number of entries so that size*bits never
// overflows an int.
const maxSize = math.MaxInt / 8

// New returns a list of size entries of bits bits each, all Valid.
func New(bits, size int) (*List, error) {
	if !ValidBits(bits) {
		return nil, fmt.Errorf("statuslist: new list with %d bits: %w", bits, ErrInvalidBits)
	}
	if size <= 0 || size > maxSize {
		return nil, fmt.Errorf("statuslist: new list of %d entries: %w", size, ErrInvalidSize)
	}
	nbytes := (size*bits + 7) / 8
	return &List{bits: uint8(bits), mask: uint8(1<<bits - 1), size: size, b: make([]byte, nbytes)}, nil
}

// FromBytes returns a list of bits-bit entries over a copy of b, packed as
// [List.Bytes] returns them. Its size is len(b)*8/bits.
func FromBytes(bits int, b []byte) (*List, error) {
	if !ValidBits(bits) {
		return nil, fmt.Errorf("statuslist: list from bytes with %d bits: %w", bits, ErrInvalidBits)
	}
	if len(b) == 0 || len(b) > maxSize/8 {
		return nil, fmt.Errorf("statuslist: list from %d bytes: %w", len(b), ErrInvalidSize)
	}
	return fromOwnedBytes(bits, append([]byte(nil), b...)), nil
}

// fromOwnedBytes wraps b without copying; bits must be valid and b non-empty.
func fromOwnedBytes(bits int, b []byte) *List {
	return &List{bits: uint8(bits), mask: uint8(1<<bits - 1), size: len(b) * 8 / bits, b: b}
}

// Size returns the number of entries in l.
func (l *List) Size() int { return l.size }

// Bits returns the number of bits per entry of l.
func (l *List) Bits() int { return int(l.bits) }

// Bytes returns a copy of l's packed byte array.
func (l *List) Bytes() []byte { return append([]byte(nil), l.b...) }

// Get returns the status at index i.
//
// Entry i occupies bits [i*bits, (i+1)*bits) of the byte array, counted
// from the least significant bit of byte 0: byte i*bits/8, shifted right by
// (i*bits)%8. Because bits divides 8, an entry never straddles two bytes.
func (l *List) Get(i int) (Status, error) {
	if uint(i) >= uint(l.size) {
		return 0, fmt.Errorf("statuslist: get index %d of %d: %w", i, l.size, ErrIndexOutOfRange)
	}
	pos := uint(i) * uint(l.bits)
	return Status(l.b[pos>>3] >> (pos & 7) & l.mask), nil
}

// Set stores status s at index i.
//
// Set refuses a status that does not fit in the list's bits per entry
// instead of truncating it. The packed array has no framing between
// entries: stored unmasked, the 2 of Suspended in a 1-bit list spills into
// the next entry and revokes a different credential; masked, it records
// Valid for a suspended one. Likewise a list read with another width than it
// was written with (a 1-bit list read as 8-bit) silently yields the status
// of a different credential, which is why [New], [FromBytes] and [Decode]
// accept only 1, 2, 4 and 8 and the width travels with the list.
func (l *List) Set(i int, s Status) error {
	if uint(i) >= uint(l.size) {
		return fmt.Errorf("statuslist: set index %d of %d: %w", i, l.size, ErrIndexOutOfRange)
	}
	if uint8(s)&^l.mask != 0 {
		return fmt.Errorf("statuslist: set status %d in a %d-bit list: %w", uint8(s), l.bits, ErrStatusTooLarge)
	}
	pos := uint(i) * uint(l.bits)
	shift := pos & 7
	p := &l.b[pos>>3]
	*p = *p&^(l.mask<<shift) | uint8(s)<<shift
	return nil
}
