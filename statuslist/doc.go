// Package statuslist implements the Token Status List of the IETF OAuth
// working group (draft-ietf-oauth-status-list): the revocation and
// suspension register that e-permit verifiers consult offline.
//
// # Lists
//
// A [List] holds one status of 1, 2, 4 or 8 bits for each permit it
// references, packed least significant bit first. Two bits ([DefaultBits])
// hold [Valid], [Invalid] (revoked, final) and [Suspended]:
//
//	l, _ := statuslist.New(statuslist.DefaultBits, statuslist.DefaultSize)
//	_ = l.Set(42, statuslist.Suspended)
//	s, _ := l.Get(42) // SUSPENDED
//
// Set refuses a status wider than the list's bits rather than truncating it:
// a truncated status is the status of another credential.
//
// # Encoding
//
// [List.Encode] gives the JSON form ({"bits":2,"lst":"eNrt..."}): the byte
// array compressed with zlib at the best level and encoded as unpadded
// base64url. [Decode] reverses it strictly and takes a maximum number of
// entries, checked while inflating, so a hostile lst cannot exhaust memory.
//
// # Status List Tokens
//
// [SignToken] wraps a list in a signed JWT of type statuslist+jwt with its
// URI (sub), iat, and optional exp and ttl. [VerifyToken] checks the
// signature, type and claims and decodes the list; [VerifiedToken.ValidAt]
// then checks its times and [VerifiedToken.Lookup] reads the status for the
// [Reference] found in a permit's status claim ([StatusClaim]), refusing a
// reference to another list. A verifier that cannot fetch, verify or decode
// the list must treat the permit's status as unknown, never as Valid.
//
// # Scale and privacy
//
// A province issues tens of millions of permits; they are spread over shards
// of [DefaultSize] entries (2^20: 256 KiB raw at 2 bits, about 40 KB of lst
// with 2 % of entries set), so one revocation re-signs one shard. Within a shard an [Allocator] hands out indices at random, so that
// a permit's index says nothing about when it was issued; it keeps its own
// used bitmap, because an index is taken as soon as it is issued, while its
// status is still Valid.
package statuslist
