package permit

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func d(y int, m time.Month, day int) Date { return Date{Year: y, Month: m, Day: day} }

func TestParseDate(t *testing.T) {
	t.Parallel()
	good := map[string]Date{
		"2026-11-27": d(2026, 11, 27),
		"2028-02-29": d(2028, 2, 29),
		"2000-02-29": d(2000, 2, 29),
		"0001-01-01": d(1, 1, 1),
		"9999-12-31": d(9999, 12, 31),
	}
	for s, want := range good {
		got, err := ParseDate(s)
		if err != nil || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), s)
		}
	}
	for _, s := range []string{
		"", "2026-1-27", "2026/11/27", "20261127", "2026-11-27T00:00:00Z", "2026-13-01", "2026-00-10",
		"2026-02-29", "1900-02-29", "2026-04-31", "0000-01-01", "+026-11-27", "2026-11-2x", " 2026-11-27",
	} {
		if _, err := ParseDate(s); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("ParseDate(%q) = %v, want ErrInvalidDate", s, err)
		}
	}
}

func TestNewDate(t *testing.T) {
	t.Parallel()
	if got, err := NewDate(2024, time.February, 29); err != nil || got != d(2024, 2, 29) {
		t.Errorf("NewDate(2024-02-29) = %v, %v", got, err)
	}
	if _, err := NewDate(2025, time.February, 29); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("NewDate(2025-02-29) = %v, want ErrInvalidDate", err)
	}
}

func TestAddMonths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from Date
		n    int
		want Date
	}{
		{d(2026, 1, 31), 1, d(2026, 2, 28)},
		{d(2028, 1, 31), 1, d(2028, 2, 29)},
		{d(2026, 1, 31), 2, d(2026, 3, 31)},
		{d(2026, 3, 31), 1, d(2026, 4, 30)},
		{d(2028, 2, 29), 12, d(2029, 2, 28)},
		{d(2028, 2, 29), 48, d(2032, 2, 29)},
		{d(2028, 2, 29), -12, d(2027, 2, 28)},
		{d(2026, 3, 31), -1, d(2026, 2, 28)},
		{d(2026, 12, 15), 1, d(2027, 1, 15)},
		{d(2026, 1, 15), -1, d(2025, 12, 15)},
		{d(2026, 1, 15), -25, d(2023, 12, 15)},
		{d(2026, 5, 28), 6, d(2026, 11, 28)},
		{d(2025, 8, 31), 6, d(2026, 2, 28)},
		{d(2026, 11, 27), 0, d(2026, 11, 27)},
	}
	for _, tt := range tests {
		if got := tt.from.AddMonths(tt.n); got != tt.want {
			t.Errorf("%v.AddMonths(%d) = %v, want %v", tt.from, tt.n, got, tt.want)
		}
	}
}

// TestDayArithmeticAgainstTime checks AddDays and DaysUntil against the time package on random dates.
func TestDayArithmeticAgainstTime(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2000 {
		t1 := base.AddDate(0, 0, r.IntN(120000))
		n := r.IntN(4000) - 2000
		t2 := t1.AddDate(0, 0, n)
		d1, d2 := DateOf(t1, nil), DateOf(t2, nil)
		if got := d1.AddDays(n); got != d2 {
			t.Fatalf("%v.AddDays(%d) = %v, want %v", d1, n, got, d2)
		}
		if got := d1.DaysUntil(d2); got != n {
			t.Fatalf("%v.DaysUntil(%v) = %d, want %d", d1, d2, got, n)
		}
		if got := d1.Compare(d2); got != -sign(n) {
			t.Fatalf("%v.Compare(%v) = %d, want %d", d1, d2, got, -sign(n))
		}
	}
	if got := d(1970, 1, 1).days(); got != 0 {
		t.Errorf("epoch is day %d", got)
	}
	if got := d(2028, 2, 28).AddDays(1); got != d(2028, 2, 29) {
		t.Errorf("2028-02-28 + 1 day = %v", got)
	}
	if got := d(1, 1, 1).AddDays(-1); got != d(0, 12, 31) {
		t.Errorf("0001-01-01 - 1 day = %v", got)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	a, b := d(2026, 11, 27), d(2026, 11, 28)
	if !a.Before(b) || a.After(b) || a.Equal(b) || !b.After(a) || !a.Equal(d(2026, 11, 27)) {
		t.Error("Before/After/Equal disagree")
	}
	if d(2026, 12, 1).Compare(d(2027, 1, 1)) != -1 || d(2026, 12, 1).Compare(d(2026, 11, 30)) != 1 {
		t.Error("Compare across months or years is wrong")
	}
}

func TestAgeOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		birth, today Date
		want         int
	}{
		{d(2010, 11, 27), d(2026, 11, 27), 16},
		{d(2010, 11, 27), d(2026, 11, 26), 15},
		{d(2010, 12, 1), d(2026, 11, 30), 15},
		{d(2012, 2, 29), d(2028, 2, 28), 15},
		{d(2012, 2, 29), d(2028, 2, 29), 16},
		{d(2012, 2, 29), d(2027, 2, 28), 14},
		{d(2012, 2, 29), d(2027, 3, 1), 15},
		{d(2026, 11, 28), d(2026, 11, 27), -1},
	}
	for _, tt := range tests {
		if got := tt.birth.AgeOn(tt.today); got != tt.want {
			t.Errorf("%v.AgeOn(%v) = %d, want %d", tt.birth, tt.today, got, tt.want)
		}
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		A Date `json:"a"`
		B Date `json:"b,omitzero"`
	}
	out, err := json.Marshal(doc{A: d(2026, 2, 3)})
	if err != nil || string(out) != `{"a":"2026-02-03"}` {
		t.Fatalf("Marshal = %s, %v", out, err)
	}
	out, err = json.Marshal(doc{})
	if err != nil || string(out) != `{"a":""}` {
		t.Fatalf("Marshal zero = %s, %v", out, err)
	}
	var got doc
	if err := json.Unmarshal([]byte(`{"a":"2028-02-29","b":""}`), &got); err != nil || got.A != d(2028, 2, 29) || !got.B.IsZero() {
		t.Fatalf("Unmarshal = %+v, %v", got, err)
	}
	for _, bad := range []string{`{"a":"2026-02-30"}`, `{"a":"27/11/2026"}`, `{"a":20261127}`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	if _, err := json.Marshal(doc{A: d(2026, 2, 30)}); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("Marshal of an invalid date: %v", err)
	}
}

func TestDateOf(t *testing.T) {
	t.Parallel()
	instant := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC) // 01:00 on the 28th in Beijing
	if got := DateOf(instant, ChinaTime()); got != d(2026, 11, 28) {
		t.Errorf("DateOf(China) = %v", got)
	}
	if got := DateOf(instant, nil); got != d(2026, 11, 27) {
		t.Errorf("DateOf(nil) = %v", got)
	}
	if got := DateOf(instant, time.UTC); got != d(2026, 11, 27) {
		t.Errorf("DateOf(UTC) = %v", got)
	}
}

func TestDateValid(t *testing.T) {
	t.Parallel()
	for _, x := range []Date{{}, d(2026, 0, 1), d(2026, 13, 1), d(2026, 4, 31), d(0, 1, 1), d(10000, 1, 1), d(2026, 1, 0)} {
		if x.Valid() {
			t.Errorf("%+v is valid", x)
		}
	}
}
