package qr

import (
	"image"
	"image/color"

	"github.com/makiuchi-d/gozxing"
)

// grayImage is an 8-bit luminance plane, row-major, without padding.
type grayImage struct {
	w, h int
	pix  []byte
}

// toGray converts img to luminance once, the way gozxing does
// ((R+2G+B)/4, transparent pixels composited over white), with fast paths
// for the image types the standard decoders return.
func toGray(img image.Image) *grayImage {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	g := &grayImage{w: w, h: h, pix: make([]byte, w*h)}
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], m.Pix[off:off+w])
		}
	case *image.YCbCr:
		for y := range h {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], m.Y[off:off+w])
		}
	case *image.Paletted:
		var lut [256]byte
		for i, c := range m.Palette {
			lut[i] = lum(c)
		}
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := g.pix[y*w : (y+1)*w]
			for x, idx := range m.Pix[off : off+w] {
				row[x] = lut[idx]
			}
		}
	case *image.NRGBA:
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[off : off+4*w]
			row := g.pix[y*w : (y+1)*w]
			for x := range row {
				p := src[4*x : 4*x+4 : 4*x+4]
				if p[3] == 0xff {
					// Opaque, as camera frames are: no premultiplying.
					row[x] = byte((uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) * 0x101 / 4 >> 8)
					continue
				}
				// Premultiply in 16 bits as color.NRGBA.RGBA does.
				a := uint32(p[3]) * 0x101
				r := uint32(p[0]) * 0x101 * a / 0xffff
				gr := uint32(p[1]) * 0x101 * a / 0xffff
				bl := uint32(p[2]) * 0x101 * a / 0xffff
				row[x] = lum16(r, gr, bl, a)
			}
		}
	case *image.RGBA:
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[off : off+4*w]
			row := g.pix[y*w : (y+1)*w]
			for x := range row {
				p := src[4*x : 4*x+4 : 4*x+4]
				row[x] = lum16(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
			}
		}
	default:
		for y := range h {
			row := g.pix[y*w : (y+1)*w]
			for x := range row {
				row[x] = lum(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
	}
	return g
}

// lum returns the luminance of c composited over white.
func lum(c color.Color) byte {
	return lum16(c.RGBA())
}

// lum16 takes premultiplied 16-bit channels.
func lum16(r, g, b, a uint32) byte {
	l := (r+2*g+b)/4 + 0xffff - a
	return byte(min(l, 0xffff) >> 8)
}

// half returns a copy at half the size, each pixel the mean of a 2x2 box.
func (g *grayImage) half() *grayImage {
	w, h := g.w/2, g.h/2
	out := &grayImage{w: w, h: h, pix: make([]byte, w*h)}
	for y := range h {
		r0 := g.pix[2*y*g.w:]
		r1 := g.pix[(2*y+1)*g.w:]
		row := out.pix[y*w : (y+1)*w]
		for x := range row {
			s := int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1])
			row[x] = byte((s + 2) / 4)
		}
	}
	return out
}

// double returns a copy at twice the size by nearest neighbour.
func (g *grayImage) double() *grayImage {
	w, h := 2*g.w, 2*g.h
	out := &grayImage{w: w, h: h, pix: make([]byte, w*h)}
	for y := range g.h {
		src := g.pix[y*g.w : (y+1)*g.w]
		row := out.pix[2*y*w : (2*y+1)*w]
		for x, v := range src {
			row[2*x], row[2*x+1] = v, v
		}
		copy(out.pix[(2*y+1)*w:(2*y+2)*w], row)
	}
	return out
}

// graySource adapts a grayImage to gozxing.LuminanceSource without another
// per-pixel conversion.
type graySource struct {
	gozxing.LuminanceSourceBase
	img *grayImage
}

var _ gozxing.LuminanceSource = (*graySource)(nil)

func newGraySource(g *grayImage) *graySource {
	return &graySource{gozxing.LuminanceSourceBase{Width: g.w, Height: g.h}, g}
}

// GetRow implements gozxing.LuminanceSource.
func (s *graySource) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= s.img.h {
		return row, gozxing.NewNotFoundException("row %d outside the image", y)
	}
	if len(row) < s.img.w {
		row = make([]byte, s.img.w)
	}
	copy(row, s.img.pix[y*s.img.w:(y+1)*s.img.w])
	return row, nil
}

// GetMatrix implements gozxing.LuminanceSource; callers must not modify it.
func (s *graySource) GetMatrix() []byte { return s.img.pix }

// Invert implements gozxing.LuminanceSource.
func (s *graySource) Invert() gozxing.LuminanceSource { return gozxing.LuminanceSourceInvert(s) }

// String implements gozxing.LuminanceSource.
func (s *graySource) String() string { return gozxing.LuminanceSourceString(s) }

// resize returns a copy of w by h pixels sampled bilinearly, pixel centres
// aligned. Shrinking by more than half should go through half first.
func (g *grayImage) resize(w, h int) *grayImage {
	out := &grayImage{w: w, h: h, pix: make([]byte, w*h)}
	sx := float64(g.w) / float64(w)
	sy := float64(g.h) / float64(h)
	x0s := make([]int, w)
	fxs := make([]int, w) // weight of the right neighbour, 0..256
	for x := range w {
		fx := max((float64(x)+0.5)*sx-0.5, 0)
		x0 := min(int(fx), g.w-1)
		x0s[x] = x0
		fxs[x] = int((fx - float64(x0)) * 256)
	}
	for y := range h {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), g.h-1)
		y1 := min(y0+1, g.h-1)
		wy := int((fy - float64(y0)) * 256)
		r0 := g.pix[y0*g.w : (y0+1)*g.w]
		r1 := g.pix[y1*g.w : (y1+1)*g.w]
		row := out.pix[y*w : (y+1)*w]
		for x := range row {
			x0 := x0s[x]
			x1 := min(x0+1, g.w-1)
			wx := fxs[x]
			top := int(r0[x0])*(256-wx) + int(r0[x1])*wx
			bot := int(r1[x0])*(256-wx) + int(r1[x1])*wx
			row[x] = byte((top*(256-wy) + bot*wy + 1<<15) >> 16)
		}
	}
	return out
}

// blur3 returns a copy smoothed by a 3x3 box, which removes screen
// subpixel patterns and JPEG ringing finer than a module.
func (g *grayImage) blur3() *grayImage {
	out := &grayImage{w: g.w, h: g.h, pix: make([]byte, len(g.pix))}
	tmp := make([]uint16, len(g.pix))
	for y := range g.h {
		row := g.pix[y*g.w : (y+1)*g.w]
		t := tmp[y*g.w : (y+1)*g.w]
		for x := range row {
			l, r := max(x-1, 0), min(x+1, g.w-1)
			t[x] = uint16(row[l]) + uint16(row[x]) + uint16(row[r])
		}
	}
	for y := range g.h {
		u, d := max(y-1, 0), min(y+1, g.h-1)
		a, b, c := tmp[u*g.w:(u+1)*g.w], tmp[y*g.w:(y+1)*g.w], tmp[d*g.w:(d+1)*g.w]
		row := out.pix[y*g.w : (y+1)*g.w]
		for x := range row {
			row[x] = byte((int(a[x]) + int(b[x]) + int(c[x]) + 4) / 9)
		}
	}
	return out
}

// inverse returns a copy with light and dark exchanged.
func (g *grayImage) inverse() *grayImage {
	out := &grayImage{w: g.w, h: g.h, pix: make([]byte, len(g.pix))}
	for i, v := range g.pix {
		out.pix[i] = 255 - v
	}
	return out
}
