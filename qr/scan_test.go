package qr

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusFloor is the share of the committed corpus (qr/testdata/corpus,
// written by qr/internal/corpusgen) that must decode. zbarimg decodes 52 of
// its 56 images; Decode decoded all 56 when this floor was set.
const corpusFloor = 0.95

type corpusEntry struct {
	file  string
	frame bool
	want  string // payload: the presentation, or its packed form
	text  string // the presentation
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/corpus/manifest.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) < 5 {
			t.Fatalf("manifest line %q", line)
		}
		b, err := os.ReadFile(filepath.Join("testdata", col[1]))
		if err != nil {
			t.Fatal(err)
		}
		e := corpusEntry{file: filepath.Join("testdata/corpus", col[0]), frame: col[4] == "true", text: strings.TrimSpace(string(b))}
		e.want = e.text
		if col[2] == "true" {
			if e.want, err = Pack(e.text); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("corpus has %d images", len(out))
	}
	return out
}

// TestCorpus decodes the degraded photos of the corpus and requires at least
// corpusFloor of them to give the exact payload; a wrong payload fails at
// once. With -short it decodes every third image.
func TestCorpus(t *testing.T) {
	t.Parallel()
	entries := readCorpus(t)
	var ok, n int
	for i, e := range entries {
		if testing.Short() && i%3 != 0 {
			continue
		}
		n++
		got, err := DecodeFile(e.file)
		if err != nil {
			t.Logf("%s: %v", e.file, err)
			continue
		}
		if string(got) != e.want {
			// A code packed by an earlier Pack ("ep2:") holds the same
			// presentation in other digits.
			if pres, err := Unpack(string(got)); !hasPackedPrefix(e.want) || err != nil || pres != e.text {
				t.Fatalf("%s: wrong payload %q", e.file, shorten(string(got)))
			}
		}
		if pres, err := NormalizeScanned(string(got)); err != nil || pres != e.text || checkShape(pres) != nil {
			t.Fatalf("%s: presentation differs: %v", e.file, err)
		}
		ok++
	}
	rate := float64(ok) / float64(n)
	t.Logf("decoded %d of %d corpus images (%.0f %%)", ok, n, 100*rate)
	if rate < corpusFloor {
		t.Errorf("decoded %d of %d corpus images (%.1f %%), floor %.0f %%", ok, n, 100*rate, 100*corpusFloor)
	}
}

// desk returns a cluttered 1280x720 scene without a code: gradients,
// objects and rows of dark marks like printed text.
func desk(seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for y := range 720 {
		for x := range 1280 {
			v := byte(100 + x/20 + y/15)
			img.SetRGBA(x, y, color.RGBA{v, v - 10, v - 30, 255})
		}
	}
	for range 8 {
		x, y := r.IntN(1200), r.IntN(650)
		rect := image.Rect(x, y, x+40+r.IntN(300), y+30+r.IntN(200))
		draw.Draw(img, rect, image.NewUniform(color.RGBA{235, 235, 230, 255}), image.Point{}, draw.Src)
		for ly := rect.Min.Y + 5; ly+6 < rect.Max.Y; ly += 11 {
			for lx := rect.Min.X + 5; lx+6 < rect.Max.X; lx += 5 + r.IntN(9) {
				draw.Draw(img, image.Rect(lx, ly, lx+2+r.IntN(5), ly+6), image.NewUniform(color.RGBA{30, 30, 35, 255}), image.Point{}, draw.Src)
			}
		}
	}
	return img
}

// place draws each code at 3 pixels per module onto img, the first at the
// left, the next to its right.
func place(img draw.Image, codes ...*Code) {
	x := 60
	for _, c := range codes {
		ci := c.Image(3)
		draw.Draw(img, ci.Bounds().Add(image.Pt(x, 80)), ci, image.Point{}, draw.Src)
		x += ci.Bounds().Dx() + 40
	}
}

func jpegBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBadImages gives each kind of bad input the issue lists and checks
// the error it gets: never a panic, never a wrong payload.
func TestBadImages(t *testing.T) {
	t.Parallel()
	text := rfcPresentation(t)
	long := testPresentation(1000, 8)
	code := mustEncodePresentation(t, text, true, M)
	other := mustEncodePresentation(t, long, false, M)

	noCode := jpegBytes(t, desk(1))
	two := desk(2)
	place(two, code, other)
	same := desk(3)
	place(same, code, code)
	notOurs, err := Encode([]byte("https://example.com/permit?id=330106267C1KVW"), M)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := Encode([]byte(long[:600]), M) // a presentation cut short
	if err != nil {
		t.Fatal(err)
	}
	badPacked, err := Encode([]byte(PackedPrefix+"9999"), M)
	if err != nil {
		t.Fatal(err)
	}
	full := jpegBytes(t, code.Image(3))
	halfCode := image.NewGray(image.Rect(0, 0, code.Image(3).Bounds().Dx(), code.Image(3).Bounds().Dy()/2))
	draw.Draw(halfCode, halfCode.Bounds(), code.Image(3), image.Point{}, draw.Src)
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, code.Image(2)); err != nil {
		t.Fatal(err)
	}
	var tl *TooLargeError

	tests := []struct {
		name string
		data []byte
		want error
		// pres: the error of DecodePresentation on the same bytes, when
		// Decode succeeds
		pres error
		// check runs on the error for more detail
		check func(err error) bool
	}{
		{name: "no code", data: noCode, want: ErrNoCode},
		{name: "two codes", data: jpegBytes(t, two), want: ErrMultipleCodes},
		{name: "same code twice", data: jpegBytes(t, same)},
		{name: "not our code", data: jpegBytes(t, notOurs.Image(3)), pres: ErrNotPresentation},
		{name: "truncated presentation", data: jpegBytes(t, cut.Image(3)), pres: ErrNotPresentation},
		{name: "bad packed digits", data: jpegBytes(t, badPacked.Image(3)), pres: ErrBadPacked},
		{name: "half a code", data: jpegBytes(t, halfCode), want: ErrNoCode},
		{name: "truncated JPEG", data: full[:len(full)/2], want: ErrNotImage},
		{name: "truncated PNG", data: pngBuf.Bytes()[:pngBuf.Len()-30], want: ErrNotImage},
		{name: "50 megapixels", data: pngHeader(10_000, 5_000), want: ErrTooLarge,
			check: func(err error) bool { return errors.As(err, &tl) && tl.Width == 10_000 && tl.Limit == MaxPixels }},
		{name: "text file", data: []byte(text), want: ErrNotImage},
		{name: "PDF", data: []byte("%PDF-1.7\n1 0 obj\n<< >>\nendobj\n"), want: ErrNotImage},
		{name: "empty file", data: nil, want: ErrNotImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeReader(bytes.NewReader(tt.data), 0)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || got != nil {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if tt.check != nil && !tt.check(err) {
					t.Fatalf("error detail: %v", err)
				}
				if !strings.HasPrefix(err.Error(), "qr: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			img, _, err := image.Decode(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			pres, err := DecodePresentation(img)
			switch {
			case tt.pres == nil && (err != nil || pres != text):
				t.Fatalf("DecodePresentation: %v", err)
			case tt.pres != nil && (!errors.Is(err, tt.pres) || pres != ""):
				t.Fatalf("DecodePresentation err = %v, want %v", err, tt.pres)
			}
			if tt.pres != nil && !errors.Is(err, ErrNotPresentation) {
				t.Errorf("%v does not match ErrNotPresentation", err)
			}
		})
	}
}

// TestBudget bounds the time spent on images without a code: the search
// stops once the budget is spent, give or take one attempt.
func TestBudget(t *testing.T) {
	// Not parallel: it measures time.
	r := rand.New(rand.NewPCG(5, 6))
	noise := image.NewGray(image.Rect(0, 0, 2000, 2000))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.UintN(256))
	}
	for _, budget := range []time.Duration{0, 50 * time.Millisecond} {
		t0 := time.Now()
		_, err := DecodeWithin(noise, budget)
		took := time.Since(t0)
		if !errors.Is(err, ErrNoCode) {
			t.Fatalf("budget %v: %v", budget, err)
		}
		if budget > 0 && !strings.Contains(err.Error(), "time budget") {
			t.Errorf("budget %v: error does not say the budget ran out: %v", budget, err)
		}
		// One attempt on 4 megapixels of noise takes well under a second
		// even on a loaded machine.
		if took > budget+2*time.Second {
			t.Errorf("budget %v: took %v", budget, took)
		}
		t.Logf("budget %v: gave up after %v: %v", budget, took, err)
	}
	// A zero budget still makes the first attempt.
	c := mustEncodePresentation(t, rfcPresentation(t), false, M)
	if _, err := DecodeWithin(c.Image(3), 0); err != nil {
		t.Errorf("clean code with a zero budget: %v", err)
	}
}

// TestDecodeLargeImage decodes a code in a 36-megapixel photo, which is
// searched at a quarter of its size first, and gives up on one without a
// code within the default budget and one attempt.
func TestDecodeLargeImage(t *testing.T) {
	if testing.Short() {
		t.Skip("36-megapixel images")
	}
	text := testPresentation(1000, 3)
	c := mustEncodePresentation(t, text, true, M)
	big := image.NewGray(image.Rect(0, 0, 7200, 5000))
	for i := range big.Pix {
		big.Pix[i] = 0xe0
	}
	draw.Draw(big, c.Image(12).Bounds().Add(image.Pt(2000, 1000)), c.Image(12), image.Point{}, draw.Src)
	got, err := DecodePresentation(big)
	if err != nil || got != text {
		t.Fatalf("code in a large image: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := range big.Pix {
		big.Pix[i] = byte(r.UintN(256))
	}
	t0 := time.Now()
	if _, err := Decode(big); !errors.Is(err, ErrNoCode) {
		t.Fatalf("noise: %v", err)
	}
	took := time.Since(t0)
	if took > DefaultBudget+3*time.Second {
		t.Errorf("36 megapixels of noise took %v", took)
	}
	t.Logf("36 megapixels of noise: gave up after %v", took)
}

func TestCheckShape(t *testing.T) {
	t.Parallel()
	good := []string{
		"eyJh.eyJw.c2ln~",
		"eyJh.eyJw.c2ln~WyJh~WyJi~",
		"eyJh.eyJw.c2ln~WyJh~eyJr.eyJi.c2ln",
	}
	for _, s := range good {
		if err := checkShape(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		"https://example.com/",
		"eyJh.eyJw.c2ln",                // no '~'
		"eyJh.eyJw~",                    // two parts
		"eyJh.eyJw.c2lu5~",              // signature of impossible length
		"eyJh..c2ln~",                   // empty part
		"eyJh.eyJw.c2ln~WyJh~~",         // empty disclosure
		"eyJh.eyJw.c2ln~WyJh~eyJr.eyJi", // key-binding JWT cut short
		"eyJh.eyJw.c2ln~Wy Jh~",         // space
		"eyJh.eyJw.c2ln~\xe4~",          // non-ASCII
	}
	for _, s := range bad {
		if err := checkShape(s); !errors.Is(err, ErrNotPresentation) {
			t.Errorf("%q: err = %v", s, err)
		}
	}
	for _, f := range []string{"residence-proof", "police-check", "minor-residence-proof", "no-disclosures"} {
		b, err := os.ReadFile("testdata/presentations/" + f + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if err := checkShape(string(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestMaskCode checks that blanking a decoded code removes it, so that a
// second search of the same image finds nothing.
func TestMaskCode(t *testing.T) {
	t.Parallel()
	img := desk(4)
	c := mustEncodePresentation(t, rfcPresentation(t), false, M)
	place(img, c)
	g := toGray(img)
	a := attempt{image: scanFull}
	d, err := decodeGray(g, a)
	if err != nil {
		t.Fatal(err)
	}
	masked, ok := maskCode(g, d, false)
	if !ok {
		t.Fatal("no mask")
	}
	if _, err := decodeGray(masked, a); err == nil {
		t.Fatal("the code still decodes after masking")
	}
	// Every pixel of the code is light now; pixels well away are untouched.
	side := c.Image(3).Bounds().Dx()
	for y := 80; y < 80+side; y++ {
		for x := 60; x < 60+side; x++ {
			if masked.pix[y*g.w+x] != 0xff {
				t.Fatalf("pixel %d,%d of the code not masked", x, y)
			}
		}
	}
	for _, p := range []image.Point{{60 + side + 30, 80}, {30, 80 + side + 30}, {1279, 719}} {
		if i := p.Y*g.w + p.X; masked.pix[i] != g.pix[i] {
			t.Errorf("pixel %v outside the code changed", p)
		}
	}
}

func TestResizeBlur(t *testing.T) {
	t.Parallel()
	g := &grayImage{w: 4, h: 4, pix: []byte{
		0, 0, 255, 255,
		0, 0, 255, 255,
		0, 0, 255, 255,
		0, 0, 255, 255,
	}}
	if r := g.resize(2, 2); r.w != 2 || r.h != 2 || r.pix[0] > 70 || r.pix[1] < 185 {
		t.Errorf("resize down = %+v", r)
	}
	if r := g.resize(6, 6); r.w != 6 || r.pix[0] != 0 || r.pix[5] != 255 || r.pix[2] == 0 || r.pix[2] == 255 {
		t.Errorf("resize up = %+v", r)
	}
	b := g.blur3()
	if b.pix[0] != 0 || b.pix[1] != 85 || b.pix[2] != 170 || b.pix[3] != 255 {
		t.Errorf("blur3 row = %v", b.pix[:4])
	}
}

// BenchmarkDecodeFrame decodes the 1280x720 frames of the corpus from their
// JPEG bytes, as DecodeReader does for an upload.
func BenchmarkDecodeFrame(b *testing.B) {
	var frames [][]byte
	for _, e := range readCorpus(b) {
		if e.frame {
			data, err := os.ReadFile(e.file)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, data)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := DecodeReader(bytes.NewReader(frames[i%len(frames)]), 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
