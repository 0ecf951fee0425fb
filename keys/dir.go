package keys

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
)

// ringFile is the index of a key directory.
const ringFile = "ring.json"

// ringRecord is one key of a key directory's index.
type ringRecord struct {
	File    string    `json:"file"`
	Kid     string    `json:"kid"`
	Created time.Time `json:"created"`
	// Retired is when a newer key replaced it; zero for the active key.
	Retired time.Time `json:"retired,omitzero"`
}

// LoadRingDir loads the key ring kept in directory dir, creating the
// directory and a first key when it has none. The newest key is the active
// one. A key replaced by [RotateDir] stays in the ring, verify-only, for
// retain after it was replaced (as long as the credentials it signed can
// live), and is left out once that has passed; its file is kept.
func LoadRingDir(dir string, now time.Time, retain time.Duration) (*Ring, error) {
	recs, err := readRingIndex(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := RotateDir(dir, now); err != nil {
			return nil, err
		}
		recs, err = readRingIndex(dir)
	}
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for i, rec := range recs {
		last := i == len(recs)-1
		if !last && now.After(rec.Retired.Add(retain)) {
			continue
		}
		key, err := LoadPrivateKeyFile(filepath.Join(dir, rec.File))
		if err != nil {
			return nil, err
		}
		e := Entry{Kid: rec.Kid, NotBefore: rec.Created}
		if last {
			e.Signer = key
		} else {
			e.Public = key.Public().(ed25519.PublicKey)
			e.NotAfter = rec.Retired.Add(retain)
		}
		entries = append(entries, e)
	}
	r, err := NewRing(entries...)
	if err != nil {
		return nil, fmt.Errorf("keys: key directory %q: %w", dir, err)
	}
	return r, nil
}

// RotateDir generates a new active key in directory dir (creating it with
// mode 0700 if needed) and records when the previous one was replaced. It
// returns the new key's kid. A running service picks the new key up when it
// reloads the directory.
func RotateDir(dir string, now time.Time) (string, error) {
	recs, err := readRingIndex(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("keys: key directory: %w", err)
	}
	key, err := Generate()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%04d.key", len(recs)+1)
	if err := WritePrivateKeyFile(filepath.Join(dir, name), key); err != nil {
		return "", err
	}
	if n := len(recs); n > 0 {
		recs[n-1].Retired = now.UTC()
	}
	kid := Thumbprint(key.Public().(ed25519.PublicKey))
	recs = append(recs, ringRecord{File: name, Kid: kid, Created: now.UTC()})
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(filepath.Join(dir, ringFile), append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("keys: key directory index: %w", err)
	}
	return kid, nil
}

func readRingIndex(dir string) ([]ringRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, ringFile))
	if err != nil {
		return nil, fmt.Errorf("keys: key directory index: %w", err)
	}
	var recs []ringRecord
	if err := json.Unmarshal(data, &recs); err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("keys: key directory index %q: unreadable or empty", filepath.Join(dir, ringFile))
	}
	for _, r := range recs {
		if r.File == "" || filepath.Base(r.File) != r.File || !filepath.IsLocal(r.File) {
			return nil, fmt.Errorf("keys: key directory index: bad file name %q", r.File)
		}
	}
	return recs, nil
}
