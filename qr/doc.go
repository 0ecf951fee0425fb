// Package qr shows e-permit presentations as QR codes and reads them back.
//
// A presentation is an SD-JWT in compact form, about 900 to 1,100 ASCII
// characters: base64url segments separated by '.' and '~'. This package
// turns one into a QR symbol (PNG, SVG, terminal text or an image.Image) and
// finds the exact bytes again in a screenshot, a file or a camera frame. It
// does no verification: hand the text to the verifier.
//
// # Encoding
//
//	code, err := qr.EncodePresentation(text, true, qr.M)
//	png, err := code.PNG(4) // 4 pixels per module, 4-module quiet zone
//	fmt.Print(code.Terminal())
//
// [EncodePresentation] picks the smallest QR version that fits at the given
// error-correction [Level] ([L], [M], [Q] or [H]; the zero Level is M).
// Renderings always use a whole number of pixels per module and a 4-module
// quiet zone; scaling a code to an arbitrary pixel size gives modules of
// uneven width, which decoders misread. [Code.Terminal] draws dark on light
// with explicit colours so that the code also scans from a dark terminal.
//
// Encoding a 1,000-character presentation costs several milliseconds and a
// few megabytes of allocation (the encoder scores all eight masks): render
// codes when they are shown, not on every issuance.
//
// # Packed form
//
// With packed set, the presentation goes through [Pack]: the prefix "ep1:"
// followed by two decimal digits per character (c-45, so '-' is 00 and '~'
// is 81). The digits travel in a numeric QR segment at 10 bits per three
// digits, about 17 % less than byte mode, the trick SMART Health Cards use.
// That is one to three QR versions smaller for the same text and level:
//
//	chars   L raw/packed   M raw/packed   Q raw/packed
//	  600       17/15          19/18          23/21
//	  800       20/18          23/21          27/25
//	 1000       22/20          26/23          31/28
//	 1200       25/23          29/26          34/31
//
// Any QR reader shows the packed text as "ep1:5676..."; [NormalizeScanned]
// turns either form, with the CR or LF a USB scanner adds, back into the
// presentation.
//
// # Decoding
//
//	data, err := qr.DecodeFile("photo.jpg")  // or DecodeReader(r, maxBytes)
//	text, err := qr.NormalizeScanned(string(data))
//
// [Decode] returns the payload byte for byte, whatever the segment modes in
// the symbol: it re-reads the segments from the error-corrected codewords
// instead of trusting a guessed character set or the byte segments alone.
// It is built for phone photos of a phone screen. Its own grid reader finds
// the three finder patterns (in any rotation and under strong tilt), fits a
// perspective map to their twelve outer corners, reads the version, refines
// the map on the alignment patterns (one map per cell of their grid, which
// follows lens distortion), and samples every module; the levels become
// bits against local thresholds, also after a deblurring step on the
// module grid; gozxing decodes the bits (format, unmasking, Reed-Solomon).
// Later passes search a sharpened copy (defocus, motion blur), an inverted
// one (light code on a dark background), and run gozxing's own detector at
// several scales and with two binarizers. [DecodePresentation] also checks
// that the payload has the shape of a presentation ([ErrNotPresentation]
// for a web address or a text cut short).
//
// Errors say what was wrong with the image: [ErrNoCode] (nothing readable,
// including half a code), [ErrMultipleCodes] (two codes with different
// payloads), [ErrNotImage] (not a PNG, JPEG or GIF, or a truncated file) and
// [TooLargeError] (over [MaxPixels], or over the byte limit of
// [DecodeReader]; it matches [ErrTooLarge]). The size is checked from the
// image header before a single pixel is decoded. Nothing in this package
// panics on bad input.
//
// # Effort
//
// The search is bounded by work, not time: [DecodeEffort] takes an [Effort]
// in work units (about one pixel visited once), runs its passes in a fixed
// order, the most productive first, and stops before a pass that would
// overrun it. The same image therefore gives the same answer on a fast or a
// busy machine and in WebAssembly, which only take longer. [FrameEffort]
// suits one camera frame, [PhotoEffort] (what [Decode] uses) a photo.
// Images over four megapixels are searched at a reduced size first.
// docs/scanning.md has the measurements.
//
// Two corpora test it, written by two independent generators (see
// testdata/README.md): testdata/corpus (qr/internal/corpusgen: degraded
// drawings of a code) and testdata/photos (qr/internal/photogen: a camera
// model photographing a phone screen), the latter split into a tune set
// and a held-out set. scripts/bench-scan.sh compares this decoder with zbar
// and zxing-cpp on all of them.
package qr
