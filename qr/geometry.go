package qr

import (
	"math"
)

// homography maps module coordinates (x to the right, y down, the code's
// outer corner at 0,0) to image coordinates: a 3x3 projective matrix,
// row-major, h[8] = 1.
type homography [9]float64

func (h *homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// match is one correspondence between module and image coordinates, with
// a weight for the least-squares fit.
type match struct {
	mx, my, ix, iy float64
	w              float64
}

// fitHomography returns the projective map that best takes each match's
// module point to its image point, in the weighted least-squares sense of
// the linearised equations, with both point sets normalised first for
// stability. It needs at least four matches not on a line.
func fitHomography(ms []match) (homography, bool) {
	if len(ms) < 4 {
		return homography{}, false
	}
	// Normalisation: centre both point sets and scale them to unit spread.
	var sw, mx, my, ix, iy float64
	for _, m := range ms {
		sw += m.w
		mx += m.w * m.mx
		my += m.w * m.my
		ix += m.w * m.ix
		iy += m.w * m.iy
	}
	if sw <= 0 {
		return homography{}, false
	}
	mx, my, ix, iy = mx/sw, my/sw, ix/sw, iy/sw
	var ms2, is2 float64
	for _, m := range ms {
		ms2 += m.w * hypot(m.mx-mx, m.my-my)
		is2 += m.w * hypot(m.ix-ix, m.iy-iy)
	}
	if ms2 == 0 || is2 == 0 {
		return homography{}, false
	}
	sm, si := sw/ms2, sw/is2
	// Normal equations of the 8 unknowns.
	var ata [8][8]float64
	var atb [8]float64
	add := func(row [8]float64, rhs, w float64) {
		for i := range 8 {
			if row[i] == 0 {
				continue
			}
			for j := range 8 {
				ata[i][j] += w * row[i] * row[j]
			}
			atb[i] += w * row[i] * rhs
		}
	}
	for _, m := range ms {
		x, y := (m.mx-mx)*sm, (m.my-my)*sm
		u, v := (m.ix-ix)*si, (m.iy-iy)*si
		add([8]float64{x, y, 1, 0, 0, 0, -u * x, -u * y}, u, m.w)
		add([8]float64{0, 0, 0, x, y, 1, -v * x, -v * y}, v, m.w)
	}
	p, ok := solve8(ata, atb)
	if !ok {
		return homography{}, false
	}
	// Undo the normalisation: H = Ti^-1 * Hn * Tm.
	hn := [9]float64{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], 1}
	tm := [9]float64{sm, 0, -sm * mx, 0, sm, -sm * my, 0, 0, 1}
	tiInv := [9]float64{1 / si, 0, ix, 0, 1 / si, iy, 0, 0, 1}
	h := mul3x3(tiInv, mul3x3(hn, tm))
	if h[8] == 0 || math.IsNaN(h[8]) {
		return homography{}, false
	}
	var out homography
	for i := range h {
		out[i] = h[i] / h[8]
	}
	return out, true
}

func mul3x3(a, b [9]float64) [9]float64 {
	var c [9]float64
	for i := range 3 {
		for j := range 3 {
			c[3*i+j] = a[3*i]*b[j] + a[3*i+1]*b[3+j] + a[3*i+2]*b[6+j]
		}
	}
	return c
}

// solve8 solves a x = b by Gaussian elimination with partial pivoting.
func solve8(a [8][8]float64, b [8]float64) ([8]float64, bool) {
	for col := range 8 {
		p := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-12 {
			return b, false
		}
		a[col], a[p] = a[p], a[col]
		b[col], b[p] = b[p], b[col]
		for r := col + 1; r < 8; r++ {
			f := a[r][col] / a[col][col]
			if f == 0 {
				continue
			}
			for k := col; k < 8; k++ {
				a[r][k] -= f * a[col][k]
			}
			b[r] -= f * b[col]
		}
	}
	var x [8]float64
	for r := 7; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < 8; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// residual is the weighted root-mean-square distance, in pixels, between
// the image points of ms and where h puts their module points.
func (h *homography) residual(ms []match) float64 {
	var s, sw float64
	for _, m := range ms {
		x, y := h.apply(m.mx, m.my)
		s += m.w * ((x-m.ix)*(x-m.ix) + (y-m.iy)*(y-m.iy))
		sw += m.w
	}
	return math.Sqrt(s / sw)
}

// hypot is the length of (x, y). math.Hypot and math.Log have assembly
// versions on some processors that can differ in the last bit from the
// portable code WebAssembly runs; the decoder uses only operations that
// give the same bits everywhere (math.Sqrt is exact, trigonometry is
// portable Go), so that a frame decodes the same in a browser.
func hypot(x, y float64) float64 { return math.Sqrt(x*x + y*y) }

// line is a straight line a*x + b*y = c with a^2 + b^2 = 1.
type line struct{ a, b, c float64 }

// fitLine fits a line to the points by total least squares, then fits it
// again without the points further than maxDist from the first fit (when
// at least three remain).
func fitLine(xs, ys []float64, maxDist float64) (line, bool) {
	if len(xs) < 3 {
		return line{}, false
	}
	l := tls(xs, ys, nil)
	var keep []bool
	n := 0
	for i := range xs {
		ok := math.Abs(l.a*xs[i]+l.b*ys[i]-l.c) <= maxDist
		keep = append(keep, ok)
		if ok {
			n++
		}
	}
	if n == len(xs) {
		return l, true
	}
	if n < 3 {
		return l, false
	}
	return tls(xs, ys, keep), true
}

// tls is the total-least-squares line through the points kept (all when
// keep is nil).
func tls(xs, ys []float64, keep []bool) line {
	var mx, my, n float64
	for i := range xs {
		if keep == nil || keep[i] {
			mx += xs[i]
			my += ys[i]
			n++
		}
	}
	mx, my = mx/n, my/n
	var sxx, sxy, syy float64
	for i := range xs {
		if keep == nil || keep[i] {
			dx, dy := xs[i]-mx, ys[i]-my
			sxx += dx * dx
			sxy += dx * dy
			syy += dy * dy
		}
	}
	// The normal is the eigenvector of the smaller eigenvalue.
	theta := 0.5 * math.Atan2(2*sxy, sxx-syy) // direction of the line
	a, b := -math.Sin(theta), math.Cos(theta)
	return line{a, b, a*mx + b*my}
}

func intersect(p, q line) (float64, float64, bool) {
	det := p.a*q.b - p.b*q.a
	if math.Abs(det) < 1e-9 {
		return 0, 0, false
	}
	return (p.c*q.b - p.b*q.c) / det, (p.a*q.c - p.c*q.a) / det, true
}
