package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/epermit/epermit/qr"
)

// entry is one line of manifest.tsv with the payload the image must give.
type entry struct {
	file  string
	frame bool
	want  []byte // the presentation
	// packed: the code holds the presentation packed (qr.Pack)
	packed bool
}

// readManifest reads dir/manifest.tsv and the texts it names.
func readManifest(dir, textDir string) ([]entry, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) < 14 {
			return nil, fmt.Errorf("manifest: short line %q", line)
		}
		text, err := readText(textDir, col[1])
		if err != nil {
			return nil, err
		}
		// A packed code is right when it unpacks to the presentation:
		// codes packed by an earlier Pack ("ep2:") are still read.
		out = append(out, entry{file: filepath.Join(dir, col[0]), frame: col[4] == "true", want: []byte(text), packed: col[2] == "true"})
	}
	return out, sc.Err()
}

// decoder is one contestant: it decodes a file and reports the payload.
type decoder struct {
	name   string
	decode func(e entry) ([]byte, error)
	ok     int
	okF    int
	times  []time.Duration // median per 1280x720 frame
	frames int
}

// runCompare decodes every corpus image with each decoder, interleaved file
// by file so that all see the same machine load, and prints success counts
// and median times per 1280x720 frame.
func runCompare(w io.Writer, dir, textDir, zbar string, rounds int, verbose bool) error {
	entries, err := readManifest(dir, textDir)
	if err != nil {
		return err
	}
	zbarPath, err := exec.LookPath(zbar)
	if err != nil {
		return fmt.Errorf("zbarimg not found (apt-get install zbar-tools): %w", err)
	}
	blank, err := blankPNG()
	if err != nil {
		return err
	}
	defer os.Remove(blank)
	decs := []*decoder{
		{name: "qr.DecodeFile", decode: func(e entry) ([]byte, error) { return qr.DecodeFile(e.file) }},
		{name: "plain gozxing", decode: plainGozxing},
		{name: "zbarimg", decode: func(e entry) ([]byte, error) { return runZbar(zbarPath, e.file) }},
	}
	// zbarimg pays for a process start and for loading ImageMagick on every
	// image; timing it on a 1x1 image measures that fixed part.
	var startup []time.Duration
	for _, e := range entries {
		for _, d := range decs {
			var ts []time.Duration
			var got []byte
			var err error
			for range max(rounds, 1) {
				t0 := time.Now()
				got, err = d.decode(e)
				ts = append(ts, time.Since(t0))
			}
			good := err == nil && bytes.Equal(got, e.want)
			if err == nil && e.packed {
				text, uerr := qr.Unpack(string(got))
				good = uerr == nil && text == string(e.want)
			}
			if verbose {
				fmt.Fprintf(w, "%-26s %-14s %-5v %7.1f ms\n", filepath.Base(e.file), d.name, good, ms(median(ts)))
			}
			if good {
				d.ok++
				if e.frame {
					d.okF++
				}
			}
			if e.frame {
				d.frames++
				d.times = append(d.times, median(ts))
			}
		}
		t0 := time.Now()
		_, _ = runZbar(zbarPath, blank)
		startup = append(startup, time.Since(t0))
	}
	fmt.Fprintf(w, "corpus: %s, %d images (%d frames of 1280x720), %d timed rounds each\n\n", dir, len(entries), decs[0].frames, rounds)
	fmt.Fprintf(w, "%-16s %10s %10s %14s %10s\n", "decoder", "decoded", "frames", "median ms/frame", "vs zbar")
	zb := decs[2]
	zMed := median(zb.times)
	zNet := zMed - median(startup)
	for _, d := range decs {
		m := median(d.times)
		fmt.Fprintf(w, "%-16s %4d/%-5d %4d/%-5d %14.1f %9.2fx\n", d.name, d.ok, len(entries), d.okF, d.frames, ms(m), float64(m)/float64(zMed))
	}
	fmt.Fprintf(w, "%-16s %10s %10s %14.1f\n", "zbarimg 1x1", "", "", ms(median(startup)))
	fmt.Fprintf(w, "\nzbarimg net of its start-up (process, ImageMagick): %.1f ms/frame; qr.DecodeFile / zbar net = %.2fx\n",
		ms(zNet), float64(median(decs[0].times))/float64(max(zNet, time.Microsecond)))
	for _, d := range decs {
		if d.ok < zb.ok {
			fmt.Fprintf(w, "%s decodes fewer images than zbarimg\n", d.name)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// plainGozxing is what an integration without this package's pipeline does:
// one pass of the hybrid binarizer and the QR reader. It takes the text
// gozxing reports, which is exact here (the corpus payloads are ASCII).
func plainGozxing(e entry) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gozxing panic: %v", r)
		}
	}()
	f, err := os.Open(e.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, err
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil, err
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return nil, err
	}
	return []byte(res.GetText()), nil
}

// runZbar runs zbarimg on one file, QR only, and returns the raw payload.
// Like the qr package, it also tries the inverted image when the first scan
// finds nothing.
func runZbar(path, file string) ([]byte, error) {
	args := []string{"--nodbus", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Stest-inverted"}
	cmd := exec.Command(path, append(args, file)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("zbarimg: %w", err)
	}
	b := out.Bytes()
	if len(b) == 0 {
		return nil, errors.New("zbarimg: no output")
	}
	// --raw ends each symbol with a newline.
	return bytes.TrimSuffix(b, []byte("\n")), nil
}

func blankPNG() (string, error) {
	f, err := os.CreateTemp("", "corpusgen-*.png")
	if err != nil {
		return "", err
	}
	defer f.Close()
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Pix[0] = 0xff
	return f.Name(), png.Encode(f, img)
}
