package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// SlotFile is the embedded [KeyStore]: one file of fixed-size slots, one
// wrapped data key each, appended and never moved. Destroy overwrites the
// slot in place with zeros and syncs, so the key is gone from the file
// itself — unlike a copy-on-write B-tree, which keeps deleted values in
// freed pages. What this cannot reach: copies the file system or the disk
// make on their own (snapshots, SSD wear levelling, a backup of the keys
// directory); keep the keys directory out of file-level backups or give
// those backups a retention no longer than the data's.
//
// Slots are not reused: a province's 25 million person-records take about
// 2.4 GB over the life of the file.
type SlotFile struct {
	f      *os.File
	mu     sync.Mutex // writes of slots and the slot count
	n      uint64     // slots in the file
	wmu    sync.Mutex // serializes syncs
	dirty  atomic.Uint64
	synced uint64
}

var _ KeyStore = (*SlotFile)(nil)

const (
	slotMagic  = "EPDK0001"
	slotHeader = 16
	slotSize   = 96
	// A slot: state byte, length byte, two reserved, CRC-32 of the key, the key.
	slotKeyMax = slotSize - 8
)

// OpenSlotFile opens or creates the key file at path (mode 0600).
func OpenSlotFile(path string) (*SlotFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		f.Close()
		return nil, fmt.Errorf("vault: data key file %s is readable by others: chmod 600 it", path)
	}
	size := fi.Size()
	if size == 0 {
		var h [slotHeader]byte
		copy(h[:], slotMagic)
		binary.BigEndian.PutUint32(h[8:], slotSize)
		if _, err := f.WriteAt(h[:], 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("vault: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("vault: %w", err)
		}
		size = slotHeader
	}
	var h [slotHeader]byte
	if _, err := f.ReadAt(h[:], 0); err != nil || string(h[:8]) != slotMagic || binary.BigEndian.Uint32(h[8:]) != slotSize {
		f.Close()
		return nil, fmt.Errorf("vault: %s is not a data key file", path)
	}
	// A slot cut short by a crash was never acknowledged: drop it.
	n := uint64(size-slotHeader) / slotSize
	if want := slotHeader + int64(n)*slotSize; want != size {
		if err := f.Truncate(want); err != nil {
			f.Close()
			return nil, fmt.Errorf("vault: %w", err)
		}
	}
	s := &SlotFile{f: f, n: n}
	s.synced = n
	s.dirty.Store(n)
	return s, nil
}

// Close closes the file.
func (s *SlotFile) Close() error { return s.f.Close() }

// Len returns the number of slots, live or destroyed.
func (s *SlotFile) Len() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func off(ref Ref) int64 { return slotHeader + int64(ref-1)*slotSize }

func encodeSlot(wrapped []byte) ([]byte, error) {
	if len(wrapped) > slotKeyMax {
		return nil, fmt.Errorf("wrapped key of %d bytes, at most %d", len(wrapped), slotKeyMax)
	}
	slot := make([]byte, slotSize)
	slot[0] = 1
	slot[1] = byte(len(wrapped))
	binary.BigEndian.PutUint32(slot[4:], crc32.ChecksumIEEE(wrapped))
	copy(slot[8:], wrapped)
	return slot, nil
}

// Add appends a slot and returns once it is on disk. Concurrent Adds share
// their syncs.
func (s *SlotFile) Add(wrapped []byte) (Ref, error) {
	slot, err := encodeSlot(wrapped)
	if err != nil {
		return 0, fmt.Errorf("vault: %w", err)
	}
	s.mu.Lock()
	ref := Ref(s.n + 1)
	if _, err := s.f.WriteAt(slot, off(ref)); err != nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("vault: %w", err)
	}
	s.n++
	s.dirty.Store(s.n)
	s.mu.Unlock()
	if err := s.syncUpTo(uint64(ref)); err != nil {
		return 0, err
	}
	return ref, nil
}

// syncUpTo returns once slot ref is on disk, syncing at most once for all
// the callers waiting together.
func (s *SlotFile) syncUpTo(ref uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.synced >= ref {
		return nil
	}
	upto := s.dirty.Load()
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("vault: sync: %w", err)
	}
	s.synced = upto
	return nil
}

func (s *SlotFile) read(ref Ref, n uint64) ([]byte, error) {
	if ref == 0 || uint64(ref) > n {
		return nil, ErrNoKey
	}
	slot := make([]byte, slotSize)
	if _, err := s.f.ReadAt(slot, off(ref)); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return slot, nil
}

// Get returns the wrapped key of ref.
func (s *SlotFile) Get(ref Ref) ([]byte, error) { return s.get(ref, s.Len()) }

func (s *SlotFile) get(ref Ref, n uint64) ([]byte, error) {
	slot, err := s.read(ref, n)
	if err != nil {
		return nil, err
	}
	if slot[0] != 1 {
		return nil, ErrShredded
	}
	l := int(slot[1])
	if l > slotKeyMax || crc32.ChecksumIEEE(slot[8:8+l]) != binary.BigEndian.Uint32(slot[4:]) {
		return nil, fmt.Errorf("vault: data key slot %d is damaged", ref)
	}
	return bytes.Clone(slot[8 : 8+l]), nil
}

// Destroy overwrites the slot with zeros and syncs.
func (s *SlotFile) Destroy(ref Ref) error {
	s.mu.Lock()
	if ref == 0 || uint64(ref) > s.n {
		s.mu.Unlock()
		return ErrNoKey
	}
	_, err := s.f.WriteAt(make([]byte, slotSize), off(ref))
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("vault: sync: %w", err)
	}
	return nil
}

// Rewrap rewrites each live slot fn changes, in place, then syncs. A
// slot destroyed meanwhile stays destroyed.
func (s *SlotFile) Rewrap(fn func(ref Ref, wrapped []byte) ([]byte, error)) error {
	n := s.Len()
	for ref := Ref(1); uint64(ref) <= n; ref++ {
		if err := s.rewrapOne(ref, fn); err != nil {
			return err
		}
	}
	return s.f.Sync()
}

func (s *SlotFile) rewrapOne(ref Ref, fn func(ref Ref, wrapped []byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.get(ref, s.n)
	if errors.Is(err, ErrShredded) {
		return nil
	}
	if err != nil {
		return err
	}
	nw, err := fn(ref, w)
	if err != nil || nw == nil {
		return err
	}
	slot, err := encodeSlot(nw)
	if err != nil {
		return err
	}
	if _, err := s.f.WriteAt(slot, off(ref)); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return nil
}
