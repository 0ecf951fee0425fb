package main

import (
	"math"
	"math/rand/v2"

	"github.com/epermit/epermit/qr"
)

// The wallet page on the phone, in display pixels.
const (
	screenW = 1080
	screenH = 2340
	codeTop = 560 // first row of the code's quiet zone
	bezelMM = 2.5 // black glass around the screen
	frameMM = 1.2 // the phone's metal edge beyond the glass
)

// srgbToLinear maps an 8-bit sRGB value to linear light.
var srgbToLinear = func() (t [256]float32) {
	for i := range t {
		c := float64(i) / 255
		if c <= 0.04045 {
			t[i] = float32(c / 12.92)
		} else {
			t[i] = float32(math.Pow((c+0.055)/1.055, 2.4))
		}
	}
	return t
}()

// phone is the wallet app on a phone: a page of display pixels showing the
// code, behind glass that reflects the room.
type phone struct {
	s       *shot
	code    *qr.Code
	n       int     // modules a side, quiet zone included
	left    int     // first display column of the code
	centreJ float64 // display row of the code's centre
	glare   glareBand
}

// glareBand is a window reflected on the glass: a soft-edged band across
// the screen, brighter along one end, in screen millimetres.
type glareBand struct {
	peak             float64
	nx, ny           float64 // unit normal of the band
	offset           float64 // band centre along the normal, mm
	half, soft       float64 // half width and edge softness, mm
	gradX, gradY, g0 float64 // brightness along the band
}

func newPhone(s *shot, code *qr.Code, r *rand.Rand) *phone {
	p := &phone{s: s, code: code, n: code.Size()}
	p.left = (screenW - p.n*s.dispPx) / 2
	p.centreJ = codeTop + float64(p.n*s.dispPx)/2
	if s.glare > 0 {
		side := float64(p.n*s.dispPx) * s.pitch
		a := r.Float64() * math.Pi
		p.glare = glareBand{
			peak: s.glare,
			nx:   math.Cos(a), ny: math.Sin(a),
			offset: (r.Float64() - 0.5) * 0.6 * side,
			half:   (0.06 + 0.12*r.Float64()) * side,
			soft:   (0.04 + 0.12*r.Float64()) * side,
			gradX:  -math.Sin(a) / side, gradY: math.Cos(a) / side,
			g0: 0.6 + 0.3*r.Float64(),
		}
	}
	return p
}

// pageColor is the sRGB colour of display pixel (i, j) of the page.
func (p *phone) pageColor(i, j int) [3]uint8 {
	s := p.s
	white := [3]uint8{250, 250, 250}
	bg := white
	if s.darkUI {
		bg = [3]uint8{32, 33, 36}
	}
	switch {
	case j < 70: // status bar
		return [3]uint8{20, 20, 24}
	case j < 190: // the app's title bar with a title in it
		if j > 110 && j < 150 && i > 90 && i < 520 && (i/22)%3 != 2 {
			return white
		}
		return [3]uint8{26, 115, 232}
	}
	side := p.n * s.dispPx
	mx, my := i-p.left, j-codeTop
	if mx >= 0 && my >= 0 && mx < side && my < side {
		if p.code.Dark(mx/s.dispPx, my/s.dispPx) {
			return [3]uint8{0, 0, 0}
		}
		return white
	}
	// A white card around the code, then lines of text below it.
	if mx >= -28 && my >= -28 && mx < side+28 && my < side+28 {
		return white
	}
	if t := j - (codeTop + side + 80); t >= 0 && t < 6*64 && i > 80 && i < screenW-80 {
		row, y := t/64, t%64
		if y > 14 && y < 46 && i < screenW-80-row*97%300 {
			if g := (i + row*37) % 44; g < 30 {
				if s.darkUI {
					return [3]uint8{225, 225, 225}
				}
				return [3]uint8{60, 64, 67}
			}
		}
	}
	return bg
}

// radiance returns the light leaving screen point (x, y) mm (the code's
// centre is 0, 0; y points down the screen) in linear RGB, averaged over a
// box of half sizes hw, hh display pixels around it (the part of the
// screen one optical sample sees), and false when the point is off the
// phone.
func (p *phone) radiance(x, y, hw, hh float64) ([3]float32, bool) {
	s := p.s
	fi := x/s.pitch + screenW/2
	fj := y/s.pitch + p.centreJ
	bezel := bezelMM / s.pitch
	edge := (bezelMM + frameMM) / s.pitch
	if fi < -edge || fj < -edge || fi >= screenW+edge || fj >= screenH+edge {
		return [3]float32{}, false
	}
	var c [3]float32
	if fi < -bezel || fj < -bezel || fi >= screenW+bezel || fj >= screenH+bezel {
		return [3]float32{0.05, 0.05, 0.055}, true // metal edge, no glass
	}
	c = p.emitted(fi, fj, hw, hh)
	add := float32(s.veil)
	if p.glare.peak > 0 {
		add += float32(p.glare.at(x, y))
	}
	for k := range c {
		c[k] += add
	}
	return c, true
}

// subpixel is one emitter of a display pixel: a rectangle inside the
// pixel (0..1 on each axis) lighting one colour channel.
type subpixel struct {
	x0, x1, y0, y1 float64
	ch             int
}

// Subpixel layouts: vertical stripes with a dark matrix between them, and
// a diamond layout (drawn as squares of the same area) where every pixel
// has a small green emitter and red and blue alternate.
var (
	stripesRGB = []subpixel{{0.1 / 3, 0.9 / 3, 0.05, 0.9, 0}, {1.1 / 3, 1.9 / 3, 0.05, 0.9, 1}, {2.1 / 3, 2.9 / 3, 0.05, 0.9, 2}}
	stripesBGR = []subpixel{{0.1 / 3, 0.9 / 3, 0.05, 0.9, 2}, {1.1 / 3, 1.9 / 3, 0.05, 0.9, 1}, {2.1 / 3, 2.9 / 3, 0.05, 0.9, 0}}
	diamondR   = []subpixel{{0.203, 0.797, 0.203, 0.797, 0}, {0, 0.32, 0, 0.32, 1}}
	diamondB   = []subpixel{{0.203, 0.797, 0.203, 0.797, 2}, {0, 0.32, 0, 0.32, 1}}
)

// emitted is the display's light around display position (fi, fj),
// averaged over the box fi±hw, fj±hh: the subpixels of every display pixel
// the box touches, weighted by how much of each it covers. Averaging
// rather than point sampling keeps the renderer from inventing moire of its
// own; the moire that remains is the camera's.
func (p *phone) emitted(fi, fj, hw, hh float64) [3]float32 {
	hw, hh = max(hw, 1e-3), max(hh, 1e-3)
	bx0, bx1, by0, by1 := fi-hw, fi+hw, fj-hh, fj+hh
	var acc [3]float64
	for j := int(math.Floor(by0)); j < int(math.Ceil(by1)); j++ {
		for i := int(math.Floor(bx0)); i < int(math.Ceil(bx1)); i++ {
			if i < 0 || j < 0 || i >= screenW || j >= screenH {
				continue // black glass
			}
			col := p.pageColor(i, j)
			subs := stripesRGB
			switch p.s.layout {
			case 1:
				subs = stripesBGR
			case 2:
				subs = diamondR
				if (i+j)%2 == 1 {
					subs = diamondB
				}
			}
			for _, sp := range subs {
				ox := overlap(bx0, bx1, float64(i)+sp.x0, float64(i)+sp.x1)
				oy := overlap(by0, by1, float64(j)+sp.y0, float64(j)+sp.y1)
				if ox <= 0 || oy <= 0 {
					continue
				}
				lin := float64(srgbToLinear[col[sp.ch]])
				if p.s.layout == 2 && sp.ch != 1 {
					// A red or blue emitter serves this pixel and the next.
					nb := p.pageColor(i+1, j)
					lin = (lin + float64(srgbToLinear[nb[sp.ch]])) / 2
				}
				acc[sp.ch] += lin * ox * oy / ((sp.x1 - sp.x0) * (sp.y1 - sp.y0)) * p.share(sp)
			}
		}
	}
	w := p.s.white / (4 * hw * hh)
	return [3]float32{float32(acc[0] * w), float32(acc[1] * w), float32(acc[2] * w)}
}

// share is the fraction of a channel's light that one emitter gives off
// over the area of a pixel, so that a uniform page keeps its brightness
// whatever the layout: a stripe gives all of its channel in its pixel, a
// red or blue diamond emitter the light of two pixels.
func (p *phone) share(sp subpixel) float64 {
	if p.s.layout == 2 && sp.ch != 1 {
		return 2
	}
	return 1
}

// overlap is the length of the intersection of [a0, a1] and [b0, b1].
func overlap(a0, a1, b0, b1 float64) float64 {
	return max(min(a1, b1)-max(a0, b0), 0)
}

func (g *glareBand) at(x, y float64) float64 {
	d := math.Abs(x*g.nx+y*g.ny-g.offset) - g.half
	var a float64
	switch {
	case d <= 0:
		a = 1
	case d < g.soft:
		t := d / g.soft
		a = 1 - t*t*(3-2*t)
	default:
		return 0
	}
	along := x*g.gradX + y*g.gradY
	return g.peak * a * min(max(g.g0+0.5*along, 0.2), 1.2)
}

// backdrop is what lies behind the phone, in image coordinates: a desk or
// a wall with soft, out-of-focus objects.
type backdrop struct {
	base  [3]float32
	grad  [2]float32
	blobs []blob
}

type blob struct {
	cx, cy, rx, ry, soft float64
	col                  [3]float32
}

func newBackdrop(r *rand.Rand, w, h int) *backdrop {
	b := &backdrop{
		base: [3]float32{float32(0.08 + 0.3*r.Float64()), float32(0.07 + 0.25*r.Float64()), float32(0.05 + 0.2*r.Float64())},
		grad: [2]float32{float32(-0.1 + 0.2*r.Float64()), float32(-0.1 + 0.2*r.Float64())},
	}
	for range 3 + r.IntN(4) {
		v := 0.05 + 0.6*r.Float64()
		b.blobs = append(b.blobs, blob{
			cx: r.Float64() * float64(w), cy: r.Float64() * float64(h),
			rx: (0.05 + 0.25*r.Float64()) * float64(w), ry: (0.05 + 0.25*r.Float64()) * float64(h),
			soft: 0.1 + 0.4*r.Float64(),
			col:  [3]float32{float32(v), float32(v * (0.7 + 0.4*r.Float64())), float32(v * (0.6 + 0.4*r.Float64()))},
		})
	}
	return b
}

// at is the radiance at image point (x, y), in frame-relative units
// (fx, fy in 0..1).
func (b *backdrop) at(x, y, fx, fy float64) [3]float32 {
	g := b.grad[0]*float32(fx-0.5) + b.grad[1]*float32(fy-0.5)
	c := [3]float32{max(b.base[0]+g, 0.01), max(b.base[1]+g, 0.01), max(b.base[2]+g, 0.01)}
	for _, o := range b.blobs {
		dx, dy := (x-o.cx)/o.rx, (y-o.cy)/o.ry
		d := math.Sqrt(dx*dx+dy*dy) - 1
		if d >= o.soft {
			continue
		}
		a := float32(1.0)
		if d > -o.soft {
			t := (d + o.soft) / (2 * o.soft)
			a = float32(1 - t*t*(3-2*t))
		}
		for k := range c {
			c[k] += a * (o.col[k] - c[k])
		}
	}
	return c
}
