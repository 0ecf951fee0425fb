package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/statuslist"
)

// Errors of the store. Methods wrap them with context; test with errors.Is.
var (
	// ErrNotFound: no record under that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record exists but its state forbids the change. The error is a *ConflictError.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: an unknown API token.
	ErrUnauthorized = errors.New("unknown token")
	// ErrInvalidGrant: a pre-authorized code or access token that is unknown, used or expired.
	ErrInvalidGrant = errors.New("invalid or used grant")
	// ErrHolderMismatch: a credential request proved a key other than the permit's holder key.
	ErrHolderMismatch = errors.New("proof by a key other than the holder's")
	// ErrNumberTaken: the permit number is already used; draw another.
	ErrNumberTaken = errors.New("permit number already used")
)

// ConflictError says why a change was refused by the state of a record.
type ConflictError struct {
	// Code is a stable identifier of the reason, such as "duplicate_permit".
	Code string
	// Reason explains it, in English.
	Reason string
}

func (e *ConflictError) Error() string { return e.Reason }

// Is makes a *ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func conflict(code, format string, args ...any) error {
	return &ConflictError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ListSize is the number of entries of a status list.
const ListSize = 1 << 20

// MaxListSize is the largest ListSize a store accepts.
const MaxListSize = 1 << 24

// ListBits is the number of bits of a status list entry (valid, invalid, suspended).
const ListBits = 2

// chunkBytes is the size of a stored chunk of statuses or of the used bitmap.
const chunkBytes = 4096

var (
	bMeta         = []byte("meta")
	bApplications = []byte("applications")
	bPhotos       = []byte("photos")
	bPermits      = []byte("permits")
	bPersons      = []byte("persons")
	bLists        = []byte("status_lists")
	bStatus       = []byte("status_chunks")
	bUsed         = []byte("used_chunks")
	bEvents       = []byte("revocation_events")
	bTokens       = []byte("tokens")
	bOffers       = []byte("offers")
	bAccess       = []byte("access_tokens")
	bAudit        = []byte("audit")
	allBuckets    = [][]byte{bMeta, bApplications, bPhotos, bPermits, bPersons, bLists, bStatus, bUsed, bEvents, bTokens, bOffers, bAccess, bAudit}
)

// Options configure a store.
type Options struct {
	// IndexKey is the secret key of the keyed hash that indexes citizen
	// identity numbers. At least 32 bytes; it must stay the same for the life
	// of the file.
	IndexKey []byte
	// ListSize is the number of entries of a new status list; 0 means [ListSize].
	ListSize int
	// MaxBatchDelay bounds how long a write waits for others to share its
	// commit; 0 means 2 ms.
	MaxBatchDelay time.Duration
	// Timeout bounds the wait for the file lock held by another process; 0
	// means 1 s. bbolt gives up 50 ms early, so keep it above 50 ms.
	Timeout time.Duration
	// Rand is the source of random status indices and identifiers, read
	// concurrently; nil means crypto/rand.
	Rand io.Reader
}

// DB is the issuer service's store. It is safe for concurrent use.
type DB struct {
	b        *bolt.DB
	indexKey []byte
	listSize int
	rand     io.Reader

	grantSeq atomic.Uint64

	allocMu sync.Mutex
	alloc   map[string]*openList // authority -> its open list

	verMu    sync.Mutex
	versions map[string]*atomic.Uint64 // list id -> changes since open
}

type openList struct {
	info  ListInfo
	alloc *statuslist.Allocator
}

// Open opens or creates the store file at path. It waits at most
// Options.Timeout for another process to release the file.
func Open(path string, o Options) (*DB, error) {
	if len(o.IndexKey) < 32 {
		return nil, fmt.Errorf("store: index key of %d bytes, want at least 32", len(o.IndexKey))
	}
	if o.ListSize == 0 {
		o.ListSize = ListSize
	}
	if o.ListSize < 8*chunkBytes/ListBits || o.ListSize%(8*chunkBytes) != 0 || o.ListSize > MaxListSize {
		return nil, fmt.Errorf("store: list size %d: want a multiple of %d up to %d", o.ListSize, 8*chunkBytes, MaxListSize)
	}
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = 2 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("store: open %q: %w", path, err)
	}
	b.MaxBatchDelay = o.MaxBatchDelay
	db := &DB{b: b, indexKey: append([]byte(nil), o.IndexKey...), listSize: o.ListSize, rand: o.Rand,
		alloc: map[string]*openList{}, versions: map[string]*atomic.Uint64{}}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return db.checkIndexKey(tx)
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("store: open %q: %w", path, err)
	}
	if err := db.loadOpenLists(); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: open %q: %w", path, err)
	}
	return db, nil
}

// checkIndexKey records a fingerprint of the index key on first use and
// refuses another key later: a changed key would hide every duplicate.
func (db *DB) checkIndexKey(tx *bolt.Tx) error {
	m := hmac.New(sha256.New, db.indexKey)
	m.Write([]byte("epermit index key check"))
	fp := m.Sum(nil)
	meta := tx.Bucket(bMeta)
	old := meta.Get([]byte("index_key_check"))
	if old == nil {
		return meta.Put([]byte("index_key_check"), fp)
	}
	if !hmac.Equal(old, fp) {
		return errors.New("the index key is not the one this store was created with")
	}
	return nil
}

// Close closes the file.
func (db *DB) Close() error { return db.b.Close() }

// Backup writes a consistent copy of the whole store to w while writes go
// on, and returns the number of bytes written. When size is not nil it is
// called with the copy's length before anything is written (for a
// Content-Length).
func (db *DB) Backup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := db.b.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// batch runs fn in a shared, durable write transaction.
//
// A refusal (fn returning ErrNotFound, ErrInvalidGrant, ErrHolderMismatch,
// ErrNumberTaken or a *ConflictError) does not fail the shared commit: bbolt
// would roll back every other request of the batch and run them again, so a
// stream of bad requests could slow every write. The functions here return a
// refusal only before they have written anything, so the transaction can
// commit the others and the refusal goes to its caller alone.
func (db *DB) batch(fn func(tx *bolt.Tx) error) error {
	var refused error
	err := db.b.Batch(func(tx *bolt.Tx) error {
		refused = nil
		err := fn(tx)
		if isRefusal(err) {
			refused = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}

// isRefusal reports whether err refuses a change for the state of the
// records rather than failing.
func isRefusal(err error) bool {
	var ce *ConflictError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrHolderMismatch) ||
		errors.Is(err, ErrNumberTaken) || errors.As(err, &ce)
}

// Hash returns the hex SHA-256 of a secret, the form in which tokens, codes
// and application secrets are stored.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewSecret returns a fresh random secret with the given prefix: 32 random
// bytes in base64url.
func (db *DB) NewSecret(prefix string) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(db.rand, b[:]); err != nil {
		return "", fmt.Errorf("store: random: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Prefixes of the wallet flow's grants.
const (
	CodePrefix   = "epc_" // pre-authorized codes
	AccessPrefix = "epa_" // access tokens
)

// NewGrant returns a fresh pre-authorized code or access token: prefix and
// the base64url of an 8-byte identifier that grows with time and 24 random
// bytes. The record is stored under the identifier, so grants made together
// sit together in the file and a commit rewrites few pages; only the hash of
// the whole secret is stored, and a lookup compares it.
func (db *DB) NewGrant(prefix string) (string, error) {
	var b [32]byte
	for {
		old := db.grantSeq.Load()
		next := max(old+1, uint64(time.Now().UnixNano()))
		if db.grantSeq.CompareAndSwap(old, next) {
			binary.BigEndian.PutUint64(b[:8], next)
			break
		}
	}
	if _, err := io.ReadFull(db.rand, b[8:]); err != nil {
		return "", fmt.Errorf("store: random: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// grantKey returns the record key of a grant and the hash to compare, or
// false for a string that is not a grant with that prefix.
func grantKey(secret, prefix string) ([]byte, string, bool) {
	if len(secret) != len(prefix)+43 || secret[:len(prefix)] != prefix {
		return nil, "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(prefix):])
	if err != nil || len(raw) != 32 {
		return nil, "", false
	}
	return raw[:8], Hash(secret), true
}

func (db *DB) newID() (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(db.rand, b[:]); err != nil {
		return "", fmt.Errorf("store: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// personKey is the index key of a person in a city: a keyed hash of the
// citizen identity number followed by the city code.
func (db *DB) personKey(citizenID, city string) []byte {
	m := hmac.New(sha256.New, db.indexKey)
	m.Write([]byte(citizenID))
	return append(m.Sum(nil), city...)
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	return unmarshal(data, v)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// auditHead is the meta key of the last audit entry's sequence number and
// hash, kept so that an append need not decode the previous entry.
var auditHead = []byte("audit_head")

// appendAudit chains e onto the last entry of the audit log.
func appendAudit(tx *bolt.Tx, e audit.Entry) error {
	b, meta := tx.Bucket(bAudit), tx.Bucket(bMeta)
	var prev *audit.Entry
	if h := meta.Get(auditHead); len(h) > 8 {
		prev = &audit.Entry{Seq: binary.BigEndian.Uint64(h), Hash: string(h[8:])}
	} else if k, v := b.Cursor().Last(); k != nil {
		p, err := audit.Unmarshal(v)
		if err != nil {
			return fmt.Errorf("audit log head: %w", err)
		}
		prev = &p
	}
	next, err := audit.Chain(prev, e)
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	data, err := audit.Marshal(next)
	if err != nil {
		return err
	}
	if err := b.Put(u64(next.Seq), data); err != nil {
		return err
	}
	return meta.Put(auditHead, append(u64(next.Seq), next.Hash...))
}

func entry(actor Actor, action, subject string, now time.Time, detail map[string]string) audit.Entry {
	return audit.Entry{Time: now.UTC(), Actor: actor.Name, Role: string(actor.Role), Action: action, Subject: subject, Detail: detail}
}

// Audit returns up to limit audit entries with a sequence number after
// afterSeq, in order.
func (db *DB) Audit(afterSeq uint64, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		if afterSeq == math.MaxUint64 {
			return nil
		}
		for k, v := c.Seek(u64(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := audit.Unmarshal(v)
			if err != nil {
				return fmt.Errorf("entry %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	return out, nil
}

// VerifyAudit checks the whole hash chain of the audit log and returns the
// number of entries and the hash of the last. A broken chain gives an error
// wrapping an *audit.BrokenError that names the first bad entry.
func (db *DB) VerifyAudit() (n uint64, head string, err error) {
	var v audit.Verifier
	err = db.b.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bAudit).ForEach(func(k, data []byte) error {
			e, err := audit.Unmarshal(data)
			if err != nil {
				return &audit.BrokenError{Seq: v.Count() + 1, Reason: audit.ReasonHash, Detail: "unreadable entry: " + err.Error()}
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) != e.Seq {
				return &audit.BrokenError{Seq: v.Count() + 1, Reason: audit.ReasonSeq, Detail: fmt.Sprintf("entry %d stored under key %x", e.Seq, k)}
			}
			return v.Next(e)
		}); err != nil {
			return err
		}
		// The head kept beside the log catches entries cut off its end.
		if h := tx.Bucket(bMeta).Get(auditHead); h != nil {
			if len(h) <= 8 || binary.BigEndian.Uint64(h) != v.Count() || string(h[8:]) != v.Head() {
				return &audit.BrokenError{Seq: v.Count() + 1, Reason: audit.ReasonSeq, Detail: "the log ends before its recorded head: entries were removed"}
			}
		}
		return nil
	})
	if err != nil {
		return v.Count(), "", fmt.Errorf("store: audit log: %w", err)
	}
	return v.Count(), v.Head(), nil
}
