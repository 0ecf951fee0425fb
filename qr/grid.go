package qr

import (
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	gzdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// This file reads a code from three finder patterns by itself, instead of
// gozxing's detector: it finds each finder's four outer corners, fits a
// projective map (a homography) to all twelve, so that a code seen at a
// steep angle is mapped as a plane seen in perspective rather than as a
// parallelogram, reads the version, refines the map on the alignment
// patterns, and samples the grey level at every module centre. Turning
// those levels into bits is then cheap to do several ways (local
// thresholds, and a deblurring step on the module grid); gozxing decodes
// each bit matrix (format, unmasking, Reed-Solomon).

// sampleGray returns the grey level at (x, y), bilinearly interpolated;
// points outside the image take the nearest edge pixel.
func (g *grayImage) sampleGray(x, y float64) float64 {
	x, y = x-0.5, y-0.5
	if x < 0 {
		x = 0
	}
	if y < 0 {
		y = 0
	}
	if x > float64(g.w-1) {
		x = float64(g.w - 1)
	}
	if y > float64(g.h-1) {
		y = float64(g.h - 1)
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.w-1), min(y0+1, g.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	a := float64(g.pix[y0*g.w+x0])*(1-fx) + float64(g.pix[y0*g.w+x1])*fx
	b := float64(g.pix[y1*g.w+x0])*(1-fx) + float64(g.pix[y1*g.w+x1])*fx
	return a*(1-fy) + b*fy
}

// quad is the four outer corners of a finder pattern in image
// coordinates, clockwise on the screen (y down). Labelled for a code (see
// label), they are its top-left, top-right, bottom-right and bottom-left.
type quad [4][2]float64

// finderQuad finds the outer corners of the finder pattern f in g without
// knowing its orientation. It thresholds the box around the pattern
// between the dark core and the light around it, takes the dark ring (or
// the whole pattern, when blur has filled the light ring), and fits a
// quadrilateral to the region's outer boundary (see quadOf). Blur moves
// the right threshold: halfway first, then nearer the light (a faded ring
// joins the core) and nearer the dark (a separator dimmed by glare).
func finderQuad(g *grayImage, f *finder, w *work) (quad, bool) {
	m := max(f.mh, f.mv)
	r := int(6.5*m) + 2
	x0, y0 := int(f.x)-r, int(f.y)-r
	bw := 2*r + 1
	if x0 < 0 || y0 < 0 || x0+bw > g.w || y0+bw > g.h {
		return quad{}, false
	}
	dark := g.sampleGray(f.x, f.y)
	// The light around the pattern: the brightest quarter of 16 points
	// four modules out (the separator along the axes; the diagonals still
	// fall on the dark ring).
	var ls [16]float64
	for k := range ls {
		s, c := math.Sincos(2 * math.Pi * float64(k) / 16)
		ls[k] = g.sampleGray(f.x+4*f.mh*c, f.y+4*f.mv*s)
	}
	slices.Sort(ls[:])
	light := (ls[12] + ls[13] + ls[14] + ls[15]) / 4
	if light-dark < 12 {
		return quad{}, false
	}
	b := &quadBox{g: g, f: f, x0: x0, y0: y0, bw: bw, mask: make([]byte, bw*bw)}
	for _, frac := range [3]float64{0.5, 0.7, 0.3} {
		w.add(quadPixelCost * bw * bw)
		if q, ok := b.quadAt(byte(dark + frac*(light-dark))); ok {
			return q, true
		}
	}
	return quad{}, false
}

// quadBox is the square of g around a finder candidate.
type quadBox struct {
	g      *grayImage
	f      *finder
	x0, y0 int
	bw     int
	mask   []byte // 1 dark region, 2 outside
	stack  [][2]int
}

func (b *quadBox) dark(x, y int, t byte) bool { return b.g.pix[(b.y0+y)*b.g.w+b.x0+x] < t }

// fill marks the dark region around (sx, sy) with 1 in the mask (after
// clearing it) and returns its area, or -1 when it leaks out of the box.
func (b *quadBox) fill(sx, sy int, t byte) int {
	bw := b.bw
	clear(b.mask)
	b.stack = append(b.stack[:0], [2]int{sx, sy})
	b.mask[sy*bw+sx] = 1
	area := 0
	for len(b.stack) > 0 {
		p := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		area++
		// Eight neighbours: a thin ring turned 45 degrees is connected
		// only through corners.
		for _, d := range [8][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}} {
			x, y := p[0]+d[0], p[1]+d[1]
			if x < 0 || y < 0 || x >= bw || y >= bw {
				return -1
			}
			if b.mask[y*bw+x] == 0 && b.dark(x, y, t) {
				b.mask[y*bw+x] = 1
				b.stack = append(b.stack, [2]int{x, y})
			}
		}
	}
	return area
}

// quadAt finds the pattern's region at threshold t and fits its quad.
func (b *quadBox) quadAt(t byte) (quad, bool) {
	f, bw := b.f, b.bw
	m, mmin := max(f.mh, f.mv), min(f.mh, f.mv)
	cx, cy := int(f.x)-b.x0, int(f.y)-b.y0
	if !b.dark(cx, cy, t) {
		return quad{}, false
	}
	// The core first: when blur has filled the light ring, the core and
	// the ring are one region, the whole pattern. Otherwise the ring is
	// the next dark region along the row, past the light ring.
	area := b.fill(cx, cy, t)
	if area < 0 {
		return quad{}, false
	}
	if float64(area) < 25*mmin*mmin {
		x := cx
		for x < bw && b.mask[cy*bw+x] == 1 {
			x++
		}
		for x < bw && !b.dark(x, cy, t) {
			x++
		}
		if x >= bw || float64(x-cx) > 5.5*f.mh {
			return quad{}, false
		}
		if area = b.fill(x, cy, t); area < 0 {
			return quad{}, false
		}
	}
	// A ring of 24 square modules, or the whole pattern of 49; a ring
	// thinned by overexposure or a screen's glow can have much less.
	if float64(area) < 5*mmin*mmin || float64(area) > 60*m*m {
		return quad{}, false
	}
	return b.quadOf()
}

// quadOf fits a quadrilateral to the outer boundary of the region in the
// mask: its corners are the boundary's extreme points (the farthest from
// the centre, the farthest from that one, and the farthest on either side
// of the diagonal they make); a line fitted to each side between them
// places the corners to a fraction of a pixel.
func (b *quadBox) quadOf() (quad, bool) {
	f, bw, mask := b.f, b.bw, b.mask
	m, mmin := max(f.mh, f.mv), min(f.mh, f.mv)
	// Mark the outside, then collect region pixels that touch it.
	stack := b.stack[:0]
	for i := range bw {
		for _, p := range [4][2]int{{i, 0}, {i, bw - 1}, {0, i}, {bw - 1, i}} {
			if mask[p[1]*bw+p[0]] == 0 {
				mask[p[1]*bw+p[0]] = 2
				stack = append(stack, p)
			}
		}
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			x, y := p[0]+d[0], p[1]+d[1]
			if x >= 0 && y >= 0 && x < bw && y < bw && mask[y*bw+x] == 0 {
				mask[y*bw+x] = 2
				stack = append(stack, [2]int{x, y})
			}
		}
	}
	b.stack = stack
	var bx, by []float64
	var mx, my float64
	for y := 1; y < bw-1; y++ {
		for x := 1; x < bw-1; x++ {
			i := y*bw + x
			if mask[i] == 1 && (mask[i-1] == 2 || mask[i+1] == 2 || mask[i-bw] == 2 || mask[i+bw] == 2) {
				px, py := float64(b.x0+x)+0.5, float64(b.y0+y)+0.5
				bx = append(bx, px)
				by = append(by, py)
				mx += px
				my += py
			}
		}
	}
	n := len(bx)
	if n < 16 {
		return quad{}, false
	}
	mx, my = mx/float64(n), my/float64(n)
	far := func(fx, fy float64) int {
		best, bd := 0, -1.0
		for i := range bx {
			if d := (bx[i]-fx)*(bx[i]-fx) + (by[i]-fy)*(by[i]-fy); d > bd {
				best, bd = i, d
			}
		}
		return best
	}
	c0 := far(mx, my)
	c2 := far(bx[c0], by[c0])
	dx, dy := bx[c2]-bx[c0], by[c2]-by[c0]
	c1, c3 := -1, -1
	var d1, d3 float64
	for i := range bx {
		s := dx*(by[i]-by[c0]) - dy*(bx[i]-bx[c0])
		if s > d1 {
			c1, d1 = i, s
		}
		if -s > d3 {
			c3, d3 = i, -s
		}
	}
	if c1 < 0 || c3 < 0 {
		return quad{}, false
	}
	corners := [4]int{c0, c1, c2, c3}
	// Sides: the boundary points near the segment between two corners,
	// leaving out those near the corners themselves.
	var lines [4]line
	for s := range 4 {
		a, e := corners[s], corners[(s+1)%4]
		ax, ay := bx[a], by[a]
		lx, ly := bx[e]-ax, by[e]-ay
		l2 := lx*lx + ly*ly
		if l2 < 4 {
			return quad{}, false
		}
		var xs, ys []float64
		for i := range bx {
			u := ((bx[i]-ax)*lx + (by[i]-ay)*ly) / l2
			if u < 0.15 || u > 0.85 {
				continue
			}
			dist := math.Abs((bx[i]-ax)*ly-(by[i]-ay)*lx) / math.Sqrt(l2)
			if dist < max(1.5, 0.5*mmin) {
				xs = append(xs, bx[i])
				ys = append(ys, by[i])
			}
		}
		l, ok := fitLine(xs, ys, max(1, mmin/3))
		if !ok {
			return quad{}, false
		}
		// Pixel centres on the boundary lie half a pixel inside the edge.
		if l.a*mx+l.b*my < l.c {
			l.c += 0.5
		} else {
			l.c -= 0.5
		}
		lines[s] = l
	}
	var q quad
	for i := range 4 {
		x, y, ok := intersect(lines[(i+3)%4], lines[i])
		if !ok || hypot(x-f.x, y-f.y) > 7*m {
			return quad{}, false
		}
		q[i] = [2]float64{x, y}
	}
	// Sides of about seven modules.
	per := 0.0
	for i := range 4 {
		per += hypot(q[(i+1)%4][0]-q[i][0], q[(i+1)%4][1]-q[i][1])
	}
	if per < 4*7*0.6*mmin || per > 4*7*1.6*m {
		return quad{}, false
	}
	// Clockwise on the screen (y down): positive cross product.
	if (q[1][0]-q[0][0])*(q[2][1]-q[0][1])-(q[1][1]-q[0][1])*(q[2][0]-q[0][0]) < 0 {
		q[1], q[3] = q[3], q[1]
	}
	return q, true
}

// sideDirs returns the directions (radians, modulo pi) of the quad's two
// pairs of sides.
func (q *quad) sideDirs() [2]float64 {
	dir := func(a, b [2]float64) float64 { return math.Atan2(b[1]-a[1], b[0]-a[0]) }
	avg := func(a, b float64) float64 {
		// Mean of two directions modulo pi.
		d := math.Mod(b-a+1.5*math.Pi, math.Pi) - 0.5*math.Pi
		return a + d/2
	}
	return [2]float64{avg(dir(q[0], q[1]), dir(q[3], q[2])), avg(dir(q[1], q[2]), dir(q[0], q[3]))}
}

// misalign is how far, in radians, the direction from (x0, y0) to (x1, y1)
// is from the nearest side direction of q.
func (q *quad) misalign(x0, y0, x1, y1 float64) float64 {
	a := math.Atan2(y1-y0, x1-x0)
	best := math.Pi
	for _, d := range q.sideDirs() {
		best = min(best, math.Abs(math.Mod(a-d+2.5*math.Pi, math.Pi)-0.5*math.Pi))
	}
	return best
}

// label rotates q so that its corners come in the code's order (top-left,
// top-right, bottom-right, bottom-left) for the finder at position pos (0
// top-left, 1 top-right, 2 bottom-left) of a code centred near (cx, cy):
// the corner farthest from the centre is the code's outer corner. The
// quad runs clockwise like the code's corners, so a rotation does it.
func (q quad) label(pos int, cx, cy float64) quad {
	far, fd := 0, -1.0
	for i, c := range q {
		if d := hypot(c[0]-cx, c[1]-cy); d > fd {
			far, fd = i, d
		}
	}
	// The outer corner is the finder's top-left, top-right or bottom-left
	// corner; the quad is clockwise like the code, so a rotation puts it
	// in place.
	var out quad
	want := [3]int{0, 1, 3}[pos]
	for i := range 4 {
		out[(want+i)%4] = q[(far+i)%4]
	}
	return out
}

// codeGrid is a code located in an image: its size in modules and the
// map from module to image coordinates.
type codeGrid struct {
	dim     int
	h       homography
	matches []match
	cells   []homography // per alignment-pattern cell, when refined
	cellAt  []int        // cell index for each stretch of modules
	splits  []int        // module positions where cells begin
}

// locate fits a grid to a triple of finders: their corners, the version,
// and the alignment patterns. It returns a few grids to try, the most
// likely first (different dimensions when the version cannot be read).
func locate(g *grayImage, t *triple, w *work) []*codeGrid {
	lu := hypot(t.tr.x-t.tl.x, t.tr.y-t.tl.y)
	lv := hypot(t.bl.x-t.tl.x, t.bl.y-t.tl.y)
	// The code's centre, roughly: halfway between top-right and
	// bottom-left.
	cx, cy := (t.tr.x+t.bl.x)/2, (t.tr.y+t.bl.y)/2
	qs := [3]quad{t.tl.q.label(0, cx, cy), t.tr.q.label(1, cx, cy), t.bl.q.label(2, cx, cy)}
	sideU := func(q quad) float64 {
		return (hypot(q[1][0]-q[0][0], q[1][1]-q[0][1]) + hypot(q[2][0]-q[3][0], q[2][1]-q[3][1])) / 14
	}
	sideV := func(q quad) float64 {
		return (hypot(q[3][0]-q[0][0], q[3][1]-q[0][1]) + hypot(q[2][0]-q[1][0], q[2][1]-q[1][1])) / 14
	}
	mu := (sideU(qs[0]) + sideU(qs[1])) / 2
	mv := (sideV(qs[0]) + sideV(qs[2])) / 2
	est := (lu/mu+lv/mv)/2 + 7
	// Candidate dimensions, nearest the estimate first.
	var dims []int
	for d := 21; d <= 177; d += 4 {
		if math.Abs(float64(d)-est) <= max(9, 0.12*est) {
			dims = append(dims, d)
		}
	}
	slices.SortFunc(dims, func(a, b int) int {
		return cmpFloat(math.Abs(float64(a)-est), math.Abs(float64(b)-est))
	})
	var out []*codeGrid
	seen := map[int]bool{}
	for _, d := range dims {
		if len(out) >= 2 || len(out) > 0 && w.over() {
			break
		}
		gr := fitFinders(qs, d)
		if gr == nil {
			continue
		}
		// From version 7 on, the version is written twice next to the
		// finders: read it and go with the dimension it gives alone.
		known := false
		if d >= 45 {
			if v := gr.readVersion(g, w); v > 0 {
				d2 := 4*v + 17
				if math.Abs(float64(d2)-est) > max(12, 0.2*est) {
					continue
				}
				if d2 != d {
					if gr = fitFinders(qs, d2); gr == nil {
						continue
					}
				}
				d, known = d2, true
			}
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		gr.refine(g, w)
		out = append(out, gr)
		if known {
			break
		}
	}
	return out
}

// fitFinders fits the homography of a d-module code to the corners of its
// three finders.
func fitFinders(qs [3]quad, d int) *codeGrid {
	fd := float64(d)
	origins := [3][2]float64{{0, 0}, {fd - 7, 0}, {0, fd - 7}}
	corner := [4][2]float64{{0, 0}, {7, 0}, {7, 7}, {0, 7}}
	gr := &codeGrid{dim: d}
	for i, q := range qs {
		for c := range 4 {
			gr.matches = append(gr.matches, match{
				mx: origins[i][0] + corner[c][0], my: origins[i][1] + corner[c][1],
				ix: q[c][0], iy: q[c][1], w: 1,
			})
		}
	}
	h, ok := fitHomography(gr.matches)
	if !ok {
		return nil
	}
	gr.h = h
	return gr
}

// moduleValue is the grey level at the centre of module (x, y), averaged
// with four points a quarter module away, which smooths noise without
// reaching into the neighbouring modules.
func (gr *codeGrid) moduleValue(g *grayImage, x, y int) float64 {
	h := gr.mapFor(x, y)
	cx, cy := float64(x)+0.5, float64(y)+0.5
	var s float64
	for _, o := range [5][2]float64{{0, 0}, {-0.22, 0}, {0.22, 0}, {0, -0.22}, {0, 0.22}} {
		px, py := h.apply(cx+o[0], cy+o[1])
		s += g.sampleGray(px, py)
	}
	return s / 5
}

// mapFor is the homography for module (x, y): its cell's when the grid
// was refined on alignment patterns, else the global one.
func (gr *codeGrid) mapFor(x, y int) *homography {
	if gr.cells == nil {
		return &gr.h
	}
	n := len(gr.splits)
	cx, cy := 0, 0
	for cx+1 < n && x >= gr.splits[cx+1] {
		cx++
	}
	for cy+1 < n && y >= gr.splits[cy+1] {
		cy++
	}
	return &gr.cells[cy*n+cx]
}

// readVersion reads the two version blocks (version 7 and up) with a
// threshold from the finder's levels and returns the version either gives
// after BCH correction, or 0.
func (gr *codeGrid) readVersion(g *grayImage, w *work) int {
	d := gr.dim
	t := gr.levelThreshold(g)
	bit := func(x, y int) int {
		if gr.moduleValue(g, x, y) < t {
			return 1
		}
		return 0
	}
	w.add(2 * 18 * moduleCost)
	bits := 0
	for y := 5; y >= 0; y-- {
		for x := d - 9; x >= d-11; x-- {
			bits = bits<<1 | bit(x, y)
		}
	}
	if v, err := gzdecoder.Version_decodeVersionInformation(bits); err == nil && v != nil {
		return v.GetVersionNumber()
	}
	bits = 0
	for x := 5; x >= 0; x-- {
		for y := d - 9; y >= d-11; y-- {
			bits = bits<<1 | bit(x, y)
		}
	}
	if v, err := gzdecoder.Version_decodeVersionInformation(bits); err == nil && v != nil {
		return v.GetVersionNumber()
	}
	return 0
}

// levelThreshold is halfway between the dark centres of the three finders
// and the light of their separators.
func (gr *codeGrid) levelThreshold(g *grayImage) float64 {
	d := float64(gr.dim)
	var dark, light float64
	for _, o := range [3][2]float64{{0, 0}, {d - 7, 0}, {0, d - 7}} {
		x, y := gr.h.apply(o[0]+3.5, o[1]+3.5)
		dark += g.sampleGray(x, y)
		x, y = gr.h.apply(o[0]+3.5, o[1]+1.5) // light ring
		light += g.sampleGray(x, y)
	}
	return (dark + light) / 6
}

// alignment is the 5x5 pattern around an alignment pattern's centre: 1 for
// dark.
var alignment = [5][5]float64{
	{1, 1, 1, 1, 1},
	{1, 0, 0, 0, 1},
	{1, 0, 1, 0, 1},
	{1, 0, 0, 0, 1},
	{1, 1, 1, 1, 1},
}

// refine looks for the alignment patterns where the grid puts them, adds
// each one found to the matches, nearest the finders first so that each
// fit improves the next guess, and then fits one homography per cell of
// the alignment grid to the matches around it. Lens distortion and a
// screen that is not quite flat bend the grid; per-cell maps follow.
func (gr *codeGrid) refine(g *grayImage, w *work) {
	v := (gr.dim - 17) / 4
	if v < 2 {
		return
	}
	ver, err := gzdecoder.Version_GetVersionForNumber(v)
	if err != nil {
		return
	}
	centres := ver.GetAlignmentPatternCenters()
	type apos struct{ x, y int }
	var todo []apos
	last := len(centres) - 1
	for i, cx := range centres {
		for j, cy := range centres {
			if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
				continue // under a finder
			}
			todo = append(todo, apos{cx, cy})
		}
	}
	// Nearest the top-left corner (the finders) first.
	slices.SortStableFunc(todo, func(a, b apos) int { return max(a.x, a.y) - max(b.x, b.y) })
	found := 0
	for i, a := range todo {
		if x, y, ok := gr.findAlignment(g, a.x, a.y, w); ok {
			gr.matches = append(gr.matches, match{mx: float64(a.x) + 0.5, my: float64(a.y) + 0.5, ix: x, iy: y, w: 2})
			found++
			// Refit now and then as the matches spread out.
			if found <= 3 || i%4 == 3 {
				if h, ok := fitHomography(gr.matches); ok {
					gr.h = h
				}
			}
		}
	}
	if found == 0 {
		return
	}
	if h, ok := fitHomography(gr.matches); ok {
		gr.h = h
	}
	if found < 4 || len(centres) < 3 {
		return
	}
	// One map per cell between alignment rows and columns, fitted to the
	// matches weighted by their distance from the cell, in cell spacings.
	n := len(centres) - 1
	gr.splits = make([]int, n)
	for i := range n {
		gr.splits[i] = 0
		if i > 0 {
			gr.splits[i] = centres[i]
		}
	}
	spacing := float64(centres[1] - centres[0])
	if len(centres) > 2 {
		spacing = float64(centres[2] - centres[1])
	}
	gr.cells = make([]homography, n*n)
	for cy := range n {
		for cx := range n {
			mx := float64(centres[cx]+centres[cx+1]) / 2
			my := float64(centres[cy]+centres[cy+1]) / 2
			local := make([]match, len(gr.matches))
			for i, m := range gr.matches {
				dx, dy := (m.mx-mx)/spacing, (m.my-my)/spacing
				r2 := 1 + (dx*dx+dy*dy)/2
				m.w /= r2 * r2 * r2
				local[i] = m
			}
			h, ok := fitHomography(local)
			if !ok || h.residual(local) > 3 {
				h = gr.h
			}
			gr.cells[cy*n+cx] = h
		}
	}
	w.add(n * n * len(gr.matches) * 8)
}

// findAlignment searches around where the grid puts the alignment pattern
// centred on module (ax, ay) for the offset, up to 1.5 modules, where the
// grey levels best correlate with the pattern, and returns its image
// position if the match is convincing. Over five modules the map is
// nearly affine: its derivative at the predicted centre places the
// samples, a coarse search at half a module finds the peak and a fine one
// at an eighth refines it.
func (gr *codeGrid) findAlignment(g *grayImage, ax, ay int, w *work) (float64, float64, bool) {
	cx, cy := float64(ax)+0.5, float64(ay)+0.5
	px, py := gr.h.apply(cx, cy)
	ux, uy := gr.h.apply(cx+1, cy)
	vx, vy := gr.h.apply(cx, cy+1)
	ux, uy, vx, vy = ux-px, uy-py, vx-px, vy-py
	score := func(ox, oy float64) float64 {
		var vals [25]float64
		var mean float64
		for j := range 5 {
			for i := range 5 {
				mx, my := ox+float64(i-2), oy+float64(j-2)
				v := g.sampleGray(px+mx*ux+my*vx, py+mx*uy+my*vy)
				vals[j*5+i] = v
				mean += v
			}
		}
		mean /= 25
		// Correlation with the pattern (dark is low grey, so the pattern
		// counts negatively).
		var sxy, sxx float64
		const tm, tvar = 17.0 / 25, 17.0 / 25 * (1 - 17.0/25) * 25
		for k, v := range vals {
			d := v - mean
			sxy += d * (alignment[k/5][k%5] - tm)
			sxx += d * d
		}
		if sxx == 0 {
			return -1
		}
		// Prefer the predicted place a little over far ones.
		return -sxy/math.Sqrt(sxx*tvar) - 0.03*hypot(ox, oy)
	}
	best, bx, by := -2.0, 0.0, 0.0
	for oy := -1.5; oy <= 1.5; oy += 0.5 {
		for ox := -1.5; ox <= 1.5; ox += 0.5 {
			if r := score(ox, oy); r > best {
				best, bx, by = r, ox, oy
			}
		}
	}
	cxo, cyo := bx, by
	for oy := -0.375; oy <= 0.375; oy += 0.125 {
		for ox := -0.375; ox <= 0.375; ox += 0.125 {
			if r := score(cxo+ox, cyo+oy); r > best {
				best, bx, by = r, cxo+ox, cyo+oy
			}
		}
	}
	w.add((49 + 49) * 25 * sampleCost)
	if best < 0.6 {
		return 0, 0, false
	}
	return px + bx*ux + by*vx, py + bx*uy + by*vy, true
}

// sample returns the grey level of every module, row by row.
func (gr *codeGrid) sample(g *grayImage, w *work) []float64 {
	d := gr.dim
	out := make([]float64, d*d)
	for y := range d {
		for x := range d {
			out[y*d+x] = gr.moduleValue(g, x, y)
		}
	}
	w.add(moduleCost * d * d)
	return out
}

// thresholdLocal turns module levels into bits (true for dark) against the
// mean of a (2r+1)-module square around each module.
func thresholdLocal(vals []float64, d, r int) []bool {
	sum := make([]float64, (d+1)*(d+1))
	for y := range d {
		var acc float64
		for x := range d {
			acc += vals[y*d+x]
			sum[(y+1)*(d+1)+x+1] = sum[y*(d+1)+x+1] + acc
		}
	}
	out := make([]bool, d*d)
	for y := range d {
		y0, y1 := max(y-r, 0), min(y+r+1, d)
		for x := range d {
			x0, x1 := max(x-r, 0), min(x+r+1, d)
			s := sum[y1*(d+1)+x1] - sum[y0*(d+1)+x1] - sum[y1*(d+1)+x0] + sum[y0*(d+1)+x0]
			mean := s / float64((y1-y0)*(x1-x0))
			out[y*d+x] = vals[y*d+x] < mean
		}
	}
	return out
}

// deblur sharpens module levels on the grid: each level moves away from
// the mean of its four neighbours by amount. A blur of about a module
// mixes each module with its neighbours; this undoes the first-order part
// of that mixing, cheaply, after sampling.
func deblur(vals []float64, d int, amount float64) []float64 {
	out := make([]float64, len(vals))
	for y := range d {
		for x := range d {
			v := vals[y*d+x]
			var s float64
			var n int
			for _, o := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				xx, yy := x+o[0], y+o[1]
				if xx >= 0 && yy >= 0 && xx < d && yy < d {
					s += vals[yy*d+xx]
					n++
				}
			}
			out[y*d+x] = v + amount*(v-s/float64(n))
		}
	}
	return out
}

// bitMatrix builds gozxing's matrix from bits.
func bitMatrix(bits []bool, d int) *gozxing.BitMatrix {
	m, err := gozxing.NewSquareBitMatrix(d)
	if err != nil {
		return nil
	}
	for y := range d {
		for x := range d {
			if bits[y*d+x] {
				m.Set(x, y)
			}
		}
	}
	return m
}
