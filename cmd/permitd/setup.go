package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/store"
	"github.com/epermit/epermit/trust"
)

// common are the flags every command shares.
type common struct {
	data        string
	authorities string
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
func (c *common) loadAuthorities(t time.Time) ([]*server.Authority, error) {
	cfgs, err := c.authorityConfigs()
	if err != nil {
		return nil, err
	}
	var out []*server.Authority
	for _, ac := range cfgs {
		if filepath.Base(ac.Slug) != ac.Slug || !filepath.IsLocal(ac.Slug) {
			return nil, fmt.Errorf("authority slug %q is not a plain name", ac.Slug)
		}
		ring, err := keys.LoadRingDir(c.keyDir(ac.Slug), t, keyRetention)
		if err != nil {
			return nil, err
		}
		out = append(out, &server.Authority{Slug: ac.Slug, Name: ac.Name, Region: ac.Region, Keys: ring})
	}
	return out, nil
}

func (c *common) keyDir(slug string) string { return filepath.Join(c.data, "keys", slug) }

// indexKey loads, or makes on first start, the secret key of the store's
// citizen-ID index.
func (c *common) indexKey() ([]byte, error) {
	path := filepath.Join(c.data, "keys", "index.secret")
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("index key %q: want 32 bytes", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("index key %q is readable by others: chmod 600 it", path)
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

// openStore opens the store of the data directory.
func (c *common) openStore() (*store.DB, error) {
	key, err := c.indexKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, err
	}
	db, err := store.Open(filepath.Join(c.data, "permitd.db"), store.Options{IndexKey: key})
	if err != nil && errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (is permitd running? use --server URL with PERMITD_TOKEN)", err)
	}
	return db, err
}
