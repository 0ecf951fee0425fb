// Command photogen writes the second corpus of the qr package: photos of a
// phone screen showing a wallet code, made by a camera model rather than by
// drawing a degraded code (qr/internal/corpusgen does that).
//
// Run from the module root:
//
//	go run ./qr/internal/photogen   # rewrite qr/testdata/photos
//
// Each photo is rendered the way a camera forms it. The wallet page is a
// raster of display pixels with the code at whole display pixels per
// module, lit through red, green and blue subpixels separated by a dark
// matrix (vertical stripes or a diamond layout), behind glass that
// reflects the room (a uniform veil, and for some photos a window: a
// soft-edged band that can saturate). A pinhole camera with a little radial
// distortion sees the screen through a real homography (a 3-D rotation and
// translation: roll, a tilt up to 60 degrees about any axis, distance).
// The optical image is sampled three times finer than the sensor, blurred by
// the lens (a Gaussian), by defocus (a uniform disc) and by motion (a line),
// and integrated over each pixel; the sensor keeps one colour per pixel
// (Bayer RGGB) with shot and read noise, clipping and 10-bit quantisation;
// the phone's processing demosaics, balances white, smooths chroma and
// luma, applies the sRGB tone curve and sharpens; the result is a JPEG of
// quality 30 to 65. Moire arises by itself where the display's pixel grid
// comes close to the sensor's.
//
// The photos come in two sets with their own seeds: tune, which the
// decoder may be tuned on, and heldout, which is for measurement only.
// Each set has the same kinds of degradation (see kinds in shots.go);
// manifest.tsv lists every photo with its set, kind, text and parameters.
// The output is deterministic for a given Go release (the JPEG encoder is
// the standard library's).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/epermit/epermit/qr"
)

func main() {
	out := flag.String("out", "qr/testdata/photos", "corpus directory to write")
	texts := flag.String("texts", "qr/testdata", "directory holding presentations/*.txt and rfc-presentation.txt")
	only := flag.String("only", "", "write only the photos whose name contains this")
	tune := flag.Int("tune", perKind[setTune], "photos of each kind in the tune set (more than the committed ones for tuning work)")
	heldout := flag.Int("heldout", perKind[setHeldOut], "photos of each kind in the held-out set")
	flag.Parse()
	perKind[setTune], perKind[setHeldOut] = *tune, *heldout
	if err := generate(*out, *texts, *only); err != nil {
		fmt.Fprintln(os.Stderr, "photogen:", err)
		os.Exit(1)
	}
}

// generate writes every photo and manifest.tsv into dir, rendering on
// every core (each photo draws from its own seeded generator, so the order
// does not matter).
func generate(dir, textDir, only string) error {
	all := shots()
	codes := make([]*qr.Code, len(all))
	var man bytes.Buffer
	man.WriteString("# file\tset\tkind\ttext\tpacked\tversion\tw\th\tcode_px\ttilt\troll\tdefocus_px\tmotion_px\tpitch_mm\tdisplay_px\tlayout\twhite\tveil\tglare\tgain\tquality\n")
	for i, s := range all {
		text, err := readText(textDir, s.text)
		if err != nil {
			return err
		}
		code, err := qr.EncodePresentation(text, s.packed, qr.M)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		codes[i] = code
		fmt.Fprintf(&man, "%s\t%s\t%s\t%s\t%v\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.2f\t%.2f\t%.3f\t%d\t%d\t%.2f\t%.3f\t%.2f\t%.2f\t%d\n",
			s.name, s.set, s.kind, s.text, s.packed, code.Version(), s.w, s.h, s.codePx, s.tilt, s.roll,
			s.defocus, s.motion, s.pitch, s.dispPx, s.layout, s.white, s.veil, s.glare, s.gain, s.quality)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := all[i]
				err := writePhoto(dir, &s, codes[i])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i, s := range all {
		if only == "" || strings.Contains(s.name, only) {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.tsv"), man.Bytes(), 0o644)
}

func writePhoto(dir string, s *shot, code *qr.Code) error {
	data, err := render(s, code)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	path := filepath.Join(dir, s.name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s\t%d bytes\n", s.name, len(data))
	return nil
}

func readText(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
