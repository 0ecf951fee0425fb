package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
)

// palette puts light first so that a fresh image (all index 0) is light.
var palette = color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0x00}}

// Image renders the code, quiet zone included, as black modules on white,
// each module ppm by ppm pixels. A whole number of pixels per module keeps
// every module the same width, which scanners and decoders rely on. ppm is
// clamped to 1..[MaxPixelsPerModule].
func (c *Code) Image(ppm int) image.Image {
	ppm = min(max(ppm, 1), MaxPixelsPerModule)
	n := len(c.modules)
	img := image.NewPaletted(image.Rect(0, 0, n*ppm, n*ppm), palette)
	for my, row := range c.modules {
		line := img.Pix[my*ppm*img.Stride : my*ppm*img.Stride+n*ppm]
		for mx, dark := range row {
			if dark {
				for i := range ppm {
					line[mx*ppm+i] = 1
				}
			}
		}
		for i := 1; i < ppm; i++ {
			copy(img.Pix[(my*ppm+i)*img.Stride:], line)
		}
	}
	return img
}

// PNG renders the code as a two-colour PNG with ppm pixels per module (see
// [Code.Image]). It refuses a scale outside 1..[MaxPixelsPerModule].
func (c *Code) PNG(ppm int) ([]byte, error) {
	if ppm < 1 || ppm > MaxPixelsPerModule {
		return nil, fmt.Errorf("qr: pixels per module %d out of range 1..%d", ppm, MaxPixelsPerModule)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, c.Image(ppm)); err != nil {
		return nil, fmt.Errorf("qr: png: %w", err)
	}
	return buf.Bytes(), nil
}

// ANSI colours for [Code.Terminal]: black foreground on bright white
// background, so the code stays dark-on-light in dark and light terminals.
const (
	ansiDarkOnLight = "\x1b[30;107m"
	ansiReset       = "\x1b[0m"
)

// Terminal renders the code, quiet zone included, as text for a terminal:
// each line holds two module rows drawn with the half blocks '▀', '▄', '█'
// and spaces. Every line sets a black foreground on a white background and
// resets the colours at its end, so the code reads the same on light and
// dark terminal themes.
func (c *Code) Terminal() string {
	n := len(c.modules)
	var b strings.Builder
	b.Grow((n + 1) / 2 * (len(ansiDarkOnLight) + 3*n + len(ansiReset) + 1))
	for y := 0; y < n; y += 2 {
		b.WriteString(ansiDarkOnLight)
		for x := range n {
			top, bottom := c.Dark(x, y), c.Dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(ansiReset)
		b.WriteByte('\n')
	}
	return b.String()
}

// SVG renders the code as a standalone SVG document whose viewBox counts
// modules (quiet zone included): a white background and the dark modules as
// a single path, drawn with crispEdges so that it scales without seams.
func (c *Code) SVG() []byte {
	n := len(c.modules)
	ns := strconv.Itoa(n)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + ns + ` ` + ns +
		`" shape-rendering="crispEdges"><rect width="` + ns + `" height="` + ns +
		`" fill="#fff"/><path fill="#000" d="`)
	for y, row := range c.modules {
		for x := 0; x < n; {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < n && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}
