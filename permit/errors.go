package permit

import "errors"

// Errors about a citizen identity number (GB 11643-1999). Every error returned by [ValidateCitizenID] wraps exactly
// one of them; the message quotes the number masked by [MaskID], never in full.
var (
	// ErrIDLength means the number is not 18 characters long.
	ErrIDLength = errors.New("citizen id must be 18 characters")
	// ErrIDFormat means a character is out of place: the first 17 must be digits and the last a digit or 'X'.
	ErrIDFormat = errors.New("citizen id must be 17 digits followed by a digit or X")
	// ErrIDDivision means the first six digits cannot be an address code (a mainland division of GB/T 2260).
	ErrIDDivision = errors.New("citizen id address code is not a division code")
	// ErrIDBirthDate means digits 7 to 14 are not a real calendar date, or the date is in the future.
	ErrIDBirthDate = errors.New("citizen id birth date is not a valid date")
	// ErrIDChecksum means the 18th character is not the ISO 7064 MOD 11-2 check character of the first 17.
	ErrIDChecksum = errors.New("citizen id check character does not match")
)

var (
	// ErrInvalidDate means a date is not a real calendar day or not in the form YYYY-MM-DD.
	ErrInvalidDate = errors.New("invalid date")
	// ErrInvalidDivision means an administrative division code is not six digits of a mainland division.
	ErrInvalidDivision = errors.New("invalid division code")
	// ErrInvalidNumber means a permit number does not have the form described at [NewNumber].
	ErrInvalidNumber = errors.New("invalid permit number")
	// ErrInvalidApplication is matched (with errors.Is) by every [*ValidationError] from [Application.Validate].
	ErrInvalidApplication = errors.New("invalid application")
	// ErrInvalidPermit is matched (with errors.Is) by every [*ValidationError] from [Permit.Validate].
	ErrInvalidPermit = errors.New("invalid permit")
	// ErrNotEligible means an application does not meet the conditions of the Regulations; [Decide] says which.
	ErrNotEligible = errors.New("applicant is not eligible")
	// ErrEndorseTooEarly means an endorsement was asked for before its window opened (Art. 10).
	ErrEndorseTooEarly = errors.New("endorsement window is not open yet")
)
