package permit

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestNewNumberVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		random []byte
		want   string
	}{
		{[]byte{0, 0, 0, 0}, "33010626000000"},
		{[]byte{0xff, 0xff, 0xff, 0xff}, "33010626ZZZZZZ"},
		{[]byte{0x26, 0x7b, 0x8a, 0x9d}, "33010626K7Q2MX"},
		{[]byte{0xe6, 0x7b, 0x8a, 0x9d}, "33010626K7Q2MX"}, // the top two bits are not used
	}
	for _, tt := range tests {
		got, err := NewNumber("330106", 2026, bytes.NewReader(tt.random))
		if err != nil || got != tt.want {
			t.Errorf("NewNumber(% x) = %q, %v; want %q", tt.random, got, err, tt.want)
		}
		if !ValidNumber(got) {
			t.Errorf("ValidNumber(%q) = false", got)
		}
	}
}

func TestNewNumberRandom(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		n, err := NewNumber("330212", 2031, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(n, "33021231") || !ValidNumber(n) {
			t.Fatalf("NewNumber = %q", n)
		}
		seen[n] = true
	}
	if len(seen) < 199 {
		t.Errorf("only %d distinct numbers out of 200", len(seen))
	}
}

func TestNewNumberErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewNumber("330000", 2026, nil); !errors.Is(err, ErrInvalidDivision) {
		t.Errorf("bad division: %v", err)
	}
	for _, y := range []int{2015, 2100, 26, -1} {
		if _, err := NewNumber("330106", y, nil); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("year %d: %v", y, err)
		}
	}
	if _, err := NewNumber("330106", 2026, bytes.NewReader([]byte{1, 2})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: %v", err)
	}
}

func TestValidNumber(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"33010626K7Q2MX", "11010516000000", "33010699ZZZZZZ"} {
		if !ValidNumber(s) {
			t.Errorf("ValidNumber(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "33010626K7Q2M", "33010626K7Q2MXA", "33000026K7Q2MX", "33010615K7Q2MX", "3301062AK7Q2MX",
		"33010626K7Q2MI", "33010626K7Q2ML", "33010626K7Q2MO", "33010626K7Q2MU", "33010626k7q2mx", "33010626K7Q2M-",
	} {
		if ValidNumber(s) {
			t.Errorf("ValidNumber(%q) = true", s)
		}
	}
}

func BenchmarkNewNumber(b *testing.B) {
	for b.Loop() {
		if _, err := NewNumber("330106", 2026, nil); err != nil {
			b.Fatal(err)
		}
	}
}
