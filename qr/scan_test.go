package qr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
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
)

// corpusFloor is the share of the committed corpus (qr/testdata/corpus,
// written by qr/internal/corpusgen) that must decode. zbarimg decodes 55 of
// its 56 images (make bench-scan); Decode decodes all 56.
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

// photoFloors are the fewest photos of each set of testdata/photos (see
// testdata/README.md) that must decode at a camera frame's effort: the
// counts measured when the floors were set, less two. The held-out set's
// floor holds a measurement, never a target the decoder was tuned to.
var photoFloors = map[string]int{"tune": 22, "heldout": 37}

// TestPhotos decodes every photo of testdata/photos as a camera loop does
// (the pixels of one frame, FrameEffort) and holds each set to its floor;
// a wrong payload fails at once.
func TestPhotos(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/photos/manifest.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ok, n := map[string]int{}, map[string]int{}
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
		set := col[1]
		b, err := os.ReadFile(filepath.Join("testdata", col[3]))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(string(b))
		if col[4] == "true" {
			if want, err = Pack(want); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(filepath.Join("testdata/photos", col[0]))
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeImage(data)
		if err != nil {
			t.Fatal(err)
		}
		n[set]++
		got, err := DecodeEffort(img, FrameEffort)
		if err != nil {
			continue
		}
		if string(got) != want {
			// A code packed by an earlier Pack ("ep2:") holds the same
			// presentation in other digits.
			if pres, err := Unpack(string(got)); col[4] != "true" || err != nil || pres != strings.TrimSpace(string(b)) {
				t.Fatalf("%s: wrong payload %q", col[0], shorten(string(got)))
			}
		}
		ok[set]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for set, floor := range photoFloors {
		t.Logf("%s: decoded %d of %d photos at a frame's effort", set, ok[set], n[set])
		if n[set] == 0 || ok[set] < floor {
			t.Errorf("%s: decoded %d of %d photos, floor %d", set, ok[set], n[set], floor)
		}
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

// TestEffort bounds the work spent on images without a code: the search
// stops before a pass that would overrun the effort, and the first pass
// always runs. The same image gets the same passes every time.
func TestEffort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	noise := image.NewGray(image.Rect(0, 0, 2000, 2000))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.UintN(256))
	}
	for _, e := range []Effort{0, FrameEffort, PhotoEffort} {
		var tr passTrace
		_, err := decodeEffort(noise, e, &tr)
		if !errors.Is(err, ErrNoCode) {
			t.Fatalf("effort %d: %v", e, err)
		}
		if len(tr.passes) == 0 {
			t.Fatalf("effort %d: no pass made", e)
		}
		spent := tr.spent[len(tr.spent)-1]
		// Past the first pass, the estimate of each pass's cost keeps
		// the total within the effort, give or take a little.
		if budget := int64(e) * 2000 * 2000; len(tr.passes) > 1 && float64(spent) > 1.2*float64(budget) {
			t.Errorf("effort %d: spent %d in %d passes", e, spent, len(tr.passes))
		}
		if e < PhotoEffort && !strings.Contains(err.Error(), "effort") {
			t.Errorf("effort %d: error does not say the effort ran out: %v", e, err)
		}
		t.Logf("effort %d: %d passes, %d spent: %v", e, len(tr.passes), spent, err)
	}
	// A zero effort still makes the first pass.
	c := mustEncodePresentation(t, rfcPresentation(t), false, M)
	if _, err := DecodeEffort(c.Image(3), 0); err != nil {
		t.Errorf("clean code with zero effort: %v", err)
	}
}

// TestDeterministic decodes camera frames twice and requires the same
// passes, work and outcome: nothing depends on the clock.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"testdata/photos/tune/glare-1.jpg", "testdata/photos/tune/tilt-1.jpg"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeImage(data)
		if err != nil {
			t.Fatal(err)
		}
		var a, b passTrace
		_, errA := decodeEffort(img, FrameEffort, &a)
		_, errB := decodeEffort(img, FrameEffort, &b)
		if fmt.Sprint(a.passes, a.spent, errA) != fmt.Sprint(b.passes, b.spent, errB) {
			t.Errorf("%s: two runs differ:\n%v %v %v\n%v %v %v", name, a.passes, a.spent, errA, b.passes, b.spent, errB)
		}
	}
}

// TestDecodeLargeImage decodes a code in a 36-megapixel photo, which is
// searched at a quarter of its size first, and gives up on one without a
// code within the effort.
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
	var tr passTrace
	if _, err := decodeEffort(big, PhotoEffort, &tr); !errors.Is(err, ErrNoCode) {
		t.Fatalf("noise: %v", err)
	}
	// Searched at a quarter of its size, 1800x1250.
	if spent := tr.spent[len(tr.spent)-1]; float64(spent) > 1.2*float64(PhotoEffort)*1800*1250+36e6 {
		t.Errorf("36 megapixels of noise: %d work units in %d passes", spent, len(tr.passes))
	}
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

// BenchmarkFrameEffort decodes camera frames at FrameEffort from their
// pixels (as a camera loop hands them over, without JPEG decoding): a tune
// photo the first passes read, and one no pass reads, which spends the
// whole effort. Run it natively and under WebAssembly (GOOS=js GOARCH=wasm
// go test -exec go_js_wasm_exec) to compare the two speeds.
func BenchmarkFrameEffort(b *testing.B) {
	for _, name := range []string{"tune/rotation-1", "tune/glare-0"} {
		data, err := os.ReadFile("testdata/photos/" + name + ".jpg")
		if err != nil {
			b.Fatal(err)
		}
		img, err := decodeImage(data)
		if err != nil {
			b.Fatal(err)
		}
		rgba := image.NewNRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Rect, img, image.Point{}, draw.Src)
		b.Run(name, func(b *testing.B) {
			var tr passTrace
			cpu0 := cpuTime()
			for b.Loop() {
				tr = passTrace{}
				_, _ = decodeEffort(rgba, FrameEffort, &tr)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(tr.spent[len(tr.spent)-1])/1e6, "Mwork/op")
		})
	}
}
