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
	"strings"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// MaxPixels is the largest image, in pixels (width times height), that the
// decoder accepts: 40 megapixels, more than any phone camera frame.
const MaxPixels = 40_000_000

// MaxImageBytes is the largest encoded image [DecodeFile] reads, and the
// limit [DecodeReader] uses when given no limit of its own.
const MaxImageBytes = 32 << 20

// Limits of the rescaled attempts: a reduced copy must still hold a
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
	// ErrMultipleCodes means the image holds two QR codes with different
	// payloads, so which one to read is ambiguous.
	ErrMultipleCodes = errors.New("qr: more than one QR code in the image")
	// ErrNotPresentation means the code holds something other than an
	// e-permit presentation (a web address, a truncated text).
	ErrNotPresentation = errors.New("qr: code does not hold an e-permit presentation")
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

// Effort bounds the work [DecodeEffort] spends on one image, in work
// units per pixel of the image searched (a unit is about one pixel visited
// once by one step of the search; images smaller than 1280x720 count as
// that size). The search runs passes in a fixed order, the most
// productive first, and stops when a pass decodes or when the next one
// would overrun the effort, so the same image gives the same answer on any
// machine, under any load and in WebAssembly; only the time it takes
// differs, in proportion to the image's size.
type Effort int64

const (
	// FrameEffort suits one frame of a camera stream, where the next frame
	// is a fraction of a second away: the passes that read most codes in
	// camera photos, about four searches of the frame (see
	// docs/scanning.md). A 1280x720 frame that spends all of it takes about
	// 20 ms natively and 45 ms of WebAssembly in Chromium on the test
	// machine.
	FrameEffort Effort = 18
	// PhotoEffort suits a photo or a file decoded once: every pass,
	// including rescaled and smoothed copies and gozxing's own detector.
	PhotoEffort Effort = 44
)

// minEffortPixels is the size below which an image counts as 1280x720 for
// its effort: reading a code's grid costs about the same in a small image
// as in a large one, and a small image's passes are cheap.
const minEffortPixels = 1280 * 720

// Decode finds a QR code in img and returns its payload byte for byte,
// whatever the segment modes inside (a packed presentation comes back as
// PackedPrefix and its digits; see [NormalizeScanned]). It is
// [DecodeEffort] with [PhotoEffort].
func Decode(img image.Image) ([]byte, error) {
	return DecodeEffort(img, PhotoEffort)
}

// DecodeEffort is [Decode] with a bound on the work spent on the image:
// [FrameEffort] for a camera frame, [PhotoEffort] for a photo, or any
// other amount. Passes run in order of how often they read camera photos
// (see [Effort]): the code's own grid reader, which locates the three
// finder patterns, fits a perspective map to their corners and the
// alignment patterns and samples every module (on a half-size copy first,
// then at full size, then sharpened against blur, then inverted for light
// modules on dark); then gozxing's detector on the image at several
// scales, with two binarizers, and on a smoothed copy against screen
// moire. The first pass always runs, whatever the effort. Images of more
// than four megapixels are searched at a reduced size (halved until they
// fit), and at full size last if the effort allows.
//
// It returns ErrNoCode when nothing decodes, [ErrMultipleCodes] when the
// image holds two codes with different payloads, and a [TooLargeError] for
// images over MaxPixels. It never panics on odd input.
func DecodeEffort(img image.Image, e Effort) ([]byte, error) {
	d, err := decodeEffort(img, e, nil)
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
	points  []gozxing.ResultPoint // finder pattern centres (BL, TL, TR), in the attempt's image
}

func decode(img image.Image) (*decoded, error) { return decodeEffort(img, PhotoEffort, nil) }

// work counts the effort spent on one image.
type work struct {
	spent int64
	limit int64 // the effort; 0 for none
}

func (w *work) add(n int) { w.spent += int64(n) }

// over reports whether the effort is spent: a pass then stops trying
// further candidates (it always tries its first).
func (w *work) over() bool { return w.limit > 0 && w.spent >= w.limit }

// attempt is one pass over the image: which copy of it, and either the
// grid reader (with its binarisation) or gozxing's detector (with its
// binarizer, and whether the image is inverted or assumed clean).
type attempt struct {
	image   int // index into the scans table
	grid    bool
	detect  int // grid: the copy finder patterns are searched in
	global  bool
	pure    bool
	inverse bool
	linear  bool // grid: binarise in linear light
}

// Scans of the working image, built when an attempt first needs them.
const (
	scanFull = iota
	scan3of4
	scan3of2
	scanHalf
	scan2of3
	scan5of4
	scanBlur
	scanDouble
	scanSharp     // sharpened against blur
	scanHalfSharp // the same at half size
	scanInverse   // light and dark exchanged
	scanHalfInverse
	scanOriginal // the image at full size when the working image is reduced
	numScans
)

// attempts in order; see DecodeEffort. The order was set by how many
// images each pass reads alone and at what cost, on the tune set of
// qr/testdata/photos (and more photos from its seed stream) and on the
// older corpus, never on the held-out set: the grid reader on a half-size
// copy (cheap, and enough for codes of 4 pixels a module or more), at full
// size, sharpened (defocus, motion blur), and inverted at half size;
// gozxing's detector at 2/3 size and full size; the grid reader on a
// smoothed copy (moire) and binarised in linear light (thin dark lines);
// then the rest, for photos.
var attempts = []attempt{
	{grid: true, image: scanFull, detect: scanHalf},
	{grid: true, image: scanFull, detect: scanFull},
	{grid: true, image: scanSharp, detect: scanSharp},
	{grid: true, image: scanInverse, detect: scanHalfInverse},
	{image: scan2of3},
	{image: scanFull},
	{grid: true, image: scanBlur, detect: scanBlur},
	{grid: true, image: scanFull, detect: scanFull, linear: true},
	{image: scan5of4},
	{image: scanFull, global: true},
	{image: scan3of4, global: true},
	{image: scanHalf},
	{image: scan3of4},
	{grid: true, image: scanSharp, detect: scanHalfSharp},
	{image: scan3of2},
	{image: scanBlur},
	{grid: true, image: scanInverse, detect: scanInverse},
	{image: scanFull, inverse: true},
	{image: scan3of2, global: true},
	{image: scanDouble},
	{image: scan3of4, inverse: true},
	{image: scan3of2, inverse: true},
	{image: scanFull, pure: true},
	{image: scanFull, inverse: true, pure: true},
	{image: scanOriginal},
}

// Size limits of the scans: a reduced working image for large photos, no
// enlarged copy above a few megapixels, and no search for finder patterns
// at half size in images smaller than a 1280x720 frame.
const (
	workPixels    = 4_000_000
	maxEnlarged   = 4_000_000
	minHalfSearch = 600
)

// scanner holds the scans of one image.
type scanner struct {
	work    *grayImage // the image searched, reduced when large
	full    *grayImage // the image at full size
	scans   [numScans]*grayImage
	skipped [numScans]bool
}

// Work units follow the time steps take in WebAssembly, where a unit
// takes about 3 ns in Chromium on the test machine and 1.3 ns natively
// (BenchmarkFrameEffort, and the browser test in qr/internal/scanbench,
// measure it). scanCost is the work of making scan i, per pixel of the
// working image.
var scanCost = [numScans]float64{
	scan3of4: 0.85, scan3of2: 3.4, scanHalf: 0.6, scan2of3: 0.7, scan5of4: 2.3,
	scanBlur: 3, scanDouble: 4, scanSharp: 3.5, scanHalfSharp: 0.6, scanInverse: 0.6,
	scanHalfInverse: 0.6,
}

// Work of the steps of a pass.
const (
	grayCost         = 1       // per pixel of the image, converting it to grey
	gridPixelCost    = 3       // per pixel searched for finder patterns (binarising, run scanning)
	gozxingPixelCost = 3.5     // per pixel of a gozxing pass
	gridReadCost     = 400_000 // reading the grids one grid pass finds, an estimate before it runs
	quadPixelCost    = 2       // per pixel of the box around a finder, per threshold tried
	sampleCost       = 5       // one grey level interpolated at a point
	moduleCost       = 25      // one module's level (five points)
	thresholdCost    = 4       // per module, turning levels into bits
	decodeCost       = 250_000 // one gozxing decode of a bit matrix
)

func (s *scanner) scan(i int, w *work) *grayImage {
	if s.scans[i] != nil || s.skipped[i] {
		return s.scans[i]
	}
	g := s.work
	scale := func(num, den int) *grayImage {
		w, h := g.w*num/den, g.h*num/den
		if w < minCodePixels || h < minCodePixels || (num > den && w*h > maxEnlarged) {
			return nil
		}
		return g.resize(w, h)
	}
	half := func(g *grayImage) *grayImage {
		if g == nil || g.w/2 < minCodePixels || g.h/2 < minCodePixels {
			return nil
		}
		return g.half()
	}
	var out *grayImage
	switch i {
	case scanFull:
		out = g
	case scan3of4:
		out = scale(3, 4)
	case scan3of2:
		out = scale(3, 2)
	case scanHalf:
		out = half(g)
	case scan2of3:
		out = scale(2, 3)
	case scan5of4:
		out = scale(5, 4)
	case scanBlur:
		out = g.blur3()
	case scanDouble:
		if g.w*g.h <= maxDoublePixels {
			out = g.double()
		}
	case scanSharp:
		out = g.sharpen(1.5)
	case scanHalfSharp:
		out = half(s.scan(scanSharp, w))
	case scanInverse:
		out = g.inverse()
	case scanHalfInverse:
		out = half(s.scan(scanInverse, w))
	case scanOriginal:
		if s.full != s.work {
			out = s.full
		}
	}
	w.add(int(scanCost[i] * float64(g.w*g.h)))
	s.scans[i], s.skipped[i] = out, out == nil
	return out
}

// samplers are the images a grid attempt reads modules from: a sharpened
// or smoothed copy locates the code, and the modules are read from it and
// from the image itself.
func (s *scanner) samplers(a attempt, g *grayImage) []*grayImage {
	if a.image == scanSharp || a.image == scanBlur {
		return []*grayImage{g, s.work}
	}
	return []*grayImage{g}
}

// cost estimates the work of attempt a on the scans, before it runs:
// binarising and searching the image for a grid attempt, and about three
// such steps for gozxing's (its binarizer and its detector are slower per
// pixel). Scans not made yet count too.
func (s *scanner) cost(a attempt) int64 {
	px := func(i int) float64 {
		if s.scans[i] != nil {
			return float64(s.scans[i].w * s.scans[i].h)
		}
		g := s.work
		f := map[int]float64{scanHalf: 0.25, scanHalfSharp: 0.25, scanHalfInverse: 0.25, scan3of4: 0.5625,
			scan3of2: 2.25, scan2of3: 0.444, scan5of4: 1.5625, scanDouble: 4}[i]
		if f == 0 {
			f = 1
		}
		if i == scanOriginal {
			g = s.full
		}
		return f * float64(g.w*g.h)
	}
	var c float64
	need := map[int]bool{a.image: true}
	if a.grid {
		need[a.detect] = true
	}
	// A half-size copy of a sharpened or inverted image needs that first.
	if need[scanHalfSharp] {
		need[scanSharp] = true
	}
	if need[scanHalfInverse] {
		need[scanInverse] = true
	}
	for i := range need {
		if s.scans[i] == nil && !s.skipped[i] {
			c += scanCost[i] * float64(s.work.w*s.work.h)
		}
	}
	if a.grid {
		c += gridPixelCost*px(a.detect) + gridReadCost
	} else {
		c += gozxingPixelCost * px(a.image)
	}
	return int64(c)
}

// passTrace records the passes of one search, for tests.
type passTrace struct {
	passes []attempt
	errs   []error
	spent  []int64 // work spent after each pass
}

func decodeEffort(img image.Image, e Effort, tr *passTrace) (*decoded, error) {
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
	s := &scanner{full: toGray(img)}
	s.work = s.full
	for s.work.w*s.work.h > workPixels {
		s.work = s.work.half()
	}
	var (
		budget  = int64(e) * int64(max(s.work.w*s.work.h, minEffortPixels))
		w       = work{limit: max(budget, 1)}
		lastErr error
		tried   int
		skipped int // attempts left out for lack of effort
	)
	w.add(grayCost * s.full.w * s.full.h)
	for _, a := range attempts {
		if tried > 0 && w.spent+s.cost(a) > budget {
			skipped++
			continue
		}
		// Finder patterns are searched at half size only in images large
		// enough for a camera frame; a smaller image has small modules.
		if a.grid && (a.detect == scanHalf || a.detect == scanHalfSharp || a.detect == scanHalfInverse) &&
			min(s.work.w, s.work.h) < minHalfSearch {
			continue
		}
		g := s.scan(a.image, &w)
		if g == nil {
			continue
		}
		var d *decoded
		var err error
		if a.grid {
			det := s.scan(a.detect, &w)
			if det == nil {
				continue
			}
			d, err = safeReadGrids(det, s.samplers(a, g), a.linear, &w)
		} else {
			d, err = decodeGray(g, a)
			w.add(int(gozxingPixelCost * float64(g.w*g.h)))
		}
		tried++
		if tr != nil {
			tr.passes = append(tr.passes, a)
			tr.errs = append(tr.errs, err)
			tr.spent = append(tr.spent, w.spent)
		}
		if err == nil {
			if !a.grid {
				if err := checkSecond(g, a, d); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
		if errors.Is(err, ErrMultipleCodes) {
			return nil, err
		}
		lastErr = err
	}
	if skipped > 0 {
		return nil, fmt.Errorf("%w (effort %d a pixel: %d passes made, %d left out)", ErrNoCode, e, tried, skipped)
	}
	if lastErr != nil && !isNotFound(lastErr) {
		return nil, fmt.Errorf("%w (%v)", ErrNoCode, lastErr)
	}
	return nil, ErrNoCode
}

// safeReadGrids is readGrids with any panic turned into an error: the
// grid reader's arithmetic on odd input must not take the caller down.
func safeReadGrids(det *grayImage, samplers []*grayImage, linear bool, w *work) (d *decoded, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("qr: grid reader failure: %v", r)
		}
	}()
	return readGrids(det, samplers, linear, w)
}

// decodeGray runs one gozxing attempt on g.
func decodeGray(g *grayImage, a attempt) (*decoded, error) {
	var src gozxing.LuminanceSource = newGraySource(g)
	if a.inverse {
		src = src.Invert()
	}
	var bin gozxing.Binarizer
	if a.global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	return decodeBinarizer(bin, a.pure)
}

// checkSecond looks for another code in g once d has been read: it blanks
// the area of the first code and runs the same attempt again. Two codes
// with different payloads make the image ambiguous (which one did the
// holder mean to show?); the same payload twice is fine. A pure attempt
// has no position to blank and assumes one code.
func checkSecond(g *grayImage, a attempt, d *decoded) error {
	if a.pure || len(d.points) < 3 {
		return nil
	}
	masked, ok := maskCode(g, d, a.inverse)
	if !ok {
		return nil
	}
	d2, err := decodeGray(masked, a)
	if err != nil || bytes.Equal(payload(d2.segs), payload(d.segs)) {
		return nil
	}
	return fmt.Errorf("%w: a version %d and a version %d code", ErrMultipleCodes, d.version, d2.version)
}

// maskCode returns a copy of g with the code d was read from painted over
// in its light colour, quiet zone included. The code is located from its
// three finder pattern centres (bottom-left, top-left, top-right), which
// sit 3.5 modules inside its corners.
func maskCode(g *grayImage, d *decoded, inverse bool) (*grayImage, bool) {
	bl, tl, tr := d.points[0], d.points[1], d.points[2]
	n := float64(4*d.version + 17 - 7) // modules between finder centres
	ax, ay := (tr.GetX()-tl.GetX())/n, (tr.GetY()-tl.GetY())/n
	bx, by := (bl.GetX()-tl.GetX())/n, (bl.GetY()-tl.GetY())/n
	det := ax*by - ay*bx
	if math.Abs(det) < 1e-6 {
		return nil, false
	}
	const pad = 3.5 + QuietZone // modules from a finder centre to the outer edge
	lo, hi := -pad, n+pad
	// Bounding box of the padded parallelogram.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{lo, lo}, {hi, lo}, {lo, hi}, {hi, hi}} {
		x := tl.GetX() + c[0]*ax + c[1]*bx
		y := tl.GetY() + c[0]*ay + c[1]*by
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
	}
	x0, y0 := max(int(minX), 0), max(int(minY), 0)
	x1, y1 := min(int(maxX)+1, g.w), min(int(maxY)+1, g.h)
	out := &grayImage{w: g.w, h: g.h, pix: bytes.Clone(g.pix)}
	light := byte(0xff)
	if inverse {
		light = 0
	}
	// u and v (module coordinates from the top-left finder centre) are
	// linear along a row: fill the interval where both are inside.
	du, dv := by/det, -ay/det
	for y := y0; y < y1; y++ {
		py := float64(y) - tl.GetY()
		px := float64(x0) - tl.GetX()
		u0 := (px*by - py*bx) / det
		v0 := (py*ax - px*ay) / det
		from, to := 0.0, float64(x1-x0-1)
		for _, c := range [2][2]float64{{u0, du}, {v0, dv}} {
			// lo <= c0 + k*d <= hi
			if c[1] == 0 {
				if c[0] < lo || c[0] > hi {
					from, to = 1, 0
				}
				continue
			}
			a, b := (lo-c[0])/c[1], (hi-c[0])/c[1]
			if a > b {
				a, b = b, a
			}
			from, to = max(from, math.Ceil(a)), min(to, math.Floor(b))
		}
		if from > to {
			continue
		}
		row := out.pix[y*g.w+x0+int(from) : y*g.w+x0+int(to)+1]
		for i := range row {
			row[i] = light
		}
	}
	return out, true
}

// DecodePresentation decodes a QR code from img and returns the presentation
// text it carries, raw or packed: [Decode] followed by [NormalizeScanned].
// A code holding anything else (a web address, a presentation cut short)
// gives [ErrNotPresentation]; the verifier checks the rest.
func DecodePresentation(img image.Image) (string, error) {
	b, err := Decode(img)
	if err != nil {
		return "", err
	}
	text, err := NormalizeScanned(string(b))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotPresentation, err)
	}
	if err := checkShape(text); err != nil {
		return "", err
	}
	return text, nil
}

// checkShape accepts the outline of an SD-JWT presentation: an issuer-signed
// JWT (three base64url parts joined by '.'), then '~' and the disclosures,
// each ending in '~', then nothing or a key-binding JWT, whose parts must
// have possible base64url lengths. That catches most truncations.
func checkShape(text string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s in %q", ErrNotPresentation, why, shorten(text))
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return bad(fmt.Sprintf("character %q at offset %d", c, i))
		}
	}
	parts := strings.Split(text, "~")
	if len(parts) < 2 {
		return bad("no '~' after the issuer-signed JWT")
	}
	jwt := func(s string) bool {
		segs := strings.Split(s, ".")
		if len(segs) != 3 {
			return false
		}
		for _, seg := range segs {
			if seg == "" || len(seg)%4 == 1 {
				return false
			}
		}
		return true
	}
	if !jwt(parts[0]) {
		return bad("malformed issuer-signed JWT")
	}
	for _, d := range parts[1 : len(parts)-1] {
		if d == "" || strings.Contains(d, ".") {
			return bad("malformed disclosure")
		}
	}
	if kb := parts[len(parts)-1]; kb != "" && !jwt(kb) {
		return bad("malformed key-binding JWT")
	}
	return nil
}

// shorten keeps error messages short for long payloads.
func shorten(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:32] + "..." + s[len(s)-5:]
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
	meta := res.GetResultMetadata()
	ecl, _ := meta[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	theirs, _ := meta[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
	d, err := readSegments(res.GetRawBytes(), ecl, theirs)
	if err != nil {
		return nil, err
	}
	d.points = res.GetResultPoints()
	return d, nil
}

// readSegments re-reads the segments from the error-corrected codewords
// (see bitstream.go) and cross-checks the byte segments gozxing reported.
func readSegments(raw []byte, ecl string, theirs [][]byte) (*decoded, error) {
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
