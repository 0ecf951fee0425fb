package main

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/epermit/epermit/qr"
)

// Frame size of the camera-photo cases.
const frameW, frameH = 1280, 720

// textFiles are the presentations in the corpus, relative to -texts, and
// whether each is packed. Real wallet presentations (holder-bound, with a
// key-binding JWT) come first; the last two are smaller.
var textFiles = []struct {
	file   string
	packed bool
}{
	{"presentations/residence-proof.txt", false},
	{"presentations/police-check.txt", true},
	{"presentations/minor-residence-proof.txt", false},
	{"presentations/residence-proof.txt", true},
	{"presentations/police-check.txt", false},
	{"presentations/minor-residence-proof.txt", true},
	{"presentations/no-disclosures.txt", false},
	{"rfc-presentation.txt", true},
}

// spec is one corpus image: what it holds and how it is degraded.
type spec struct {
	name     string
	text     string // file under -texts
	packed   bool
	frame    bool    // 1280x720 camera frame, else a crop around the code
	ppm      float64 // pixels per module
	rot      float64 // degrees
	tilt     float64 // keystone: the far edge is this fraction shorter
	tiltDir  int     // 0..3: which edge is far
	blur     float64 // Gaussian sigma, pixels
	noise    float64 // Gaussian sigma, 0..255 scale
	quality  int     // JPEG quality
	screen   float64 // screen pixels per module when shown on a phone screen (moire), else 0
	glare    float64 // strength 0..1 of a specular highlight over the code
	inverted bool    // light modules on a dark background
	light    [3]float64
	seed     uint64
}

// kinds lists how many images of each kind the corpus holds.
var kinds = []struct {
	kind  string
	count int
}{
	{"crop", 16},
	{"crop-tilt", 6},
	{"crop-screen", 4},
	{"crop-glare", 4},
	{"crop-inverted", 1},
	{"frame", 10},
	{"frame-tilt", 6},
	{"frame-screen", 4},
	{"frame-glare", 4},
	{"frame-inverted", 1},
}

// specs returns the corpus, drawn from fixed seeds.
func specs() []spec {
	var out []spec
	i := 0
	for _, k := range kinds {
		for j := range k.count {
			r := rand.New(rand.NewPCG(20251127, uint64(i)))
			t := textFiles[i%len(textFiles)]
			s := spec{
				name:    fmt.Sprintf("%02d-%s-%d.jpg", i, k.kind, j),
				text:    t.file,
				packed:  t.packed,
				frame:   strings.HasPrefix(k.kind, "frame"),
				ppm:     2 + 2*r.Float64(),
				rot:     -10 + 20*r.Float64(),
				blur:    0.3 + 0.5*r.Float64(),
				noise:   2 + 5*r.Float64(),
				quality: 50 + r.IntN(21),
				light:   [3]float64{0.8 + 0.2*r.Float64(), -0.25 + 0.5*r.Float64(), -0.25 + 0.5*r.Float64()},
				seed:    uint64(i),
			}
			switch {
			case strings.HasSuffix(k.kind, "-tilt"):
				s.tilt = 0.02 + 0.03*r.Float64()
				s.tiltDir = r.IntN(4)
			case strings.HasSuffix(k.kind, "-screen"):
				s.screen = float64(3 + r.IntN(4))
				s.tilt = 0.03 * r.Float64()
				s.tiltDir = r.IntN(4)
			case strings.HasSuffix(k.kind, "-glare"):
				s.glare = 0.35 + 0.35*r.Float64()
			case strings.HasSuffix(k.kind, "-inverted"):
				s.inverted = true
			}
			out = append(out, s)
			i++
		}
	}
	return out
}

// generate writes every image of the corpus and manifest.tsv into dir.
func generate(dir, textDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var man bytes.Buffer
	man.WriteString("# file\ttext\tpacked\tversion\tframe\tppm\trot\ttilt\tblur\tnoise\tquality\tscreen\tglare\tinverted\n")
	for _, s := range specs() {
		text, err := readText(textDir, s.text)
		if err != nil {
			return err
		}
		code, err := qr.EncodePresentation(text, s.packed, qr.M)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		data, err := render(&s, code)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&man, "%s\t%s\t%v\t%d\t%v\t%.2f\t%.1f\t%.2f\t%.2f\t%.1f\t%d\t%g\t%.2f\t%v\n",
			s.name, s.text, s.packed, code.Version(), s.frame, s.ppm, s.rot, s.tilt, s.blur, s.noise,
			s.quality, s.screen, s.glare, s.inverted)
	}
	return os.WriteFile(filepath.Join(dir, "manifest.tsv"), man.Bytes(), 0o644)
}

func readText(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// render draws the scene for s and returns it as JPEG bytes.
func render(s *spec, code *qr.Code) ([]byte, error) {
	r := rand.New(rand.NewPCG(s.seed, 0xc0de))
	n := float64(code.Size())
	side := s.ppm * n
	var w, h int
	if s.frame {
		// The code, quiet zone included, spans about a third of the frame width.
		w, h = frameW, frameH
		side = float64(w) / 3 * (0.9 + 0.2*r.Float64())
		s.ppm = side / n
	} else {
		pad := (3 + 5*r.Float64()) * s.ppm
		w = int(side + 2*pad)
		h = w
	}
	cx := float64(w)/2 + (r.Float64()-0.5)*(float64(w)-side*1.5)*0.6
	cy := float64(h)/2 + (r.Float64()-0.5)*(float64(h)-side*1.5)*0.6
	if !s.frame {
		cx, cy = float64(w)/2+r.Float64()*4-2, float64(h)/2+r.Float64()*4-2
	}
	quad := codeQuad(cx, cy, side, s.rot, s.tilt, s.tiltDir)
	hinv, err := homography(quad, [4][2]float64{{0, 0}, {n, 0}, {n, n}, {0, n}})
	if err != nil {
		return nil, err
	}
	sc := &scene{
		w: w, h: h, code: code, n: n, hinv: hinv, s: *s,
		margin: 2 + 10*r.Float64(),
		paper:  [3]float64{225 + 25*r.Float64(), 222 + 25*r.Float64(), 210 + 25*r.Float64()},
		ink:    [3]float64{15 + 30*r.Float64(), 15 + 30*r.Float64(), 20 + 30*r.Float64()},
		bg:     newBackground(r, w, h),
	}
	if s.screen > 0 {
		sc.margin = 1 + 3*r.Float64()
	}
	px := sc.draw()
	sc.lighting(px, quad, r)
	blur(px, w, h, s.blur)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		for c := range 3 {
			v := px[3*i+c] + s.noise*r.NormFloat64()
			img.Pix[4*i+c] = byte(math.Round(min(max(v, 0), 255)))
		}
		img.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: s.quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// codeQuad returns the image positions of the code's corners (top-left,
// top-right, bottom-right, bottom-left, quiet zone included): a square of
// the given side centred on cx, cy, its far edge shortened by tilt, rotated
// by rot degrees.
func codeQuad(cx, cy, side, rot, tilt float64, dir int) [4][2]float64 {
	dirs := [4][2]float64{{0, -1}, {1, 0}, {0, 1}, {-1, 0}}
	d := dirs[dir%4]
	sin, cos := math.Sincos(rot * math.Pi / 180)
	var q [4][2]float64
	for i, c := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		x, y := c[0]*side/2, c[1]*side/2
		if c[0]*d[0]+c[1]*d[1] > 0 {
			// On the far edge: shorter across, and closer to the centre.
			par := x*d[0] + y*d[1]
			perpX, perpY := x-par*d[0], y-par*d[1]
			par *= 1 - tilt/2
			x, y = par*d[0]+perpX*(1-tilt), par*d[1]+perpY*(1-tilt)
		}
		q[i] = [2]float64{cx + x*cos - y*sin, cy + x*sin + y*cos}
	}
	return q
}

// homography returns the 3x3 projective map (row-major, h[8] = 1) taking
// each src point to the matching dst point.
func homography(src, dst [4][2]float64) ([9]float64, error) {
	var a [8][9]float64
	for i := range 4 {
		x, y, u, v := src[i][0], src[i][1], dst[i][0], dst[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for col := range 8 {
		p := col
		for row := col + 1; row < 8; row++ {
			if math.Abs(a[row][col]) > math.Abs(a[p][col]) {
				p = row
			}
		}
		if math.Abs(a[p][col]) < 1e-12 {
			return [9]float64{}, fmt.Errorf("degenerate quadrilateral")
		}
		a[col], a[p] = a[p], a[col]
		for row := range 8 {
			if row == col {
				continue
			}
			f := a[row][col] / a[col][col]
			for k := col; k < 9; k++ {
				a[row][k] -= f * a[col][k]
			}
		}
	}
	var h [9]float64
	for i := range 8 {
		h[i] = a[i][8] / a[i][i]
	}
	h[8] = 1
	return h, nil
}

// scene is what the camera sees: a background, and a card (paper or phone
// screen) carrying the code, placed by a homography.
type scene struct {
	w, h   int
	code   *qr.Code
	n      float64 // modules a side, quiet zone included
	hinv   [9]float64
	s      spec
	margin float64 // card border beyond the quiet zone, in modules
	paper  [3]float64
	ink    [3]float64
	bg     *background
}

// toModule maps an image point to module coordinates.
func (sc *scene) toModule(x, y float64) (u, v float64) {
	h := &sc.hinv
	d := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / d, (h[3]*x + h[4]*y + h[5]) / d
}

// draw renders the scene with 4x4 samples per pixel over the card.
func (sc *scene) draw() []float64 {
	const ss = 4
	px := make([]float64, 3*sc.w*sc.h)
	border := sc.margin
	if sc.s.screen > 0 {
		border += 3 // the phone's bezel
	}
	for y := range sc.h {
		for x := range sc.w {
			out := px[3*(y*sc.w+x) : 3*(y*sc.w+x)+3]
			// Pixels well away from the card take the background alone.
			u, v := sc.toModule(float64(x)+0.5, float64(y)+0.5)
			if u < -border-2 || v < -border-2 || u > sc.n+border+2 || v > sc.n+border+2 {
				c := sc.bg.at(x, y)
				copy(out, c[:])
				continue
			}
			var acc [3]float64
			for j := range ss {
				for i := range ss {
					fx := float64(x) + (float64(i)+0.5)/ss
					fy := float64(y) + (float64(j)+0.5)/ss
					u, v := sc.toModule(fx, fy)
					c := sc.sample(x, y, u, v, border)
					for k := range 3 {
						acc[k] += c[k]
					}
				}
			}
			for k := range 3 {
				out[k] = acc[k] / (ss * ss)
			}
		}
	}
	return px
}

// sample returns the colour at module coordinates u, v.
func (sc *scene) sample(x, y int, u, v, border float64) [3]float64 {
	m := sc.margin
	if u < -border || v < -border || u >= sc.n+border || v >= sc.n+border {
		return sc.bg.at(x, y)
	}
	if u < -m || v < -m || u >= sc.n+m || v >= sc.n+m {
		return [3]float64{18, 18, 22} // bezel
	}
	dark := sc.code.Dark(int(math.Floor(u)), int(math.Floor(v)))
	if sc.s.inverted {
		dark = !dark
	}
	if sc.s.screen == 0 {
		if dark {
			return sc.ink
		}
		return sc.paper
	}
	// An LCD: each screen pixel is three vertical subpixel stripes with a
	// dark gap below; sampled by the camera near its own pixel pitch, the
	// grid beats into moire.
	level := 245.0
	if dark {
		level = 12
	}
	sx, sy := u*sc.s.screen, v*sc.s.screen
	fx, fy := sx-math.Floor(sx), sy-math.Floor(sy)
	if fy > 0.85 {
		return [3]float64{level * 0.3, level * 0.3, level * 0.3}
	}
	c := [3]float64{level * 0.6, level * 0.6, level * 0.6}
	ch := min(int(fx*3), 2)
	c[ch] = min(level*1.8, 255)
	if fx*3-float64(ch) > 0.85 { // gap between stripes
		c[ch] = level * 0.4
	}
	return c
}

// lighting applies a gradient of illumination over the frame and, when
// asked, a glare spot over the code.
func (sc *scene) lighting(px []float64, quad [4][2]float64, r *rand.Rand) {
	l := sc.s.light
	var gx, gy, gs, g float64
	if sc.s.glare > 0 {
		t, u := 0.2+0.6*r.Float64(), 0.2+0.6*r.Float64()
		// A point inside the code quad (bilinear in its corners).
		gx = (1-t)*(1-u)*quad[0][0] + t*(1-u)*quad[1][0] + t*u*quad[2][0] + (1-t)*u*quad[3][0]
		gy = (1-t)*(1-u)*quad[0][1] + t*(1-u)*quad[1][1] + t*u*quad[2][1] + (1-t)*u*quad[3][1]
		gs = math.Hypot(quad[1][0]-quad[0][0], quad[1][1]-quad[0][1]) * (0.08 + 0.1*r.Float64())
		g = sc.s.glare
	}
	for y := range sc.h {
		for x := range sc.w {
			f := l[0] + l[1]*(float64(x)/float64(sc.w)-0.5) + l[2]*(float64(y)/float64(sc.h)-0.5)
			var a float64
			if g > 0 {
				dx, dy := float64(x)-gx, float64(y)-gy
				a = g * math.Exp(-(dx*dx+dy*dy)/(2*gs*gs))
			}
			for c := range 3 {
				v := &px[3*(y*sc.w+x)+c]
				*v = *v*f + (255-*v*f)*a
			}
		}
	}
}

// background is a desk: a coloured gradient with a few objects and lines
// of dark marks like printed text.
type background struct {
	w, h  int
	base  [3]float64
	grad  [2]float64
	rects []bgRect
}

type bgRect struct {
	r   image.Rectangle
	col [3]float64
}

func newBackground(r *rand.Rand, w, h int) *background {
	b := &background{w: w, h: h,
		base: [3]float64{90 + 100*r.Float64(), 80 + 90*r.Float64(), 60 + 90*r.Float64()},
		grad: [2]float64{-40 + 80*r.Float64(), -40 + 80*r.Float64()},
	}
	for range 6 {
		x, y := r.IntN(w), r.IntN(h)
		rw, rh := 40+r.IntN(w/3), 30+r.IntN(h/3)
		v := 40 + 200*r.Float64()
		b.rects = append(b.rects, bgRect{image.Rect(x, y, x+rw, y+rh), [3]float64{v, v * (0.8 + 0.3*r.Float64()), v * (0.7 + 0.3*r.Float64())}})
		if r.IntN(2) == 0 {
			// Text lines on a light object.
			b.rects[len(b.rects)-1].col = [3]float64{235, 235, 230}
			for ly := y + 6; ly+5 < y+rh; ly += 12 {
				for lx := x + 6; lx+4 < x+rw; lx += 6 + r.IntN(10) {
					b.rects = append(b.rects, bgRect{image.Rect(lx, ly, lx+2+r.IntN(6), ly+5+r.IntN(3)), [3]float64{40, 40, 45}})
				}
			}
		}
	}
	return b
}

func (b *background) at(x, y int) [3]float64 {
	p := image.Pt(x, y)
	for i := len(b.rects) - 1; i >= 0; i-- {
		if p.In(b.rects[i].r) {
			return b.rects[i].col
		}
	}
	f := b.grad[0]*float64(x)/float64(b.w) + b.grad[1]*float64(y)/float64(b.h)
	return [3]float64{b.base[0] + f, b.base[1] + f, b.base[2] + f}
}

// blur applies a separable Gaussian blur in place.
func blur(px []float64, w, h int, sigma float64) {
	if sigma <= 0 {
		return
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	var sum float64
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(px))
	pass := func(dst, src []float64, n, m int, idx func(a, b int) int) {
		for a := range m {
			for b := range n {
				for c := range 3 {
					var acc float64
					for i, kv := range k {
						bb := min(max(b+i-rad, 0), n-1)
						acc += kv * src[3*idx(a, bb)+c]
					}
					dst[3*idx(a, b)+c] = acc
				}
			}
		}
	}
	pass(tmp, px, w, h, func(y, x int) int { return y*w + x })
	pass(px, tmp, h, w, func(x, y int) int { return y*w + x })
}
