package qr

import (
	"errors"
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
	for _, text := range []string{rfcPresentation(t), testPresentation(1000, 3), testPresentation(1100, 4)} {
		p, err := Pack(text)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != len(PackedPrefix)+2*len(text) || strings.Trim(p[len(PackedPrefix):], "0123456789") != "" {
			t.Fatalf("packed form has the wrong shape: %q...", p[:20])
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
	for _, s := range []string{"ep1:5676", "EP1:81", "ep1:", "ep1:82", "ep1:567", "5676", "ep1:56670413"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Unpack(s)
		if err != nil {
			if !errors.Is(err, ErrBadPacked) {
				t.Fatalf("Unpack(%q) error %v is not ErrBadPacked", s, err)
			}
			return
		}
		// Whatever Unpack accepts, Pack gives back (with the canonical prefix).
		again, err := Pack(out)
		if err != nil {
			t.Fatalf("Pack(Unpack(%q)) failed: %v", s, err)
		}
		if again != PackedPrefix+s[len(PackedPrefix):] {
			t.Fatalf("Pack(Unpack(%q)) = %q", s, again)
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
			if p, err := Pack(out); err != nil || !strings.EqualFold(p, trimmed) {
				t.Fatalf("NormalizeScanned(%q) = %q does not pack back: %q, %v", s, out, p, err)
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
