package boltdb_test

import (
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

func TestSeed(t *testing.T) { storetest.TestSeed(t, harness()) }
