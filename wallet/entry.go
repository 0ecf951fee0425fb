package wallet

import (
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// Entry describes one credential the wallet holds, from its always-visible
// claims: what a wallet app lists.
type Entry struct {
	PermitNo string
	Name     string
	MaskedID string // first 6 and last 4 characters of the citizen ID
	Region   string // GB/T 2260 residence division
	Issuer   string // iss of the issuing authority
	IssuedAt time.Time
	// Expires is the date the yearly endorsement is due; after it the
	// permit is suspended until endorsed.
	Expires time.Time
	// Status is the credential's entry in its issuer's status list, where
	// the wallet learns whether it was revoked, suspended or superseded.
	Status statuslist.Reference
}

func entryOf(c *credential.Claims) Entry {
	return Entry{
		PermitNo: c.PermitNo, Name: c.Name, MaskedID: c.MaskedID, Region: c.Region,
		Issuer: c.Issuer, IssuedAt: c.IssuedAt, Expires: c.Expires, Status: c.Status,
	}
}

const day = 24 * time.Hour

// DaysLeft returns the number of days from now until the endorsement is due
// (Expires), counting a started day as a whole one, so that it is positive
// exactly while the permit is not overdue. Once overdue it is zero or
// negative: minus the whole days elapsed since Expires.
func (e Entry) DaysLeft(now time.Time) int {
	d := e.Expires.Sub(now) // saturates instead of overflowing
	n := d / day            // truncated towards zero
	if d > 0 && d%day != 0 {
		n++
	}
	return int(n)
}

// InWindow reports whether now falls in the endorsement window: the month
// before Expires, from the start (China time) of the day permit's rules
// open it (one calendar month before, clamped to the month's end: a permit
// due March 31 opens on February 28 or 29) to Expires exclusive. The holder
// should have the permit endorsed then.
func (e Entry) InWindow(now time.Time) bool {
	cn := permit.ChinaTime()
	opens := permit.DateOf(e.Expires, cn).AddMonths(-1)
	start := time.Date(opens.Year, opens.Month, opens.Day, 0, 0, 0, 0, cn)
	return !now.Before(start) && now.Before(e.Expires)
}

// Overdue reports whether the endorsement was due at or before now: a
// verifier then refuses the permit until it is endorsed and re-issued.
func (e Entry) Overdue(now time.Time) bool {
	return !now.Before(e.Expires)
}
