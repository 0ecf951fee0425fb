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
// It is built for phone photos: it tries the hybrid binarizer at full size,
// then at 3/4 and 3/2 size (a wrong module-size estimate is gozxing's usual
// failure on photos, and another scale corrects it), the global-histogram
// binarizer, the inverted image (light code on a dark background), other
// scales and a smoothed copy against screen moire. [DecodePresentation]
// also checks that the payload has the shape of a presentation
// ([ErrNotPresentation] for a web address or a text cut short).
//
// Errors say what was wrong with the image: [ErrNoCode] (nothing readable,
// including half a code), [ErrMultipleCodes] (two codes with different
// payloads), [ErrNotImage] (not a PNG, JPEG or GIF, or a truncated file) and
// [TooLargeError] (over [MaxPixels], or over the byte limit of
// [DecodeReader]; it matches [ErrTooLarge]). The size is checked from the
// image header before a single pixel is decoded. Nothing in this package
// panics on bad input.
//
// # Time
//
// A code in a 1280x720 camera frame decodes in about 18 ms on one core of
// a loaded machine, JPEG decoding included (about 0.5x the time zbarimg
// takes per frame, see docs/performance.md); nearly half of that is the
// JPEG decoder, a third the binarizer, and a sixth the search for a second
// code. An image without a code goes through every attempt until
// [DefaultBudget] (one second) is spent; [DecodeWithin] takes another
// budget, for example a fraction of a second per camera frame. Images over
// four megapixels are searched at a reduced size first, so even a
// 40-megapixel image without a code gives up after about the budget.
//
// The corpus in testdata/corpus (56 degraded photos: 2 to 4 pixels per
// module, JPEG quality 50 to 70, rotation, blur, noise, tilt, glare, a phone
// screen's moire, 1280x720 frames) is written by qr/internal/corpusgen;
// scripts/bench-scan.sh compares this decoder with zbarimg on it.
package qr
