// Command corpusgen writes the corpus of degraded QR photos that the qr
// package's decode-rate test reads (qr/internal/scanbench compares
// decoders on it).
//
// Run from the module root:
//
//	go run ./qr/internal/corpusgen            # rewrite qr/testdata/corpus
//
// The corpus is deterministic: every image draws its parameters from its own
// seeded PCG generator, so running the generator again writes the same bytes
// (with the same Go release: the JPEG encoder is the standard library's).
// It holds real wallet presentations from qr/testdata/presentations, raw and
// packed, at error-correction level M, rendered at 2.0 to 4.0 pixels per
// module or filling about a third of the width of a 1280x720 frame, with
// rotations up to 10 degrees, perspective tilt, blur, noise, uneven light,
// glare, phone-screen subpixels (moire), light-on-dark codes, and JPEG
// quality 50 to 70. manifest.tsv lists each file with the text it holds and
// the parameters used.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "qr/testdata/corpus", "corpus directory to write")
	texts := flag.String("texts", "qr/testdata", "directory holding presentations/*.txt and rfc-presentation.txt")
	flag.Parse()
	if err := generate(*out, *texts); err != nil {
		fmt.Fprintln(os.Stderr, "corpusgen:", err)
		os.Exit(1)
	}
}
