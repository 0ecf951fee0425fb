package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/epermit/epermit/qr"
)

// TestCommittedCorpus regenerates a crop, a screen photo and a 1280x720
// frame and compares them byte for byte with the committed files, so that
// a change to the generator without regenerating the corpus fails.
func TestCommittedCorpus(t *testing.T) {
	all := specs()
	if len(all) < 40 || len(all) > 80 {
		t.Fatalf("%d images in the corpus", len(all))
	}
	for _, i := range []int{0, 22, 47} {
		s := all[i]
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
		want, err := os.ReadFile(filepath.Join("../../testdata/corpus", s.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go run ./qr/internal/corpusgen", s.name)
		}
	}
}

func TestHomography(t *testing.T) {
	src := [4][2]float64{{10, 20}, {110, 15}, {120, 130}, {5, 118}}
	dst := [4][2]float64{{0, 0}, {50, 0}, {50, 50}, {0, 50}}
	h, err := homography(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	sc := &scene{hinv: h}
	for i := range src {
		u, v := sc.toModule(src[i][0], src[i][1])
		if d := (u-dst[i][0])*(u-dst[i][0]) + (v-dst[i][1])*(v-dst[i][1]); d > 1e-9 {
			t.Errorf("corner %d maps to %.3f,%.3f", i, u, v)
		}
	}
	if _, err := homography([4][2]float64{}, dst); err == nil {
		t.Error("degenerate quadrilateral accepted")
	}
}
