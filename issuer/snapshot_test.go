package issuer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func snapshotOf(t testing.TB, recs ...[3]string) []byte {
	var buf bytes.Buffer
	w := NewSnapshotWriter(&buf)
	for _, r := range recs {
		if err := w.Add(Bucket(r[0]), []byte(r[1]), []byte(r[2])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	data := snapshotOf(t, [3]string{"meta", "k", "v"}, [3]string{"permits", "", ""}, [3]string{"audit", "\x00\x01", string(make([]byte, 70000))})
	var got [][3]string
	n, err := ReadSnapshot(bytes.NewReader(data), func(b Bucket, k, v []byte) error {
		got = append(got, [3]string{string(b), string(k), string(v)})
		return nil
	})
	if err != nil || n != 3 || got[1] != [3]string{"permits", "", ""} || len(got[2][2]) != 70000 {
		t.Fatalf("read %d: %v", n, err)
	}
	empty := snapshotOf(t)
	if n, err := ReadSnapshot(bytes.NewReader(empty), func(Bucket, []byte, []byte) error { return nil }); n != 0 || err != nil {
		t.Fatalf("empty snapshot: %d %v", n, err)
	}
	for name, bad := range map[string][]byte{
		"nothing":        nil,
		"not a snapshot": []byte("SQLite format 3\x00"),
		"cut":            data[:len(data)-5],
		"flipped":        append(append([]byte(nil), data[:30]...), append([]byte{data[30] ^ 0x40}, data[31:]...)...),
		"trailing":       append(append([]byte(nil), data...), 'x'),
	} {
		if _, err := ReadSnapshot(bytes.NewReader(bad), func(Bucket, []byte, []byte) error { return nil }); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzReadSnapshot feeds arbitrary bytes to the snapshot reader, which
// reads backups a restore is given: it must refuse without panicking or
// allocating beyond its limits.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(snapshotOf(f, [3]string{"meta", "k", "v"}))
	f.Add(snapshotOf(f))
	f.Add([]byte(snapshotMagic + "\x04meta\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := int64(0)
		got, err := ReadSnapshot(bytes.NewReader(data), func(b Bucket, k, v []byte) error {
			if len(k) > maxSnapshotKey || len(v) > maxSnapshotValue || len(b) == 0 {
				t.Fatalf("record beyond the limits: %d %d %d", len(b), len(k), len(v))
			}
			n++
			return nil
		})
		if got != n {
			t.Fatalf("counted %d, called %d", got, n)
		}
		if err == nil {
			// What reads back whole writes back the same.
			var recs [][3]string
			ReadSnapshot(bytes.NewReader(data), func(b Bucket, k, v []byte) error {
				recs = append(recs, [3]string{string(b), string(k), string(v)})
				return nil
			})
			if !bytes.Equal(snapshotOf(t, recs...), data) {
				t.Fatal("a valid snapshot does not re-encode to itself")
			}
		}
	})
}

// FuzzNonce feeds arbitrary strings to the c_nonce check: a nonce that the
// service did not make is never accepted, and nothing panics.
func FuzzNonce(f *testing.F) {
	s := &Service{cfg: Config{IndexKey: bytes.Repeat([]byte{7}, 32), NonceTTL: 5 * time.Minute, Rand: rand.Reader, Now: time.Now}}
	now := time.Unix(1800000000, 0)
	good, _, err := s.NewNonce(now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good[:len(good)-1] + "A")
	f.Fuzz(func(t *testing.T, n string) {
		key, ok := s.checkNonce(n, now)
		if ok && n != good {
			t.Fatalf("forged nonce %q accepted", n)
		}
		if ok && len(key) != 25 {
			t.Fatalf("record key of %d bytes", len(key))
		}
	})
}
