package main

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/vault"
)

// storeCopy copies every record of one store into another, empty one — a
// bbolt file to a PostgreSQL database when a province moves to replicas,
// and back — and checks the copy before it says so: the records and a
// digest of every bucket on both sides (the status lists' bits included),
// and the audit chain with its signed checkpoints. The residents' data keys
// move with the records: from the keys directory's slot file into the
// database, or from the database into a new slot file.
func storeCopy(args []string, stdout io.Writer) error {
	var c common
	fs := flags("store copy", &c)
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" || *from == *to {
		return fmt.Errorf("%w: store copy needs --from STORE and --to STORE, two stores (a bbolt file or postgres://…)", errUsage)
	}
	ctx := context.Background()
	src, err := openStore(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	dst, err := openStore(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()

	// Where the data keys are, and where they must go.
	_, srcFile := src.(*boltdb.Store)
	_, dstFile := dst.(*boltdb.Store)
	slotPath := filepath.Join(c.data, "keys", "datakeys")
	if dstFile && !srcFile {
		if sf, err := vault.OpenSlotFile(slotPath); err == nil {
			n := sf.Len()
			sf.Close()
			if n > 0 {
				return fmt.Errorf("%s already holds %d data keys: copy into a data directory of its own (--data)", slotPath, n)
			}
		}
	}

	t0 := time.Now()
	pr, pw := io.Pipe()
	go func() {
		_, err := src.Snapshot(ctx, pw)
		pw.CloseWithError(err)
	}()
	n, err := issuer.Restore(ctx, dst, pr)
	pr.Close()
	if err != nil {
		return fmt.Errorf("copy: %w (the destination holds a partial copy: empty it before trying again)", err)
	}
	fmt.Fprintf(stdout, "%d records copied in %s\n", n, time.Since(t0).Round(time.Millisecond))

	// The copy, record for record.
	want, err := issuer.Digest(ctx, src)
	if err != nil {
		return err
	}
	got, err := issuer.Digest(ctx, dst)
	if err != nil {
		return err
	}
	for _, b := range issuer.Buckets {
		if want[b] != got[b] {
			return fmt.Errorf("the copy differs in %s: %d records (sha256 %s), the source has %d (%s)", b, got[b].Records, got[b].SHA256[:16], want[b].Records, want[b].SHA256[:16])
		}
	}
	fmt.Fprintf(stdout, "every bucket checked: the same records (%d permits, %d status chunks with their bits, %d audit entries)\n",
		got[issuer.BucketPermits].Records, got[issuer.BucketStatus].Records, got[issuer.BucketAudit].Records)

	// The data keys.
	switch {
	case srcFile && !dstFile:
		k, err := keysToStorage(ctx, slotPath, dst)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d data keys moved from %s into the database (destroyed ones stay destroyed)\n", k, slotPath)
	case !srcFile && dstFile:
		k, err := keysToSlotFile(ctx, dst, slotPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d data keys moved from the database into %s\n", k, slotPath)
	}

	// The audit log, by the data directory's audit key.
	if ak, err := keys.LoadPrivateKeyFile(filepath.Join(c.data, "keys", "audit.key")); err == nil {
		r, err := issuer.VerifyAudit(ctx, dst, keys.Thumbprint(ak.Public().(ed25519.PublicKey)), nil)
		if err != nil {
			return fmt.Errorf("the copy's audit log does not verify: %w", err)
		}
		fmt.Fprintf(stdout, "audit log of the copy intact: %d entries, %d signed checkpoints\n", r.Entries, r.Checkpoints)
	} else {
		fmt.Fprintf(stdout, "audit log not checked: no %s (give --data, the service's data directory)\n", filepath.Join(c.data, "keys", "audit.key"))
	}
	return nil
}

// keysToStorage writes the slot file's data keys into the store's
// data_keys bucket under the same numbers, so that the copied records find
// them.
func keysToStorage(ctx context.Context, slotPath string, st issuer.Storage) (int, error) {
	sf, err := vault.OpenSlotFile(slotPath)
	if err != nil {
		return 0, err
	}
	defer sf.Close()
	last := sf.Len()
	for first := uint64(1); first <= last; first += 4096 {
		err := st.Update(ctx, func(tx issuer.Tx) error {
			for ref := first; ref <= last && ref < first+4096; ref++ {
				w, err := sf.Get(vault.Ref(ref))
				if errors.Is(err, vault.ErrShredded) {
					continue
				}
				if err != nil {
					return err
				}
				if err := tx.Put(issuer.BucketDataKeys, binary.BigEndian.AppendUint64(nil, ref), w); err != nil {
					return err
				}
			}
			return tx.Put(issuer.BucketMeta, []byte("data_key_seq"), binary.BigEndian.AppendUint64(nil, last))
		})
		if err != nil {
			return 0, err
		}
	}
	// Every key reads back from the store.
	moved := 0
	k := issuer.StorageKeys{St: st}
	for ref := uint64(1); ref <= last; ref++ {
		if _, err := k.Get(vault.Ref(ref)); err == nil {
			moved++
		}
	}
	return moved, nil
}

// keysToSlotFile writes the store's data keys into a new slot file under
// the same numbers (destroyed ones as destroyed slots) and deletes them
// from the store, which keeps only records.
func keysToSlotFile(ctx context.Context, st issuer.Storage, slotPath string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(slotPath), 0o700); err != nil {
		return 0, err
	}
	sf, err := vault.OpenSlotFile(slotPath)
	if err != nil {
		return 0, err
	}
	defer sf.Close()
	k := issuer.StorageKeys{St: st}
	var last uint64
	err = st.View(ctx, func(tx issuer.Tx) error {
		v, err := tx.Get(issuer.BucketMeta, []byte("data_key_seq"))
		if len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	moved := 0
	for ref := uint64(1); ref <= last; ref++ {
		w, err := k.Get(vault.Ref(ref))
		shredded := errors.Is(err, vault.ErrShredded)
		if err != nil && !shredded {
			return moved, err
		}
		if shredded {
			w = []byte{0}
		}
		got, err := sf.Add(w)
		if err != nil {
			return moved, err
		}
		if uint64(got) != ref {
			return moved, fmt.Errorf("%s is not new: data key %d went to slot %d", slotPath, ref, got)
		}
		if shredded {
			if err := sf.Destroy(got); err != nil {
				return moved, err
			}
			continue
		}
		moved++
	}
	for first := uint64(1); first <= last; first += 4096 {
		err := st.Update(ctx, func(tx issuer.Tx) error {
			for ref := first; ref <= last && ref < first+4096; ref++ {
				if err := tx.Delete(issuer.BucketDataKeys, binary.BigEndian.AppendUint64(nil, ref)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}
