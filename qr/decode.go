package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF for image.Decode
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// MaxPixels is the largest image, in pixels (width times height), that the
// decoder accepts: 40 megapixels, more than any phone camera frame.
const MaxPixels = 40_000_000

// MaxImageBytes is the largest encoded image [DecodeFile] reads, and the
// limit [DecodeReader] uses when given no limit of its own.
const MaxImageBytes = 32 << 20

// Limits of the rescaled attempts: a half-size copy must still hold a
// version 1 symbol and its quiet zone at one pixel per module; only images
// small enough for modules of one or two pixels get a double-size copy.
const (
	minCodePixels   = 21 + 2*QuietZone
	maxDoublePixels = 2_000_000
)

// Sentinel errors of the decoder; test with errors.Is.
var (
	// ErrNoCode means no readable QR code was found in the image.
	ErrNoCode = errors.New("qr: no QR code found")
	// ErrTooLarge means the image exceeds MaxPixels or the byte limit.
	ErrTooLarge = errors.New("qr: image too large")
	// ErrNotImage means the input is not a PNG, JPEG or GIF image.
	ErrNotImage = errors.New("qr: not a PNG, JPEG or GIF image")
)

// TooLargeError describes an image refused for its size. It matches
// [ErrTooLarge] with errors.Is.
type TooLargeError struct {
	Width, Height int   // image dimensions, when known
	Bytes         int64 // encoded size read so far, when the byte limit was hit
	Limit         int64 // the limit exceeded: pixels, or bytes when Bytes > 0
}

// Error describes the size and the limit exceeded.
func (e *TooLargeError) Error() string {
	if e.Bytes > 0 {
		return fmt.Sprintf("qr: image larger than %d bytes", e.Limit)
	}
	return fmt.Sprintf("qr: image of %dx%d pixels exceeds %d pixels", e.Width, e.Height, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Decode finds a QR code in img and returns its payload byte for byte,
// whatever the segment modes inside (a packed presentation comes back as
// PackedPrefix and its digits; see [NormalizeScanned]). It tries the hybrid
// binarizer, then the global-histogram one, then a pass that assumes a clean
// upright code (gozxing's finder misplaces the alignment pattern of a few
// percent of perfectly clean renders), then the same on the inverted image
// (light modules on dark), then on half-size and double-size copies. It returns
// ErrNoCode when nothing decodes and a [TooLargeError] for images over
// MaxPixels. Decode never panics on odd input.
func Decode(img image.Image) ([]byte, error) {
	d, err := decode(img)
	if err != nil {
		return nil, err
	}
	return payload(d.segs), nil
}

// decoded is what one successful reading found.
type decoded struct {
	version int
	ecLevel string
	segs    []segment
}

func decode(img image.Image) (*decoded, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrNoCode)
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("%w: empty image", ErrNoCode)
	}
	if err := checkPixels(b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	g := toGray(img)
	var lastErr error
	try := func(g *grayImage) (*decoded, bool) {
		src := newGraySource(g)
		for _, a := range []struct {
			src    gozxing.LuminanceSource
			global bool
			pure   bool
		}{
			{src, false, false},
			{src, true, false},
			{src, false, true},
			{src.Invert(), false, false},
			{src.Invert(), false, true},
		} {
			var bin gozxing.Binarizer
			if a.global {
				bin = gozxing.NewGlobalHistgramBinarizer(a.src)
			} else {
				bin = gozxing.NewHybridBinarizer(a.src)
			}
			d, err := decodeBinarizer(bin, a.pure)
			if err == nil {
				return d, true
			}
			lastErr = err
		}
		return nil, false
	}
	if d, ok := try(g); ok {
		return d, nil
	}
	// A wrong module-size estimate is the usual failure; rescaling changes it.
	if g.w/2 >= minCodePixels && g.h/2 >= minCodePixels {
		if d, ok := try(g.half()); ok {
			return d, nil
		}
	}
	if g.w*g.h <= maxDoublePixels {
		if d, ok := try(g.double()); ok {
			return d, nil
		}
	}
	if lastErr != nil && !isNotFound(lastErr) {
		return nil, fmt.Errorf("%w (%v)", ErrNoCode, lastErr)
	}
	return nil, ErrNoCode
}

// DecodePresentation decodes a QR code from img and returns the presentation
// text it carries, raw or packed: [Decode] followed by [NormalizeScanned].
func DecodePresentation(img image.Image) (string, error) {
	b, err := Decode(img)
	if err != nil {
		return "", err
	}
	return NormalizeScanned(string(b))
}

// DecodeFile reads a PNG, JPEG or GIF file of at most [MaxImageBytes] and
// decodes the QR code in it, as [DecodeReader] does.
func DecodeFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	defer f.Close()
	return DecodeReader(f, MaxImageBytes)
}

// DecodeReader reads at most maxBytes of a PNG, JPEG or GIF image from r
// ([MaxImageBytes] when maxBytes <= 0) and decodes the QR code in it, as
// [Decode] does. It reads the image header first and refuses other formats
// (ErrNotImage) and images over [MaxPixels] ([TooLargeError]) before
// decoding any pixel.
func DecodeReader(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = MaxImageBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, min(maxBytes, math.MaxInt64-1)+1))
	if err != nil {
		return nil, fmt.Errorf("qr: read image: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, &TooLargeError{Bytes: int64(len(data)), Limit: maxBytes}
	}
	img, err := decodeImage(data)
	if err != nil {
		return nil, err
	}
	return Decode(img)
}

// decodeImage checks the header (format, dimensions) before decoding.
func decodeImage(data []byte) (img image.Image, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	switch format {
	case "png", "jpeg", "gif":
	default:
		return nil, fmt.Errorf("%w: format %q", ErrNotImage, format)
	}
	if err := checkPixels(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%w: %s decoder failure: %v", ErrNotImage, format, r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	// The header and the image could disagree in a crafted file.
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		if err := checkPixels(b.Dx(), b.Dy()); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func checkPixels(w, h int) error {
	if w < 0 || h < 0 || int64(w)*int64(h) > MaxPixels {
		return &TooLargeError{Width: w, Height: h, Limit: MaxPixels}
	}
	return nil
}

// decodeBinarizer runs the gozxing QR reader once and extracts the exact
// payload. gozxing can panic on odd input; that becomes an error.
func decodeBinarizer(bin gozxing.Binarizer, pure bool) (out *decoded, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("qr: gozxing failure: %v", r)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return nil, err
	}
	var hints map[gozxing.DecodeHintType]any
	if pure {
		hints = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return nil, err
	}
	return readSegments(res)
}

// readSegments re-reads the segments from the error-corrected codewords
// (see bitstream.go) and cross-checks the byte segments gozxing reported.
func readSegments(res *gozxing.Result) (*decoded, error) {
	meta := res.GetResultMetadata()
	ecl, _ := meta[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	raw := res.GetRawBytes()
	version, err := versionForDataCodewords(len(raw), ecl)
	if err != nil {
		return nil, err
	}
	segs, err := parseSegments(raw, version)
	if err != nil {
		return nil, err
	}
	var mine [][]byte
	for _, s := range segs {
		if s.mode == modeByte {
			mine = append(mine, s.data)
		}
	}
	theirs, _ := meta[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
	if len(mine) != len(theirs) {
		return nil, fmt.Errorf("%w: %d byte segments, gozxing saw %d", errBitstream, len(mine), len(theirs))
	}
	for i := range mine {
		if !bytes.Equal(mine[i], theirs[i]) {
			return nil, fmt.Errorf("%w: byte segment %d differs from gozxing's", errBitstream, i)
		}
	}
	return &decoded{version: version, ecLevel: ecl, segs: segs}, nil
}

func isNotFound(err error) bool {
	var nf gozxing.NotFoundException
	return errors.As(err, &nf)
}
