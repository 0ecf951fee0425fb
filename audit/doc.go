// Package audit builds and checks the entries of e-permit's append-only,
// hash-chained audit log. It is pure: the issuer service stores the entries
// (in bbolt, one per key in sequence order); this package only says what an
// entry is, how it is chained to the one before, and how to verify a chain.
//
// # Writing
//
// Build an [Entry] with Time, Actor, Role, Action, Subject and Detail, then
// call [Chain] with the last stored entry (nil for the first). Chain
// validates the entry ([Entry.Validate]), sets Seq, Prev and Hash, and
// returns the entry to store with [Marshal].
//
// # Verifying
//
// Feed every stored entry, in order, to a [Verifier]. [Verifier.Next]
// returns a *[BrokenError] naming the sequence number at which the chain
// stops being consistent: a changed field, a changed hash, a deleted,
// inserted or reordered entry. [Verifier.Head] is the hash of the last good
// entry; publishing it (or writing it somewhere the log's writer cannot
// change) lets a later audit detect truncation of the tail and a rewrite of
// the whole chain, which a hash chain alone cannot.
//
// # Hash
//
// Hash is the lower-case hex SHA-256 of the 17 bytes "epermit-audit-v1\n"
// followed by the canonical bytes of the entry: the compact JSON object
//
//	{"seq":S,"time":"T","actor":"A","role":"R","action":"C","subject":"U","detail":[["k1","v1"],["k2","v2"]],"prev":"P"}
//
// with the members in exactly that order, no white space, S a decimal
// integer, T the time in UTC formatted as RFC 3339 with as many fractional
// second digits as needed and none when zero (Go's time.RFC3339Nano, for
// instance "2026-05-01T08:00:00.25Z"), detail the Detail map as an array of
// [key, value] pairs sorted by key (byte order of the UTF-8 keys, which is
// code point order) and [] when Detail is empty, and P the previous entry's
// Hash ("" for the first entry). Strings are JSON strings with only '"' and
// '\' escaped (as \" and \\) and every other character written as its UTF-8
// bytes: [Entry.Validate] refuses the characters that encoders escape
// differently (control characters, U+2028, U+2029, invalid UTF-8), so any
// tool reproduces the bytes, for example Python's
//
//	json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
//
// on an object built in that member order. The stored JSON of an entry
// ([Marshal]) carries the same time string, so an auditor copies it as is.
// Example_hash shows one worked computation.
//
// # Personal data
//
// An audit log outlives the permits it describes and is read by more people
// than the permit database. Callers must never put a full citizen identity
// number (GB 11643, 18 characters) in an entry: pass it masked, as
// permit.MaskID does ("110105********002X"). Validate refuses any field
// holding what looks like a full number (17 decimal digits, in any script,
// followed by a digit or X, or reversed), whatever the checksum, and however
// it is spaced: spaces, punctuation, symbols and combining marks between the
// digits do not hide it, and invisible format characters (zero-width, bidi
// controls) are refused outright. As a consequence no field may hold a run
// of 18 or more digits, even separated.
package audit
