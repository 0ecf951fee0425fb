package browser

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/qr"
)

// rgba returns img's pixels as a canvas gives them: NRGBA, no padding.
func rgba(img image.Image) (pix []byte, w, h int) {
	b := img.Bounds()
	m := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m.Pix, b.Dx(), b.Dy()
}

// codeImage renders text packed, 3 pixels a module.
func codeImage(t testing.TB, text string) image.Image {
	t.Helper()
	c, err := qr.EncodePresentation(text, true, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	return c.Image(3)
}

func TestDecodeImage(t *testing.T) {
	t.Parallel()
	text := issue(t, pub(holderKey), idxValid)
	packed, err := qr.Pack(text)
	if err != nil {
		t.Fatal(err)
	}
	one := codeImage(t, text)
	pix, w, h := rgba(one)

	// Two different codes side by side, a raw one and a packed one.
	c2, err := qr.EncodePresentation(issue(t, pub(otherKey), idxValid), false, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	other := c2.Image(3)
	both := image.NewNRGBA(image.Rect(0, 0, 120+w+40+other.Bounds().Dx(), 160+max(h, other.Bounds().Dy())))
	draw.Draw(both, both.Rect, image.NewUniform(color.Gray{200}), image.Point{}, draw.Src)
	draw.Draw(both, one.Bounds().Add(image.Pt(60, 80)), one, image.Point{}, draw.Src)
	draw.Draw(both, other.Bounds().Add(image.Pt(60+w+40, 80)), other, image.Point{}, draw.Src)

	noise := make([]byte, 200*150*4)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}

	for _, tc := range []struct {
		name     string
		pix      []byte
		w, h     int
		frames   int64
		wantCode Code
	}{
		{"code", pix, w, h, 0, ""},
		{"code, one frame's effort", pix, w, h, 1, ""},
		{"code, too much effort", pix, w, h, 1 << 40, ""},
		{"code in grey", grey(pix), w, h, 1, ""},
		{"two codes", both.Pix, both.Rect.Dx(), both.Rect.Dy(), 0, CodeMultipleCodes},
		{"noise", noise, 200, 150, 100, CodeNoCode},
		{"blank", make([]byte, 64*64*4), 64, 64, 100, CodeNoCode},
		{"short by one", pix[:len(pix)-1], w, h, 0, CodeBadInput},
		{"long by a row", append(append([]byte{}, pix...), make([]byte, 4*w)...), w, h, 0, CodeBadInput},
		{"RGB not RGBA", pix[:w*h*3], w, h, 0, CodeBadInput},
		{"zero width", pix, 0, h, 0, CodeBadInput},
		{"negative height", pix, w, -h, 0, CodeBadInput},
		{"nil", nil, 1, 1, 0, CodeBadInput},
		{"over MaxPixels", pix, 1 << 20, 1 << 20, 0, CodeTooLarge},
		{"overflowing size", pix, 1 << 62, 1 << 62, 0, CodeTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := DecodeImage(tc.pix, tc.w, tc.h, tc.frames)
			if got.Code != tc.wantCode || got.OK != (tc.wantCode == "") {
				t.Fatalf("ok %v code %q (%s), want %q", got.OK, got.Code, got.Error, tc.wantCode)
			}
			if got.OK && got.Text != packed {
				t.Errorf("text %.40q..., want the packed code %.40q...", got.Text, packed)
			}
		})
	}
}

// TestDecodeImageEffort checks that a frame's effort bounds the search: on
// noise the decoder gives up saying the effort ran out.
// grey keeps the green channel of RGBA pixels: a luma plane.
func grey(rgba []byte) []byte {
	g := make([]byte, len(rgba)/4)
	for i := range g {
		g[i] = rgba[4*i+1]
	}
	return g
}

func TestDecodeImageEffort(t *testing.T) {
	t.Parallel()
	noise := make([]byte, 640*480*4)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	got := DecodeImage(noise, 640, 480, 1)
	if got.Code != CodeNoCode || !strings.Contains(got.Error, "effort") {
		t.Fatalf("%+v", got.Outcome)
	}
}

func TestEncodeQR(t *testing.T) {
	t.Parallel()
	text := issue(t, pub(holderKey), idxValid)
	raw, packed := EncodeQR(text, false), EncodeQR(text, true)
	for _, r := range []QRResult{raw, packed} {
		if !r.OK || r.Size != 4*r.Version+17+2*qr.QuietZone || !strings.HasPrefix(r.SVG, "<svg ") || !strings.HasSuffix(r.SVG, "</svg>") {
			t.Fatalf("%+v", r.Outcome)
		}
	}
	if packed.Version >= raw.Version {
		t.Errorf("packed version %d, raw %d", packed.Version, raw.Version)
	}
	for _, tc := range []struct {
		name     string
		text     string
		packed   bool
		wantCode Code
	}{
		{"empty", "", false, CodeBadInput},
		{"white space", " " + text, false, CodeBadInput},
		{"already packed", "ep1:1234", true, CodeBadInput},
		{"not packable", "a b", true, CodeBadInput},
		{"too long for QR", strings.Repeat("x", 4000), false, CodeTooLong},
		{"too long to try", strings.Repeat("x", 1<<20), true, CodeTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := EncodeQR(tc.text, tc.packed); got.Code != tc.wantCode || got.OK || got.SVG != "" {
				t.Fatalf("ok %v code %q (%s), want %q", got.OK, got.Code, got.Error, tc.wantCode)
			}
		})
	}
}

// TestEncodeDecode draws a code and reads it back through the verifier.
func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	s := loaded(t)
	shown := s.Present(deviceKey(t, holderKey, pub(holderKey)), issue(t, pub(holderKey), idxValid), "", "", "", ms(t0))
	pix, w, h := rgba(codeImage(t, shown.Text))
	got := DecodeImage(pix, w, h, 0)
	if !got.OK {
		t.Fatal(got.Outcome)
	}
	if r := s.Verify(got.Text, "", ms(t0.Add(2*time.Second))); !r.Valid {
		t.Fatalf("%+v", r.Reasons)
	}
}

func BenchmarkDecodeImage(b *testing.B) {
	pix, w, h := rgba(codeImage(b, issue(b, pub(holderKey), idxValid)))
	for b.Loop() {
		if r := DecodeImage(pix, w, h, 0); !r.OK {
			b.Fatal(r.Outcome)
		}
	}
}

func BenchmarkEncodeQR(b *testing.B) {
	text := issue(b, pub(holderKey), idxValid)
	for b.Loop() {
		if r := EncodeQR(text, true); !r.OK {
			b.Fatal(r.Outcome)
		}
	}
}
