package issuer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/vault"
)

// TestShreddingLimits shows what crypto-shredding does not reach, and the
// remedy docs/security.md gives operators. Destroying a data key removes
// it from the live key store; a copy of the key store taken before (a
// file-level backup of keys/datakeys; for data keys kept in the database,
// any backup of the database) still holds it wrapped, and opens the record
// with the key-encryption key. Rotating the KEK, which re-wraps the live
// keys, and then deleting the old KEK version makes every such copy
// unreadable, while the live records stay readable.
func TestShreddingLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		// open returns the live key store, and a function that copies it
		// as a backup would and opens the copy.
		open func(t *testing.T) (live vault.KeyStore, backup func() vault.KeyStore)
	}{
		{"slot file", func(t *testing.T) (vault.KeyStore, func() vault.KeyStore) {
			dir := t.TempDir()
			sf, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sf.Close() })
			return sf, func() vault.KeyStore {
				data, err := os.ReadFile(filepath.Join(dir, "datakeys"))
				if err != nil {
					t.Fatal(err)
				}
				cp := filepath.Join(t.TempDir(), "datakeys")
				if err := os.WriteFile(cp, data, 0o600); err != nil {
					t.Fatal(err)
				}
				old, err := vault.OpenSlotFile(cp)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { old.Close() })
				return old
			}
		}},
		{"keys in the storage", func(t *testing.T) (vault.KeyStore, func() vault.KeyStore) {
			st := openStore(t)
			return issuer.StorageKeys{St: st}, func() vault.KeyStore {
				var snap bytes.Buffer
				if _, err := st.Snapshot(context.Background(), &snap); err != nil {
					t.Fatal(err)
				}
				restored := openStore(t)
				if _, err := issuer.Restore(context.Background(), restored, &snap); err != nil {
					t.Fatal(err)
				}
				return issuer.StorageKeys{St: restored}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kekDir := filepath.Join(t.TempDir(), "kek")
			kek, err := vault.LoadFileKEK(kekDir, true)
			if err != nil {
				t.Fatal(err)
			}
			live, backup := tc.open(t)
			v := vault.New(kek, live, nil)
			gone, _ := v.NewKey()
			kept, _ := v.NewKey()
			sealedGone, _ := gone.Seal("application:A", []byte("to be deleted"))
			sealedKept, _ := kept.Seal("application:B", []byte("kept"))
			old := backup() // taken before the deletion
			if err := v.Shred(gone.Ref()); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Key(gone.Ref()); !errors.Is(err, vault.ErrShredded) {
				t.Fatalf("live store after shredding: %v", err)
			}
			// The limit: the older copy still opens the deleted record.
			k, err := vault.New(kek, old, nil).Key(gone.Ref())
			if err != nil {
				t.Fatalf("the copy taken before: %v", err)
			}
			if pt, err := k.Open("application:A", sealedGone); err != nil || string(pt) != "to be deleted" {
				t.Fatalf("the copy taken before: %q %v", pt, err)
			}
			// The remedy: a new KEK version, the live keys re-wrapped, the old version deleted.
			if _, err := kek.Rotate(); err != nil {
				t.Fatal(err)
			}
			if n, err := v.Rewrap(); err != nil || n != 1 {
				t.Fatalf("rewrap %d: %v", n, err)
			}
			if err := os.Remove(filepath.Join(kekDir, "1.kek")); err != nil {
				t.Fatal(err)
			}
			kek2, err := vault.LoadFileKEK(kekDir, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vault.New(kek2, old, nil).Key(gone.Ref()); err == nil {
				t.Fatal("the copy taken before still opens the deleted record after the old KEK version was deleted")
			}
			k, err = vault.New(kek2, live, nil).Key(kept.Ref())
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := k.Open("application:B", sealedKept); err != nil || string(pt) != "kept" {
				t.Fatalf("a live record after the rotation: %q %v", pt, err)
			}
		})
	}
}

func openStore(t *testing.T) issuer.Storage {
	t.Helper()
	st, err := boltdb.Open(filepath.Join(t.TempDir(), "permitd.db"), boltdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
