package boltdb_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/store/storetest"
)

func harness() storetest.Harness {
	open := func(t *testing.T, path string) issuer.Storage {
		s, err := boltdb.Open(path, boltdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return storetest.Harness{
		New: func(t *testing.T) issuer.Storage { return open(t, filepath.Join(t.TempDir(), "permitd.db")) },
		Reopen: func(t *testing.T, s issuer.Storage) issuer.Storage {
			path := s.(*boltdb.Store).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
	}
}

func TestStorage(t *testing.T) { storetest.TestStorage(t, harness()) }

func TestService(t *testing.T) { storetest.TestService(t, harness()) }

func TestStorageKeys(t *testing.T) { storetest.TestStorageKeys(t, harness()) }

// TestNoPersonalDataInTheFile opens the bbolt file itself, free pages
// included, and finds none of the test people's citizen IDs, names,
// addresses or photo bytes, before and after a deletion (issue 10).
func TestNoPersonalDataInTheFile(t *testing.T) {
	h := harness()
	f := storetest.NewFixture(t, h)
	photo := bytes.Repeat([]byte("PHOTO-OF-A-PERSON-"), 30)
	a, _ := f.Submit(1, "", photo)
	f.Approve(a.ID)
	b, _ := f.Submit(2, "", photo)
	f.Issued(3, storetest.NewWallet(90))
	check := func(stage string) {
		raw, err := os.ReadFile(f.St.(*boltdb.Store).Path())
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 3; n++ {
			form := f.Form(n, "")
			for _, secret := range []string{form.CitizenID, form.Name, form.ResidenceAddress, form.HouseholdAddress, string(photo[:24])} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("%s: the file holds %q of person %d in clear", stage, secret, n)
				}
			}
		}
	}
	check("before deletion")
	if _, err := f.Svc.Reject(context.Background(), f.Officer, b.ID, []string{"no"}, f.Clock()); err != nil {
		t.Fatal(err)
	}
	check("after deletion")
}

func TestSeed(t *testing.T) { storetest.TestSeed(t, harness()) }
