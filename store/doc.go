// Package store keeps the issuer service's records in one bbolt file: the
// applications residents submit, the permits officials approve, the status
// lists that carry their revocation and suspension, the officials' API
// tokens, the OpenID4VCI offers and access tokens, and an append-only,
// hash-chained audit log.
//
// # Operations, not rows
//
// Each exported method is one state transition with its checks (an
// application can be approved once, a revoked permit cannot be suspended, a
// pre-authorized code works once) done inside the transaction that writes
// it, together with its audit entry. A method that returns nil has committed
// with fsync: the service acknowledges a write only after that.
//
// Writes go through [bolt.DB.Batch], so concurrent requests share commits
// (and their fsyncs). A batched function may run more than once, so the
// functions here touch nothing outside their transaction; what must happen
// after the commit (the status list version, freeing a status index after a
// failure) happens once Batch has returned.
//
// # Personal data
//
// A permit record keeps the particulars the authority needs to re-issue the
// credential at endorsement. The citizen identity number is in no index in
// clear: the duplicate check uses a keyed hash (HMAC-SHA256 with
// [Options.IndexKey]) of it. Decided applications drop their form: an
// approved one lives on as the permit, a refused one keeps its decision only.
// Audit entries name people by masked identity numbers.
//
// # Status lists
//
// Each issuing authority has status lists of [ListSize] entries of two bits.
// An approval takes a random free index from the authority's open list and
// opens a new list when it is full. Statuses and the used-index bitmap are
// stored in 4 KiB chunks, so a revocation rewrites 4 KiB, not the list.
package store
