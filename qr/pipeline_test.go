package qr

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// warped renders code c (quiet zone included, n modules a side) into a
// w x h grey image through the homography h from module to image
// coordinates, 4x4 samples a pixel, on a light grey background.
func warped(c *Code, h homography, w, hgt int) *grayImage {
	inv, ok := h.inverse()
	if !ok {
		panic("singular homography")
	}
	n := c.Size()
	g := &grayImage{w: w, h: hgt, pix: make([]byte, w*hgt)}
	for y := range hgt {
		for x := range w {
			acc := 0
			for j := range 4 {
				for i := range 4 {
					mx, my := inv.apply(float64(x)+(float64(i)+0.5)/4, float64(y)+(float64(j)+0.5)/4)
					v := 200
					if mx >= 0 && my >= 0 && mx < float64(n) && my < float64(n) {
						v = 235
						if c.Dark(int(mx), int(my)) {
							v = 25
						}
					}
					acc += v
				}
			}
			g.pix[y*w+x] = byte(acc / 16)
		}
	}
	return g
}

// perspective returns the homography that maps an n-module square onto
// the image quadrilateral q (top-left, top-right, bottom-right,
// bottom-left).
func perspective(t *testing.T, n int, q [4][2]float64) homography {
	t.Helper()
	fn := float64(n)
	ms := []match{
		{mx: 0, my: 0, ix: q[0][0], iy: q[0][1], w: 1},
		{mx: fn, my: 0, ix: q[1][0], iy: q[1][1], w: 1},
		{mx: fn, my: fn, ix: q[2][0], iy: q[2][1], w: 1},
		{mx: 0, my: fn, ix: q[3][0], iy: q[3][1], w: 1},
	}
	h, ok := fitHomography(ms)
	if !ok {
		t.Fatal("no homography")
	}
	return h
}

func TestFitHomography(t *testing.T) {
	t.Parallel()
	want := homography{1.2, 0.3, 100, -0.2, 0.9, 50, 0.002, -0.001, 1}
	r := rand.New(rand.NewPCG(1, 2))
	var ms []match
	for range 20 {
		x, y := r.Float64()*100, r.Float64()*100
		ix, iy := want.apply(x, y)
		ms = append(ms, match{mx: x, my: y, ix: ix, iy: iy, w: 1 + r.Float64()})
	}
	got, ok := fitHomography(ms)
	if !ok {
		t.Fatal("no fit")
	}
	if res := got.residual(ms); res > 1e-6 {
		t.Errorf("residual %g", res)
	}
	inv, ok := got.inverse()
	if !ok {
		t.Fatal("no inverse")
	}
	x, y := inv.apply(want.apply(37, 61))
	if math.Hypot(x-37, y-61) > 1e-6 {
		t.Errorf("inverse: %.6f, %.6f", x, y)
	}
	if _, ok := fitHomography(ms[:3]); ok {
		t.Error("three points fitted")
	}
}

func TestBinarize(t *testing.T) {
	t.Parallel()
	// A left-to-right ramp from 60 to 250 with dark squares 40 levels
	// below it: the squares, and nothing else, come out dark.
	g := &grayImage{w: 400, h: 200, pix: make([]byte, 400*200)}
	dark := func(x, y int) bool { return (x/20+y/20)%3 == 0 && x%20 > 4 && y%20 > 4 }
	for y := range g.h {
		for x := range g.w {
			v := 60 + 190*x/g.w
			if dark(x, y) {
				v -= 40
			}
			g.pix[y*g.w+x] = byte(v)
		}
	}
	b := binarize(g, 40, 2, 3, false)
	wrong := 0
	for y := range g.h {
		for x := range g.w {
			if b.at(x, y) != dark(x, y) {
				wrong++
			}
		}
	}
	if wrong > len(g.pix)/100 {
		t.Errorf("%d of %d pixels wrong", wrong, len(g.pix))
	}
}

func TestSharpen(t *testing.T) {
	t.Parallel()
	g := &grayImage{w: 37, h: 23, pix: make([]byte, 37*23)}
	for i := range g.pix {
		g.pix[i] = byte(i * 7919 % 251)
	}
	got := g.sharpen(1.5)
	for y := range g.h {
		for x := range g.w {
			s := 0
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					s += int(g.pix[min(max(y+dy, 0), g.h-1)*g.w+min(max(x+dx, 0), g.w-1)])
				}
			}
			mean := float64(s) / 25
			v := float64(g.pix[y*g.w+x])
			want := min(max(v+1.5*(v-mean), 0), 255)
			if d := math.Abs(float64(got.pix[y*g.w+x]) - want); d > 1.5 {
				t.Fatalf("%d,%d: %d, want %.1f", x, y, got.pix[y*g.w+x], want)
			}
		}
	}
}

// TestFinderGeometry finds the finder patterns of a code seen in strong
// perspective and turned, and their corners within a pixel.
func TestFinderGeometry(t *testing.T) {
	t.Parallel()
	c := mustEncodePresentation(t, rfcPresentation(t), true, M)
	n := c.Size()
	q := [4][2]float64{{420, 90}, {760, 230}, {690, 600}, {300, 430}}
	h := perspective(t, n, q)
	g := warped(c, h, 1000, 700)
	cands := withQuads(g, findFinders(binarize(g, 40, 2, 3, false)), &work{})
	ts := triples(cands)
	if len(ts) == 0 {
		t.Fatalf("no triple among %d candidates", len(cands))
	}
	tr := ts[0]
	// Outer corners of the three finders, in module coordinates.
	fn := float64(n - 2*QuietZone)
	z := float64(QuietZone)
	want := map[string][4][2]float64{
		"tl": {{z, z}, {z + 7, z}, {z + 7, z + 7}, {z, z + 7}},
		"tr": {{z + fn - 7, z}, {z + fn, z}, {z + fn, z + 7}, {z + fn - 7, z + 7}},
		"bl": {{z, z + fn - 7}, {z + 7, z + fn - 7}, {z + 7, z + fn}, {z, z + fn}},
	}
	cx, cy := (tr.tr.x+tr.bl.x)/2, (tr.tr.y+tr.bl.y)/2
	for i, f := range []finder{tr.tl, tr.tr, tr.bl} {
		name := []string{"tl", "tr", "bl"}[i]
		got := f.q.label(i, cx, cy)
		for k, m := range want[name] {
			x, y := h.apply(m[0], m[1])
			if d := math.Hypot(got[k][0]-x, got[k][1]-y); d > 1 {
				t.Errorf("%s corner %d at %.1f,%.1f, want %.1f,%.1f", name, k, got[k][0], got[k][1], x, y)
			}
		}
	}
}

// TestSteepTilt decodes codes seen at 60 degrees from several sides and
// turned, with a frame's effort.
func TestSteepTilt(t *testing.T) {
	t.Parallel()
	text := rfcPresentation(t)
	c := mustEncodePresentation(t, text, true, M)
	n := c.Size()
	quads := [][4][2]float64{
		{{300, 100}, {700, 200}, {700, 520}, {300, 620}}, // far edge on the right
		{{380, 120}, {620, 120}, {760, 600}, {240, 600}}, // far edge at the top
		{{520, 60}, {820, 300}, {560, 650}, {200, 330}},  // turned, near corner bottom-left
		{{250, 200}, {740, 150}, {690, 420}, {330, 470}}, // far edge at the bottom
	}
	for i, q := range quads {
		g := warped(c, perspective(t, n, q), 1000, 700)
		img := &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}
		got, err := DecodeEffort(img, FrameEffort)
		if err != nil {
			t.Errorf("quad %d: %v", i, err)
			continue
		}
		if pres, err := NormalizeScanned(string(got)); err != nil || pres != text {
			t.Errorf("quad %d: wrong payload", i)
		}
	}
}

// TestOddImages gives the decoder images of every small and odd shape,
// noise, stripes and finder-like squares, and requires an error, never a
// panic (safeReadGrids would hide one: a failure names it).
func TestOddImages(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	sizes := [][2]int{{1, 1}, {1, 300}, {300, 1}, {7, 7}, {21, 21}, {40, 900}, {64, 64}, {333, 97}, {640, 480}}
	for i, sz := range sizes {
		for k := range 4 {
			g := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
			for j := range g.Pix {
				switch k {
				case 0:
					g.Pix[j] = byte(r.UintN(256))
				case 1:
					g.Pix[j] = byte(255 * ((j / 3) % 2))
				default:
					g.Pix[j] = 230
				}
			}
			if k >= 2 {
				// Finder-like squares: dark ring, light ring, dark core.
				for range 6 {
					m := 1 + r.IntN(6)
					x0, y0 := r.IntN(sz[0]), r.IntN(sz[1])
					for y := range 7 * m {
						for x := range 7 * m {
							c := max(abs(x/m-3), abs(y/m-3))
							if xx, yy := x0+x, y0+y; xx < sz[0] && yy < sz[1] && c != 2 {
								g.Pix[yy*g.Stride+xx] = 20
							}
						}
					}
				}
			}
			_, err := DecodeEffort(g, FrameEffort)
			if err == nil || strings.Contains(err.Error(), "grid reader failure") {
				t.Errorf("image %d/%d (%dx%d): %v", i, k, sz[0], sz[1], err)
			}
		}
	}
}
