// Package permit is the domain model of a Chinese residence permit (居住证) as the State Council's Interim
// Regulations on Residence Permits (居住证暂行条例, Decree No. 663, in force since 2016-01-01) define it: who may
// have one, what it carries, and how it stays in force. It is pure: no network, no files, no clock (every rule
// that depends on the day takes it as a [Date]).
//
// # Applying (Art. 2, 4 and 9)
//
// An [Application] holds the particulars Art. 4 prints on a permit (name, sex, ethnicity, date of birth, citizen
// identity number, photo, household registration address, residence address) and the materials Art. 9 asks for:
// where and since when the applicant lives, and the grounds relied on, each with a reference to its evidence.
// [ParseApplication] reads the public JSON form (see examples/ in the repository).
//
// [Application.Validate] checks its shape. [Decide] applies the Regulations on a given day and returns a
// [Decision] listing every unmet [Condition] at once, so that the applicant learns everything missing in one
// go and can complete the application in one visit (Art. 9). The conditions, with stable codes:
//
//   - Art. 2: the applicant has left the city of household registration ([Division.SameCity]), has lived in the
//     other city for at least six months ([Date.AddMonths]: 2026-05-28 qualifies on 2026-11-28), and has at
//     least one ground: lawful stable employment, a lawful stable residence or continuous study ([Basis]).
//   - Art. 9: a minor under 16 applies through a guardian (the Regulations say "may"; this package requires it,
//     since a child cannot apply alone), and a guardian who applies must be identified by a valid citizen
//     identity number and be an adult of 18 or more (Civil Code Art. 17).
//   - Art. 4 and 9: every particular is present and well formed; each such problem is reported as
//     CodeInvalidApplication with the field and a [Problem] code.
//
// Problem codes: unknown_field and wrong_type (from [ParseApplication], which reports them together with every
// other problem of the form), required, too_long, invalid_text, format_character, invalid_date, date_in_future, before_birth,
// sex_unknown, citizen_id_mismatch, ethnicity_unknown, division_invalid, photo_digest_invalid, basis_kind_unknown,
// guardian_is_applicant, guardian_not_adult, citizen_id_length, citizen_id_format, citizen_id_division,
// citizen_id_birth_date, citizen_id_checksum, and for permits number_invalid, number_mismatch,
// valid_until_not_after_issue.
//
// Free-text fields (names, addresses, evidence references, the guardian's relation, the issuing authority) refuse
// control characters and line separators (invalid_text) and invisible format characters of Unicode category Cf
// (format_character: zero-width spaces, bidirectional overrides and isolates such as U+202E and U+2066 to U+2069,
// byte order marks), which make a name read differently from what it holds; the problem names the character.
//
// # Identity numbers, divisions, ethnic groups
//
// [ValidateCitizenID] checks a GB 11643-1999 number: 18 characters, an address code, a real birth date and the
// ISO 7064 MOD 11-2 check character (uppercase X only). [IDBirthDate] and [IDSex] read it, and [MaskID] prints it
// safely ("110105********002X"); no error of this package contains a full number. [Division] is a GB/T 2260
// code, checked by shape, with names for the cities of Zhejiang; [EthnicityName] knows the 56 groups of
// GB/T 3304-1991.
//
// # Issuing and endorsing (Art. 10)
//
// [NewPermit] turns an eligible application into a [Permit] with a number from [NewNumber] (residence division,
// two-digit year, six random Crockford base32 characters, as in 33010626K7Q2MX). A permit is valid for one year
// and is kept in force by a yearly endorsement (签注). [Permit.State] places a day in one of four states:
//
//	before IssueDate                   StateNotYetValid
//	until the window opens             StateValid
//	from ValidUntil minus one month    StateEndorsementDue (the endorsement window; still in force)
//	from ValidUntil on                 StateOverdue (use suspended, not cancelled)
//
// [Permit.Endorse] inside the window moves ValidUntil one year on; before the window it fails with
// [ErrEndorseTooEarly]; late, it restores the permit for a year from the day of endorsement and restarts the
// residence period on that day, as Art. 10 says ("居住年限自补办签注手续之日起连续计算").
//
// # Services (Art. 12 and 13)
//
// [AllServices] lists the rights, basic public services and conveniences of Art. 12 and 13; [Permit.Services]
// gives them only while the permit is usable.
//
// # Not modelled
//
// Replacement of a lost or damaged permit (Art. 11), household registration in the city of residence (Art. 15
// and 16), the local implementing rules of each province, and the Residence Permit for Hong Kong, Macao and
// Taiwan Residents (a separate document of 2018, whose numbers begin 810000, 820000 or 830000 and are refused
// here).
package permit
