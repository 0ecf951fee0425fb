// Package storetest is the conformance suite of the issuer service's
// storage adapters: every adapter (store/boltdb, store/postgres) runs it
// from its own tests. [TestStorage] checks the [issuer.Storage] contract
// itself (ordering, isolation, refusals, durability, snapshots);
// [TestService] runs the issuing authority's rules over the adapter (every
// state transition and refusal, concurrency, encryption at rest), so that no
// rule depends on the storage engine.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/vault"
)

// Harness opens the storage under test.
type Harness struct {
	// New returns a fresh, empty storage, closed at the end of the test.
	New func(t *testing.T) issuer.Storage
	// Reopen closes s and opens the same storage again, as after a restart.
	Reopen func(t *testing.T, s issuer.Storage) issuer.Storage
	// DataKeys, when set, returns the key store of the residents' data keys
	// that goes with st (replicated deployments keep them in the storage);
	// nil uses the embedded slot file.
	DataKeys func(t *testing.T, st issuer.Storage) vault.KeyStore
}

// refusal is a test refusal.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Refusal()      {}

var ctx = context.Background()

func put(t *testing.T, s issuer.Storage, b issuer.Bucket, kv ...string) {
	t.Helper()
	err := s.Update(ctx, func(tx issuer.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Put(b, []byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s issuer.Storage, b issuer.Bucket, k string) (string, bool) {
	t.Helper()
	var v []byte
	err := s.View(ctx, func(tx issuer.Tx) error {
		got, err := tx.Get(b, []byte(k))
		v = bytes.Clone(got)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v), v != nil
}

func scan(t *testing.T, s issuer.Storage, b issuer.Bucket, prefix, start string, reverse bool, limit int) []string {
	t.Helper()
	var out []string
	var st []byte
	if start != "" {
		st = []byte(start)
	}
	err := s.View(ctx, func(tx issuer.Tx) error {
		return tx.Scan(b, []byte(prefix), st, reverse, func(k, v []byte) (bool, error) {
			out = append(out, string(k)+"="+string(v))
			return limit == 0 || len(out) < limit, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStorage checks the storage contract of [issuer.Storage].
func TestStorage(t *testing.T, h Harness) {
	t.Run("PutGetDelete", func(t *testing.T) {
		s := h.New(t)
		if _, ok := get(t, s, issuer.BucketMeta, "a"); ok {
			t.Fatal("a missing key has a value")
		}
		put(t, s, issuer.BucketMeta, "a", "1", "b", "")
		if v, ok := get(t, s, issuer.BucketMeta, "a"); !ok || v != "1" {
			t.Fatalf("a = %q, %v", v, ok)
		}
		if v, ok := get(t, s, issuer.BucketMeta, "b"); !ok || v != "" {
			t.Fatalf("an empty value reads back as %q, %v; want present and empty", v, ok)
		}
		if _, ok := get(t, s, issuer.BucketPermits, "a"); ok {
			t.Fatal("buckets share keys")
		}
		if err := s.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketGrants, []byte("marker"), nil) }); err != nil {
			t.Fatal(err)
		}
		err := s.View(ctx, func(tx issuer.Tx) error {
			if v, err := tx.Get(issuer.BucketGrants, []byte("marker")); err != nil || v == nil {
				return fmt.Errorf("a key put with a nil value reads back as %v, %v; want present and empty", v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(ctx, func(tx issuer.Tx) error {
			if err := tx.Delete(issuer.BucketMeta, []byte("a")); err != nil {
				return err
			}
			return tx.Delete(issuer.BucketMeta, []byte("never"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, s, issuer.BucketMeta, "a"); ok {
			t.Fatal("deleted key still there")
		}
		// Binary keys and values round-trip exactly.
		k, v := []byte{0, 0xff, 0x80, 0}, bytes.Repeat([]byte{0, 1, 0xfe}, 3000)
		if err := s.Update(ctx, func(tx issuer.Tx) error { return tx.Put(issuer.BucketStatus, k, v) }); err != nil {
			t.Fatal(err)
		}
		if got, ok := get(t, s, issuer.BucketStatus, string(k)); !ok || got != string(v) {
			t.Fatal("binary value changed")
		}
	})

	t.Run("ReadYourWrites", func(t *testing.T) {
		s := h.New(t)
		err := s.Update(ctx, func(tx issuer.Tx) error {
			if err := tx.Put(issuer.BucketMeta, []byte("k"), []byte("v")); err != nil {
				return err
			}
			v, err := tx.Get(issuer.BucketMeta, []byte("k"))
			if err != nil || string(v) != "v" {
				return fmt.Errorf("read own write: %q, %v", v, err)
			}
			var keys []string
			err = tx.Scan(issuer.BucketMeta, nil, nil, false, func(k, _ []byte) (bool, error) { keys = append(keys, string(k)); return true, nil })
			if err != nil || len(keys) != 1 {
				return fmt.Errorf("scan sees %v, %v", keys, err)
			}
			if err := tx.Delete(issuer.BucketMeta, []byte("k")); err != nil {
				return err
			}
			if v, _ := tx.Get(issuer.BucketMeta, []byte("k")); v != nil {
				return errors.New("deleted key read back")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Scan", func(t *testing.T) {
		s := h.New(t)
		put(t, s, issuer.BucketQueue, "a/1", "x", "a/2", "y", "a/3", "z", "b/1", "w", "a", "p", "\xff\xff", "m", "\xff\xff\x01", "n")
		cases := []struct {
			prefix, start string
			reverse       bool
			limit         int
			want          string
		}{
			{"a/", "", false, 0, "a/1=x a/2=y a/3=z"},
			{"a/", "", true, 0, "a/3=z a/2=y a/1=x"},
			{"a/", "a/2", false, 0, "a/2=y a/3=z"},
			{"a/", "a/2", true, 0, "a/2=y a/1=x"},
			{"a/", "a/25", true, 0, "a/2=y a/1=x"},
			{"a/", "a/25", false, 0, "a/3=z"},
			{"a/", "a/9", true, 0, "a/3=z a/2=y a/1=x"},
			{"a/", "a/0", false, 2, "a/1=x a/2=y"},
			{"a/", "a/0", true, 0, ""},
			{"a", "", false, 0, "a=p a/1=x a/2=y a/3=z"},
			{"c", "", false, 0, ""},
			{"c", "", true, 0, ""},
			{"", "", false, 2, "a=p a/1=x"},
			{"", "", true, 2, "\xff\xff\x01=n \xff\xff=m"},
			{"\xff\xff", "", true, 0, "\xff\xff\x01=n \xff\xff=m"},
			{"b/", "", true, 0, "b/1=w"},
		}
		for _, c := range cases {
			got := fmt.Sprint(scan(t, s, issuer.BucketQueue, c.prefix, c.start, c.reverse, c.limit))
			want := fmt.Sprint(splitOrEmpty(c.want))
			if got != want {
				t.Errorf("Scan(%q, start %q, reverse %v, limit %d) = %s, want %s", c.prefix, c.start, c.reverse, c.limit, got, want)
			}
		}
	})

	t.Run("ErrorRollsBack", func(t *testing.T) {
		s := h.New(t)
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx issuer.Tx) error {
			if err := tx.Put(issuer.BucketMeta, []byte("k"), []byte("v")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if _, ok := get(t, s, issuer.BucketMeta, "k"); ok {
			t.Fatal("a failed transaction's write committed")
		}
	})

	t.Run("Refusal", func(t *testing.T) {
		s := h.New(t)
		// A refusal before any write goes to its caller alone, while the
		// functions sharing its commit go through.
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Update(ctx, func(tx issuer.Tx) error {
					if i%2 == 1 {
						return &refusal{"odd " + strconv.Itoa(i)}
					}
					return tx.Put(issuer.BucketMeta, []byte("k"+strconv.Itoa(i)), []byte("v"))
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			_, ok := get(t, s, issuer.BucketMeta, "k"+strconv.Itoa(i))
			if i%2 == 1 {
				var r *refusal
				if !errors.As(err, &r) || ok {
					t.Errorf("function %d: err %v, written %v; want its refusal and nothing written", i, err, ok)
				}
			} else if err != nil || !ok {
				t.Errorf("function %d: err %v, written %v; want committed", i, err, ok)
			}
		}
		// A refusal after a write does not commit the write.
		err := s.Update(ctx, func(tx issuer.Tx) error {
			if err := tx.Put(issuer.BucketMeta, []byte("late"), []byte("v")); err != nil {
				return err
			}
			return &refusal{"late"}
		})
		if !issuer.IsRefusal(err) {
			t.Fatalf("late refusal: %v", err)
		}
		if _, ok := get(t, s, issuer.BucketMeta, "late"); ok {
			t.Fatal("the write before a refusal committed")
		}
	})

	t.Run("ConcurrentIncrements", func(t *testing.T) {
		s := h.New(t)
		const n = 200
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Update(ctx, func(tx issuer.Tx) error {
					v, err := tx.Get(issuer.BucketMeta, []byte("counter"))
					if err != nil {
						return err
					}
					c, _ := strconv.Atoi(string(v))
					return tx.Put(issuer.BucketMeta, []byte("counter"), []byte(strconv.Itoa(c+1)))
				})
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if v, _ := get(t, s, issuer.BucketMeta, "counter"); v != strconv.Itoa(n-int(failed.Load())) {
			t.Fatalf("counter = %s after %d acknowledged increments: a read-modify-write was lost", v, n-int(failed.Load()))
		}
	})

	t.Run("InsertIfAbsent", func(t *testing.T) {
		s := h.New(t)
		// Many writers try to claim the same new keys; each key must go to
		// exactly one of them (the person index and permit numbers rely on it).
		const writers, keys = 24, 20
		var wg sync.WaitGroup
		wins := make([]atomic.Int32, keys)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range keys {
					key := []byte("claim/" + strconv.Itoa(k))
					err := s.Update(ctx, func(tx issuer.Tx) error {
						v, err := tx.Get(issuer.BucketPersons, key)
						if err != nil {
							return err
						}
						if v != nil {
							return &refusal{"taken"}
						}
						return tx.Put(issuer.BucketPersons, key, []byte(strconv.Itoa(w)))
					})
					if err == nil {
						wins[k].Add(1)
					} else if !issuer.IsRefusal(err) {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		for k := range wins {
			if n := wins[k].Load(); n != 1 {
				t.Errorf("key %d claimed by %d writers", k, n)
			}
		}
	})

	t.Run("Durable", func(t *testing.T) {
		s := h.New(t)
		put(t, s, issuer.BucketPermits, "p1", "one")
		s = h.Reopen(t, s)
		if v, ok := get(t, s, issuer.BucketPermits, "p1"); !ok || v != "one" {
			t.Fatalf("after reopen: %q, %v", v, ok)
		}
		put(t, s, issuer.BucketPermits, "p2", "two")
		if v, _ := get(t, s, issuer.BucketPermits, "p2"); v != "two" {
			t.Fatal("reopened storage does not take writes")
		}
	})

	t.Run("Snapshot", func(t *testing.T) {
		src := h.New(t)
		for _, b := range issuer.Buckets {
			put(t, src, b, "k1", string(b)+"-1", "k2", "")
		}
		put(t, src, issuer.BucketStatus, "\x00big", string(bytes.Repeat([]byte{7}, 1<<16)))
		var buf bytes.Buffer
		n, err := src.Snapshot(ctx, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(2*len(issuer.Buckets) + 1); n != want {
			t.Fatalf("snapshot of %d records, want %d", n, want)
		}
		dst := h.New(t)
		var recs int64
		_, err = issuer.ReadSnapshot(bytes.NewReader(buf.Bytes()), func(b issuer.Bucket, k, v []byte) error {
			recs++
			return dst.Update(ctx, func(tx issuer.Tx) error { return tx.Put(b, k, v) })
		})
		if err != nil || recs != n {
			t.Fatalf("read back %d records: %v", recs, err)
		}
		for _, b := range issuer.Buckets {
			if v, ok := get(t, dst, b, "k1"); !ok || v != string(b)+"-1" {
				t.Errorf("bucket %s: %q", b, v)
			}
		}
		// A cut or changed snapshot is refused.
		for _, bad := range [][]byte{buf.Bytes()[:buf.Len()-1], flip(buf.Bytes(), buf.Len()/2), append(bytes.Clone(buf.Bytes()), 0)} {
			if _, err := issuer.ReadSnapshot(bytes.NewReader(bad), func(issuer.Bucket, []byte, []byte) error { return nil }); !errors.Is(err, issuer.ErrBadSnapshot) {
				t.Errorf("damaged snapshot: %v", err)
			}
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := h.New(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Update(c, func(tx issuer.Tx) error { return tx.Put(issuer.BucketMeta, []byte("x"), nil) }); err == nil {
			t.Fatal("Update with a canceled context succeeded")
		}
		if _, ok := get(t, s, issuer.BucketMeta, "x"); ok {
			t.Fatal("a canceled Update wrote")
		}
	})
}

func splitOrEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return bytes2strings(bytes.Split([]byte(s), []byte(" ")))
}

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}
