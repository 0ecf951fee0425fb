package qr

import (
	"math"
	"slices"
)

// bitImage is a binarised image, kept as the grey image and one threshold
// per block: a pixel is dark when its level is below its block's
// threshold. Nothing is computed per pixel until a pixel is looked at, so
// that a search that reads every other row pays for half the image.
type bitImage struct {
	w, h  int
	g     *grayImage
	bs    int    // block size, pixels
	nx    int    // blocks a row
	limit []byte // per block, row by row
}

func (b *bitImage) at(x, y int) bool {
	return x >= 0 && y >= 0 && x < b.w && y < b.h && b.g.pix[y*b.w+x] < b.limit[(y/b.bs)*b.nx+x/b.bs]
}

// binarize thresholds g against local means: dark where a pixel is darker
// than the mean around it by more than bias grey levels plus pct percent
// of the mean. The image is cut into blocks of about rad*2/5 pixels; each
// block's threshold comes from the mean of the 5x5 blocks around it, a
// window about 2*rad wide. A window a few finder patterns wide follows
// uneven light, glare and a screen's falling brightness that one global
// threshold cannot; the bias keeps flat areas (a blank page, the quiet
// zone) light instead of turning their noise into specks. The block sums
// read every other row.
//
// With lin, the means are taken in linear light. Grey levels are
// gamma-encoded: a blurred edge crosses the encoded midpoint on its dark
// side, so that thresholding them thins dark features (a finder's
// one-module ring most of all); in linear light the midpoint is the edge.
func binarize(g *grayImage, rad, bias, pct int, lin bool) *bitImage {
	w, h := g.w, g.h
	bs := max(4, rad*2/5)
	nx, ny := (w+bs-1)/bs, (h+bs-1)/bs
	sums := make([]int, nx*ny)
	counts := make([]int, ny)
	lut := &linear
	for y := 0; y < h; y += 2 {
		row := g.pix[y*w : (y+1)*w]
		bsum := sums[(y/bs)*nx : (y/bs+1)*nx]
		counts[y/bs]++
		// One pass along the row, a block's sum handed over every bs
		// pixels.
		bx, left, s := 0, bs, 0
		if lin {
			for _, v := range row {
				s += int(lut[v])
				if left--; left == 0 {
					bsum[bx] += s
					bx, left, s = bx+1, bs, 0
				}
			}
		} else {
			for _, v := range row {
				s += int(v)
				if left--; left == 0 {
					bsum[bx] += s
					bx, left, s = bx+1, bs, 0
				}
			}
		}
		if left < bs {
			bsum[bx] += s
		}
	}
	// Block means, then the mean of each 5x5 neighbourhood of blocks
	// (clamped at the edges; sums along rows, then along columns), as a
	// byte threshold per block: dark below it.
	const k = 2
	means := make([]float64, nx*ny)
	for by := range ny {
		for bx := range nx {
			bwid := min((bx+1)*bs, w) - bx*bs
			means[by*nx+bx] = float64(sums[by*nx+bx]) / float64(max(counts[by], 1)*bwid)
		}
	}
	rowSum := make([]float64, nx*ny)
	for by := range ny {
		m := means[by*nx : (by+1)*nx]
		for bx := range nx {
			var s float64
			for xx := max(bx-k, 0); xx <= min(bx+k, nx-1); xx++ {
				s += m[xx]
			}
			rowSum[by*nx+bx] = s / float64(min(bx+k, nx-1)-max(bx-k, 0)+1)
		}
	}
	limit := make([]byte, nx*ny)
	for by := range ny {
		y0, y1 := max(by-k, 0), min(by+k, ny-1)
		for bx := range nx {
			var s float64
			for yy := y0; yy <= y1; yy++ {
				s += rowSum[yy*nx+bx]
			}
			t := s/float64(y1-y0+1)*float64(100-pct)/100 - float64(bias)
			if lin {
				limit[by*nx+bx] = encoded(t - 3*float64(bias))
			} else {
				limit[by*nx+bx] = byte(min(max(math.Ceil(t), 0), 255))
			}
		}
	}
	return &bitImage{w: w, h: h, g: g, bs: bs, nx: nx, limit: limit}
}

// linear maps an encoded grey level to linear light, scaled to 0..1020:
// a power of 2.25, close to the sRGB curve phone cameras approximate, and
// computed with exact operations only (math.Pow goes through Exp and Log,
// whose assembly on amd64 can differ from WebAssembly in the last bit).
var linear = func() (t [256]uint16) {
	for i := range t {
		c := float64(i) / 255
		t[i] = uint16(math.Round(c * c * math.Sqrt(math.Sqrt(c)) * 1020))
	}
	return t
}()

// encoded is the least grey level whose linear light is at least l: a
// pixel is darker than l exactly when its level is below encoded(l).
func encoded(l float64) byte {
	i, _ := slices.BinarySearchFunc(linear[:], l, func(v uint16, l float64) int { return cmpFloat(float64(v), l) })
	return byte(min(i, 255))
}

// sharpen returns g with its detail amplified: g + amount*(g - box(g)),
// the box 5x5 pixels (edges repeated). It undoes part of a defocus or
// motion blur of about that size, so that the thin light rings of the
// finder patterns separate again. Running sums over a ring of five rows
// make it a few operations a pixel.
func (g *grayImage) sharpen(amount float64) *grayImage {
	const rad = 2
	w, h := g.w, g.h
	out := &grayImage{w: w, h: h, pix: make([]byte, len(g.pix))}
	if w < 2*rad+2 || h < 2*rad+2 {
		copy(out.pix, g.pix)
		return out
	}
	// rowSums writes the sums of 5 horizontal neighbours of row y.
	rowSums := func(y int, dst []uint16) {
		row := g.pix[min(max(y, 0), h-1)*w:][:w]
		s := 3*uint16(row[0]) + uint16(row[1]) + uint16(row[2])
		for x := range rad + 1 {
			dst[x] = s
			s += uint16(row[x+rad+1]) - uint16(row[max(x-rad, 0)])
		}
		for x := rad + 1; x < w-rad-1; x++ {
			dst[x] = s
			s += uint16(row[x+rad+1]) - uint16(row[x-rad])
		}
		for x := max(w-rad-1, rad+1); x < w; x++ {
			dst[x] = s
			s += uint16(row[min(x+rad+1, w-1)]) - uint16(row[x-rad])
		}
	}
	var ring [2*rad + 1][]uint16
	col := make([]uint16, w) // at most 25*255
	for i := range ring {
		ring[i] = make([]uint16, w)
		rowSums(i-rad, ring[i])
		for x, v := range ring[i] {
			col[x] += v
		}
	}
	a := int(amount * 256)
	const inv = (1 << 20) / 25 // 1/25 in 20-bit fixed point
	for y := range h {
		src := g.pix[y*w : (y+1)*w]
		o := out.pix[y*w : (y+1)*w]
		c := col[:len(src)]
		for x, v := range src {
			mean := int((uint32(c[x])*inv + 1<<19) >> 20)
			r := int(v) + (a*(int(v)-mean))>>8
			o[x] = byte(min(max(r, 0), 255))
		}
		// Slide the window down: the oldest row out, row y+rad+1 in.
		old := ring[y%len(ring)]
		for x, v := range old {
			col[x] -= v
		}
		rowSums(y+rad+1, old)
		for x, v := range old {
			col[x] += v
		}
	}
	return out
}
