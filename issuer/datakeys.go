package issuer

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/epermit/epermit/vault"
)

// StorageKeys is a [vault.KeyStore] that keeps the wrapped data keys in the
// service's own storage (BucketDataKeys), for replicated deployments in
// which every replica must reach every key. Destroy deletes the record; how
// long the database keeps a deleted row's bytes (dead tuples until VACUUM,
// WAL archives, base backups) is the database's: docs/security.md says what
// that means for shredding.
type StorageKeys struct{ St Storage }

var _ vault.BatchKeyStore = StorageKeys{}

var metaDataKeySeq = []byte("data_key_seq")

// Add stores a wrapped key under the next number.
func (k StorageKeys) Add(wrapped []byte) (vault.Ref, error) {
	refs, err := k.AddBatch([][]byte{wrapped})
	if err != nil {
		return 0, err
	}
	return refs[0], nil
}

// AddBatch stores wrapped keys under the next numbers, in one transaction.
func (k StorageKeys) AddBatch(wrapped [][]byte) ([]vault.Ref, error) {
	var refs []vault.Ref
	err := k.St.Update(context.Background(), func(tx Tx) error {
		refs = refs[:0]
		v, err := tx.Get(BucketMeta, metaDataKeySeq)
		if err != nil {
			return err
		}
		var n uint64
		if len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		for _, w := range wrapped {
			n++
			if err := tx.Put(BucketDataKeys, u64(n), w); err != nil {
				return err
			}
			refs = append(refs, vault.Ref(n))
		}
		return tx.Put(BucketMeta, metaDataKeySeq, u64(n))
	})
	return refs, err
}

// Get returns a wrapped key.
func (k StorageKeys) Get(ref vault.Ref) ([]byte, error) {
	var out []byte
	var seq uint64
	err := k.St.View(context.Background(), func(tx Tx) error {
		v, err := tx.Get(BucketDataKeys, u64(uint64(ref)))
		out = bytes.Clone(v)
		if s, _ := tx.Get(BucketMeta, metaDataKeySeq); len(s) == 8 {
			seq = binary.BigEndian.Uint64(s)
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case out != nil:
		return out, nil
	case ref == 0 || uint64(ref) > seq:
		return nil, vault.ErrNoKey
	}
	return nil, vault.ErrShredded
}

// Destroy deletes a wrapped key.
func (k StorageKeys) Destroy(ref vault.Ref) error {
	return k.St.Update(context.Background(), func(tx Tx) error { return tx.Delete(BucketDataKeys, u64(uint64(ref))) })
}

// Rewrap rewrites the keys fn changes, a thousand to a transaction.
func (k StorageKeys) Rewrap(fn func(ref vault.Ref, wrapped []byte) ([]byte, error)) error {
	var start []byte
	for {
		type kv struct {
			k, v []byte
		}
		var page []kv
		err := k.St.View(context.Background(), func(tx Tx) error {
			page = page[:0]
			return tx.Scan(BucketDataKeys, nil, start, false, func(key, v []byte) (bool, error) {
				if start != nil && bytes.Equal(key, start) {
					return true, nil
				}
				page = append(page, kv{bytes.Clone(key), bytes.Clone(v)})
				return len(page) < 1000, nil
			})
		})
		if err != nil || len(page) == 0 {
			return err
		}
		err = k.St.Update(context.Background(), func(tx Tx) error {
			for _, p := range page {
				cur, err := tx.Get(BucketDataKeys, p.k)
				if err != nil {
					return err
				}
				if cur == nil { // destroyed meanwhile
					continue
				}
				nw, err := fn(vault.Ref(binary.BigEndian.Uint64(p.k)), cur)
				if err != nil {
					return err
				}
				if nw != nil {
					if err := tx.Put(BucketDataKeys, p.k, nw); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		start = page[len(page)-1].k
	}
}
