package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/epermit/epermit/internal/atomicfile"
)

// FileKEK is a key-encryption key kept in files: DIR/N.kek holds version N,
// 32 random bytes, mode 0600. The highest version is active; older ones
// still unwrap what they wrapped until [Vault.Rewrap] has moved it to the
// active version. Every replica of a service loads the same directory.
type FileKEK struct {
	dir    string
	mu     sync.RWMutex
	active uint32
	aeads  map[uint32]cipher.AEAD
}

var _ KEK = (*FileKEK)(nil)

// ErrInsecureKEK reports a KEK file readable by others.
var ErrInsecureKEK = errors.New("vault: the key-encryption key file is readable by others: chmod 600 it")

// LoadFileKEK loads the KEK versions of dir, making version 1 when there is
// none and create is set.
func LoadFileKEK(dir string, create bool) (*FileKEK, error) {
	k := &FileKEK{dir: dir}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	if k.active == 0 {
		if !create {
			return nil, fmt.Errorf("vault: no key-encryption key in %s", dir)
		}
		if _, err := k.Rotate(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Reload reads the directory again, picking up a version another replica
// or `permitd keys rotate-kek` made.
func (k *FileKEK) Reload() error {
	ents, err := os.ReadDir(k.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vault: %w", err)
	}
	aeads := map[uint32]cipher.AEAD{}
	var active uint32
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".kek") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(name, ".kek"), 10, 32)
		if err != nil || v == 0 {
			continue
		}
		aead, err := readKEK(filepath.Join(k.dir, name))
		if err != nil {
			return err
		}
		aeads[uint32(v)] = aead
		active = max(active, uint32(v))
	}
	k.mu.Lock()
	k.aeads, k.active = aeads, active
	k.mu.Unlock()
	return nil
}

func readKEK(path string) (cipher.AEAD, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s", ErrInsecureKEK, path)
	}
	key := make([]byte, 33)
	n, err := io.ReadFull(f, key)
	if n != 32 || !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("vault: key-encryption key %s: want 32 bytes", path)
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Rotate writes a new version and makes it active, returning its number.
// Data keys stay wrapped by the old version until [Vault.Rewrap].
func (k *FileKEK) Rotate() (uint32, error) {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return 0, fmt.Errorf("vault: %w", err)
	}
	if err := k.Reload(); err != nil {
		return 0, err
	}
	k.mu.RLock()
	next := k.active + 1
	k.mu.RUnlock()
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return 0, err
	}
	path := filepath.Join(k.dir, strconv.FormatUint(uint64(next), 10)+".kek")
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("vault: %s exists", path)
	}
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return 0, fmt.Errorf("vault: %w", err)
	}
	if err := k.Reload(); err != nil {
		return 0, err
	}
	return next, nil
}

// Versions returns the versions held, oldest first.
func (k *FileKEK) Versions() []uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var vs []uint32
	for v := range k.aeads {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs
}

// Wrap encrypts dek under the active version.
func (k *FileKEK) Wrap(dek, ad []byte) ([]byte, error) {
	k.mu.RLock()
	v, aead := k.active, k.aeads[k.active]
	k.mu.RUnlock()
	if aead == nil {
		return nil, errors.New("no active key-encryption key")
	}
	out := make([]byte, 4+aead.NonceSize(), 4+aead.NonceSize()+len(dek)+aead.Overhead())
	binary.BigEndian.PutUint32(out, v)
	if _, err := io.ReadFull(rand.Reader, out[4:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[4:], dek, ad), nil
}

// Unwrap decrypts a wrapped key with the version that made it.
func (k *FileKEK) Unwrap(w, ad []byte) ([]byte, error) {
	if len(w) < 4 {
		return nil, ErrOpen
	}
	v := binary.BigEndian.Uint32(w)
	k.mu.RLock()
	aead := k.aeads[v]
	k.mu.RUnlock()
	if aead == nil {
		// A replica may have rotated: look again once.
		if err := k.Reload(); err != nil {
			return nil, err
		}
		k.mu.RLock()
		aead = k.aeads[v]
		k.mu.RUnlock()
		if aead == nil {
			return nil, fmt.Errorf("vault: key-encryption key version %d is not in %s", v, k.dir)
		}
	}
	ns := aead.NonceSize()
	if len(w) < 4+ns+aead.Overhead() {
		return nil, ErrOpen
	}
	dek, err := aead.Open(nil, w[4:4+ns], w[4+ns:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return dek, nil
}

// Current reports whether w was wrapped by the active version.
func (k *FileKEK) Current(w []byte) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(w) >= 4 && binary.BigEndian.Uint32(w) == k.active
}
