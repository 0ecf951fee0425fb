package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/qr"
)

type config struct {
	rounds       int
	verbose      bool
	python       string
	textDir      string
	node         string
	zxingWasmDir string
	decoders     []string
	sets         []string
}

// entry is one image and the payload it must give.
type entry struct {
	set, kind string
	file      string
	want      []byte
	packed    string // the presentation, when the code holds it packed
}

// readCorpus reads dir/manifest.tsv. Two layouts exist: corpusgen's
// (file, text, packed, ...; the kind is in the file name) and photogen's
// (file, set, kind, text, packed, ...). Texts are relative to textDir.
func readCorpus(dir, textDir string) ([]entry, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	photos := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			photos = strings.HasPrefix(line, "# file\tset\tkind")
			continue
		}
		if line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		e := entry{file: filepath.Join(dir, col[0])}
		var text, packed string
		if photos {
			if len(col) < 5 {
				return nil, fmt.Errorf("%s: short line %q", dir, line)
			}
			e.set, e.kind, text, packed = col[1], col[2], col[3], col[4]
		} else {
			if len(col) < 3 {
				return nil, fmt.Errorf("%s: short line %q", dir, line)
			}
			// 31-frame-tilt-0.jpg: kind frame-tilt
			name := strings.TrimSuffix(col[0], filepath.Ext(col[0]))
			parts := strings.Split(name, "-")
			e.set, e.kind, text, packed = "corpus", strings.Join(parts[1:len(parts)-1], "-"), col[1], col[2]
		}
		b, err := os.ReadFile(filepath.Join(textDir, text))
		if err != nil {
			return nil, err
		}
		want := strings.TrimSpace(string(b))
		if packed == "true" {
			e.packed = want
			if want, err = qr.Pack(want); err != nil {
				return nil, err
			}
		}
		e.want = []byte(want)
		out = append(out, e)
	}
	return out, sc.Err()
}

// decoder is one contestant.
type decoder struct {
	name   string
	decode func(file string) ([]byte, time.Duration, error)
	close  func()
}

// ours decodes like a camera loop, each image with the effort of one
// frame (qr.FrameEffort); oursPhoto like an upload (qr.DecodeFile, with
// qr.PhotoEffort). Both include reading and decoding the JPEG.
func ours(file string) ([]byte, time.Duration, error) {
	t0 := time.Now()
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, 0, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	b, err := qr.DecodeEffort(img, qr.FrameEffort)
	return b, time.Since(t0), err
}

func oursPhoto(file string) ([]byte, time.Duration, error) {
	t0 := time.Now()
	b, err := qr.DecodeFile(file)
	return b, time.Since(t0), err
}

func newZbar() (*decoder, error) {
	path, err := exec.LookPath("zbarimg")
	if err != nil {
		return nil, fmt.Errorf("zbarimg not found (apt-get install zbar-tools): %w", err)
	}
	return &decoder{name: "zbar", decode: func(file string) ([]byte, time.Duration, error) {
		t0 := time.Now()
		b, err := runZbar(path, file)
		return b, time.Since(t0), err
	}}, nil
}

// runZbar runs zbarimg on one file, QR only, also trying the inverted
// image, and returns the raw payload of the first symbol.
func runZbar(path, file string) ([]byte, error) {
	args := []string{"--nodbus", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Stest-inverted", file}
	var out bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("zbarimg: %w", err)
	}
	b, _, _ := bytes.Cut(out.Bytes(), []byte("\n")) // --raw ends each symbol with a newline
	if len(b) == 0 {
		return nil, errors.New("zbarimg: no output")
	}
	return b, nil
}

//go:embed zxingcpp.py
var zxingScript string

// newZxingCpp starts the Python helper that reads images with Debian's
// zxing-cpp.
func newZxingCpp(python string) (*decoder, error) {
	if err := exec.Command(python, "-c", "import zxingcpp, PIL").Run(); err != nil {
		return nil, fmt.Errorf("%s cannot import zxingcpp and PIL (apt-get install python3-zxing-cpp python3-pil): %w", python, err)
	}
	return newHelper("zxing-cpp", exec.Command(python, "-c", zxingScript))
}

// newZxingWasm starts the Node helper that reads images with zxing-cpp's
// WebAssembly build (npm zxing-wasm, installed in dir by npm ci).
func newZxingWasm(node, dir string) (*decoder, error) {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "zxing-wasm")); err != nil {
		return nil, fmt.Errorf("zxing-wasm is not installed (npm ci --prefix %s): %w", dir, err)
	}
	return newHelper("zxing-wasm", exec.Command(node, filepath.Join(dir, "reader.mjs")))
}

// newHelper starts a process that answers each image path written to its
// standard input with a line "ok <hex payload> <ms>" or "no - <ms>", the
// time measured inside it.
func newHelper(name string, cmd *exec.Cmd) (*decoder, error) {
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	out := bufio.NewReader(outPipe)
	return &decoder{
		name: name,
		decode: func(file string) ([]byte, time.Duration, error) {
			abs, _ := filepath.Abs(file)
			if _, err := io.WriteString(in, abs+"\n"); err != nil {
				return nil, 0, err
			}
			line, err := out.ReadString('\n')
			if err != nil {
				return nil, 0, fmt.Errorf("%s helper: %w", name, err)
			}
			f := strings.Fields(line)
			if len(f) != 3 {
				return nil, 0, fmt.Errorf("%s helper said %q", name, line)
			}
			ms, _ := strconv.ParseFloat(f[2], 64)
			d := time.Duration(ms * float64(time.Millisecond))
			if f[0] != "ok" {
				return nil, d, fmt.Errorf("%s: no code", name)
			}
			b, err := hex.DecodeString(f[1])
			return b, d, err
		},
		close: func() { in.Close(); cmd.Wait() },
	}, nil
}

// tally is one decoder's results on one group of images.
type tally struct {
	ok    int
	times []time.Duration
}

func run(w io.Writer, dirs []string, cfg config) error {
	var entries []entry
	for _, d := range dirs {
		es, err := readCorpus(d, cfg.textDir)
		if err != nil {
			return err
		}
		for _, e := range es {
			if len(cfg.sets) == 0 || slices.Contains(cfg.sets, e.set) {
				entries = append(entries, e)
			}
		}
	}
	var decs []*decoder
	for _, name := range cfg.decoders {
		var d *decoder
		var err error
		switch name {
		case "ours":
			d = &decoder{name: "ours", decode: ours}
		case "ours-photo":
			d = &decoder{name: "ours-photo", decode: oursPhoto}
		case "zbar":
			d, err = newZbar()
		case "zxing-cpp":
			d, err = newZxingCpp(cfg.python)
		case "zxing-wasm":
			d, err = newZxingWasm(cfg.node, cfg.zxingWasmDir)
		default:
			err = fmt.Errorf("unknown decoder %q", name)
		}
		if err != nil {
			return err
		}
		if d.close != nil {
			defer d.close()
		}
		decs = append(decs, d)
	}
	// zbarimg's fixed cost: a process and ImageMagick, on a 1x1 image.
	var startup []time.Duration
	blank, err := blankPNG()
	if err != nil {
		return err
	}
	defer os.Remove(blank)
	zbarPath, _ := exec.LookPath("zbarimg")

	type key struct{ set, kind string }
	res := map[key][]tally{}
	var order []key
	for _, e := range entries {
		k := key{e.set, e.kind}
		if _, ok := res[k]; !ok {
			res[k] = make([]tally, len(decs))
			order = append(order, k)
			if _, ok := res[key{e.set, "all"}]; !ok {
				res[key{e.set, "all"}] = make([]tally, len(decs))
			}
		}
		for i, d := range decs {
			var ts []time.Duration
			var got []byte
			var err error
			for range cfg.rounds {
				var dt time.Duration
				got, dt, err = d.decode(e.file)
				ts = append(ts, dt)
			}
			good := err == nil && bytes.Equal(got, e.want)
			if !good && err == nil && e.packed != "" {
				// A code packed by an earlier Pack ("ep2:") holds the same
				// presentation in other digits.
				text, uerr := qr.Unpack(string(got))
				good = uerr == nil && text == e.packed
			}
			if cfg.verbose {
				why := ""
				if err != nil {
					why = err.Error()
				} else if !good {
					why = "wrong payload"
				}
				fmt.Fprintf(w, "%-28s %-10s %-5v %7.1f ms %s\n", strings.TrimPrefix(e.file, "qr/testdata/"), d.name, good, ms(median(ts)), why)
			}
			for _, kk := range []key{k, {e.set, "all"}} {
				t := &res[kk][i]
				t.times = append(t.times, median(ts))
				if good {
					t.ok++
				}
			}
		}
		if zbarPath != "" {
			t0 := time.Now()
			_, _ = runZbar(zbarPath, blank)
			startup = append(startup, time.Since(t0))
		}
	}

	fmt.Fprintf(w, "%d images, %d timed rounds each; times are medians in ms per image, JPEG decoding included\n\n", len(entries), cfg.rounds)
	header := "| set | kind | images |"
	rule := "| --- | --- | ---: |"
	for _, d := range decs {
		header += " " + d.name + " |"
		rule += " ---: |"
	}
	for _, d := range decs {
		header += " " + d.name + " ms |"
		rule += " ---: |"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	printed := map[string]bool{}
	for i, k := range order {
		row := func(k key) {
			ts := res[k]
			n := len(ts[0].times)
			line := fmt.Sprintf("| %s | %s | %d |", k.set, k.kind, n)
			best := 0
			for _, t := range ts {
				best = max(best, t.ok)
			}
			for _, t := range ts {
				cell := strconv.Itoa(t.ok)
				if t.ok == best {
					cell = "**" + cell + "**"
				}
				line += " " + cell + " |"
			}
			for _, t := range ts {
				line += fmt.Sprintf(" %.1f |", ms(median(t.times)))
			}
			if k.kind == "all" {
				line = strings.Replace(line, "| all |", "| **all** |", 1)
			}
			fmt.Fprintln(w, line)
		}
		row(k)
		if i+1 == len(order) || order[i+1].set != k.set {
			if !printed[k.set] {
				row(key{k.set, "all"})
				printed[k.set] = true
			}
		}
	}
	if len(startup) > 0 {
		fmt.Fprintf(w, "\nzbarimg on a 1x1 image (process start, ImageMagick): %.1f ms; subtract it for zbar's decoding alone.\n", ms(median(startup)))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median of durations or milliseconds; 0 for none.
func median[T time.Duration | float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func blankPNG() (string, error) {
	f, err := os.CreateTemp("", "scanbench-*.png")
	if err != nil {
		return "", err
	}
	defer f.Close()
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Pix[0] = 0xff
	return f.Name(), png.Encode(f, img)
}
