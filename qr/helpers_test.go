package qr

import (
	"image"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// testPresentation returns an SD-JWT-shaped string of exactly n characters:
// base64url segments joined by '.' (header, payload, signature) and '~'
// (disclosures), ending with '~'. The same n and seed give the same string.
func testPresentation(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var b strings.Builder
	b.WriteString("eyJ")
	lens := []int{31, 400, 86} // base64url lengths: never 1 mod 4
	seps := []byte{'.', '.', '~'}
	for i := 0; b.Len() < n-1; i++ {
		l := 44 + r.IntN(60)
		sep := byte('~')
		if i < len(lens) {
			l, sep = lens[i], seps[i]
		}
		for j := 0; j < l && b.Len() < n-1; j++ {
			b.WriteByte(b64url[r.IntN(len(b64url))])
		}
		if b.Len() < n-2 { // no empty part before the final '~'
			b.WriteByte(sep)
		}
	}
	b.WriteByte('~')
	return b.String()
}

// rfcPresentation is the RFC 8037 Appendix A.4 JWS followed by the two RFC
// 9901 disclosures of testdata/rfc-presentation.txt: a real SD-JWT shape.
func rfcPresentation(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc-presentation.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// invert returns a light-on-dark copy of img.
func invert(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(b)
	g := toGray(img)
	for i, v := range g.pix {
		out.Pix[i] = 255 - v
	}
	return out
}

func mustEncodePresentation(t testing.TB, text string, packed bool, level Level) *Code {
	t.Helper()
	c, err := EncodePresentation(text, packed, level)
	if err != nil {
		t.Fatalf("EncodePresentation(%d chars, packed=%v, %s): %v", len(text), packed, level, err)
	}
	return c
}
