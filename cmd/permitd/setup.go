package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/vault"
)

// common are the flags every command shares.
type common struct {
	data        string
	authorities string
	// baseURL is the public URL (serve sets it from --base-url or the
	// listener; other commands need it only for what they print).
	baseURL   string
	retention time.Duration
	// store names the records: a postgres:// URL or a bbolt file; "" is
	// the data directory's permitd.db.
	store string
}

// keyRetention is how long a replaced signing key stays published: longer
// than any credential it signed can live (one year to the next endorsement,
// plus the verifiers' grace).
const keyRetention = 400 * 24 * time.Hour

// authorityConfig is one entry of the --authorities file.
type authorityConfig struct {
	Slug   string     `json:"slug"`
	Name   trust.Text `json:"name"`
	Region string     `json:"region"`
}

// defaultAuthorities is the single-authority setup.
var defaultAuthorities = []authorityConfig{{
	Slug: "zj", Region: "33",
	Name: trust.Text{ZH: "浙江省公安厅", EN: "Zhejiang Provincial Public Security Department"},
}}

func (c *common) authorityConfigs() ([]authorityConfig, error) {
	if c.authorities == "" {
		return defaultAuthorities, nil
	}
	data, err := os.ReadFile(c.authorities)
	if err != nil {
		return nil, err
	}
	var out []authorityConfig
	if err := json.Unmarshal(data, &out); err != nil || len(out) == 0 {
		return nil, fmt.Errorf("authorities file %q: want a JSON list of {slug, name: {zh, en}, region}", c.authorities)
	}
	return out, nil
}

// loadAuthorities loads (creating on first start) each authority's keys.
func (c *common) loadAuthorities(t time.Time) ([]*issuer.Authority, error) {
	cfgs, err := c.authorityConfigs()
	if err != nil {
		return nil, err
	}
	var out []*issuer.Authority
	for _, ac := range cfgs {
		if filepath.Base(ac.Slug) != ac.Slug || !filepath.IsLocal(ac.Slug) {
			return nil, fmt.Errorf("authority slug %q is not a plain name", ac.Slug)
		}
		ring, err := keys.LoadRingDir(c.keyDir(ac.Slug), t, keyRetention)
		if err != nil {
			return nil, err
		}
		out = append(out, &issuer.Authority{Slug: ac.Slug, Name: ac.Name, Region: ac.Region, Keys: ring})
	}
	return out, nil
}

func (c *common) keyDir(slug string) string { return filepath.Join(c.data, "keys", slug) }

// secretFile loads, or makes on first start, a 32-byte secret of the keys
// directory (mode 0600).
func (c *common) secretFile(name string) ([]byte, error) {
	path := filepath.Join(c.data, "keys", name)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s is readable by others: chmod 600 it", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// storePath is the bbolt file of the data directory.
func (c *common) storePath() string { return filepath.Join(c.data, "permitd.db") }

// openStorage opens the store: PostgreSQL when --store names one, else the
// bbolt file of the data directory (or the one --store names).
func (c *common) openStorage() (issuer.Storage, error) {
	spec := c.store
	if spec == "" {
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return nil, err
		}
		spec = c.storePath()
	}
	return openStore(spec)
}

// isPostgres reports whether a store names a PostgreSQL database.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") || strings.Contains(spec, "dbname=")
}

// openStore opens a store by its name: a postgres:// URL (or libpq
// key=value string) or a bbolt file.
func openStore(spec string) (issuer.Storage, error) {
	if isPostgres(spec) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return postgres.Open(ctx, spec, postgres.Options{})
	}
	st, err := boltdb.Open(spec, boltdb.Options{})
	if errors.Is(err, boltdb.ErrLocked) {
		return nil, fmt.Errorf("%w (is permitd running? use --server URL with PERMITD_TOKEN)", err)
	}
	return st, err
}

// keyStore opens the residents' data keys that go with a store: with
// PostgreSQL in the database, which every replica reaches; with a bbolt
// file in the keys directory's slot file, apart from the records.
func (c *common) keyStore(st issuer.Storage) (vault.KeyStore, func(), error) {
	if _, ok := st.(*boltdb.Store); !ok {
		return issuer.StorageKeys{St: st}, func() {}, nil
	}
	if err := os.MkdirAll(filepath.Join(c.data, "keys"), 0o700); err != nil {
		return nil, nil, err
	}
	sf, err := vault.OpenSlotFile(filepath.Join(c.data, "keys", "datakeys"))
	if err != nil {
		return nil, nil, err
	}
	return sf, func() { sf.Close() }, nil
}

// env is what every command that touches the records needs.
type env struct {
	st       issuer.Storage
	svc      *issuer.Service
	keys     vault.KeyStore
	auths    []*issuer.Authority
	root     ed25519.PrivateKey
	auditKey ed25519.PrivateKey
	indexKey []byte
	close    func()
}

// open opens the store and the service with the keys of the data
// directory, creating the keys on first start.
func (c *common) open(t time.Time, log *slog.Logger) (*env, error) {
	auths, err := c.loadAuthorities(t)
	if err != nil {
		return nil, err
	}
	keyDir := filepath.Join(c.data, "keys")
	root, _, err := keys.LoadOrCreate(keyDir, "root")
	if err != nil {
		return nil, err
	}
	auditKey, _, err := keys.LoadOrCreate(keyDir, "audit")
	if err != nil {
		return nil, err
	}
	indexKey, err := c.secretFile("index.secret")
	if err != nil {
		return nil, err
	}
	kek, err := vault.LoadFileKEK(filepath.Join(keyDir, "kek"), true)
	if err != nil {
		return nil, err
	}
	st, err := c.openStorage()
	if err != nil {
		return nil, err
	}
	ks, closeKeys, err := c.keyStore(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	e := &env{st: st, keys: ks, auths: auths, root: root, auditKey: auditKey, indexKey: indexKey,
		close: func() { closeKeys(); st.Close() }}
	e.svc, err = issuer.New(context.Background(), issuer.Config{Storage: st, Vault: vault.New(kek, ks, nil), IndexKey: indexKey,
		AuditKey: auditKey, BaseURL: c.baseURL, Authorities: auths, Logger: log, Retention: c.retention, Now: now})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}
