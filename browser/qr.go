package browser

import (
	"errors"
	"fmt"
	"image"

	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/verifier"
)

// MaxFrames caps the effort of DecodeImage, in camera frames.
const MaxFrames = 20

// DecodeResult is the result of DecodeImage: the payload of the code, byte
// for byte, when OK.
type DecodeResult struct {
	Outcome
	Text string `json:"text"`
}

// DecodeImage finds one QR code in an image given as non-premultiplied
// RGBA pixels, four bytes a pixel, row after row without padding (what a
// canvas's getImageData returns), or as grey levels, one byte a pixel (the
// luma plane of a camera's video frame, which needs no canvas), and
// returns its payload as read: a packed
// presentation is not unpacked (Session.Verify does that). It searches with
// the effort of the given number of camera frames (qr.FrameEffort each, at
// most MaxFrames), or of a photo (qr.PhotoEffort) when frames is 0 or less:
// a count of work, not a time, so that a frame gives the same answer in
// any browser at any load. The pixels are used in place, not copied.
//
// Failures: CodeBadInput for dimensions that are not positive or do not
// match len(pix), CodeTooLarge over qr.MaxPixels, CodeNoCode when nothing
// decodes and CodeMultipleCodes for two different codes.
func DecodeImage(pix []byte, width, height int, frames int64) DecodeResult {
	if out := CheckImage(len(pix), width, height); !out.OK {
		return DecodeResult{Outcome: out}
	}
	effort := qr.PhotoEffort
	if frames > 0 {
		effort = qr.Effort(min(frames, MaxFrames)) * qr.FrameEffort
	}
	var img image.Image = &image.NRGBA{Pix: pix, Stride: 4 * width, Rect: image.Rect(0, 0, width, height)}
	if len(pix) == width*height {
		img = &image.Gray{Pix: pix, Stride: width, Rect: image.Rect(0, 0, width, height)}
	}
	data, err := qr.DecodeEffort(img, effort)
	switch {
	case err == nil:
		return DecodeResult{Outcome: ok, Text: string(data)}
	case errors.Is(err, qr.ErrMultipleCodes):
		return DecodeResult{Outcome: Fail(CodeMultipleCodes, err)}
	case errors.Is(err, qr.ErrTooLarge):
		return DecodeResult{Outcome: Fail(CodeTooLarge, err)}
	}
	return DecodeResult{Outcome: Fail(CodeNoCode, err)}
}

// CheckImage checks the arguments of DecodeImage without the pixels: n
// bytes of pixels for a width x height RGBA or grey image. A caller that
// must copy the pixels first (from JavaScript, say) checks before copying.
func CheckImage(n, width, height int) Outcome {
	if width <= 0 || height <= 0 {
		return Fail(CodeBadInput, fmt.Errorf("browser: image of %dx%d pixels", width, height))
	}
	if width > qr.MaxPixels || height > qr.MaxPixels || int64(width)*int64(height) > qr.MaxPixels { // no overflow
		return Fail(CodeTooLarge, fmt.Errorf("browser: image of %dx%d pixels, at most %d pixels", width, height, int64(qr.MaxPixels)))
	}
	if px := int64(width) * int64(height); int64(n) != 4*px && int64(n) != px {
		return Fail(CodeBadInput, fmt.Errorf("browser: %d bytes of pixels for %dx%d, want %d (RGBA) or %d (grey)", n, width, height, 4*px, px))
	}
	return ok
}

// QRResult is the result of EncodeQR: a standalone SVG document, the QR
// version, and the number of modules a side including the 4-module quiet
// zone, when OK.
type QRResult struct {
	Outcome
	SVG     string `json:"svg"`
	Version int    `json:"version"`
	Size    int    `json:"size"`
}

// EncodeQR draws a presentation as a QR code at level M, packed with
// qr.Pack when packed is true (one to three versions smaller), as an SVG
// of whole modules. Failures: CodeBadInput for empty text, text with
// surrounding white space or, when packed, characters qr.Pack cannot pack;
// CodeTooLong for text that does not fit a QR code.
func EncodeQR(text string, packed bool) QRResult {
	if len(text) > verifier.MaxInput {
		return QRResult{Outcome: Fail(CodeTooLong, fmt.Errorf("browser: %d bytes to encode, at most %d", len(text), verifier.MaxInput))}
	}
	c, err := qr.EncodePresentation(text, packed, qr.M)
	switch {
	case errors.Is(err, qr.ErrTooLong):
		return QRResult{Outcome: Fail(CodeTooLong, err)}
	case err != nil:
		return QRResult{Outcome: Fail(CodeBadInput, err)}
	}
	return QRResult{Outcome: ok, SVG: string(c.SVG()), Version: c.Version(), Size: c.Size()}
}
