package qr

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrace prints, for every image of the corpora named in QR_TRACE
// (directories with a manifest.tsv), which pass decoded it, the work spent
// and the time taken. It is a tool for tuning the pass order, skipped
// unless QR_TRACE is set.
func TestTrace(t *testing.T) {
	dirs := os.Getenv("QR_TRACE")
	if dirs == "" {
		t.Skip("QR_TRACE not set")
	}
	for _, dir := range strings.Split(dirs, ",") {
		eachImage(t, dir, func(file string, img image.Image, t0 time.Time) {
			var tr passTrace
			effort := PhotoEffort
			if os.Getenv("QR_TRACE_FRAME") != "" {
				effort = FrameEffort
			}
			_, err := decodeEffort(img, effort, &tr)
			var passes []string
			for i, a := range tr.passes {
				r := "-"
				if tr.errs[i] == nil {
					r = "OK"
				}
				passes = append(passes, fmt.Sprintf("%v:%s", a, r))
			}
			spent := int64(0)
			if n := len(tr.spent); n > 0 {
				spent = tr.spent[n-1]
			}
			fmt.Printf("%-28s %-5v %6.1f ms %5.1fM  %s\n", file, err == nil, float64(time.Since(t0))/1e6, float64(spent)/1e6, strings.Join(passes, " "))
		})
	}
}

// eachImage calls f with every image of the manifest in dir (those whose
// name contains QR_TRACE_ONLY, when set) and the time before decoding it.
func eachImage(t *testing.T, dir string, f func(file string, img image.Image, t0 time.Time)) {
	t.Helper()
	mf, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	sc := bufio.NewScanner(mf)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		file := strings.Split(line, "\t")[0]
		if only := os.Getenv("QR_TRACE_ONLY"); only != "" && !strings.Contains(file, only) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		img, err := decodeImage(data)
		if err != nil {
			t.Fatal(err)
		}
		f(file, img, t0)
	}
}

func (a attempt) String() string {
	names := []string{"full", "3/4", "3/2", "half", "2/3", "5/4", "blur", "double", "sharp", "halfsharp", "inv", "halfinv", "orig"}
	s := names[a.image]
	if a.grid {
		return "grid(" + s + "<" + names[a.detect] + ")"
	}
	if a.global {
		s += ",global"
	}
	if a.pure {
		s += ",pure"
	}
	if a.inverse {
		s += ",inv"
	}
	return "zx(" + s + ")"
}

// TestDebugGrid prints what the grid reader sees in the image named by
// QR_DEBUG: finder candidates, triples, corners, dimensions, version and
// the decoder's complaint for each bit variant. Skipped unless set.
func TestDebugGrid(t *testing.T) {
	file := os.Getenv("QR_DEBUG")
	if file == "" {
		t.Skip("QR_DEBUG not set")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodeImage(data)
	if err != nil {
		t.Fatal(err)
	}
	g := toGray(img)
	var w work
	for _, det := range []*grayImage{g.half(), g, g.sharpen(1.5)} {
		rad := max(4, min(det.w, det.h)/48)
		bin := binarize(det, rad, 2, 3, false)
		cands := findFinders(bin)
		scale := float64(g.w) / float64(det.w)
		fmt.Printf("detect %dx%d: %d candidates\n", det.w, det.h, len(cands))
		for i := range cands {
			c := &cands[i]
			c.x, c.y, c.mh, c.mv = c.x*scale, c.y*scale, c.mh*scale, c.mv*scale
			fmt.Printf("  %.1f,%.1f m=%.2f/%.2f n=%d\n", c.x, c.y, c.mh, c.mv, c.count)
		}
		cands = withQuads(g, cands, &w)
		fmt.Printf(" %d with corners\n", len(cands))
		ts := triples(cands)
		for i, tr := range ts {
			if i >= maxTriples {
				break
			}
			fmt.Printf(" triple %.2f: tl %.0f,%.0f tr %.0f,%.0f bl %.0f,%.0f\n", tr.score, tr.tl.x, tr.tl.y, tr.tr.x, tr.tr.y, tr.bl.x, tr.bl.y)
			grids := locate(g, &tr, &w)
			if len(grids) == 0 {
				fmt.Println("   no grid (corners)")
			}
			for _, gr := range grids {
				fmt.Printf("   dim %d, %d matches, residual %.2f, cells %v, version read %d\n", gr.dim, len(gr.matches), gr.h.residual(gr.matches), gr.cells != nil, gr.readVersion(g, &w))
				for si, sg := range []*grayImage{g, g.sharpen(1.5)} {
					vals := gr.sample(sg, &w)
					fmt.Println("     sampling", si)
					for _, v := range bitVariants {
						src := vals
						if v.deblur > 0 {
							src = deblur(vals, gr.dim, v.deblur)
						}
						_, err := decodeBits(thresholdLocal(src, gr.dim, v.radius), gr.dim, &w)
						fmt.Printf("     r=%d deblur=%.1f: %v\n", v.radius, v.deblur, err)
					}
				}
			}
		}
	}
}

// TestPassTable runs every pass alone on each image of QR_PASSES (a
// directory with a manifest.tsv) and prints which succeed and what each
// costs, for choosing the order of the passes. Skipped unless set.
func TestPassTable(t *testing.T) {
	dir := os.Getenv("QR_PASSES")
	if dir == "" {
		t.Skip("QR_PASSES not set")
	}
	eachImage(t, dir, func(file string, img image.Image, _ time.Time) {
		full := toGray(img)
		var cells []string
		for _, a := range attempts {
			s := &scanner{full: full, work: full}
			var w work
			g := s.scan(a.image, &w)
			if g == nil {
				cells = append(cells, "x")
				continue
			}
			var err error
			if a.grid {
				det := s.scan(a.detect, &w)
				if det == nil {
					cells = append(cells, "x")
					continue
				}
				_, err = readGrids(det, s.samplers(a, g), a.linear, &w)
			} else {
				_, err = decodeGray(g, a)
				w.add(int(gozxingPixelCost * float64(g.w*g.h)))
			}
			r := "-"
			if err == nil {
				r = "Y"
			}
			cells = append(cells, fmt.Sprintf("%s%.1f", r, float64(w.spent)/1e6))
		}
		fmt.Printf("%-26s %s\n", file, strings.Join(cells, " "))
	})
}
