package issuer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// snapshotMagic starts every snapshot.
const snapshotMagic = "epermit-snapshot-v1\n"

// Limits of a snapshot record, against a corrupt or hostile file.
const (
	maxSnapshotKey   = 1 << 10
	maxSnapshotValue = 16 << 20
)

// ErrBadSnapshot reports a snapshot that is truncated, corrupt or not a
// snapshot at all.
var ErrBadSnapshot = errors.New("bad snapshot")

// SnapshotWriter writes the portable form of a store's records, the same for
// every adapter: the magic line "epermit-snapshot-v1\n", then for each
// record the uvarint lengths and bytes of its bucket name, key and value,
// then a zero byte, the uvarint count of records and the SHA-256 of
// everything before it. Backups and `permitd store copy` use it.
type SnapshotWriter struct {
	w   *bufio.Writer
	h   io.Writer
	sum hash.Hash
	n   int64
	err error
}

// NewSnapshotWriter starts a snapshot on w.
func NewSnapshotWriter(w io.Writer) *SnapshotWriter {
	h := sha256.New()
	sw := &SnapshotWriter{w: bufio.NewWriterSize(w, 64<<10), sum: h}
	sw.h = io.MultiWriter(sw.w, h)
	sw.write([]byte(snapshotMagic))
	return sw
}

func (s *SnapshotWriter) write(p []byte) {
	if s.err == nil {
		_, s.err = s.h.Write(p)
	}
}

func (s *SnapshotWriter) uvarint(n uint64) {
	var b [binary.MaxVarintLen64]byte
	s.write(b[:binary.PutUvarint(b[:], n)])
}

// Add writes one record.
func (s *SnapshotWriter) Add(b Bucket, key, value []byte) error {
	if len(b) == 0 {
		return errors.New("snapshot: empty bucket name")
	}
	s.uvarint(uint64(len(b)))
	s.write([]byte(b))
	s.uvarint(uint64(len(key)))
	s.write(key)
	s.uvarint(uint64(len(value)))
	s.write(value)
	s.n++
	return s.err
}

// Close writes the trailer and flushes, and returns the number of records.
func (s *SnapshotWriter) Close() (int64, error) {
	s.write([]byte{0})
	s.uvarint(uint64(s.n))
	if s.err != nil {
		return s.n, s.err
	}
	if _, err := s.w.Write(s.sum.Sum(nil)); err != nil {
		return s.n, err
	}
	return s.n, s.w.Flush()
}

// ReadSnapshot reads a snapshot from r and calls fn for each record in
// order. It checks the count and checksum at the end: a caller must treat
// what it received as unusable when ReadSnapshot returns an error.
func ReadSnapshot(r io.Reader, fn func(b Bucket, key, value []byte) error) (int64, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(r, 64<<10)
	tr := &teeByteReader{r: br, h: h}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic) != snapshotMagic {
		return 0, fmt.Errorf("%w: not an e-permit snapshot", ErrBadSnapshot)
	}
	var n int64
	for {
		bl, err := binary.ReadUvarint(tr)
		if err != nil {
			return n, fmt.Errorf("%w: truncated after %d records", ErrBadSnapshot, n)
		}
		if bl == 0 {
			break
		}
		if bl > 64 {
			return n, fmt.Errorf("%w: record %d: bucket name of %d bytes", ErrBadSnapshot, n+1, bl)
		}
		bucket, err := tr.bytes(bl)
		if err != nil {
			return n, fmt.Errorf("%w: truncated in record %d", ErrBadSnapshot, n+1)
		}
		key, err := tr.field(maxSnapshotKey)
		if err != nil {
			return n, fmt.Errorf("%w: record %d: %v", ErrBadSnapshot, n+1, err)
		}
		value, err := tr.field(maxSnapshotValue)
		if err != nil {
			return n, fmt.Errorf("%w: record %d: %v", ErrBadSnapshot, n+1, err)
		}
		if err := fn(Bucket(bucket), key, value); err != nil {
			return n, err
		}
		n++
	}
	count, err := binary.ReadUvarint(tr)
	if err != nil || int64(count) != n {
		return n, fmt.Errorf("%w: the trailer counts %d records, %d were read", ErrBadSnapshot, count, n)
	}
	want := h.Sum(nil)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, want) {
		return n, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return n, fmt.Errorf("%w: data after the trailer", ErrBadSnapshot)
	}
	return n, nil
}

// teeByteReader reads from r and hashes what it read.
type teeByteReader struct {
	r *bufio.Reader
	h io.Writer
}

func (t *teeByteReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	return n, err
}

func (t *teeByteReader) ReadByte() (byte, error) {
	b, err := t.r.ReadByte()
	if err == nil {
		t.h.Write([]byte{b})
	}
	return b, err
}

func (t *teeByteReader) bytes(n uint64) ([]byte, error) {
	p := make([]byte, n)
	_, err := io.ReadFull(t, p)
	return p, err
}

func (t *teeByteReader) field(max uint64) ([]byte, error) {
	l, err := binary.ReadUvarint(t)
	if err != nil {
		return nil, errors.New("truncated")
	}
	if l > max {
		return nil, fmt.Errorf("field of %d bytes", l)
	}
	p, err := t.bytes(l)
	if err != nil {
		return nil, errors.New("truncated")
	}
	return p, nil
}
