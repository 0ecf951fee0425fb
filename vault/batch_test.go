package vault_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/epermit/epermit/vault"
)

// plainStore hides AddBatch, so that NewKeys takes the one-by-one path.
type plainStore struct{ vault.KeyStore }

func TestNewKeys(t *testing.T) {
	v, kek, sf, dir := newVault(t)
	first, err := v.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, vv := range map[string]*vault.Vault{"batch": v, "one by one": vault.New(kek, plainStore{sf}, nil)} {
		t.Run(name, func(t *testing.T) {
			before := sf.Len()
			ks, err := vv.NewKeys(5)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != 5 || sf.Len() != before+5 {
				t.Fatalf("%d keys, %d slots after %d", len(ks), sf.Len(), before)
			}
			for i, k := range ks {
				if k.Ref() != vault.Ref(before)+vault.Ref(i)+1 || k.Ref() == first.Ref() {
					t.Errorf("key %d has ref %d", i, k.Ref())
				}
				ad := fmt.Sprintf("permit:%d", i)
				ct, err := k.Seal(ad, []byte("particulars"))
				if err != nil {
					t.Fatal(err)
				}
				k2, err := vv.Key(k.Ref())
				if err != nil {
					t.Fatal(err)
				}
				if pt, err := k2.Open(ad, ct); err != nil || !bytes.Equal(pt, []byte("particulars")) {
					t.Errorf("key %d: Open = %q, %v", i, pt, err)
				}
			}
			if ks, err := vv.NewKeys(0); err != nil || len(ks) != 0 {
				t.Errorf("NewKeys(0) = %d keys, %v", len(ks), err)
			}
		})
	}
	// The batch is in the file: it reads back after a reopen.
	n := sf.Len()
	sf.Close()
	sf2, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf2.Close()
	if sf2.Len() != n {
		t.Fatalf("%d slots after reopen, want %d", sf2.Len(), n)
	}
	for ref := vault.Ref(1); uint64(ref) <= n; ref++ {
		if _, err := vault.New(kek, sf2, nil).Key(ref); err != nil {
			t.Errorf("key %d after reopen: %v", ref, err)
		}
	}
}
