package qr

import (
	"errors"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is a QR error-correction level. The zero Level means [M].
type Level uint8

// The four QR error-correction levels, from the least to the most redundant.
// They recover roughly 7 %, 15 %, 25 % and 30 % of damaged codewords.
const (
	L Level = iota + 1
	M
	Q
	H
)

// String returns the one-letter name of the level ("L", "M", "Q" or "H").
func (l Level) String() string {
	switch l {
	case 0, M:
		return "M"
	case L:
		return "L"
	case Q:
		return "Q"
	case H:
		return "H"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// recoveryLevel maps a Level to skip2's names, which are shifted by one:
// skip2's High is QR level Q and its Highest is QR level H.
func (l Level) recoveryLevel() (qrcode.RecoveryLevel, error) {
	switch l {
	case L:
		return qrcode.Low, nil
	case 0, M:
		return qrcode.Medium, nil
	case Q:
		return qrcode.High, nil
	case H:
		return qrcode.Highest, nil
	}
	return 0, fmt.Errorf("qr: unknown error-correction level %d", uint8(l))
}

// QuietZone is the width, in modules, of the light border around every
// rendered code (the minimum ISO/IEC 18004 asks for).
const QuietZone = 4

// MaxPixelsPerModule is the largest scale PNG and Image accept, which keeps a
// version 40 image under 1,400 pixels a side times this factor.
const MaxPixelsPerModule = 64

// ErrEmpty is returned when there is nothing to encode.
var ErrEmpty = errors.New("qr: empty data")

// ErrTooLong is returned when the data does not fit in a version 40 symbol at
// the requested level.
var ErrTooLong = errors.New("qr: data too long for a QR code")

// Code is an encoded QR symbol ready to be rendered. It is immutable and safe
// for concurrent use.
type Code struct {
	version int
	level   Level
	// modules[y][x] is true for a dark module; it includes the quiet zone.
	modules [][]bool
}

// Encode builds a QR symbol holding data at the given error-correction level,
// choosing the smallest version that fits. Data made only of characters of
// one QR mode (digits, or upper-case alphanumerics) is packed in that mode;
// mixed data is split into segments by the encoder.
func Encode(data []byte, level Level) (code *Code, err error) {
	rl, err := level.recoveryLevel()
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	// skip2/go-qrcode reports internal inconsistencies with log.Panic.
	defer func() {
		if r := recover(); r != nil {
			code, err = nil, fmt.Errorf("qr: encoder failure: %v", r)
		}
	}()
	q, err := qrcode.New(string(data), rl)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes at level %s (%v)", ErrTooLong, len(data), level, err)
	}
	// Bitmap runs the mask selection (the expensive step) once; skip2's own
	// Image and PNG would run it again on every call.
	bm := q.Bitmap()
	mods := make([][]bool, len(bm))
	for y, row := range bm {
		mods[y] = append([]bool(nil), row...)
	}
	if want := 4*q.VersionNumber + 17 + 2*QuietZone; len(mods) != want {
		return nil, fmt.Errorf("qr: encoder returned %d modules a side, want %d", len(mods), want)
	}
	if level == 0 {
		level = M
	}
	return &Code{version: q.VersionNumber, level: level, modules: mods}, nil
}

// EncodePresentation encodes a presentation (an SD-JWT in compact form) as a
// QR code, packed into numeric mode (see [Pack]) when packed is true or as
// raw text otherwise. Either form reads back with [Decode] followed by
// [NormalizeScanned].
func EncodePresentation(text string, packed bool, level Level) (*Code, error) {
	if packed {
		p, err := Pack(text)
		if err != nil {
			return nil, err
		}
		return Encode([]byte(p), level)
	}
	if err := checkPresentation(text); err != nil {
		return nil, err
	}
	return Encode([]byte(text), level)
}

// Version returns the QR version (1 to 40) of the symbol; the symbol is
// 4*Version+17 modules a side, without the quiet zone.
func (c *Code) Version() int { return c.version }

// Level returns the error-correction level of the symbol.
func (c *Code) Level() Level { return c.level }

// Size returns the number of modules a side, including the quiet zone on
// both sides.
func (c *Code) Size() int { return len(c.modules) }

// Dark reports whether the module at column x, row y (counted from the outer
// edge of the quiet zone) is dark. Coordinates outside the code are light.
func (c *Code) Dark(x, y int) bool {
	if y < 0 || y >= len(c.modules) || x < 0 || x >= len(c.modules[y]) {
		return false
	}
	return c.modules[y][x]
}
