package main

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"

	"github.com/epermit/epermit/qr"
)

// oversample is the number of optical samples per sensor pixel along each
// axis: the optical image is formed and blurred at this finer resolution
// and integrated over each pixel's area, as a sensor does.
const oversample = 3

// camera is a pinhole camera with a little radial distortion, placed by a
// rotation and a translation relative to the phone's screen.
type camera struct {
	w, h   int
	f      float64    // focal length, pixels
	k1     float64    // radial distortion, applied to normalised coordinates
	m      [9]float64 // screen plane (mm) to camera ray: the columns r1, r2, t
	minv   [9]float64
	cx, cy float64
}

// newCamera places the camera so that the code's centre appears at
// (s.cx, s.cy) of the frame, about s.codePx wide, seen through the tilt
// and roll of s; it moves the code inwards, then makes it smaller, until
// all of it is in the frame.
func newCamera(s *shot, codeMM float64) (*camera, error) {
	c := &camera{w: s.w, h: s.h, k1: s.k1, cx: float64(s.w) / 2, cy: float64(s.h) / 2}
	c.f = float64(s.w) / 2 / math.Tan(s.fov/2*math.Pi/180)
	rot := mul3(rotZ(s.roll), rotAxis(s.tiltAxis, s.tilt))
	px, py, size := s.cx, s.cy, s.codePx
	for range 200 {
		z := c.f * codeMM / size
		t := [3]float64{(px*float64(s.w) - c.cx) / c.f * z, (py*float64(s.h) - c.cy) / c.f * z, z}
		c.m = [9]float64{rot[0], rot[1], t[0], rot[3], rot[4], t[1], rot[6], rot[7], t[2]}
		inv, ok := invert3(c.m)
		if !ok {
			return nil, errors.New("degenerate camera pose")
		}
		c.minv = inv
		if c.inFrame(codeMM/2, 0.02) {
			return c, nil
		}
		// Towards the centre first, then smaller.
		if math.Abs(px-0.5) > 0.02 || math.Abs(py-0.5) > 0.02 {
			px, py = 0.5+(px-0.5)*0.8, 0.5+(py-0.5)*0.8
		} else {
			size *= 0.95
		}
	}
	return nil, errors.New("code does not fit in the frame")
}

// inFrame reports whether the square of half side a mm around the code's
// centre projects inside the frame with a margin (fraction of the size).
func (c *camera) inFrame(a, margin float64) bool {
	mx, my := margin*float64(c.w), margin*float64(c.h)
	for _, p := range [4][2]float64{{-a, -a}, {a, -a}, {a, a}, {-a, a}} {
		x, y, ok := c.project(p[0], p[1])
		if !ok || x < mx || y < my || x > float64(c.w)-mx || y > float64(c.h)-my {
			return false
		}
	}
	return true
}

// project maps a screen point (mm) to image pixels, with distortion.
func (c *camera) project(x, y float64) (float64, float64, bool) {
	m := &c.m
	rx := m[0]*x + m[1]*y + m[2]
	ry := m[3]*x + m[4]*y + m[5]
	rz := m[6]*x + m[7]*y + m[8]
	if rz <= 0 {
		return 0, 0, false
	}
	xu, yu := rx/rz, ry/rz
	// Invert xu = xd (1 + k1 |xd|^2) by fixed-point iteration.
	xd, yd := xu, yu
	for range 10 {
		f := 1 + c.k1*(xd*xd+yd*yd)
		xd, yd = xu/f, yu/f
	}
	return c.cx + c.f*xd, c.cy + c.f*yd, true
}

// toScreen maps an image point (pixels) to the screen plane (mm).
func (c *camera) toScreen(u, v float64) (float64, float64, bool) {
	xd, yd := (u-c.cx)/c.f, (v-c.cy)/c.f
	f := 1 + c.k1*(xd*xd+yd*yd)
	xu, yu := xd*f, yd*f
	m := &c.minv
	w := m[6]*xu + m[7]*yu + m[8]
	if w <= 0 {
		return 0, 0, false
	}
	return (m[0]*xu + m[1]*yu + m[2]) / w, (m[3]*xu + m[4]*yu + m[5]) / w, true
}

// plane is one colour channel of an image, row-major.
type plane struct {
	w, h int
	v    []float32
}

func newPlane(w, h int) *plane { return &plane{w, h, make([]float32, w*h)} }

// render makes the photo of shot s showing code and returns it as JPEG.
func render(s *shot, code *qr.Code) ([]byte, error) {
	r := rand.New(rand.NewPCG(s.seed, 0xf00d))
	ph := newPhone(s, code, r)
	codeMM := float64(code.Size()*s.dispPx) * s.pitch
	cam, err := newCamera(s, codeMM)
	if err != nil {
		return nil, err
	}
	bg := newBackdrop(r, s.w, s.h)

	// The scene at sensor resolution, then the phone and its surroundings
	// again at the finer optical resolution, blurred, and integrated.
	var scene [3]*plane
	for k := range scene {
		scene[k] = newPlane(s.w, s.h)
	}
	for y := range s.h {
		for x := range s.w {
			c := bg.at(float64(x)+0.5, float64(y)+0.5, (float64(x)+0.5)/float64(s.w), (float64(y)+0.5)/float64(s.h))
			for k := range c {
				scene[k].v[y*s.w+x] = c[k]
			}
		}
	}
	x0, y0, x1, y1 := phoneBox(cam, ph, s)
	pad := int(math.Ceil(3*s.lens+s.defocus+s.motion)) + 3
	x0, y0 = max(x0-pad, 0), max(y0-pad, 0)
	x1, y1 = min(x1+pad, s.w), min(y1+pad, s.h)
	if x1 > x0 && y1 > y0 {
		fine := opticalImage(cam, ph, bg, s, x0, y0, x1, y1)
		for k := range fine {
			p := fine[k]
			gaussBlur(p, s.lens*oversample)
			discBlur(p, s.defocus*oversample)
			lineBlur(p, s.motion*oversample, s.motionDir)
			integrate(p, scene[k], x0, y0)
		}
	}
	raw := expose(scene, s, r)
	img := develop(raw, s, r)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: s.quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// phoneBox is the bounding box, in pixels, of the phone in the frame.
func phoneBox(cam *camera, ph *phone, s *shot) (x0, y0, x1, y1 int) {
	x0, y0, x1, y1 = s.w, s.h, 0, 0
	const step = 2
	for y := 0; y < s.h; y += step {
		for x := 0; x < s.w; x += step {
			px, py, ok := cam.toScreen(float64(x), float64(y))
			if !ok {
				continue
			}
			if _, on := ph.radiance(px, py, 0.5, 0.5); on {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x+step), max(y1, y+step)
			}
		}
	}
	return
}

// opticalImage samples the scene over the box at the optical resolution.
func opticalImage(cam *camera, ph *phone, bg *backdrop, s *shot, x0, y0, x1, y1 int) [3]*plane {
	w, h := (x1-x0)*oversample, (y1-y0)*oversample
	var out [3]*plane
	for k := range out {
		out[k] = newPlane(w, h)
	}
	const d = 1.0 / oversample
	for j := range h {
		v := float64(y0) + (float64(j)+0.5)*d
		for i := range w {
			u := float64(x0) + (float64(i)+0.5)*d
			var c [3]float32
			on := false
			if px, py, ok := cam.toScreen(u, v); ok {
				// The sample's footprint on the screen, in display pixels.
				ax, ay, _ := cam.toScreen(u+d, v)
				bx, by, _ := cam.toScreen(u, v+d)
				hw := (math.Abs(ax-px) + math.Abs(bx-px)) / 2 / s.pitch
				hh := (math.Abs(ay-py) + math.Abs(by-py)) / 2 / s.pitch
				c, on = ph.radiance(px, py, hw, hh)
			}
			if !on {
				c = bg.at(u, v, u/float64(s.w), v/float64(s.h))
			}
			for k := range c {
				out[k].v[j*w+i] = c[k]
			}
		}
	}
	return out
}

// gaussBlur blurs p in place with a Gaussian of the given sigma (pixels of p).
func gaussBlur(p *plane, sigma float64) {
	if sigma < 0.05 {
		return
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*rad+1)
	var sum float32
	for i := range k {
		d := float64(i - rad)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, len(p.v))
	for y := range p.h {
		row := p.v[y*p.w : (y+1)*p.w]
		out := tmp[y*p.w : (y+1)*p.w]
		for x := range row {
			var acc float32
			for i, kv := range k {
				acc += kv * row[min(max(x+i-rad, 0), p.w-1)]
			}
			out[x] = acc
		}
	}
	for y := range p.h {
		out := p.v[y*p.w : (y+1)*p.w]
		for x := range out {
			var acc float32
			for i, kv := range k {
				acc += kv * tmp[min(max(y+i-rad, 0), p.h-1)*p.w+x]
			}
			out[x] = acc
		}
	}
}

// discBlur convolves p with a uniform disc of the given radius, the blur
// of a lens out of focus, using running sums along rows.
func discBlur(p *plane, radius float64) {
	if radius < 0.5 {
		return
	}
	rad := int(math.Ceil(radius))
	// Half widths of the disc's rows, and their weight.
	half := make([]int, 2*rad+1)
	var area float64
	for dy := -rad; dy <= rad; dy++ {
		w := math.Sqrt(max(radius*radius-float64(dy*dy), 0))
		half[dy+rad] = int(math.Round(w))
		area += float64(2*half[dy+rad] + 1)
	}
	// Prefix sums of each row, the image clamped at its borders.
	pw := p.w + 2*rad + 1
	pre := make([]float32, p.h*pw)
	for y := range p.h {
		row := p.v[y*p.w : (y+1)*p.w]
		pr := pre[y*pw : (y+1)*pw]
		var acc float32
		for i := 1; i < pw; i++ {
			acc += row[min(max(i-1-rad, 0), p.w-1)]
			pr[i] = acc
		}
	}
	inv := float32(1 / area)
	out := make([]float32, len(p.v))
	for y := range p.h {
		o := out[y*p.w : (y+1)*p.w]
		for dy := -rad; dy <= rad; dy++ {
			pr := pre[min(max(y+dy, 0), p.h-1)*pw:]
			hw := half[dy+rad]
			for x := range o {
				// Sum of row[x-hw .. x+hw], shifted by rad in pre.
				o[x] += pr[x+hw+rad+1] - pr[x-hw+rad]
			}
		}
		for x := range o {
			o[x] *= inv
		}
	}
	copy(p.v, out)
}

// lineBlur convolves p with a straight line of the given length and
// direction (degrees), the blur of a camera moving during the exposure.
func lineBlur(p *plane, length, dir float64) {
	if length < 0.5 {
		return
	}
	n := int(math.Ceil(length)) + 1
	dx, dy := math.Cos(dir*math.Pi/180), math.Sin(dir*math.Pi/180)
	out := make([]float32, len(p.v))
	for y := range p.h {
		for x := range p.w {
			var acc float32
			for i := range n {
				t := (float64(i)/float64(n-1) - 0.5) * length
				acc += p.bilinear(float64(x)+t*dx, float64(y)+t*dy)
			}
			out[y*p.w+x] = acc / float32(n)
		}
	}
	copy(p.v, out)
}

func (p *plane) bilinear(x, y float64) float32 {
	x, y = min(max(x, 0), float64(p.w-1)), min(max(y, 0), float64(p.h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	a := p.v[y0*p.w+x0]*(1-fx) + p.v[y0*p.w+x1]*fx
	b := p.v[y1*p.w+x0]*(1-fx) + p.v[y1*p.w+x1]*fx
	return a*(1-fy) + b*fy
}

// integrate averages each oversample x oversample block of fine into the
// pixel of dst it covers, dst's box starting at x0, y0.
func integrate(fine, dst *plane, x0, y0 int) {
	w, h := fine.w/oversample, fine.h/oversample
	const inv = 1.0 / (oversample * oversample)
	for y := range h {
		for x := range w {
			var acc float32
			for j := range oversample {
				row := fine.v[(y*oversample+j)*fine.w+x*oversample:]
				for i := range oversample {
					acc += row[i]
				}
			}
			dst.v[(y0+y)*dst.w+x0+x] = acc * inv
		}
	}
}

// Sensor model: a full well of fullWell electrons at base gain, read noise
// in electrons, 10-bit output.
const (
	fullWell  = 5000
	readNoise = 2.5
)

// expose turns the scene into a Bayer RGGB mosaic with shot and read noise,
// clipped and quantised to 10 bits.
func expose(scene [3]*plane, s *shot, r *rand.Rand) *plane {
	raw := newPlane(s.w, s.h)
	for y := range s.h {
		for x := range s.w {
			ch := 1
			switch {
			case y%2 == 0 && x%2 == 0:
				ch = 0
			case y%2 == 1 && x%2 == 1:
				ch = 2
			}
			e := float64(scene[ch].v[y*s.w+x]) * s.exposure * fullWell
			e += math.Sqrt(max(e, 0))*r.NormFloat64() + readNoise*r.NormFloat64()
			v := min(max(e*s.gain/fullWell, 0), 1)
			raw.v[y*s.w+x] = float32(math.Round(v*1023) / 1023)
		}
	}
	return raw
}

// develop is the phone's image processing: demosaicing, white balance,
// noise reduction, tone curve and sharpening, to 8-bit RGB.
func develop(raw *plane, s *shot, r *rand.Rand) *image.RGBA {
	w, h := raw.w, raw.h
	var rgb [3]*plane
	for k := range rgb {
		rgb[k] = newPlane(w, h)
	}
	at := func(x, y int) float32 { return raw.v[min(max(y, 0), h-1)*w+min(max(x, 0), w-1)] }
	chOf := func(x, y int) int {
		switch {
		case y%2 == 0 && x%2 == 0:
			return 0
		case y%2 == 1 && x%2 == 1:
			return 2
		}
		return 1
	}
	// Bilinear demosaicing: each missing colour is the mean of the nearest
	// pixels that have it.
	for y := range h {
		for x := range w {
			var sum [3]float32
			var cnt [3]float32
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := min(max(x+dx, 0), w-1), min(max(y+dy, 0), h-1)
					c := chOf(xx, yy)
					if c == chOf(x, y) && (dx != 0 || dy != 0) {
						continue
					}
					if (dx != 0 && dy != 0) && c == 1 {
						continue // green comes from the four direct neighbours
					}
					sum[c] += at(xx, yy)
					cnt[c]++
				}
			}
			own := chOf(x, y)
			for k := range 3 {
				v := sum[k] / max(cnt[k], 1)
				if k == own {
					v = at(x, y)
				}
				rgb[k].v[y*w+x] = v
			}
		}
	}
	// White balance and noise reduction in a luma/chroma split: chroma is
	// smoothed strongly, luma gently.
	wb := [3]float32{float32(0.95 + 0.1*r.Float64()), 1, float32(0.95 + 0.1*r.Float64())}
	luma, cb, cr := newPlane(w, h), newPlane(w, h), newPlane(w, h)
	for i := range luma.v {
		rr, gg, bb := rgb[0].v[i]*wb[0], rgb[1].v[i], rgb[2].v[i]*wb[2]
		y := 0.299*rr + 0.587*gg + 0.114*bb
		luma.v[i], cb.v[i], cr.v[i] = y, bb-y, rr-y
	}
	gaussBlur(cb, 1+2*s.denoise)
	gaussBlur(cr, 1+2*s.denoise)
	bilateral(luma, s)
	// Tone curve (sRGB), then unsharp masking of the encoded luma.
	enc := func(v float32) float32 {
		c := float64(min(max(v, 0), 1))
		if c <= 0.0031308 {
			return float32(12.92 * c)
		}
		return float32(1.055*math.Pow(c, 1/2.4) - 0.055)
	}
	var out [3]*plane
	for k := range out {
		out[k] = newPlane(w, h)
	}
	for i := range luma.v {
		y := luma.v[i]
		rr, bb := cr.v[i]+y, cb.v[i]+y
		gg := (y - 0.299*rr - 0.114*bb) / 0.587
		out[0].v[i], out[1].v[i], out[2].v[i] = enc(rr), enc(gg), enc(bb)
	}
	if s.sharpen > 0 {
		for k := range out {
			soft := &plane{w, h, append([]float32(nil), out[k].v...)}
			gaussBlur(soft, 1)
			a := float32(s.sharpen)
			for i := range out[k].v {
				out[k].v[i] += a * (out[k].v[i] - soft.v[i])
			}
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		for k := range 3 {
			img.Pix[4*i+k] = uint8(math.Round(float64(min(max(out[k].v[i], 0), 1)) * 255))
		}
		img.Pix[4*i+3] = 255
	}
	return img
}

// bilateral smooths the luma plane with an edge-preserving filter, the
// noise reduction every phone applies: neighbours count only when they
// differ from the centre by little more than the sensor's noise there,
// so flat areas go smooth and the code's edges stay.
func bilateral(p *plane, s *shot) {
	if s.denoise <= 0 {
		return
	}
	const rad = 2
	var spatial [2*rad + 1][2*rad + 1]float32
	for dy := -rad; dy <= rad; dy++ {
		for dx := -rad; dx <= rad; dx++ {
			spatial[dy+rad][dx+rad] = float32(math.Exp(-float64(dx*dx+dy*dy) / (2 * 1.3 * 1.3)))
		}
	}
	out := make([]float32, len(p.v))
	g := s.gain / fullWell
	for y := range p.h {
		for x := range p.w {
			c := p.v[y*p.w+x]
			// Noise of the mosaic at this level (shot and read noise),
			// a little lower after demosaicing.
			sigma := math.Sqrt(max(float64(c), 0)*g+(readNoise*g)*(readNoise*g)) * 0.8
			k := float32(1 / (2 * math.Pow(2.5*s.denoise*sigma+1e-4, 2)))
			var acc, wsum float32
			for dy := -rad; dy <= rad; dy++ {
				yy := min(max(y+dy, 0), p.h-1)
				for dx := -rad; dx <= rad; dx++ {
					v := p.v[yy*p.w+min(max(x+dx, 0), p.w-1)]
					d := v - c
					w := spatial[dy+rad][dx+rad] * expNeg(d*d*k)
					acc += w * v
					wsum += w
				}
			}
			out[y*p.w+x] = acc / wsum
		}
	}
	copy(p.v, out)
}

// expNeg approximates exp(-x) for x >= 0, well enough for filter weights.
func expNeg(x float32) float32 {
	if x > 8 {
		return 0
	}
	// (1 + x/16)^-16
	t := 1 + x/16
	t *= t
	t *= t
	t *= t
	t *= t
	return 1 / t
}

// 3x3 matrices, row-major.

func mul3(a, b [9]float64) [9]float64 {
	var c [9]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[3*i+j] += a[3*i+k] * b[3*k+j]
			}
		}
	}
	return c
}

func rotZ(deg float64) [9]float64 {
	s, c := math.Sincos(deg * math.Pi / 180)
	return [9]float64{c, -s, 0, s, c, 0, 0, 0, 1}
}

// rotAxis rotates by deg degrees about the unit axis at angle axisDeg in
// the x-y plane (Rodrigues' formula).
func rotAxis(axisDeg, deg float64) [9]float64 {
	ax, ay := math.Cos(axisDeg*math.Pi/180), math.Sin(axisDeg*math.Pi/180)
	s, c := math.Sincos(deg * math.Pi / 180)
	t := 1 - c
	return [9]float64{
		t*ax*ax + c, t * ax * ay, s * ay,
		t * ax * ay, t*ay*ay + c, -s * ax,
		-s * ay, s * ax, c,
	}
}

func invert3(m [9]float64) ([9]float64, bool) {
	det := m[0]*(m[4]*m[8]-m[5]*m[7]) - m[1]*(m[3]*m[8]-m[5]*m[6]) + m[2]*(m[3]*m[7]-m[4]*m[6])
	if math.Abs(det) < 1e-12 {
		return [9]float64{}, false
	}
	d := 1 / det
	return [9]float64{
		(m[4]*m[8] - m[5]*m[7]) * d, (m[2]*m[7] - m[1]*m[8]) * d, (m[1]*m[5] - m[2]*m[4]) * d,
		(m[5]*m[6] - m[3]*m[8]) * d, (m[0]*m[8] - m[2]*m[6]) * d, (m[2]*m[3] - m[0]*m[5]) * d,
		(m[3]*m[7] - m[4]*m[6]) * d, (m[1]*m[6] - m[0]*m[7]) * d, (m[0]*m[4] - m[1]*m[3]) * d,
	}, true
}
