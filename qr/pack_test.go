package qr

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"-", "ep1:00"},
		{".", "ep1:01"},
		{"0", "ep1:03"},
		{"A", "ep1:20"},
		{"_", "ep1:50"},
		{"a", "ep1:52"},
		{"z", "ep1:77"},
		{"~", "ep1:81"},
		{"eyJ.x~", "ep1:567629017581"},
	}
	for _, tt := range tests {
		got, err := Pack(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Pack(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		back, err := Unpack(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("Unpack(%q) = %q, %v; want %q", tt.want, back, err, tt.in)
		}
	}
}

func TestPackRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error // nil: any error
	}{
		{"", ErrEmpty},
		{"ab,c", ErrNotPackable}, // ',' is 44
		{"a b", ErrNotPackable},
		{"a\x7f", ErrNotPackable},
		{"Möbius", ErrNotPackable},
		{"ep1:00", nil},
		{"EP1:x", nil},
	}
	for _, tt := range tests {
		_, err := Pack(tt.in)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("Pack(%q) err = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	// Real presentations are canonical base64url and get the compact form;
	// the synthetic ones of testPresentation are not and get two digits a
	// character.
	for i, text := range []string{rfcPresentation(t), testPresentation(1000, 3), testPresentation(1100, 4)} {
		p, err := Pack(text)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if len(p) != len(PackedPrefix)+2*len(text) {
				t.Fatalf("synthetic presentation packed to %q...", p[:20])
			}
		} else if !strings.HasPrefix(p, CompactPrefix) || len(p) >= len(PackedPrefix)+2*len(text) || strings.Trim(p[len(CompactPrefix):], "0123456789") != "" {
			t.Fatalf("packed form has the wrong shape: %q... (%d digits for %d characters)", p[:20], len(p), len(text))
		}
		back, err := Unpack(p)
		if err != nil || back != text {
			t.Fatalf("Unpack(Pack(x)) != x: %v", err)
		}
	}
}

func TestUnpackErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"no prefix", "5676"},
		{"other prefix", "shc:/5676"},
		{"prefix only", "ep1:"},
		{"odd digits", "ep1:567"},
		{"non-digit", "ep1:56a6"},
		{"space", "ep1:56 6"},
		{"value 82", "ep1:5682"},
		{"value 99", "ep1:99"},
		{"trailing newline", "ep1:5676\n"},
		{"decodes to the prefix", "ep1:56670413"},
	}
	for _, tt := range tests {
		if got, err := Unpack(tt.in); !errors.Is(err, ErrBadPacked) {
			t.Errorf("%s: Unpack(%q) = %q, %v; want ErrBadPacked", tt.name, tt.in, got, err)
		}
	}
	if got, err := Unpack("EP1:5676"); err != nil || got != "ey" {
		t.Errorf("upper-case prefix: %q, %v", got, err)
	}
}

func TestNormalizeScanned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"raw", "eyJ.a~", "eyJ.a~", false},
		{"raw with CRLF", "eyJ.a~\r\n", "eyJ.a~", false},
		{"raw with LF", "eyJ.a~\n", "eyJ.a~", false},
		{"raw with spaces", "  eyJ.a~ \t", "eyJ.a~", false},
		{"packed", "ep1:567629017581", "eyJ.x~", false},
		{"packed with CR", "ep1:567629017581\r", "eyJ.x~", false},
		{"packed upper case", "EP1:567629017581\n", "eyJ.x~", false},
		{"empty", "", "", true},
		{"only white space", " \r\n", "", true},
		{"bad packed", "ep1:567", "", true},
		{"packed out of range", "ep1:90", "", true},
	}
	for _, tt := range tests {
		got, err := NormalizeScanned(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: NormalizeScanned(%q) = %q, %v; want %q (error %v)", tt.name, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzUnpack(f *testing.F) {
	for _, s := range []string{"ep1:5676", "EP1:81", "ep1:", "ep1:82", "ep1:567", "5676", "ep1:56670413", "ep2:", "ep2:123", "EP2:00000000000000000", "ep2:2769051476151603200065535",
		"ep3:", "ep3:00000000000000000", "EP3:123"} {
		f.Add(s)
	}
	for _, name := range []string{"residence-proof", "police-check"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "presentations", name+".txt")); err == nil {
			p, _ := Pack(strings.TrimSpace(string(b)))
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Unpack(s)
		if err != nil {
			if !errors.Is(err, ErrBadPacked) {
				t.Fatalf("Unpack(%q) error %v is not ErrBadPacked", s, err)
			}
			return
		}
		// Whatever Unpack accepts, Pack packs again, and that unpacks to the same.
		again, err := Pack(out)
		if err != nil {
			t.Fatalf("Pack(Unpack(%q)) failed: %v", s, err)
		}
		if back, err := Unpack(again); err != nil || back != out {
			t.Fatalf("Unpack(Pack(%q)) = %q, %v", out, back, err)
		}
	})
}

func FuzzNormalizeScanned(f *testing.F) {
	for _, s := range []string{"eyJ.a~\r\n", "ep1:5676\n", " EP1:81 ", "", "\r\n", "ep1:9", "é~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeScanned(s)
		if err != nil {
			return
		}
		trimmed := strings.TrimSpace(s)
		if out == "" || strings.TrimSpace(out) != out {
			t.Fatalf("NormalizeScanned(%q) = %q: empty or untrimmed", s, out)
		}
		if hasPackedPrefix(trimmed) {
			p, err := Pack(out)
			if err != nil {
				t.Fatalf("NormalizeScanned(%q) = %q does not pack: %v", s, out, err)
			}
			if back, err := Unpack(p); err != nil || back != out {
				t.Fatalf("NormalizeScanned(%q) = %q does not pack back: %q, %v", s, out, back, err)
			}
			return
		}
		if out != trimmed {
			t.Fatalf("raw NormalizeScanned(%q) = %q, want %q", s, out, trimmed)
		}
		// Normalising twice changes nothing.
		if again, err := NormalizeScanned(out); err != nil || again != out {
			t.Fatalf("not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

// TestVersionGoal reports the QR version of real wallet presentations raw
// and packed at levels L, M and Q (docs/credential-format.md), and holds the
// default holder-bound presentation (residence-proof, no disclosure) packed
// at level M to version 22 or lower.
func TestVersionGoal(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/presentations/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no presentations: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSpace(string(data))
		packed, err := Pack(text)
		if err != nil {
			t.Fatal(err)
		}
		var raw, pk [3]int
		for i, l := range []Level{L, M, Q} {
			r, err := EncodePresentation(text, false, l)
			if err != nil {
				t.Fatal(err)
			}
			p, err := EncodePresentation(text, true, l)
			if err != nil {
				t.Fatal(err)
			}
			raw[i], pk[i] = r.Version(), p.Version()
		}
		t.Logf("%-28s %5d chars raw L/M/Q %2d/%2d/%2d | packed %5d digits L/M/Q %2d/%2d/%2d",
			filepath.Base(f), len(text), raw[0], raw[1], raw[2], len(packed), pk[0], pk[1], pk[2])
		if filepath.Base(f) == "residence-proof.txt" && pk[1] > 22 {
			t.Errorf("default presentation packed at M: version %d, goal 22", pk[1])
		}
	}
}

// TestUnpackEp2: codes made before ep3 (by Pack as it was, kept in
// testdata) still read.
func TestUnpackEp2(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"residence-proof", "police-check"} {
		packed, err := os.ReadFile(filepath.Join("testdata", "presentations", name+".ep2"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "presentations", name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := NormalizeScanned(string(packed))
		if err != nil || got != strings.TrimSpace(string(want)) {
			t.Errorf("%s: ep2 code unpacks to %.40q..., %v", name, got, err)
		}
	}
}

// TestPackElidesDigests: the digests a reader computes are left out of the
// packed form and put back exactly, whatever the presentation holds: no
// KB-JWT, a KB-JWT whose sd_hash is wrong, a disclosure twice, one the
// credential does not list, several.
func TestPackElidesDigests(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "presentations", "police-check.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(b))
	parts := strings.Split(text, "~")
	jwt, disc, kb := parts[0], parts[1], parts[2]
	reKB := func(kb, sdHash string) string { // the KB-JWT with another sd_hash, signature kept
		seg := strings.Split(kb, ".")
		payload, _ := b64.DecodeString(seg[1])
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		m["sd_hash"] = sdHash
		out, _ := json.Marshal(m)
		return seg[0] + "." + b64.EncodeToString(out) + "." + seg[2]
	}
	other := b64.EncodeToString([]byte(`["salt","x",1]`))
	for _, tc := range []struct {
		name, text string
		holes      int
	}{
		{"as shown", text, 2},
		{"no KB-JWT", jwt + "~" + disc + "~", 1},
		{"no disclosure, no KB-JWT", jwt + "~", 0},
		{"sd_hash of something else", jwt + "~" + disc + "~" + reKB(kb, digest("x")), 1},
		{"disclosure twice", jwt + "~" + disc + "~" + disc + "~" + reKB(kb, digest(jwt+"~"+disc+"~"+disc+"~")), 2},
		{"a disclosure not in the credential", jwt + "~" + other + "~" + disc + "~" + reKB(kb, digest(jwt+"~"+other+"~"+disc+"~")), 2},
		{"only a KB-JWT", jwt + "~" + reKB(kb, digest(jwt+"~")), 1},
	} {
		p, err := Pack(tc.text)
		if err != nil || !strings.HasPrefix(p, CompactPrefix) {
			t.Fatalf("%s: Pack: %.10q, %v", tc.name, p, err)
		}
		if back, err := Unpack(p); err != nil || back != tc.text {
			t.Errorf("%s: Unpack(Pack(x)) != x: %v", tc.name, err)
		}
		segs := mustSegments(t, tc.text)
		if holes := elide(tc.text, segs); len(holes) != tc.holes {
			t.Errorf("%s: %d digests left out, want %d", tc.name, len(holes), tc.holes)
		}
	}
}

// mustSegments splits text as packCompact does.
func mustSegments(t *testing.T, text string) []frameSeg {
	t.Helper()
	var segs []frameSeg
	for i, part := range strings.Split(text, "~") {
		if i > 0 {
			segs[len(segs)-1].sep = frameTilde
		}
		for j, s := range strings.Split(part, ".") {
			raw, err := b64.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			if j > 0 {
				segs[len(segs)-1].sep = frameDot
			}
			segs = append(segs, frameSeg{raw: raw, sep: frameEnd})
		}
	}
	return segs
}

// FuzzPackRoundTrip builds presentations whose issuer payload lists the
// digests of their disclosures (among other bytes) and whose KB-JWT carries
// the sd_hash, and holds Unpack(Pack(x)) == x.
func FuzzPackRoundTrip(f *testing.F) {
	f.Add([]byte(`{"_sd":[`), []byte("a\x00b"), uint8(3), true)
	f.Add([]byte(`x`), []byte(""), uint8(0), false)
	f.Add([]byte(``), []byte("\x00\x00"), uint8(200), true)
	f.Fuzz(func(t *testing.T, payload, disclosures []byte, at uint8, withKB bool) {
		var discs []string
		for _, d := range bytes.Split(disclosures, []byte{0}) {
			if len(discs) < 8 {
				discs = append(discs, b64.EncodeToString(d))
			}
		}
		body := slices.Clone(payload)
		for _, d := range discs {
			i := 0
			if len(body) > 0 {
				i = int(at) % (len(body) + 1)
			}
			body = slices.Concat(body[:i], []byte(`"`+digest(d)+`"`), body[i:])
		}
		text := "eyJ." + b64.EncodeToString(body) + ".c2ln~"
		for _, d := range discs {
			text += d + "~"
		}
		if withKB {
			text += "eyJ." + b64.EncodeToString([]byte(`{"sd_hash":"`+digest(text)+`"}`)) + ".c2ln"
		}
		p, err := Pack(text)
		if err != nil {
			return // e.g. an empty disclosure: not a presentation
		}
		if back, err := Unpack(p); err != nil || back != text {
			t.Fatalf("Unpack(Pack(%q)) = %q, %v", text, back, err)
		}
	})
}
