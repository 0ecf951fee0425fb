package qr

import (
	"math"
	"slices"
)

// finder is a candidate finder pattern: the centre of a 7x7-module square
// ring around a 3x3 core, and its apparent module size along rows and
// columns, which differ when the code is seen at an angle.
type finder struct {
	x, y   float64
	mh, mv float64
	count  int  // rows that confirmed it
	q      quad // outer corners, clockwise, once found
}

func (f *finder) module() float64 { return (f.mh + f.mv) / 2 }

// ratioOK reports whether five runs (dark, light, dark, light, dark) have
// the 1:1:3:1:1 proportions of a line through a finder pattern's centre.
// Any line through the centre has them, whatever the rotation, and close
// to it under perspective; tol is the allowed error of a one-module run
// in modules.
func ratioOK(r *[5]int, tol float64) bool {
	total := 0
	for _, v := range r {
		if v == 0 {
			return false
		}
		total += v
	}
	if total < 7 {
		return false
	}
	m := float64(total) / 7
	d := tol * m
	return math.Abs(float64(r[0])-m) < d && math.Abs(float64(r[1])-m) < d &&
		math.Abs(float64(r[2])-3*m) < 3*d && math.Abs(float64(r[3])-m) < d && math.Abs(float64(r[4])-m) < d
}

// crossRuns measures the five runs of a finder pattern through (x, y)
// along the direction (dx, dy), a unit step in each of x and y: from the
// dark centre out to the end of the outer ring on both sides, none longer
// than maxRun. It returns the runs and where the middle of the centre run
// lies, in steps from (x, y).
func crossRuns(b *bitImage, x, y, dx, dy, maxRun int) (r [5]int, off float64, ok bool) {
	if !b.at(x, y) {
		return r, 0, false
	}
	// Forward: the rest of the centre, the light ring, the dark ring.
	fwd := [3]int{}
	i, j := x, y
	for s := 0; s < 3; s++ {
		want := s != 1
		for b.at(i, j) == want && fwd[s] <= maxRun {
			fwd[s]++
			i, j = i+dx, j+dy
		}
		if fwd[s] == 0 || fwd[s] > maxRun || i < 0 || j < 0 || i >= b.w || j >= b.h {
			return r, 0, false
		}
	}
	back := [3]int{}
	i, j = x-dx, y-dy
	for s := 0; s < 3; s++ {
		want := s != 1
		for b.at(i, j) == want && back[s] <= maxRun {
			back[s]++
			i, j = i-dx, j-dy
		}
		if (back[s] == 0 && s > 0) || back[s] > maxRun || i < 0 || j < 0 || i >= b.w || j >= b.h {
			return r, 0, false
		}
	}
	r = [5]int{back[2], back[1], back[0] + fwd[0], fwd[1], fwd[2]}
	// The centre run spans [-back[0], fwd[0]) steps from the start.
	off = float64(fwd[0]-back[0]) / 2
	return r, off, true
}

func runTotal(r *[5]int) int { return r[0] + r[1] + r[2] + r[3] + r[4] }

// findFinders scans every row of b for the 1:1:3:1:1 runs of a finder
// pattern, confirms each hit along the column and both diagonals through
// its centre, and merges hits on the same pattern. The column may show
// the pattern at a different scale than the row (a tilted code), as long
// as its proportions hold.
func findFinders(b *bitImage) []finder {
	var found []finder
	for y := 0; y < b.h; y += rowStep {
		row := b.g.pix[y*b.w : (y+1)*b.w]
		lim := b.limit[(y/b.bs)*b.nx : (y/b.bs+1)*b.nx]
		// runs holds the last five runs; n counts how many are valid. The
		// current run is runs[4] and has colour cur.
		var runs [5]int
		n := 0
		cur := byte(2)
		// end handles the end of a run of colour cur at x: a dark run
		// ending completes dark, light, dark, light, dark.
		end := func(x int) {
			// The centre run is the longest; checking that first skips
			// most runs cheaply.
			if cur == 1 && n >= 5 && runs[2] >= runs[0] && runs[2] >= runs[4] && runs[2] > runs[1] && ratioOK(&runs, 0.5) {
				cx := float64(x) - float64(runs[4]) - float64(runs[3]) - float64(runs[2])/2
				if f, ok := confirm(b, cx, y, &runs); ok {
					found = addFinder(found, f)
				}
			}
		}
		for bx, t := range lim {
			x1 := min((bx+1)*b.bs, b.w)
			for x := bx * b.bs; x < x1; x++ {
				v := byte(0)
				if row[x] < t {
					v = 1
				}
				if v == cur {
					runs[4]++
					continue
				}
				end(x)
				runs = [5]int{runs[1], runs[2], runs[3], runs[4], 1}
				cur = v
				n++
			}
		}
		end(b.w)
	}
	return found
}

// rowStep is the spacing of the rows findFinders scans: a finder's centre
// run is three modules tall, at least six rows for the smallest codes, so
// every other row finds each finder several times for half the work.
const rowStep = 2

// confirm checks a row hit at (cx, y) across the column and the diagonals
// and returns the refined centre and module sizes.
func confirm(b *bitImage, cx float64, y int, row *[5]int) (finder, bool) {
	total := runTotal(row)
	maxRun := 4 * row[2]
	x := int(cx)
	rv, offV, ok := crossRuns(b, x, y, 0, 1, maxRun)
	if !ok || !ratioOK(&rv, 0.5) {
		return finder{}, false
	}
	cy := float64(y) + offV + 0.5
	// Across the row again, through the centre just found.
	rh, offH, ok := crossRuns(b, x, int(cy), 1, 0, maxRun)
	if !ok || !ratioOK(&rh, 0.5) {
		return finder{}, false
	}
	cx = float64(x) + offH + 0.5
	th, tv := runTotal(&rh), runTotal(&rv)
	if th > 3*tv || tv > 3*th || 2*th < total || th > 2*total {
		return finder{}, false
	}
	// Both diagonals, more loosely: they rule out text and other
	// patterns that look like a finder along two axes only.
	for _, d := range [2][2]int{{1, 1}, {1, -1}} {
		rd, _, ok := crossRuns(b, int(cx), int(cy), d[0], d[1], maxRun)
		if !ok || !ratioOK(&rd, 0.75) {
			return finder{}, false
		}
	}
	return finder{x: cx, y: cy, mh: float64(th) / 7, mv: float64(tv) / 7, count: 1}, true
}

// addFinder merges f into a candidate at the same place and scale, or
// appends it.
func addFinder(found []finder, f finder) []finder {
	for i := range found {
		c := &found[i]
		m := c.module()
		if math.Abs(c.x-f.x) < 2*m && math.Abs(c.y-f.y) < 2*m && f.module() < 1.5*m && m < 1.5*f.module() {
			n := float64(c.count)
			c.x = (c.x*n + f.x) / (n + 1)
			c.y = (c.y*n + f.y) / (n + 1)
			c.mh = (c.mh*n + f.mh) / (n + 1)
			c.mv = (c.mv*n + f.mv) / (n + 1)
			c.count++
			return found
		}
	}
	return append(found, f)
}

// triple is three finder patterns placed as a code's bottom-left,
// top-left and top-right corners, with a score: lower is more like a code.
type triple struct {
	bl, tl, tr finder
	score      float64
}

// maxCandidates bounds the finder candidates combined into triples, the
// most confirmed first.
const maxCandidates = 10

// withQuads keeps the candidates, the most confirmed first, whose outer
// corners can be found in g, with their corners.
func withQuads(g *grayImage, cands []finder, w *work) []finder {
	cs := slices.Clone(cands)
	// Candidates confirmed by few rows for their size are usually noise.
	cs = slices.DeleteFunc(cs, func(f finder) bool { return float64(f.count) < min(2, f.mv/rowStep) })
	slices.SortStableFunc(cs, func(a, b finder) int { return b.count - a.count })
	if len(cs) > maxCandidates {
		cs = cs[:maxCandidates]
	}
	out := cs[:0]
	for _, f := range cs {
		if q, ok := finderQuad(g, &f, w); ok {
			f.q = q
			out = append(out, f)
		}
	}
	return out
}

// triples returns the plausible triples among finders with corners, the
// best first. In a code, the top-left finder's sides point at the other
// two finders, whose own sides are parallel to the line joining them to
// it, while the line between top-right and bottom-left is a diagonal: that
// tells the corners apart even in strong perspective, where the longest
// side of the triangle need not be the diagonal. The module sizes must
// also agree within what perspective does, and the finders lie far enough
// apart for a version 1 code.
func triples(cs []finder) []triple {
	var out []triple
	for i := 0; i < len(cs); i++ {
		for j := i + 1; j < len(cs); j++ {
			for k := j + 1; k < len(cs); k++ {
				if t, ok := makeTriple(cs[i], cs[j], cs[k]); ok {
					out = append(out, t)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b triple) int { return cmpFloat(a.score, b.score) })
	return out
}

func makeTriple(a, b, c finder) (triple, bool) {
	mods := []float64{a.module(), b.module(), c.module()}
	lo, hi := slices.Min(mods), slices.Max(mods)
	if hi > 3*lo {
		return triple{}, false
	}
	best := triple{score: math.Inf(1)}
	for _, o := range [3][3]finder{{a, b, c}, {b, c, a}, {c, a, b}} {
		tl, p, q := o[0], o[1], o[2]
		// Sides along the edges, the third line a diagonal.
		mis := tl.q.misalign(tl.x, tl.y, p.x, p.y) + p.q.misalign(tl.x, tl.y, p.x, p.y) +
			tl.q.misalign(tl.x, tl.y, q.x, q.y) + q.q.misalign(tl.x, tl.y, q.x, q.y)
		diag := math.Pi/4 - p.q.misalign(p.x, p.y, q.x, q.y)
		score := mis + 0.5*diag
		if score < best.score {
			ux, uy := p.x-tl.x, p.y-tl.y
			vx, vy := q.x-tl.x, q.y-tl.y
			// In image coordinates (y down) top-right x bottom-left > 0.
			if ux*vy-uy*vx < 0 {
				p, q = q, p
			}
			best = triple{bl: q, tl: tl, tr: p, score: score}
		}
	}
	t := &best
	lu := hypot(t.tr.x-t.tl.x, t.tr.y-t.tl.y)
	lv := hypot(t.bl.x-t.tl.x, t.bl.y-t.tl.y)
	nu := lu / ((t.tl.module() + t.tr.module()) / 2) // modules between the centres, roughly
	nv := lv / ((t.tl.module() + t.bl.module()) / 2)
	// Each side within 0.35 radians (20 degrees) of the finders' edges on
	// average, and a diagonal that is one.
	if best.score > 4*0.35+0.5*0.5 || nu < 10 || nv < 10 || nu > 250 || nv > 250 || lu > 4*lv || lv > 4*lu {
		return triple{}, false
	}
	t.score += 0.3*(max(nu, nv)/min(nu, nv)-1) + 0.2*(hi/lo-1)
	return best, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
