package qr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

func TestLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level Level
		name  string
		skip2 qrcode.RecoveryLevel
	}{
		{0, "M", qrcode.Medium},
		{L, "L", qrcode.Low},
		{M, "M", qrcode.Medium},
		{Q, "Q", qrcode.High},
		{H, "H", qrcode.Highest},
	}
	for _, tt := range tests {
		if got := tt.level.String(); got != tt.name {
			t.Errorf("Level(%d).String() = %q, want %q", tt.level, got, tt.name)
		}
		rl, err := tt.level.recoveryLevel()
		if err != nil || rl != tt.skip2 {
			t.Errorf("Level(%d).recoveryLevel() = %v, %v; want %v", tt.level, rl, err, tt.skip2)
		}
	}
	if _, err := Level(9).recoveryLevel(); err == nil {
		t.Error("Level(9) accepted")
	}
	c, err := Encode([]byte("x"), 0)
	if err != nil || c.Level() != M {
		t.Errorf("Encode at the zero Level: level %v, err %v; want M", c.Level(), err)
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  []byte
		level Level
		want  error
	}{
		{"empty", nil, M, ErrEmpty},
		{"too long at H", bytes.Repeat([]byte{0xA5}, 1300), H, ErrTooLong},
		{"too long at L", bytes.Repeat([]byte("a"), 2954), L, ErrTooLong},
	}
	for _, tt := range tests {
		if _, err := Encode(tt.data, tt.level); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := Encode([]byte("x"), Level(7)); err == nil {
		t.Error("unknown level accepted")
	}
	// 2,953 bytes is the version 40-L byte-mode capacity.
	if c, err := Encode(bytes.Repeat([]byte("a"), 2953), L); err != nil || c.Version() != 40 {
		t.Errorf("2953 bytes at L: %v", err)
	}
	for _, text := range []string{"", " eyJ", "eyJ\n", "ep1:00", "EP1:00"} {
		for _, packed := range []bool{false, true} {
			if _, err := EncodePresentation(text, packed, M); err == nil {
				t.Errorf("EncodePresentation(%q, packed=%v) accepted", text, packed)
			}
		}
	}
}

// TestImageMatchesSkip2 checks that our renderer draws what skip2's own
// q.Image(-ppm) draws: same modules, same 4-module quiet zone, ppm whole
// pixels per module.
func TestImageMatchesSkip2(t *testing.T) {
	t.Parallel()
	text := rfcPresentation(t)
	c := mustEncodePresentation(t, text, false, M)
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if q.VersionNumber != c.Version() {
		t.Fatalf("version %d, skip2 %d", c.Version(), q.VersionNumber)
	}
	for _, ppm := range []int{1, 3} {
		ours, theirs := c.Image(ppm), q.Image(-ppm)
		if ours.Bounds() != theirs.Bounds() {
			t.Fatalf("ppm %d: bounds %v, skip2 %v", ppm, ours.Bounds(), theirs.Bounds())
		}
		if want := (4*c.Version() + 17 + 8) * ppm; ours.Bounds().Dx() != want {
			t.Fatalf("ppm %d: width %d, want %d", ppm, ours.Bounds().Dx(), want)
		}
		b := ours.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if lum(ours.At(x, y)) != lum(theirs.At(x, y)) {
					t.Fatalf("ppm %d: pixel (%d,%d) differs from skip2", ppm, x, y)
				}
			}
		}
	}
}

func TestQuietZone(t *testing.T) {
	t.Parallel()
	c := mustEncodePresentation(t, testPresentation(1000, 1), true, M)
	n := c.Size()
	if n != 4*c.Version()+17+2*QuietZone {
		t.Fatalf("size %d for version %d", n, c.Version())
	}
	for i := range n {
		for d := range QuietZone {
			if c.Dark(i, d) || c.Dark(i, n-1-d) || c.Dark(d, i) || c.Dark(n-1-d, i) {
				t.Fatalf("dark module in the quiet zone near %d,%d", i, d)
			}
		}
	}
	// The top-left finder pattern starts right after the quiet zone: a row of
	// seven dark modules, then a light separator.
	for x := QuietZone; x < QuietZone+7; x++ {
		if !c.Dark(x, QuietZone) {
			t.Fatalf("finder pattern not at module %d", QuietZone)
		}
	}
	if c.Dark(QuietZone+7, QuietZone) || c.Dark(-1, 0) || c.Dark(n, 0) {
		t.Error("separator or out-of-range module is dark")
	}
}

func TestPNG(t *testing.T) {
	t.Parallel()
	c := mustEncodePresentation(t, rfcPresentation(t), false, L)
	for _, ppm := range []int{0, -3, MaxPixelsPerModule + 1} {
		if _, err := c.PNG(ppm); err == nil {
			t.Errorf("PNG(%d) accepted", ppm)
		}
	}
	data, err := c.PNG(2)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 2*c.Size() || img.Bounds().Dy() != 2*c.Size() {
		t.Fatalf("PNG is %v, want %d px a side", img.Bounds(), 2*c.Size())
	}
	for y := range c.Size() {
		for x := range c.Size() {
			for _, p := range [][2]int{{2 * x, 2 * y}, {2*x + 1, 2*y + 1}} {
				if dark := lum(img.At(p[0], p[1])) < 128; dark != c.Dark(x, y) {
					t.Fatalf("module %d,%d: pixel %v dark=%v", x, y, p, dark)
				}
			}
		}
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	c := mustEncodePresentation(t, rfcPresentation(t), true, M)
	out := c.Terminal()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if want := (c.Size() + 1) / 2; len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	for i, line := range lines {
		body, ok := strings.CutPrefix(line, ansiDarkOnLight)
		if !ok {
			t.Fatalf("line %d does not start with the colours: %q", i, line[:min(len(line), 12)])
		}
		body, ok = strings.CutSuffix(body, ansiReset)
		if !ok {
			t.Fatalf("line %d does not end with a reset", i)
		}
		runes := []rune(body)
		if len(runes) != c.Size() {
			t.Fatalf("line %d has %d cells, want %d", i, len(runes), c.Size())
		}
		for x, r := range runes {
			top, bottom := c.Dark(x, 2*i), c.Dark(x, 2*i+1)
			want := map[[2]bool]rune{{true, true}: '█', {true, false}: '▀', {false, true}: '▄', {false, false}: ' '}[[2]bool{top, bottom}]
			if r != want {
				t.Fatalf("cell %d,%d = %q, want %q", x, i, r, want)
			}
		}
	}
	if strings.Count(lines[0], " ") < c.Size() {
		t.Error("first line is not quiet zone")
	}
}

func TestSVG(t *testing.T) {
	t.Parallel()
	c := mustEncodePresentation(t, rfcPresentation(t), false, Q)
	svg := c.SVG()
	var doc struct {
		ViewBox string `xml:"viewBox,attr"`
		Shape   string `xml:"shape-rendering,attr"`
		Paths   []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	if want := fmt.Sprintf("0 0 %d %d", c.Size(), c.Size()); doc.ViewBox != want {
		t.Errorf("viewBox %q, want %q", doc.ViewBox, want)
	}
	if doc.Shape != "crispEdges" {
		t.Errorf("shape-rendering %q", doc.Shape)
	}
	if len(doc.Paths) != 1 {
		t.Fatalf("%d paths, want 1", len(doc.Paths))
	}
	// Redraw the modules from the path and compare.
	got := make([][]bool, c.Size())
	for i := range got {
		got[i] = make([]bool, c.Size())
	}
	cmd := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	rest := cmd.ReplaceAllStringFunc(doc.Paths[0].D, func(m string) string {
		p := cmd.FindStringSubmatch(m)
		x, _ := strconv.Atoi(p[1])
		y, _ := strconv.Atoi(p[2])
		w, _ := strconv.Atoi(p[3])
		for i := range w {
			got[y][x+i] = true
		}
		return ""
	})
	if rest != "" {
		t.Fatalf("unexpected path data %q", rest[:min(len(rest), 40)])
	}
	for y := range got {
		for x := range got[y] {
			if got[y][x] != c.Dark(x, y) {
				t.Fatalf("module %d,%d differs in the SVG", x, y)
			}
		}
	}
}

// TestVersionTable logs the version chosen for presentations of several
// lengths, raw and packed, and checks that packing never costs a version.
// Raw versions at M are those measured in the shared library notes.
func TestVersionTable(t *testing.T) {
	t.Parallel()
	rawAtM := map[int]int{600: 19, 800: 23, 1000: 26, 1200: 29}
	var tab strings.Builder
	fmt.Fprintf(&tab, "%6s | %-12s | %-12s | %-12s\n", "chars", "L raw/packed", "M raw/packed", "Q raw/packed")
	for _, n := range []int{600, 800, 1000, 1200} {
		text := testPresentation(n, 7)
		fmt.Fprintf(&tab, "%6d", n)
		for _, lv := range []Level{L, M, Q} {
			raw := mustEncodePresentation(t, text, false, lv).Version()
			packed := mustEncodePresentation(t, text, true, lv).Version()
			fmt.Fprintf(&tab, " | %5d/%-6d", raw, packed)
			if packed > raw {
				t.Errorf("%d chars at %s: packed version %d > raw %d", n, lv, packed, raw)
			}
			if lv == M && raw != rawAtM[n] {
				t.Errorf("%d chars at M: raw version %d, want %d", n, raw, rawAtM[n])
			}
		}
		tab.WriteByte('\n')
	}
	t.Logf("QR version by presentation length:\n%s", tab.String())
}

func BenchmarkEncode(b *testing.B) {
	text := testPresentation(1000, 1)
	for _, packed := range []bool{false, true} {
		b.Run(map[bool]string{false: "raw", true: "packed"}[packed], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodePresentation(text, packed, M); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPNG(b *testing.B) {
	c := mustEncodePresentation(b, testPresentation(1000, 1), false, M)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.PNG(3); err != nil {
			b.Fatal(err)
		}
	}
}
