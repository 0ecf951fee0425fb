package permit

import (
	"fmt"
	"time"
)

// Date is a civil calendar date with no time of day and no time zone, as printed on a permit.
//
// The zero Date means "no date"; it is not [Date.Valid]. In JSON a Date is the string "YYYY-MM-DD"
// (and the zero Date is ""), so optional dates use the `omitzero` tag option.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// chinaTime is UTC+8 with no daylight saving time, the legal time of the People's Republic of China since 1992.
var chinaTime = time.FixedZone("UTC+8", 8*60*60)

// ChinaTime returns the time zone in which permit dates are counted: China Standard Time, UTC+8, with no daylight
// saving time (China has observed none since 1992).
func ChinaTime() *time.Location { return chinaTime }

// DateOf returns the calendar date of t in loc, or in t's own location when loc is nil.
// Use DateOf(now, ChinaTime()) to find "today" for the permit rules.
func DateOf(t time.Time, loc *time.Location) Date {
	if loc != nil {
		t = t.In(loc)
	}
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// NewDate returns the date year-month-day, or an error wrapping [ErrInvalidDate] if no such calendar day exists
// (for example February 30, or a year outside 1..9999).
func NewDate(year int, month time.Month, day int) (Date, error) {
	d := Date{Year: year, Month: month, Day: day}
	if !d.Valid() {
		return Date{}, fmt.Errorf("permit: date %04d-%02d-%02d: %w", year, int(month), day, ErrInvalidDate)
	}
	return d, nil
}

// ParseDate parses the exact form "YYYY-MM-DD" (four-digit year, two-digit month and day) and refuses days that
// do not exist in the calendar. It returns an error wrapping [ErrInvalidDate].
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("permit: date %q: want YYYY-MM-DD: %w", truncate(s), ErrInvalidDate)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("permit: date %q: want YYYY-MM-DD: %w", truncate(s), ErrInvalidDate)
	}
	date := Date{Year: y, Month: time.Month(m), Day: d}
	if !date.Valid() {
		return Date{}, fmt.Errorf("permit: date %q: no such day: %w", s, ErrInvalidDate)
	}
	return date, nil
}

// digits parses s as a non-negative decimal number made only of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// truncate shortens s for an error message so that hostile input cannot make errors huge.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// daysIn returns the number of days in month m of year y (proleptic Gregorian calendar).
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

// Valid reports whether d is a real calendar day with a year in 1..9999.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 &&
		d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// IsZero reports whether d is the zero Date, meaning "no date".
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText encodes d as "YYYY-MM-DD" (the zero Date as ""); it refuses any other invalid date.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.Valid() {
		return nil, fmt.Errorf("permit: marshal date %04d-%02d-%02d: %w", d.Year, int(d.Month), d.Day, ErrInvalidDate)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes "YYYY-MM-DD" as [ParseDate] does; the empty text decodes to the zero Date, which
// validation then reports as missing.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// AddMonths returns the date n months after d (before it when n is negative). When the target month is shorter,
// the day is clamped to its last day: January 31 plus one month is February 28 (29 in a leap year), and
// February 29 plus twelve months is February 28.
func (d Date) AddMonths(n int) Date {
	total := d.Year*12 + int(d.Month) - 1 + n
	y := floorDiv(total, 12)
	m := time.Month(total-y*12) + 1
	day := d.Day
	if max := daysIn(y, m); day > max {
		day = max
	}
	return Date{Year: y, Month: m, Day: day}
}

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date {
	return fromDays(d.days() + int64(n))
}

// DaysUntil returns the number of days from d to o: positive when o is later, negative when it is earlier.
func (d Date) DaysUntil(o Date) int {
	return int(o.days() - d.days())
}

// Compare returns -1 if d is before o, 0 if they are the same day, and +1 if d is after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return sign(d.Year - o.Year)
	case d.Month != o.Month:
		return sign(int(d.Month) - int(o.Month))
	default:
		return sign(d.Day - o.Day)
	}
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Equal reports whether d and o are the same day.
func (d Date) Equal(o Date) bool { return d == o }

// AgeOn returns the age in completed years, on day today, of a person born on d. A person born on February 29
// completes a year on March 1 in common years. The result is negative when today is before d.
func (d Date) AgeOn(today Date) int {
	age := today.Year - d.Year
	if today.Month < d.Month || (today.Month == d.Month && today.Day < d.Day) {
		age--
	}
	return age
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// days returns the number of days from 1970-01-01 to d (Howard Hinnant's days_from_civil algorithm).
func (d Date) days() int64 {
	y := int64(d.Year)
	m := int64(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromDays is the inverse of days (Howard Hinnant's civil_from_days algorithm).
func fromDays(z int64) Date {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{Year: int(y), Month: time.Month(m), Day: int(day)}
}
