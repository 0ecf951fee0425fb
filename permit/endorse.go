package permit

import "fmt"

// State is where a permit stands on a given day with respect to the yearly endorsement of Art. 10.
type State string

// The states of a permit, from [Permit.State].
const (
	// StateValid: in force, and the endorsement window has not opened yet.
	StateValid State = "valid"
	// StateEndorsementDue: still in force, and inside the endorsement window (the month before ValidUntil).
	StateEndorsementDue State = "endorsement_due"
	// StateOverdue: ValidUntil has come without an endorsement. The permit's use is suspended (使用功能中止),
	// not cancelled: a late endorsement restores it.
	StateOverdue State = "overdue"
	// StateNotYetValid: the day is before IssueDate (a wrong clock, or a permit dated in the future).
	StateNotYetValid State = "not_yet_valid"
)

// Usable reports whether a permit in state s may be used for the services of Art. 12 and 13: true for
// [StateValid] and [StateEndorsementDue] only.
func (s State) Usable() bool { return s == StateValid || s == StateEndorsementDue }

// WindowOpens returns the first day of the endorsement window: one calendar month before ValidUntil, clamped to
// the month's end (ValidUntil 2027-03-31 opens the window on 2027-02-28). Art. 10 asks the holder to have the
// permit endorsed "within one month before each full year of residence".
func (p Permit) WindowOpens() Date { return p.ValidUntil.AddMonths(-1) }

// State returns the state of the permit on day today. The boundaries are:
//
//	today < IssueDate                      StateNotYetValid
//	IssueDate <= today < WindowOpens()     StateValid
//	WindowOpens() <= today < ValidUntil    StateEndorsementDue (still in force)
//	ValidUntil <= today                    StateOverdue (suspended)
//
// So the permit is in force up to and including the day before ValidUntil; on ValidUntil itself it is overdue.
func (p Permit) State(today Date) State {
	switch {
	case today.Before(p.IssueDate):
		return StateNotYetValid
	case !today.Before(p.ValidUntil):
		return StateOverdue
	case !today.Before(p.WindowOpens()):
		return StateEndorsementDue
	default:
		return StateValid
	}
}

// DaysUntilWindow returns the number of days from today to [Permit.WindowOpens]: positive before the window,
// zero on its first day, negative once it has opened (and after the permit is overdue).
func (p Permit) DaysUntilWindow(today Date) int { return today.DaysUntil(p.WindowOpens()) }

// Endorse records the yearly endorsement (签注) of Art. 10 on day today and returns the updated permit; p itself
// is not changed. Whether the holder still lives in the city and still meets a ground of Art. 2 is for the
// authority to check before calling Endorse.
//
//   - Inside the window (StateEndorsementDue): ValidUntil moves one year on (ValidUntil.AddMonths(12)); the
//     anniversary is kept, so endorsing early in the window loses nothing.
//   - Late (StateOverdue): the endorsement restores the permit with ValidUntil = today + one year, and
//     ResidenceSince restarts at today, because "the years of residence are counted continuously from the day
//     of the late endorsement" (Art. 10).
//   - Before the window (StateValid, StateNotYetValid): an error wrapping [ErrEndorseTooEarly] that says when the
//     window opens.
//
// A permit first issued on February 29 is due on February 28 in later years, as [Date.AddMonths] clamps.
func (p Permit) Endorse(today Date) (Permit, error) {
	if !today.Valid() {
		return p, fmt.Errorf("permit: endorse: today: %w", ErrInvalidDate)
	}
	q := p
	q.Basis = append([]Basis(nil), p.Basis...)
	if p.Guardian != nil {
		g := *p.Guardian
		q.Guardian = &g
	}
	switch p.State(today) {
	case StateEndorsementDue:
		q.ValidUntil = p.ValidUntil.AddMonths(12)
	case StateOverdue:
		q.ValidUntil = today.AddMonths(12)
		q.ResidenceSince = today
	default:
		return p, fmt.Errorf("permit: endorse on %s: the window opens on %s, in %d days: %w",
			today, p.WindowOpens(), p.DaysUntilWindow(today), ErrEndorseTooEarly)
	}
	return q, nil
}
