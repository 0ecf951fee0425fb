// Package vault keeps residents' personal data encrypted at rest, by
// envelope encryption with crypto-shredding (PIPL Art. 51 security
// measures; Art. 47 deletion).
//
// Each person-record (an application and the permit it becomes) has its own
// random 256-bit data key. Records are sealed with AES-256-GCM under it,
// with the record's identity as associated data, so that a ciphertext moved
// to another record does not open. The data key is stored only wrapped by a
// key-encryption key ([KEK]) that is not in the store: a 0600 file in the
// keys directory by default, or a hardware or cloud key service behind the
// same interface.
//
// Wrapped data keys live in a [KeyStore] apart from the records. Deleting a
// person's data destroys its data key ([Vault.Shred]): the ciphertext left
// in freed pages of the store, in its replicas and in every backup of the
// records becomes unreadable, while every other record of those backups
// stays readable with the KEK and the key store. The embedded key store,
// [SlotFile], overwrites a destroyed key in place; see its documentation for
// what that does and does not reach (SSD wear levelling, snapshots of the
// file system).
//
// Rotating the KEK re-wraps the data keys in place ([Vault.Rewrap]) without
// touching the records.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Errors of the vault. Test with errors.Is.
var (
	// ErrShredded reports a data key that was destroyed: the data it sealed
	// is gone for good.
	ErrShredded = errors.New("vault: the data key was destroyed")
	// ErrNoKey reports a data key id the key store never held.
	ErrNoKey = errors.New("vault: no such data key")
	// ErrOpen reports a ciphertext that does not open: damaged, or sealed
	// for another record or under another key.
	ErrOpen = errors.New("vault: the sealed data does not open")
)

// Ref names a data key in the key store. Zero is never a valid Ref.
type Ref uint64

// KEK wraps and unwraps data keys. Implementations must be safe for
// concurrent use.
type KEK interface {
	// Wrap encrypts a data key, binding ad, and returns the wrapped form,
	// which names the KEK version that made it.
	Wrap(dek, ad []byte) ([]byte, error)
	// Unwrap returns the data key of a wrapped form made with ad.
	Unwrap(wrapped, ad []byte) ([]byte, error)
	// Current reports whether wrapped was made by the active KEK version,
	// so that rotation knows what to re-wrap.
	Current(wrapped []byte) bool
}

// KeyStore keeps wrapped data keys. Implementations must be safe for
// concurrent use, and Add and Destroy must be durable when they return.
type KeyStore interface {
	// Add stores a wrapped key and returns its Ref.
	Add(wrapped []byte) (Ref, error)
	// Get returns the wrapped key, ErrShredded once destroyed, ErrNoKey if
	// never stored.
	Get(ref Ref) ([]byte, error)
	// Destroy makes the wrapped key unrecoverable from the key store.
	// Destroying a destroyed key is not an error.
	Destroy(ref Ref) error
	// Rewrap replaces each live wrapped key w by fn(ref, w) when fn
	// returns a non-nil slice.
	Rewrap(fn func(ref Ref, wrapped []byte) ([]byte, error)) error
}

// Vault seals and opens personal data. It keeps the data keys it used
// last unwrapped in memory (at most cacheSize), so that issuing a
// credential does not read and unwrap its key each time; Shred drops a key
// from the cache with the stored copy.
type Vault struct {
	kek  KEK
	keys KeyStore
	rand io.Reader

	mu    sync.Mutex
	cache map[Ref]*Key
}

// cacheSize bounds the unwrapped data keys a vault keeps.
const cacheSize = 4096

// New returns a vault over a KEK and a key store; rnd is the source of data
// keys and nonces (crypto/rand when nil).
func New(kek KEK, keys KeyStore, rnd io.Reader) *Vault {
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Vault{kek: kek, keys: keys, rand: rnd, cache: map[Ref]*Key{}}
}

func (v *Vault) cached(ref Ref) *Key {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cache[ref]
}

func (v *Vault) remember(k *Key) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= cacheSize {
		for r := range v.cache { // any one: map order is random
			delete(v.cache, r)
			break
		}
	}
	v.cache[k.ref] = k
}

func (v *Vault) forget(ref Ref) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.cache, ref)
}

// Key is an unwrapped data key, to seal and open the data of one
// person-record.
type Key struct {
	ref  Ref
	aead cipher.AEAD
	rand io.Reader
}

// Ref returns the key's name in the key store.
func (k *Key) Ref() Ref { return k.ref }

// dekAD binds a wrapped data key to the random id stored beside it.
func dekAD(id []byte) []byte { return append([]byte("epermit-dek-v1:"), id...) }

// NewKey makes a fresh data key and stores it wrapped. The key is durable
// in the key store when NewKey returns.
func (v *Vault) NewKey() (*Key, error) {
	dek, stored, err := v.newWrapped()
	if err != nil {
		return nil, err
	}
	ref, err := v.keys.Add(stored)
	if err != nil {
		return nil, fmt.Errorf("vault: store data key: %w", err)
	}
	return newKey(ref, dek, v.rand)
}

// newWrapped draws a data key and returns it with the form the key store
// keeps: a random id and the key wrapped by the KEK, bound to the id.
func (v *Vault) newWrapped() (dek, stored []byte, err error) {
	dek = make([]byte, 32)
	id := make([]byte, 16)
	if _, err := io.ReadFull(v.rand, dek); err != nil {
		return nil, nil, fmt.Errorf("vault: random: %w", err)
	}
	if _, err := io.ReadFull(v.rand, id); err != nil {
		return nil, nil, fmt.Errorf("vault: random: %w", err)
	}
	w, err := v.kek.Wrap(dek, dekAD(id))
	if err != nil {
		return nil, nil, fmt.Errorf("vault: wrap: %w", err)
	}
	return dek, append(id, w...), nil
}

func newKey(ref Ref, dek []byte, r io.Reader) (*Key, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{ref: ref, aead: aead, rand: r}, nil
}

// Key returns the data key ref names, ErrShredded when it was destroyed.
func (v *Vault) Key(ref Ref) (*Key, error) {
	if k := v.cached(ref); k != nil {
		return k, nil
	}
	stored, err := v.keys.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("vault: data key %d: %w", ref, err)
	}
	if len(stored) < 16 {
		return nil, fmt.Errorf("vault: data key %d: %w", ref, ErrOpen)
	}
	dek, err := v.kek.Unwrap(stored[16:], dekAD(stored[:16]))
	if err != nil {
		return nil, fmt.Errorf("vault: data key %d: %w", ref, err)
	}
	k, err := newKey(ref, dek, v.rand)
	if err != nil {
		return nil, err
	}
	v.remember(k)
	return k, nil
}

// Shred destroys the data key ref names: everything sealed under it becomes
// unreadable everywhere it was copied.
func (v *Vault) Shred(ref Ref) error {
	v.forget(ref)
	if err := v.keys.Destroy(ref); err != nil {
		return fmt.Errorf("vault: shred %d: %w", ref, err)
	}
	return nil
}

// Rewrap re-wraps every data key not wrapped by the KEK's active version,
// after a KEK rotation, and returns how many it re-wrapped. The sealed
// records do not change.
func (v *Vault) Rewrap() (int, error) {
	n := 0
	err := v.keys.Rewrap(func(ref Ref, stored []byte) ([]byte, error) {
		if len(stored) < 16 {
			return nil, fmt.Errorf("data key %d: %w", ref, ErrOpen)
		}
		id, w := stored[:16], stored[16:]
		if v.kek.Current(w) {
			return nil, nil
		}
		dek, err := v.kek.Unwrap(w, dekAD(id))
		if err != nil {
			return nil, fmt.Errorf("data key %d: %w", ref, err)
		}
		nw, err := v.kek.Wrap(dek, dekAD(id))
		if err != nil {
			return nil, err
		}
		n++
		return append(append([]byte(nil), id...), nw...), nil
	})
	if err != nil {
		return n, fmt.Errorf("vault: rewrap: %w", err)
	}
	return n, nil
}

// sealVersion starts every sealed value.
const sealVersion = 1

// Seal encrypts plaintext for the record named by ad.
func (k *Key) Seal(ad string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+8+k.aead.NonceSize(), 1+8+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	out[0] = sealVersion
	binary.BigEndian.PutUint64(out[1:9], uint64(k.ref))
	if _, err := io.ReadFull(k.rand, out[9:]); err != nil {
		return nil, fmt.Errorf("vault: random: %w", err)
	}
	return k.aead.Seal(out, out[9:], plaintext, sealAD(out[:9], ad)), nil
}

func sealAD(header []byte, ad string) []byte {
	return append(append([]byte("epermit-record-v1:"), header...), ad...)
}

// Open decrypts what Seal made for the record named by ad.
func (k *Key) Open(ad string, sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+8+ns+k.aead.Overhead() || sealed[0] != sealVersion || Ref(binary.BigEndian.Uint64(sealed[1:9])) != k.ref {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[9:9+ns], sealed[9+ns:], sealAD(sealed[:9], ad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// RefOf returns the data key a sealed value was made with.
func RefOf(sealed []byte) (Ref, bool) {
	if len(sealed) < 9 || sealed[0] != sealVersion {
		return 0, false
	}
	return Ref(binary.BigEndian.Uint64(sealed[1:9])), true
}
