package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestRoundTrip encodes a 1,000-character presentation raw and packed at
// L, M and Q, renders it at 2, 3 and 4 pixels per module and decodes the
// exact bytes back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	text := testPresentation(1000, 1)
	packed, err := Pack(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, isPacked := range []bool{false, true} {
		for _, lv := range []Level{L, M, Q} {
			t.Run(fmt.Sprintf("packed=%v/%s", isPacked, lv), func(t *testing.T) {
				t.Parallel()
				c := mustEncodePresentation(t, text, isPacked, lv)
				want := map[bool]string{false: text, true: packed}[isPacked]
				for _, ppm := range []int{2, 3, 4} {
					got, err := Decode(c.Image(ppm))
					if err != nil {
						t.Fatalf("ppm %d, version %d: %v", ppm, c.Version(), err)
					}
					if string(got) != want {
						t.Fatalf("ppm %d: decoded bytes differ from the encoded ones", ppm)
					}
					pres, err := NormalizeScanned(string(got))
					if err != nil || pres != text {
						t.Fatalf("ppm %d: presentation differs: %v", ppm, err)
					}
				}
			})
		}
	}
}

// TestSegments pins what goes into the symbol: the packed form is one byte
// segment ("ep2:") and one numeric segment, and gozxing's BYTE_SEGMENTS
// metadata then holds only the prefix, which is why Decode walks the
// segments itself. Raw base64url is a single byte segment.
func TestSegments(t *testing.T) {
	t.Parallel()
	text := rfcPresentation(t)
	for _, isPacked := range []bool{false, true} {
		c := mustEncodePresentation(t, text, isPacked, M)
		img := c.Image(3)
		d, err := decode(img)
		if err != nil {
			t.Fatal(err)
		}
		if d.version != c.Version() || d.ecLevel != "M" {
			t.Errorf("read version %d level %q, encoded %d M", d.version, d.ecLevel, c.Version())
		}
		var modes []int
		for _, s := range d.segs {
			modes = append(modes, s.mode)
		}
		if !isPacked {
			if !equalInts(modes, []int{modeByte}) {
				t.Errorf("raw: segment modes %v, want one byte segment", modes)
			}
			continue
		}
		packed, _ := Pack(text)
		if !equalInts(modes, []int{modeByte, modeNumeric}) || string(d.segs[0].data) != CompactPrefix ||
			d.segs[1].count != len(packed)-len(CompactPrefix) {
			t.Errorf("packed: segment modes %v (first %q), want byte %q + numeric", modes, d.segs[0].data, CompactPrefix)
		}
		res := gozxingDecode(t, img)
		segs := res.GetResultMetadata()[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
		if len(segs) != 1 || string(segs[0]) != CompactPrefix {
			t.Errorf("gozxing BYTE_SEGMENTS = %q, want only the prefix", segs)
		}
	}
}

// TestDecodeMixedSegments uses raw text with a long run of digits, which the
// encoder puts in a numeric segment between two byte segments: the exact
// payload is neither gozxing's byte segments nor (in general) its text.
func TestDecodeMixedSegments(t *testing.T) {
	t.Parallel()
	text := "eyJhbGciOiJFZERTQSJ9." + strings.Repeat("0123456789", 8) + ".abc~" + "HELLOWORLDHELLOWORLDHELLOWORLD" + "~"
	c := mustEncodePresentation(t, text, false, M)
	img := c.Image(3)
	d, err := decode(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.segs) < 3 {
		t.Fatalf("expected the encoder to split the text, got %d segment(s)", len(d.segs))
	}
	if got := payload(d.segs); string(got) != text {
		t.Fatalf("payload %q", got)
	}
	res := gozxingDecode(t, img)
	segs := res.GetResultMetadata()[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
	if string(bytes.Join(segs, nil)) == text {
		t.Fatal("byte segments hold the whole text: the test no longer covers mixed modes")
	}
}

func gozxingDecode(t *testing.T, img image.Image) *gozxing.Result {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDecodeInverted(t *testing.T) {
	t.Parallel()
	text := testPresentation(900, 2)
	for _, isPacked := range []bool{false, true} {
		c := mustEncodePresentation(t, text, isPacked, M)
		got, err := DecodePresentation(invert(c.Image(3)))
		if err != nil || got != text {
			t.Errorf("packed=%v: inverted code: %v", isPacked, err)
		}
	}
}

// TestDecodeFormats decodes the same code as PNG, JPEG and GIF bytes, on a
// larger canvas with an offset and some noise.
func TestDecodeFormats(t *testing.T) {
	t.Parallel()
	text := testPresentation(1000, 5)
	c := mustEncodePresentation(t, text, true, M)
	code := c.Image(4)
	canvas := image.NewRGBA(image.Rect(0, 0, code.Bounds().Dx()+90, code.Bounds().Dy()+60))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.RGBA{230, 225, 210, 255}), image.Point{}, draw.Src)
	draw.Draw(canvas, code.Bounds().Add(image.Pt(50, 20)), code, image.Point{}, draw.Src)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range canvas.Pix {
		if i%4 != 3 {
			canvas.Pix[i] = byte(min(max(int(canvas.Pix[i])+r.IntN(41)-20, 0), 255))
		}
	}
	encoders := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, canvas) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, canvas, &jpeg.Options{Quality: 85}) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, canvas, nil) },
	}
	for name, enc := range encoders {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeReader(&buf, 0)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if pres, err := NormalizeScanned(string(got)); err != nil || pres != text {
			t.Errorf("%s: wrong presentation: %v", name, err)
		}
	}
}

// TestGolden decodes a committed PNG (the RFC presentation, raw, level M,
// 3 px/module) and checks that the encoder still draws the same modules.
func TestGolden(t *testing.T) {
	t.Parallel()
	const golden = "testdata/rfc-presentation-m3.png"
	text := rfcPresentation(t)
	c := mustEncodePresentation(t, text, false, M)
	if *update {
		data, err := c.PNG(3)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := DecodeFile(golden)
	if err != nil || string(got) != text {
		t.Fatalf("DecodeFile(%s) = %q, %v", golden, got, err)
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Image(3)
	if img.Bounds() != want.Bounds() {
		t.Fatalf("golden is %v, encoder now draws %v", img.Bounds(), want.Bounds())
	}
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			if lum(img.At(x, y)) != lum(want.At(x, y)) {
				t.Fatalf("encoder output changed at pixel %d,%d (run with -update if intended)", x, y)
			}
		}
	}
}

func TestDecodeFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := DecodeFile(filepath.Join(dir, "missing.png")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	text := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(text, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeFile(text); !errors.Is(err, ErrNotImage) {
		t.Errorf("text file: %v", err)
	}
}

func TestDecodeNotImage(t *testing.T) {
	t.Parallel()
	var okPNG bytes.Buffer
	if err := png.Encode(&okPNG, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":          nil,
		"text":           []byte("eyJhbGciOiJFZERTQSJ9.e30.sig~"),
		"truncated png":  okPNG.Bytes()[:40],
		"png header":     pngHeader(100, 100),
		"bmp":            append([]byte("BM"), make([]byte, 60)...),
		"jpeg magic":     {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10},
		"gif magic only": []byte("GIF89a"),
	}
	for name, data := range tests {
		if _, err := DecodeReader(bytes.NewReader(data), 0); !errors.Is(err, ErrNotImage) {
			t.Errorf("%s: err = %v, want ErrNotImage", name, err)
		}
	}
}

func TestDecodeNoCode(t *testing.T) {
	t.Parallel()
	white := image.NewGray(image.Rect(0, 0, 300, 300))
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	noise := image.NewGray(image.Rect(0, 0, 257, 131))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.UintN(256))
	}
	half := mustEncodePresentation(t, rfcPresentation(t), false, M).Image(3)
	cropped := half.(*image.Paletted).SubImage(image.Rect(0, 0, half.Bounds().Dx()/2, half.Bounds().Dy()))
	tests := map[string]image.Image{
		"blank":      white,
		"black":      image.NewGray(image.Rect(0, 0, 64, 64)),
		"noise":      noise,
		"1x1":        image.NewGray(image.Rect(0, 0, 1, 1)),
		"1x500":      image.NewGray(image.Rect(0, 0, 1, 500)),
		"empty":      image.NewGray(image.Rect(0, 0, 0, 0)),
		"half code":  cropped,
		"offset min": image.NewGray(image.Rect(-5, 7, 40, 60)),
		"nil":        nil,
	}
	for name, img := range tests {
		if _, err := Decode(img); !errors.Is(err, ErrNoCode) {
			t.Errorf("%s: err = %v, want ErrNoCode", name, err)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, white); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeReader(&buf, 0); !errors.Is(err, ErrNoCode) {
		t.Errorf("blank PNG: %v", err)
	}
}

// hugeImage claims enormous bounds and has no pixels: reading one fails the
// test, so the size check must come first.
type hugeImage struct {
	t *testing.T
	w int
}

func (h hugeImage) ColorModel() color.Model { return color.GrayModel }
func (h hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, h.w, 10_000) }
func (h hugeImage) At(x, y int) color.Color {
	h.t.Fatal("pixel read from an over-size image")
	return nil
}

// pngHeader returns a PNG signature and IHDR chunk (8-bit grey) claiming the
// given size, with no image data: enough for image.DecodeConfig.
func pngHeader(w, h uint32) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	chunk := append([]byte("IHDR"), ihdr...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)))
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

func TestMaxPixels(t *testing.T) {
	t.Parallel()
	// 8000 x 5001 is just over 40 megapixels.
	_, err := DecodeReader(bytes.NewReader(pngHeader(8000, 5001)), 0)
	var tl *TooLargeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Width != 8000 || tl.Height != 5001 {
		t.Fatalf("over-size PNG header: %v", err)
	}
	// 8000 x 5000 is exactly the limit: the size passes, the missing data fails.
	if _, err := DecodeReader(bytes.NewReader(pngHeader(8000, 5000)), 0); !errors.Is(err, ErrNotImage) {
		t.Errorf("PNG at the limit: %v, want ErrNotImage (no pixel data)", err)
	}
	if _, err := DecodeReader(bytes.NewReader(pngHeader(1<<31-1, 1<<31-1)), 0); !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNotImage) {
		t.Errorf("absurd PNG header: %v", err)
	}
	if _, err := Decode(hugeImage{t, 4001}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over-size image: %v", err)
	}
	// Byte limit.
	c := mustEncodePresentation(t, rfcPresentation(t), false, M)
	data, err := c.PNG(4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeReader(bytes.NewReader(data), int64(len(data)-1))
	if !errors.As(err, &tl) || tl.Limit != int64(len(data)-1) {
		t.Errorf("byte limit: %v", err)
	}
	if got, err := DecodeReader(bytes.NewReader(data), int64(len(data))); err != nil || len(got) == 0 {
		t.Errorf("image exactly at the byte limit: %v", err)
	}
}

// TestGray checks the luminance conversion of each fast path against the
// generic one.
func TestGray(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	rect := image.Rect(3, 5, 20, 17)
	nrgba := image.NewNRGBA(rect)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = byte(r.UintN(256))
	}
	rgba := image.NewRGBA(rect)
	draw.Draw(rgba, rect, nrgba, rect.Min, draw.Src)
	gray := image.NewGray(rect)
	draw.Draw(gray, rect, nrgba, rect.Min, draw.Src)
	pal := image.NewPaletted(rect, color.Palette{color.White, color.Black, color.RGBA{200, 10, 10, 255}, color.NRGBA{0, 0, 255, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = byte(r.UintN(4))
	}
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = byte(r.UintN(256))
	}
	for name, img := range map[string]image.Image{"nrgba": nrgba, "rgba": rgba, "gray": gray, "paletted": pal,
		"sub": nrgba.SubImage(image.Rect(5, 6, 9, 16))} {
		fast := toGray(img)
		b := img.Bounds()
		if fast.w != b.Dx() || fast.h != b.Dy() {
			t.Fatalf("%s: size %dx%d", name, fast.w, fast.h)
		}
		for y := range fast.h {
			for x := range fast.w {
				want := lum(img.At(b.Min.X+x, b.Min.Y+y))
				if fast.pix[y*fast.w+x] != want {
					t.Fatalf("%s: pixel %d,%d = %d, generic %d", name, x, y, fast.pix[y*fast.w+x], want)
				}
			}
		}
	}
	// YCbCr: the luma plane as is.
	g := toGray(ycc)
	if g.pix[0] != ycc.Y[0] || g.pix[len(g.pix)-1] != ycc.Y[ycc.YOffset(rect.Max.X-1, rect.Max.Y-1)] {
		t.Error("YCbCr luma not copied")
	}
	// Scalers.
	sq := &grayImage{w: 4, h: 2, pix: []byte{0, 255, 10, 20, 255, 0, 30, 40}}
	if h := sq.half(); h.w != 2 || h.h != 1 || h.pix[0] != 128 || h.pix[1] != 25 {
		t.Errorf("half = %+v", h)
	}
	if d := sq.double(); d.w != 8 || d.h != 4 || d.pix[0] != 0 || d.pix[1] != 0 || d.pix[2] != 255 || d.pix[8] != 0 || d.pix[31] != 40 {
		t.Errorf("double = %+v", d)
	}
}

func BenchmarkDecode(b *testing.B) {
	c := mustEncodePresentation(b, testPresentation(1000, 1), false, M)
	data, err := c.PNG(3)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("png-bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeReader(bytes.NewReader(data), 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	img := c.Image(3)
	b.Run("image", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(img); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecodeReader feeds arbitrary bytes to the whole decoding path: it must
// return a payload or one of the documented errors, never panic.
func FuzzDecodeReader(f *testing.F) {
	c, err := Encode([]byte("ep1:5676"), L)
	if err != nil {
		f.Fatal(err)
	}
	small, err := c.PNG(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	var g bytes.Buffer
	if err := gif.Encode(&g, c.Image(2), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(g.Bytes())
	var j bytes.Buffer
	if err := jpeg.Encode(&j, c.Image(2), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(j.Bytes())
	f.Add(pngHeader(9000, 9000))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeReader(bytes.NewReader(data), 1<<16)
		switch {
		case err == nil:
			if len(got) == 0 {
				t.Fatal("empty payload without error")
			}
		case errors.Is(err, ErrNotImage), errors.Is(err, ErrNoCode), errors.Is(err, ErrTooLarge):
		default:
			t.Fatalf("undocumented error: %v", err)
		}
	})
}
