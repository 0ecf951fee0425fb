package qr

import (
	"bytes"
	"fmt"
	"math"

	"github.com/makiuchi-d/gozxing"
	gzdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// maxTriples bounds the finder triples one grid pass reads.
const maxTriples = 3

// readGrids is one pass of the grid reader: it binarises det (the image
// or a smaller copy of it) and finds finder pattern candidates there; then,
// for each of the samplers in turn, it locates the grids of the most
// plausible triples in that image and reads their modules from each of
// the samplers. A code read, it checks the other triples that lie outside
// it for a second code.
func readGrids(det *grayImage, samplers []*grayImage, linear bool, w *work) (*decoded, error) {
	// The threshold window: a few finder patterns across for the usual
	// module sizes. A wider one reaches the phone's dark edge or a
	// glare and darkens the threshold next to the code; the window for a
	// half-size search is wider relative to its image.
	div := 48
	switch {
	case linear:
		div = 64
	case det.w < samplers[0].w:
		div = 24
	}
	rad := max(4, min(det.w, det.h)/div)
	bin := binarize(det, rad, 2, 3, linear)
	found := findFinders(bin)
	w.add(gridPixelCost * det.w * det.h)
	scale := float64(samplers[0].w) / float64(det.w)
	for i := range found {
		c := &found[i]
		c.x, c.y, c.mh, c.mv = c.x*scale, c.y*scale, c.mh*scale, c.mv*scale
	}
	var lastErr error = gozxing.NewNotFoundException("no finder triple")
	for gi, geo := range samplers {
		if gi > 0 && w.over() {
			break
		}
		cands := withQuads(geo, found, w)
		ts := triples(cands)
		if len(ts) > maxTriples {
			ts = ts[:maxTriples]
		}
		for i := range ts {
			if (gi > 0 || i > 0) && w.over() {
				break
			}
			d, gr, err := readTriple(geo, samplers, &ts[i], w)
			if err != nil {
				lastErr = err
				continue
			}
			if err := secondCode(geo, samplers, d, gr, cands, w); err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	return nil, lastErr
}

// readTriple locates the grid of a triple in geo and decodes it, trying
// several ways of turning module levels into bits.
func readTriple(geo *grayImage, samplers []*grayImage, t *triple, w *work) (*decoded, *codeGrid, error) {
	var lastErr error = gozxing.NewNotFoundException("no grid")
	for _, gr := range locate(geo, t, w) {
		if d, err := gr.read(samplers, w); err == nil {
			d.points = []gozxing.ResultPoint{
				gozxing.NewResultPoint(t.bl.x, t.bl.y),
				gozxing.NewResultPoint(t.tl.x, t.tl.y),
				gozxing.NewResultPoint(t.tr.x, t.tr.y),
			}
			return d, gr, nil
		} else {
			lastErr = err
		}
	}
	return nil, nil, lastErr
}

// read samples the grid's modules in each image and decodes them.
func (gr *codeGrid) read(samplers []*grayImage, w *work) (*decoded, error) {
	var lastErr error
	for _, g := range samplers {
		vals := gr.sample(g, w)
		d := gr.dim
		for _, v := range bitVariants {
			src := vals
			if v.deblur > 0 {
				src = deblur(vals, d, v.deblur)
			}
			bits := thresholdLocal(src, d, v.radius)
			w.add(thresholdCost * d * d)
			res, err := decodeBits(bits, d, w)
			if err != nil {
				lastErr = err
				continue
			}
			return res, nil
		}
	}
	return nil, lastErr
}

// bitVariants are the ways module levels become bits, in order: a local
// threshold over 9x9 modules, over 17x17 (a larger window rides over
// glare and noise better, a smaller one follows uneven light), and the
// deblurring step on the grid before the threshold, mild and strong.
var bitVariants = []struct {
	radius int
	deblur float64
}{
	{4, 0}, {8, 0}, {4, 0.6}, {4, 1.5},
}

// decodeBits decodes a sampled bit matrix with gozxing, in both
// orientations (gozxing also tries the mirror image), and reads its
// segments exactly.
func decodeBits(bits []bool, d int, w *work) (out *decoded, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("qr: gozxing failure: %v", r)
		}
	}()
	if patternErrors(bits, d) > 0.12 {
		return nil, gozxing.NewFormatException("function patterns do not match")
	}
	if !formatReadable(bits, d) {
		return nil, gozxing.NewFormatException("no format information")
	}
	w.add(decodeCost)
	m := bitMatrix(bits, d)
	if m == nil {
		return nil, gozxing.NewNotFoundException("dimension %d", d)
	}
	res, err := gzdecoder.NewDecoder().Decode(m, nil)
	if err != nil {
		return nil, err
	}
	return readSegments(res.GetRawBytes(), res.GetECLevel(), res.GetByteSegments())
}

// patternErrors is the share of the function-pattern modules (finders,
// timing lines, alignment patterns) that the bits get wrong: about half
// for a grid of the wrong size or place, a few percent for a readable one.
// Past 12 %, the data modules have as many errors and Reed-Solomon cannot
// correct them (level M restores about 15 % of the codewords, and a
// codeword is eight modules): decodeBits then skips gozxing's decoding,
// which costs a millisecond in WebAssembly.
func patternErrors(bits []bool, d int) float64 {
	n, bad := 0, 0
	check := func(x, y int, dark bool) {
		n++
		if bits[y*d+x] != dark {
			bad++
		}
	}
	for _, o := range [3][2]int{{0, 0}, {d - 7, 0}, {0, d - 7}} {
		for y := range 7 {
			for x := range 7 {
				c := max(abs(x-3), abs(y-3))
				check(o[0]+x, o[1]+y, c != 2)
			}
		}
	}
	for i := 8; i < d-8; i++ {
		check(i, 6, i%2 == 0)
		check(6, i, i%2 == 0)
	}
	if v, err := gzdecoder.Version_GetVersionForNumber((d - 17) / 4); err == nil && d >= 25 {
		cs := v.GetAlignmentPatternCenters()
		last := len(cs) - 1
		for i, cx := range cs {
			for j, cy := range cs {
				if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
					continue
				}
				for y := -2; y <= 2; y++ {
					for x := -2; x <= 2; x++ {
						check(cx+x, cy+y, max(abs(x), abs(y)) != 1)
					}
				}
			}
		}
	}
	return float64(bad) / float64(n)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// formatReadable reports whether either copy of the format information
// (15 bits next to the finders) decodes, read straight or mirrored: when
// neither does, gozxing would fail too, only later.
func formatReadable(bits []bool, d int) bool {
	for _, mirror := range []bool{false, true} {
		get := func(x, y int) uint {
			if mirror {
				x, y = y, x
			}
			if bits[y*d+x] {
				return 1
			}
			return 0
		}
		var f1, f2 uint
		for i := range 6 {
			f1 = f1<<1 | get(i, 8)
		}
		f1 = f1<<1 | get(7, 8)
		f1 = f1<<1 | get(8, 8)
		f1 = f1<<1 | get(8, 7)
		for j := 5; j >= 0; j-- {
			f1 = f1<<1 | get(8, j)
		}
		for j := d - 1; j >= d-7; j-- {
			f2 = f2<<1 | get(8, j)
		}
		for i := d - 8; i < d; i++ {
			f2 = f2<<1 | get(i, 8)
		}
		if gzdecoder.FormatInformation_DecodeFormatInformation(f1, f2) != nil {
			return true
		}
	}
	return false
}

// secondCode looks for another code among the finder candidates that lie
// outside the code just read: two codes with different payloads make the
// image ambiguous (which did the holder mean to show?); the same payload
// twice is fine.
func secondCode(geo *grayImage, samplers []*grayImage, first *decoded, gr *codeGrid, cands []finder, w *work) error {
	inv, ok := gr.h.inverse()
	if !ok {
		return nil
	}
	var outside []finder
	for _, c := range cands {
		mx, my := inv.apply(c.x, c.y)
		pad := 2.0
		if mx > -pad && my > -pad && mx < float64(gr.dim)+pad && my < float64(gr.dim)+pad {
			continue
		}
		outside = append(outside, c)
	}
	if len(outside) < 3 {
		return nil
	}
	ts := triples(outside)
	if len(ts) > maxTriples {
		ts = ts[:maxTriples]
	}
	want := payload(first.segs)
	for i := range ts {
		d2, _, err := readTriple(geo, samplers, &ts[i], w)
		if err == nil && !bytes.Equal(payload(d2.segs), want) {
			return fmt.Errorf("%w: a version %d and a version %d code", ErrMultipleCodes, first.version, d2.version)
		}
	}
	return nil
}

// inverse returns the inverse map, image to module coordinates.
func (h *homography) inverse() (homography, bool) {
	m := h
	det := m[0]*(m[4]*m[8]-m[5]*m[7]) - m[1]*(m[3]*m[8]-m[5]*m[6]) + m[2]*(m[3]*m[7]-m[4]*m[6])
	if math.Abs(det) < 1e-12 {
		return homography{}, false
	}
	return homography{
		(m[4]*m[8] - m[5]*m[7]) / det, (m[2]*m[7] - m[1]*m[8]) / det, (m[1]*m[5] - m[2]*m[4]) / det,
		(m[5]*m[6] - m[3]*m[8]) / det, (m[0]*m[8] - m[2]*m[6]) / det, (m[2]*m[3] - m[0]*m[5]) / det,
		(m[3]*m[7] - m[4]*m[6]) / det, (m[1]*m[6] - m[0]*m[7]) / det, (m[0]*m[4] - m[1]*m[3]) / det,
	}, true
}
