// Command corpusgen writes the corpus of degraded QR photos that the qr
// package's decode-rate test reads, and compares decoders on it.
//
// Run from the module root:
//
//	go run ./qr/internal/corpusgen            # rewrite qr/testdata/corpus
//	go run ./qr/internal/corpusgen -compare   # qr.Decode, plain gozxing and zbarimg side by side
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
	out := flag.String("out", "qr/testdata/corpus", "corpus directory to write, or to read with -compare")
	texts := flag.String("texts", "qr/testdata", "directory holding presentations/*.txt and rfc-presentation.txt")
	compare := flag.Bool("compare", false, "decode the corpus with qr.Decode, plain gozxing and zbarimg and print a table")
	rounds := flag.Int("rounds", 3, "with -compare: timed decodes per image and decoder (the median counts)")
	zbar := flag.String("zbarimg", "zbarimg", "with -compare: the zbarimg command")
	verbose := flag.Bool("v", false, "with -compare: print the result of every decode")
	flag.Parse()
	var err error
	if *compare {
		err = runCompare(os.Stdout, *out, *texts, *zbar, *rounds, *verbose)
	} else {
		err = generate(*out, *texts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpusgen:", err)
		os.Exit(1)
	}
}
