package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/epermit/epermit/internal/jws"
)

// Domain is the prefix hashed before the canonical bytes of every entry. It
// names the hashing rule, so that a future rule cannot produce the hash of
// an entry made under this one.
const Domain = "epermit-audit-v1\n"

// Limits enforced by Validate.
const (
	MaxFieldBytes   = 256  // Actor, Role, Action, Subject and each Detail key
	MaxDetail       = 32   // entries in Detail
	MaxDetailValue  = 1024 // bytes in each Detail value
	maxEntryJSONLen = 64 << 10
)

// ErrInvalid is wrapped by every error Validate and Unmarshal return.
var ErrInvalid = errors.New("invalid audit entry")

// Entry is one record of the audit log. Seq, Prev and Hash are set by Chain;
// the other fields describe what happened.
type Entry struct {
	// Seq numbers the entries from 1, without gaps.
	Seq uint64 `json:"seq"`
	// Time is when the action happened, stored in UTC.
	Time time.Time `json:"time"`
	// Actor identifies who acted: an officer's login, a service name.
	Actor string `json:"actor"`
	// Role is the actor's role when acting, such as "officer" or "system".
	Role string `json:"role"`
	// Action names what was done, such as "permit.issue".
	Action string `json:"action"`
	// Subject is what the action applied to, such as a permit number or a
	// masked citizen identity number. Never a full citizen identity number.
	Subject string `json:"subject"`
	// Detail holds further facts as short strings, masked like Subject.
	Detail map[string]string `json:"detail,omitempty"`
	// Prev is the Hash of the previous entry, "" for the first entry.
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of Domain and the entry's canonical bytes.
	Hash string `json:"hash"`
}

// Validate checks the descriptive fields: Actor and Action present; Actor,
// Role, Action, Subject and Detail keys at most MaxFieldBytes; at most
// MaxDetail Detail entries with non-empty keys and values of at most
// MaxDetailValue bytes; valid UTF-8 without control characters, U+2028 or
// U+2029; a non-zero Time; and nothing that looks like a full citizen
// identity number (see the package documentation). Errors wrap ErrInvalid.
func (e Entry) Validate() error {
	if e.Actor == "" {
		return fmt.Errorf("audit: %w: actor is empty", ErrInvalid)
	}
	if e.Action == "" {
		return fmt.Errorf("audit: %w: action is empty", ErrInvalid)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("audit: %w: time is zero", ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{
		{"actor", e.Actor}, {"role", e.Role}, {"action", e.Action}, {"subject", e.Subject},
	} {
		if err := checkText(f.name, f.v, MaxFieldBytes); err != nil {
			return err
		}
	}
	if len(e.Detail) > MaxDetail {
		return fmt.Errorf("audit: %w: detail has %d entries, at most %d", ErrInvalid, len(e.Detail), MaxDetail)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
		if k == "" {
			return fmt.Errorf("audit: %w: detail key is empty", ErrInvalid)
		}
		if err := checkText("detail key", k, MaxFieldBytes); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("detail %q", k), e.Detail[k], MaxDetailValue); err != nil {
			return err
		}
	}
	return nil
}

// checkText applies the length, character and citizen identity number rules
// to one field. The value is never quoted in the error: it may be personal.
func checkText(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("audit: %w: %s is %d bytes, at most %d", ErrInvalid, name, len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("audit: %w: %s is not valid UTF-8", ErrInvalid, name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("audit: %w: %s contains control character %U", ErrInvalid, name, r)
		}
		if unicode.Is(unicode.Cf, r) {
			// Zero-width and bidirectional controls hide or reorder text.
			return fmt.Errorf("audit: %w: %s contains invisible format character %U", ErrInvalid, name, r)
		}
	}
	if looksLikeCitizenID(v) {
		return fmt.Errorf("audit: %w: %s looks like a full citizen identity number; mask it (permit.MaskID)", ErrInvalid, name)
	}
	return nil
}

// looksLikeCitizenID reports whether s holds a full citizen identity number,
// however it is written: once spaces, punctuation, symbols, combining marks
// and format characters are taken out (up to two in a row; a masking star
// ends a number), so that "110105 1992-0814.0517" counts: 17 consecutive
// decimal digits (unicode.IsDigit, so full-width digits count) followed by a
// digit or an X (ASCII or full-width, either case), or the same reversed (an
// X then 17 digits).
func looksLikeCitizenID(s string) bool {
	run, xThen, seps := 0, false, 0
	for _, r := range s {
		switch {
		case r == '*' || r == '＊':
			// A masking star ends a number: 440524********0014 is masked.
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			// Up to two separators in a row do not break a number.
			if seps++; seps <= 2 {
				continue
			}
		case unicode.IsDigit(r):
			seps = 0
			run++
			if run >= 18 || (xThen && run >= 17) {
				return true
			}
			continue
		case isX(r):
			if run >= 17 {
				return true
			}
			run, xThen, seps = 0, true, 0
			continue
		}
		run, xThen, seps = 0, false, 0
	}
	return false
}

func isX(r rune) bool { return r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ' }

// canonicalEntry fixes the member order of the hashed JSON.
type canonicalEntry struct {
	Seq     uint64      `json:"seq"`
	Time    string      `json:"time"`
	Actor   string      `json:"actor"`
	Role    string      `json:"role"`
	Action  string      `json:"action"`
	Subject string      `json:"subject"`
	Detail  [][2]string `json:"detail"`
	Prev    string      `json:"prev"`
}

// formatTime is the one time format of stored and hashed entries.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Canonical returns the bytes hashed for e, after Domain: every field except
// Hash, encoded as the package documentation describes.
func (e Entry) Canonical() ([]byte, error) {
	c := canonicalEntry{
		Seq: e.Seq, Time: formatTime(e.Time), Actor: e.Actor, Role: e.Role,
		Action: e.Action, Subject: e.Subject, Detail: make([][2]string, 0, len(e.Detail)), Prev: e.Prev,
	}
	for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
		c.Detail = append(c.Detail, [2]string{k, e.Detail[k]})
	}
	b, err := jws.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("audit: canonical: %w", err)
	}
	return b, nil
}

// ComputeHash returns the hash e must carry: the lower-case hex SHA-256 of
// Domain followed by e.Canonical(). It ignores e.Hash.
func (e Entry) ComputeHash() (string, error) {
	b, err := e.Canonical()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(Domain))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Chain returns e completed as the entry that follows prev (nil when e is
// the first entry of the log): Seq is prev.Seq+1 (or 1), Prev is prev.Hash
// (or ""), Time is converted to UTC without a monotonic clock reading, and
// Hash is computed. The Seq, Prev and Hash that e carries are overwritten.
// Chain refuses an entry that Validate refuses. Detail is copied, so later
// changes to the caller's map do not alter the returned entry.
func Chain(prev *Entry, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	e.Seq, e.Prev = 1, ""
	if prev != nil {
		if prev.Hash == "" {
			return Entry{}, fmt.Errorf("audit: previous entry %d has no hash", prev.Seq)
		}
		e.Seq, e.Prev = prev.Seq+1, prev.Hash
	}
	e.Time = e.Time.Round(0).UTC()
	if len(e.Detail) > 0 {
		e.Detail = maps.Clone(e.Detail)
	} else {
		e.Detail = nil
	}
	h, err := e.ComputeHash()
	if err != nil {
		return Entry{}, err
	}
	e.Hash = h
	return e, nil
}

// Reasons a chain is broken, the Reason of a BrokenError.
const (
	ReasonSeq  = "seq gap"       // Seq is not the previous Seq plus one (or 1 first)
	ReasonPrev = "prev mismatch" // Prev is not the previous entry's Hash
	ReasonHash = "hash mismatch" // Hash is not the hash of the entry's fields
)

// BrokenError reports where and why a chain does not verify. Seq is the
// sequence number the entry at that position should have carried, which is
// also the number of the first entry not verified.
type BrokenError struct {
	Seq    uint64
	Reason string // ReasonSeq, ReasonPrev or ReasonHash
	Detail string // what was found, for people; may be empty
}

// Error describes the break.
func (e *BrokenError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("audit: chain broken at seq %d: %s", e.Seq, e.Reason)
	}
	return fmt.Sprintf("audit: chain broken at seq %d: %s: %s", e.Seq, e.Reason, e.Detail)
}

// Check verifies that e follows prev (nil for the first entry): its Seq,
// its Prev, and its Hash recomputed from its fields. It does not check prev
// itself; a Verifier checks every link. The error is a *BrokenError.
func (e Entry) Check(prev *Entry) error {
	want, wantPrev := uint64(1), ""
	if prev != nil {
		want, wantPrev = prev.Seq+1, prev.Hash
	}
	if e.Seq != want {
		return &BrokenError{Seq: want, Reason: ReasonSeq, Detail: "found seq " + strconv.FormatUint(e.Seq, 10)}
	}
	if e.Prev != wantPrev {
		return &BrokenError{Seq: want, Reason: ReasonPrev}
	}
	h, err := e.ComputeHash()
	if err != nil {
		return &BrokenError{Seq: want, Reason: ReasonHash, Detail: err.Error()}
	}
	if h != e.Hash {
		return &BrokenError{Seq: want, Reason: ReasonHash}
	}
	return nil
}

// Verifier checks a log entry by entry, in order, without holding it in
// memory. The zero Verifier expects the first entry of a log. A Verifier
// is not safe for concurrent use.
type Verifier struct {
	last  Entry
	count uint64
	err   error
}

// Next checks that e follows the entries fed so far. After the first
// failure Next returns that same *BrokenError for every later call.
func (v *Verifier) Next(e Entry) error {
	if v.err != nil {
		return v.err
	}
	var prev *Entry
	if v.count > 0 {
		prev = &v.last
	}
	if err := e.Check(prev); err != nil {
		v.err = err
		return err
	}
	v.last = e
	v.count++
	return nil
}

// Count returns the number of entries verified.
func (v *Verifier) Count() uint64 { return v.count }

// Head returns the Hash of the last verified entry, "" before the first.
func (v *Verifier) Head() string {
	if v.count == 0 {
		return ""
	}
	return v.last.Hash
}

// wireEntry is the stored form: Entry with the time as a string in the one
// format that is hashed.
type wireEntry struct {
	Seq     uint64            `json:"seq"`
	Time    string            `json:"time"`
	Actor   string            `json:"actor"`
	Role    string            `json:"role"`
	Action  string            `json:"action"`
	Subject string            `json:"subject"`
	Detail  map[string]string `json:"detail,omitempty"`
	Prev    string            `json:"prev"`
	Hash    string            `json:"hash"`
}

// Marshal returns the stored form of e: compact JSON with the members of
// Entry in order, the time in UTC as RFC 3339 (time.RFC3339Nano), and no
// HTML escaping.
func Marshal(e Entry) ([]byte, error) {
	b, err := jws.Marshal(wireEntry{
		Seq: e.Seq, Time: formatTime(e.Time), Actor: e.Actor, Role: e.Role, Action: e.Action,
		Subject: e.Subject, Detail: e.Detail, Prev: e.Prev, Hash: e.Hash,
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return b, nil
}

// Unmarshal parses a stored entry strictly: unknown, duplicate or
// case-variant members, a missing seq, time or hash, and a time not in UTC
// RFC 3339 are refused with errors wrapping ErrInvalid. It does not verify
// the hash; Check and Verifier do.
func Unmarshal(data []byte) (Entry, error) {
	if len(data) > maxEntryJSONLen {
		return Entry{}, fmt.Errorf("audit: %w: %d bytes", ErrInvalid, len(data))
	}
	var members map[string]json.RawMessage
	if err := jws.DecodeStrict(data, &members); err != nil {
		return Entry{}, fmt.Errorf("audit: %w: %w", ErrInvalid, err)
	}
	if members == nil {
		return Entry{}, fmt.Errorf("audit: %w: not a JSON object", ErrInvalid)
	}
	known := map[string]bool{"seq": true, "time": true, "actor": true, "role": true, "action": true,
		"subject": true, "detail": true, "prev": true, "hash": true}
	for k := range members {
		if !known[k] {
			return Entry{}, fmt.Errorf("audit: %w: unknown member %q", ErrInvalid, k)
		}
	}
	for _, k := range []string{"seq", "time", "hash"} {
		if _, ok := members[k]; !ok {
			return Entry{}, fmt.Errorf("audit: %w: member %q is missing", ErrInvalid, k)
		}
	}
	var w wireEntry
	if err := jws.DecodeStrict(data, &w); err != nil {
		return Entry{}, fmt.Errorf("audit: %w: %w", ErrInvalid, err)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil || formatTime(t) != w.Time {
		return Entry{}, fmt.Errorf("audit: %w: time %q is not UTC RFC 3339", ErrInvalid, w.Time)
	}
	if d, ok := members["detail"]; ok && string(d) == "null" {
		return Entry{}, fmt.Errorf("audit: %w: detail is null", ErrInvalid)
	}
	return Entry{
		Seq: w.Seq, Time: t, Actor: w.Actor, Role: w.Role, Action: w.Action, Subject: w.Subject,
		Detail: w.Detail, Prev: w.Prev, Hash: w.Hash,
	}, nil
}
