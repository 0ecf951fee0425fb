package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/epermit/epermit/qr"
)

// TestCommittedPhotos renders a photo again and compares it byte for byte
// with the committed file, so that a change to the generator without
// regenerating the photos fails.
func TestCommittedPhotos(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a photo")
	}
	all := shots()
	want := map[string]bool{"heldout/lowcontrast-1.jpg": true}
	for _, s := range all {
		if !want[s.name] {
			continue
		}
		delete(want, s.name)
		text, err := readText("../../testdata", s.text)
		if err != nil {
			t.Fatal(err)
		}
		code, err := qr.EncodePresentation(text, s.packed, qr.M)
		if err != nil {
			t.Fatal(err)
		}
		got, err := render(&s, code)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("../../testdata/photos", s.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s differs from the generator's output: run go run ./qr/internal/photogen", s.name)
		}
	}
	if len(want) > 0 {
		t.Errorf("no such photos: %v", want)
	}
}

// TestSets checks the split: both sets have every kind, and no two photos
// share a seed.
func TestSets(t *testing.T) {
	seeds := map[uint64]string{}
	count := map[string]int{}
	for _, s := range shots() {
		if other, ok := seeds[s.seed]; ok {
			t.Errorf("%s and %s share seed %d", s.name, other, s.seed)
		}
		seeds[s.seed] = s.name
		count[s.set+"/"+s.kind]++
	}
	for _, set := range []string{setTune, setHeldOut} {
		for _, k := range kinds {
			if count[set+"/"+k] != perKind[set] {
				t.Errorf("%s/%s: %d photos", set, k, count[set+"/"+k])
			}
		}
	}
}

// TestCamera checks that projecting a screen point and mapping the pixel
// back give the point again, with distortion, tilt and roll, and that the
// camera keeps the code in the frame.
func TestCamera(t *testing.T) {
	s := &shot{w: 1280, h: 720, fov: 65, codePx: 600, cx: 0.6, cy: 0.45, roll: 30, tilt: 55, tiltAxis: 20, k1: -0.03}
	cam, err := newCamera(s, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]float64{{0, 0}, {-25, -25}, {25, -25}, {25, 25}, {-25, 25}, {10, -3}} {
		u, v, ok := cam.project(p[0], p[1])
		if !ok {
			t.Fatalf("%v behind the camera", p)
		}
		if u < 0 || v < 0 || u > 1280 || v > 720 {
			t.Errorf("%v projects outside the frame: %.1f, %.1f", p, u, v)
		}
		x, y, ok := cam.toScreen(u, v)
		if !ok || math.Hypot(x-p[0], y-p[1]) > 1e-3 {
			t.Errorf("%v -> %.2f, %.2f -> %.4f, %.4f", p, u, v, x, y)
		}
	}
	// A strong tilt makes one side of the code much shorter than the other.
	a0, b0, _ := cam.project(-25, -25)
	a1, b1, _ := cam.project(25, -25)
	a2, b2, _ := cam.project(25, 25)
	a3, b3, _ := cam.project(-25, 25)
	sides := []float64{math.Hypot(a1-a0, b1-b0), math.Hypot(a2-a1, b2-b1), math.Hypot(a3-a2, b3-b2), math.Hypot(a0-a3, b0-b3)}
	lo, hi := slicesMinMax(sides)
	if hi/lo < 1.3 {
		t.Errorf("sides %v: no visible perspective at 55 degrees", sides)
	}
}

func slicesMinMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// TestDisplayBrightness checks that averaging the subpixels of a uniform
// white page over whole pixels gives the screen's white level in every
// layout, so that layouts differ only in their texture.
func TestDisplayBrightness(t *testing.T) {
	code, err := qr.Encode([]byte("x"), qr.M)
	if err != nil {
		t.Fatal(err)
	}
	for layout := range 3 {
		s := &shot{layout: layout, white: 0.8, dispPx: 6, pitch: 0.06}
		p := newPhone(s, code, nil)
		// A white area of the page: the card's margin left of the code.
		c := p.emitted(float64(p.left)-14, codeTop+100, 2, 2)
		for k, v := range c {
			if math.Abs(float64(v)-0.8*float64(srgbToLinear[250])) > 0.01 {
				t.Errorf("layout %d channel %d: %.3f", layout, k, v)
			}
		}
	}
}
