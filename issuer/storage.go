package issuer

import (
	"context"
	"errors"
	"io"
)

// Storage is where a [Service] keeps its records: ordered keyspaces
// ("buckets") of byte keys and values with transactions. It decides
// nothing: every rule of the issuing authority lives in [Service], which
// encodes its records itself. The adapters are store/boltdb (one embedded
// file, the default) and store/postgres (several replicas on one
// database); store/storetest is the conformance suite both pass.
//
// # Contract
//
// Update runs fn in a read-write transaction. When Update returns nil the
// transaction has committed durably (fsync or its database's equivalent):
// the service acknowledges a write only after that. Adapters may run
// concurrent Updates in one shared commit, so fn may run more than once,
// and must have no effect outside tx.
//
// A write transaction is serializable with respect to the keys it reads:
// two concurrent transactions that read a key (present or absent) and
// write it cannot both commit as if the other had not happened; the adapter
// retries fn when it detects such a conflict.
//
// A function that returns a [Refusal] before it has written anything
// refuses its own change only: the adapter commits the other functions of a
// shared commit and returns the refusal to its caller. Any other error
// rolls back fn's writes and is returned.
type Storage interface {
	// Update runs fn in a durable read-write transaction; see the contract above.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent state.
	View(ctx context.Context, fn func(Tx) error) error
	// Snapshot writes a consistent copy of every bucket to w, in the form of
	// [WriteSnapshot], and returns the number of records written. It must not
	// hold up writers for longer than a moment.
	Snapshot(ctx context.Context, w io.Writer) (int64, error)
	// Close releases the storage.
	Close() error
}

// Tx is one transaction of a [Storage]. Its methods must not be used after
// the function it was given to has returned. A Tx is not safe for
// concurrent use.
type Tx interface {
	// Get returns the value stored under key in bucket b, or nil when there is
	// none. The value is valid only for the life of the transaction.
	Get(b Bucket, key []byte) ([]byte, error)
	// Put stores value under key in bucket b. The adapter copies both. A
	// nil value is stored as an empty one: Get then returns a non-nil,
	// empty slice.
	Put(b Bucket, key, value []byte) error
	// Delete removes key from bucket b; deleting a missing key is not an error.
	Delete(b Bucket, key []byte) error
	// Scan calls fn with the keys of bucket b that start with prefix, in
	// byte order (backwards when reverse is set), beginning at start
	// (inclusive) or at the first (last) key of the prefix when start is nil,
	// until fn returns false or an error. Keys and values are valid only
	// during the call.
	Scan(b Bucket, prefix, start []byte, reverse bool, fn func(k, v []byte) (bool, error)) error
}

// Bucket names a keyspace of a [Storage].
type Bucket string

// The buckets of the service. Adapters create them all; keys within a
// bucket sort bytewise.
const (
	BucketMeta         Bucket = "meta"          // settings, heads and counters
	BucketApplications Bucket = "applications"  // application id -> Application
	BucketPhotos       Bucket = "photos"        // application id -> sealed photo
	BucketPermits      Bucket = "permits"       // permit number -> Permit
	BucketPersons      Bucket = "persons"       // keyed hash of a citizen ID, city, kind, id -> ""
	BucketQueue        Bucket = "queue"         // authority, submitted, id -> "" for pending applications
	BucketLists        Bucket = "status_lists"  // list id -> ListInfo
	BucketStatus       Bucket = "status_chunks" // list id, chunk -> statuses
	BucketUsed         Bucket = "used_chunks"   // list id, chunk -> used-index bitmap
	BucketEvents       Bucket = "status_events" // sequence -> StatusEvent
	BucketTokens       Bucket = "tokens"        // hash of the secret -> APIToken
	BucketGrants       Bucket = "grants"        // kind, grant id -> Offer, Access or Nonce
	BucketAudit        Bucket = "audit"         // sequence -> audit.Entry
	BucketAuditIndex   Bucket = "audit_index"   // authority, sequence -> ""
	BucketCheckpoints  Bucket = "checkpoints"   // sequence -> signed audit checkpoint
	BucketShred        Bucket = "shred"         // due time, permit number -> "" (retention)
	BucketDataKeys     Bucket = "data_keys"     // data key id -> wrapped key, for stores that hold them
	BucketJobs         Bucket = "jobs"          // job id -> progress of a bulk job
)

// Buckets lists every bucket, for adapters to create.
var Buckets = []Bucket{BucketMeta, BucketApplications, BucketPhotos, BucketPermits, BucketPersons, BucketQueue,
	BucketLists, BucketStatus, BucketUsed, BucketEvents, BucketTokens, BucketGrants, BucketAudit, BucketAuditIndex,
	BucketCheckpoints, BucketShred, BucketDataKeys, BucketJobs}

// AppendOnly reports whether new keys of bucket b only ever grow (sequence
// numbers, times), so an adapter may pack its pages full.
func (b Bucket) AppendOnly() bool {
	switch b {
	case BucketAudit, BucketEvents, BucketCheckpoints, BucketGrants, BucketAuditIndex:
		return true
	}
	return false
}

// Refusal is an error by which a transaction function refuses its change
// because of the state of the records (an application already decided, a
// grant already used). See the [Storage] contract.
type Refusal interface {
	error
	// Refusal marks the error type.
	Refusal()
}

// IsRefusal reports whether err is or wraps a [Refusal].
func IsRefusal(err error) bool {
	var r Refusal
	return errors.As(err, &r)
}

// ErrConflict is returned by adapters, wrapped, when a transaction could not
// commit because of a concurrent one and retrying did not help.
var ErrConflict = errors.New("storage: conflicting transactions")
