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
// It tries several binarizers, the inverted image (light code on a dark
// background) and rescaled copies before giving up with [ErrNoCode].
// [DecodeReader] and [DecodeFile] accept PNG, JPEG and GIF only
// ([ErrNotImage] otherwise) and check the declared size against
// [MaxPixels] before decoding a single pixel ([TooLargeError], matching
// [ErrTooLarge]). Nothing in this package panics on bad input.
//
// A clean code decodes in about a millisecond. An image without a code goes
// through every attempt, and the cost grows with its size: measured on a
// loaded two-core machine, about 0.8 s of CPU for 4 megapixels of noise and
// 12 s for 40. A service that decodes uploads should scale them down or
// bound how many it decodes at once.
package qr
