package qr

// bitImage is a binarised image: one byte a pixel, 1 for dark.
type bitImage struct {
	w, h int
	pix  []byte
}

func (b *bitImage) at(x, y int) bool {
	return x >= 0 && y >= 0 && x < b.w && y < b.h && b.pix[y*b.w+x] != 0
}

// binarize thresholds g against the mean of a square window around each
// pixel (radius rad): dark when darker than the local mean by more than
// bias grey levels plus pct percent of it. A window a few finder patterns
// wide follows uneven light, glare and a screen's falling brightness that
// one global threshold cannot; the bias keeps flat areas (a blank page,
// the quiet zone) light instead of turning their noise into specks.
func binarize(g *grayImage, rad, bias, pct int) *bitImage {
	w, h := g.w, g.h
	out := &bitImage{w: w, h: h, pix: make([]byte, w*h)}
	// Integral image with a zero row and column in front.
	iw := w + 1
	sum := make([]uint32, iw*(h+1))
	for y := range h {
		row := g.pix[y*w : (y+1)*w]
		var acc uint32
		prev := sum[y*iw : (y+1)*iw]
		cur := sum[(y+1)*iw : (y+2)*iw]
		for x, v := range row {
			acc += uint32(v)
			cur[x+1] = prev[x+1] + acc
		}
	}
	for y := range h {
		y0, y1 := max(y-rad, 0), min(y+rad+1, h)
		top, bot := sum[y0*iw:(y0+1)*iw], sum[y1*iw:(y1+1)*iw]
		row := g.pix[y*w : (y+1)*w]
		o := out.pix[y*w : (y+1)*w]
		rows := uint32(y1 - y0)
		for x, v := range row {
			x0, x1 := max(x-rad, 0), min(x+rad+1, w)
			s := bot[x1] - bot[x0] - top[x1] + top[x0]
			n := rows * uint32(x1-x0)
			// v < mean - bias - pct% of mean, in integers:
			// 100*v*n + 100*bias*n < (100-pct)*s
			if 100*(uint64(v)+uint64(bias))*uint64(n) < uint64(100-pct)*uint64(s) {
				o[x] = 1
			}
		}
	}
	return out
}

// invert returns the image with dark and light exchanged.
func (b *bitImage) invert() *bitImage {
	out := &bitImage{w: b.w, h: b.h, pix: make([]byte, len(b.pix))}
	for i, v := range b.pix {
		out.pix[i] = v ^ 1
	}
	return out
}

// sharpen returns g with its detail amplified: g + amount*(g - blur(g)),
// the blur a box of radius rad. It undoes part of a defocus or motion blur
// of about that size, so that the thin light rings of the finder patterns
// separate again.
func (g *grayImage) sharpen(rad int, amount float64) *grayImage {
	w, h := g.w, g.h
	out := &grayImage{w: w, h: h, pix: make([]byte, len(g.pix))}
	iw := w + 1
	sum := make([]uint32, iw*(h+1))
	for y := range h {
		var acc uint32
		prev := sum[y*iw : (y+1)*iw]
		cur := sum[(y+1)*iw : (y+2)*iw]
		for x, v := range g.pix[y*w : (y+1)*w] {
			acc += uint32(v)
			cur[x+1] = prev[x+1] + acc
		}
	}
	a := int(amount * 256)
	for y := range h {
		y0, y1 := max(y-rad, 0), min(y+rad+1, h)
		top, bot := sum[y0*iw:(y0+1)*iw], sum[y1*iw:(y1+1)*iw]
		rows := y1 - y0
		o := out.pix[y*w : (y+1)*w]
		for x, v := range g.pix[y*w : (y+1)*w] {
			x0, x1 := max(x-rad, 0), min(x+rad+1, w)
			s := int(bot[x1] - bot[x0] - top[x1] + top[x0])
			n := rows * (x1 - x0)
			mean := (s + n/2) / n
			r := int(v) + (a*(int(v)-mean))>>8
			o[x] = byte(min(max(r, 0), 255))
		}
	}
	return out
}
