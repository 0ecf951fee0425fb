package issuer

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/vault"
)

// Authority is an issuing authority hosted by the service: a public
// security bureau with its own issuer identifier, keys and status lists.
type Authority struct {
	// Slug is the path segment of its issuer identifier: iss is BaseURL/Slug.
	Slug string
	// Name is its display name.
	Name trust.Text
	// Region is the prefix of the GB/T 2260 division codes it serves: "33"
	// for the whole province, "3301" for Hangzhou. An application goes to the
	// authority with the longest prefix of its residence division.
	Region string
	// Keys signs its credentials and status lists.
	Keys *keys.Ring
}

// Config is what [New] needs.
type Config struct {
	// Storage keeps the records.
	Storage Storage
	// Vault seals residents' personal data.
	Vault *vault.Vault
	// IndexKey is the secret of the keyed hash that indexes citizen
	// identity numbers and authenticates nonces: at least 32 bytes, the same
	// for every replica and for the life of the store.
	IndexKey []byte
	// AuditKey signs the audit log's checkpoints; it is kept apart from the
	// store, so that a rewrite of the log shows.
	AuditKey crypto.Signer
	// BaseURL is the public URL of the service, without a trailing slash.
	BaseURL     string
	Authorities []*Authority
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of identifiers, secrets and salts; nil means crypto/rand.
	Rand io.Reader
	// Logger receives the service's own logs; nil discards them.
	Logger *slog.Logger
	// ListSize is the number of entries of a new status list; 0 means 2^20.
	ListSize int
	// OfferTTL is how long a credential offer's code works; 0 means 15 minutes.
	OfferTTL time.Duration
	// AccessTTL is how long an access token works; 0 means 5 minutes
	// (OpenID4VCI 1.0 section 13.10: a bearer token that is not
	// sender-constrained should be short-lived).
	AccessTTL time.Duration
	// NonceTTL is how long a c_nonce works; 0 means 5 minutes, as long as
	// a key proof's iat may be old.
	NonceTTL time.Duration
	// Retention is how long a revoked permit's personal data is kept before
	// it is shredded; 0 means two years (docs/security.md).
	Retention time.Duration
	// TokenTTL is the default lifetime of officials' tokens; 0 means 90 days.
	TokenTTL time.Duration
	// CheckpointEvery is the number of audit entries between signed
	// checkpoints; 0 means 1000. A checkpoint is also made when the service
	// stops and at least once a minute while entries are added.
	CheckpointEvery int
}

// DefaultListSize is the number of entries of a status list.
const DefaultListSize = 1 << 20

// MaxListSize is the largest list size a service accepts.
const MaxListSize = 1 << 24

// ListBits is the number of bits of a status list entry.
const ListBits = 2

// chunkBytes is the size of a stored chunk of statuses or of a used bitmap.
const chunkBytes = 4096

// Service is the issuing authority's state machine: every transition of
// applications, permits, credentials, grants and tokens, each checked and
// written with its audit entry in one transaction of its [Storage]. It holds
// no HTTP and no database code. It is safe for concurrent use, and several
// Services (replicas) may share one Storage that supports it.
type Service struct {
	cfg    Config
	st     Storage
	log    *slog.Logger
	bySlug map[string]*Authority

	grantSeq atomic.Uint64

	allocMu sync.Mutex
	alloc   map[string]*openList // list id -> allocator
	current map[string]*openList // authority -> its open list

	auditMu      sync.Mutex
	lastCheckSeq uint64
	lastCheck    time.Time

	usedMu   sync.Mutex
	lastUsed map[string]time.Time // token id -> last use written

	statusGen atomic.Uint64 // status changes committed by this process
}

// StatusGeneration counts the status list changes this process committed:
// a cache of signed lists may skip asking the store for their versions
// while it stays the same (changes by other replicas show through the
// versions alone).
func (s *Service) StatusGeneration() uint64 { return s.statusGen.Load() }

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// New checks cfg and returns a service. It makes sure every authority has
// an open status list.
func New(ctx context.Context, cfg Config) (*Service, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("issuer: base url %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Storage == nil || cfg.Vault == nil || cfg.AuditKey == nil || len(cfg.Authorities) == 0 {
		return nil, errors.New("issuer: storage, vault, audit key and at least one authority are required")
	}
	if len(cfg.IndexKey) < 32 {
		return nil, fmt.Errorf("issuer: index key of %d bytes, want at least 32", len(cfg.IndexKey))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ListSize == 0 {
		cfg.ListSize = DefaultListSize
	}
	if cfg.ListSize < 8*chunkBytes || cfg.ListSize%(8*chunkBytes) != 0 || cfg.ListSize > MaxListSize {
		return nil, fmt.Errorf("issuer: list size %d: want a multiple of %d up to %d", cfg.ListSize, 8*chunkBytes, MaxListSize)
	}
	cfg.OfferTTL = orDefault(cfg.OfferTTL, 15*time.Minute)
	cfg.AccessTTL = orDefault(cfg.AccessTTL, 5*time.Minute)
	cfg.NonceTTL = orDefault(cfg.NonceTTL, 5*time.Minute)
	cfg.Retention = orDefault(cfg.Retention, 2*365*24*time.Hour)
	cfg.TokenTTL = orDefault(cfg.TokenTTL, 90*24*time.Hour)
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 1000
	}
	s := &Service{cfg: cfg, st: cfg.Storage, log: cfg.Logger, bySlug: map[string]*Authority{},
		alloc: map[string]*openList{}, current: map[string]*openList{}, lastUsed: map[string]time.Time{}}
	for _, a := range cfg.Authorities {
		if !slugRE.MatchString(a.Slug) || a.Keys == nil || a.Name.ZH == "" || a.Name.EN == "" {
			return nil, fmt.Errorf("issuer: authority %q: want a slug of [a-z0-9-], a name in zh and en, and keys", a.Slug)
		}
		if _, dup := s.bySlug[a.Slug]; dup {
			return nil, fmt.Errorf("issuer: authority %q listed twice", a.Slug)
		}
		if _, _, err := a.Keys.Active(); err != nil {
			return nil, fmt.Errorf("issuer: authority %q: %w", a.Slug, err)
		}
		s.bySlug[a.Slug] = a
	}
	if err := s.checkIndexKey(ctx); err != nil {
		return nil, err
	}
	for _, a := range cfg.Authorities {
		if _, err := s.openList(ctx, a.Slug); err != nil {
			return nil, fmt.Errorf("issuer: authority %q: %w", a.Slug, err)
		}
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Authorities returns the authorities hosted, in configuration order.
func (s *Service) Authorities() []*Authority { return s.cfg.Authorities }

// Authority returns the authority with the given slug, or nil.
func (s *Service) Authority(slug string) *Authority { return s.bySlug[slug] }

// IssuerID returns the iss of an authority.
func (s *Service) IssuerID(a *Authority) string { return s.cfg.BaseURL + "/" + a.Slug }

// IssuerOf returns the iss of the authority with the given slug, or "" when
// it is no longer hosted here.
func (s *Service) IssuerOf(slug string) string {
	if a := s.bySlug[slug]; a != nil {
		return s.IssuerID(a)
	}
	return ""
}

// StatusURI returns the URI of a status list.
func (s *Service) StatusURI(listID string) string { return s.cfg.BaseURL + "/status/" + listID }

// authorityFor returns the authority serving a residence division: the one
// with the longest matching region prefix.
func (s *Service) authorityFor(division string) *Authority {
	var best *Authority
	for _, a := range s.cfg.Authorities {
		if strings.HasPrefix(division, a.Region) && (best == nil || len(a.Region) > len(best.Region)) {
			best = a
		}
	}
	return best
}

// Today is the current date in China, the date of decisions and endorsements.
func (s *Service) Today() permit.Date { return permit.DateOf(s.cfg.Now(), permit.ChinaTime()) }

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// Storage returns the storage the service runs on.
func (s *Service) Storage() Storage { return s.st }

var metaIndexKeyCheck = []byte("index_key_check")

// checkIndexKey records a fingerprint of the index key on first use and
// refuses another key later: a changed key would hide every duplicate and
// every search.
func (s *Service) checkIndexKey(ctx context.Context) error {
	fp := s.mac("epermit index key check")
	return s.st.Update(ctx, func(tx Tx) error {
		old, err := tx.Get(BucketMeta, metaIndexKeyCheck)
		if err != nil {
			return err
		}
		if old == nil {
			return tx.Put(BucketMeta, metaIndexKeyCheck, fp)
		}
		if !hmac.Equal(old, fp) {
			return errors.New("issuer: the index key is not the one this store was created with")
		}
		return nil
	})
}

// mac returns HMAC-SHA256 under the index key of a purpose and parts.
func (s *Service) mac(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.cfg.IndexKey)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write(p)
	}
	return m.Sum(nil)
}

// PersonKey is the keyed hash of a citizen identity number, the key by which
// the service finds a person's records without holding the number in clear.
func (s *Service) PersonKey(citizenID string) []byte {
	return s.mac("epermit person", []byte(permit.NormalizeCitizenID(citizenID)))
}

// Hash returns the hex SHA-256 of a secret, the form in which tokens, codes
// and application secrets are stored.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// hashEqual compares two hashes in constant time.
func hashEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newSecret returns a fresh random secret with the given prefix: 32 random
// bytes in base64url.
func (s *Service) newSecret(prefix string) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("issuer: random: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (s *Service) newID() (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("issuer: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// timeID returns 8 bytes that grow with time in this process (a key that
// sorts by creation, so that records made together sit together).
func (s *Service) timeID() []byte {
	for {
		old := s.grantSeq.Load()
		next := max(old+1, uint64(s.cfg.Now().UnixNano()))
		if s.grantSeq.CompareAndSwap(old, next) {
			return binary.BigEndian.AppendUint64(nil, next)
		}
	}
}

// eventKey returns a key that sorts by time and is unique across replicas:
// timeID and 8 random bytes.
func (s *Service) eventKey() []byte {
	k := s.timeID()
	var r [8]byte
	_, _ = io.ReadFull(s.cfg.Rand, r[:])
	return append(k, r[:]...)
}

// getJSON reads the record under key into v; it reports false when there
// is none.
func getJSON(tx Tx, b Bucket, key []byte, v any) (bool, error) {
	data, err := tx.Get(b, key)
	if err != nil || data == nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("issuer: corrupt record %s/%q: %w", b, clip(string(key)), err)
	}
	return true, nil
}

func putJSON(tx Tx, b Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(b, key, data)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// view and update run fn in a transaction of the storage, with context.
func (s *Service) view(ctx context.Context, fn func(Tx) error) error { return s.st.View(ctx, fn) }

// update runs fn in a write transaction, again when fn asks to retry.
func (s *Service) update(ctx context.Context, fn func(Tx) error) error {
	for range 8 {
		err := s.st.Update(ctx, fn)
		var r *errRetry
		if !errors.As(err, &r) {
			return err
		}
	}
	return fmt.Errorf("issuer: %w", ErrConflict)
}
