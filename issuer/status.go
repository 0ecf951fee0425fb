package issuer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/epermit/epermit/statuslist"
)

// Status lists: each authority has lists of ListSize two-bit entries. Every
// credential takes a random free index of its authority's newest list, and
// a new list opens when that one is full. An index once used is never given
// again. Statuses and the used-index bitmap are stored in 4 KiB chunks, so a
// change rewrites 4 KiB, not the list.
//
// Each replica draws indices from its own in-memory allocator; the
// transaction that takes an index checks the stored bitmap, so an index
// another replica took meanwhile is refused and another drawn.

// openList is a list's allocator in this process.
type openList struct {
	info  ListInfo
	alloc *statuslist.Allocator
}

// chunkKey is the key of chunk c of list id in the status and used buckets.
func chunkKey(id string, c int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(id), '/'), uint32(c))
}

func listPrefix(authority string) []byte { return []byte(authority + "-") }

// newestList returns the newest list of an authority, or false.
func newestList(tx Tx, authority string) (ListInfo, bool, error) {
	var best ListInfo
	found := false
	err := tx.Scan(BucketLists, listPrefix(authority), nil, false, func(_, v []byte) (bool, error) {
		var l ListInfo
		if err := json.Unmarshal(v, &l); err != nil {
			return false, err
		}
		if l.Authority == authority && l.Seq > best.Seq {
			best, found = l, true
		}
		return true, nil
	})
	return best, found, err
}

// openList returns the allocator of the authority's newest list with free
// entries, opening a new list when it is full.
func (s *Service) openList(ctx context.Context, authority string) (*openList, error) {
	s.allocMu.Lock()
	defer s.allocMu.Unlock()
	if ol := s.current[authority]; ol != nil && ol.alloc.Used() < ol.alloc.Size() {
		return ol, nil
	}
	ol, err := s.findOpenListLocked(ctx, authority)
	if err == nil {
		s.current[authority] = ol
	}
	return ol, err
}

func (s *Service) findOpenListLocked(ctx context.Context, authority string) (*openList, error) {
	var newest ListInfo
	var found bool
	if err := s.view(ctx, func(tx Tx) (err error) { newest, found, err = newestList(tx, authority); return }); err != nil {
		return nil, fmt.Errorf("issuer: status lists: %w", err)
	}
	if found {
		ol, err := s.loadListLocked(ctx, newest)
		if err != nil {
			return nil, err
		}
		if ol.alloc.Used() < ol.alloc.Size() {
			return ol, nil
		}
	}
	l := ListInfo{Authority: authority, Seq: newest.Seq + 1, Bits: ListBits, Size: s.cfg.ListSize, Created: s.cfg.Now().UTC()}
	l.ID = authority + "-" + strconv.Itoa(l.Seq)
	err := s.update(ctx, func(tx Tx) error {
		old, err := tx.Get(BucketLists, []byte(l.ID))
		if err != nil || old != nil {
			return err // another replica opened it: use theirs
		}
		if err := putJSON(tx, BucketLists, []byte(l.ID), l); err != nil {
			return err
		}
		return appendAudit(tx, entry(system, "status_list.open", "status_list:"+l.ID, authority, s.cfg.Now(), map[string]string{"size": strconv.Itoa(l.Size)}))
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: open status list: %w", err)
	}
	var info ListInfo
	if err := s.view(ctx, func(tx Tx) error {
		ok, err := getJSON(tx, BucketLists, []byte(l.ID), &info)
		if !ok && err == nil {
			err = errors.New("the new list vanished")
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("issuer: open status list: %w", err)
	}
	return s.loadListLocked(ctx, info)
}

// loadListLocked returns the allocator of list l, loading its used bitmap
// on first use.
func (s *Service) loadListLocked(ctx context.Context, l ListInfo) (*openList, error) {
	if ol := s.alloc[l.ID]; ol != nil {
		return ol, nil
	}
	a, err := statuslist.NewAllocator(l.Size, s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	used := make([]byte, (l.Size+7)/8)
	err = s.view(ctx, func(tx Tx) error {
		for c := 0; c*chunkBytes < len(used); c++ {
			v, err := tx.Get(BucketUsed, chunkKey(l.ID, c))
			if err != nil {
				return err
			}
			copy(used[c*chunkBytes:], v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.LoadUsed(used); err != nil {
		return nil, fmt.Errorf("status list %s: %w", l.ID, err)
	}
	ol := &openList{info: l, alloc: a}
	s.alloc[l.ID] = ol
	return ol, nil
}

// allocate draws a free index of the authority's open list. The caller
// gives it back with release when the transaction that would use it fails.
func (s *Service) allocate(ctx context.Context, authority string) (*openList, int, error) {
	for range 3 {
		ol, err := s.openList(ctx, authority)
		if err != nil {
			return nil, 0, err
		}
		i, err := ol.alloc.Allocate()
		if errors.Is(err, statuslist.ErrFull) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("issuer: allocate status entry: %w", err)
		}
		return ol, i, nil
	}
	return nil, 0, errors.New("issuer: no free status entry")
}

func (ol *openList) release(i int) { _ = ol.alloc.Release(i) }

// takeIndex marks entry i of list id as used inside tx. It must come before
// any write of its transaction: an index another replica took meanwhile
// refuses with errRetry, and the caller draws again.
func takeIndex(tx Tx, id string, i int) error {
	k := chunkKey(id, i/(8*chunkBytes))
	old, err := tx.Get(BucketUsed, k)
	if err != nil {
		return err
	}
	chunk := make([]byte, chunkBytes)
	copy(chunk, old)
	off := i % (8 * chunkBytes)
	if chunk[off/8]&(1<<(off%8)) != 0 {
		return &errRetry{"status index taken by another replica"}
	}
	chunk[off/8] |= 1 << (off % 8)
	return tx.Put(BucketUsed, k, chunk)
}

// indexFree reports, without writing, whether entry i of list id is free.
func indexFree(tx Tx, id string, i int) (bool, error) {
	v, err := tx.Get(BucketUsed, chunkKey(id, i/(8*chunkBytes)))
	if err != nil {
		return false, err
	}
	off := i % (8 * chunkBytes)
	return len(v) <= off/8 || v[off/8]&(1<<(off%8)) == 0, nil
}

// setStatus writes the status of entry i of list id and bumps the list's
// version, inside tx.
func setStatus(tx Tx, id string, i int, st statuslist.Status) error {
	per := 8 * chunkBytes / ListBits
	k := chunkKey(id, i/per)
	old, err := tx.Get(BucketStatus, k)
	if err != nil {
		return err
	}
	chunk := make([]byte, chunkBytes)
	copy(chunk, old)
	l, err := statuslist.FromBytes(ListBits, chunk)
	if err != nil {
		return err
	}
	if err := l.Set(i%per, st); err != nil {
		return err
	}
	if err := tx.Put(BucketStatus, k, l.Bytes()); err != nil {
		return err
	}
	var info ListInfo
	ok, err := getJSON(tx, BucketLists, []byte(id), &info)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("status list %s is missing", id)
	}
	info.Version++
	return putJSON(tx, BucketLists, []byte(id), info)
}

// Lists returns the status lists of an authority ("" for all), by authority
// and age.
func (s *Service) Lists(ctx context.Context, authority string) ([]ListInfo, error) {
	var out []ListInfo
	err := s.view(ctx, func(tx Tx) error {
		out = out[:0]
		var prefix []byte
		if authority != "" {
			prefix = listPrefix(authority)
		}
		return tx.Scan(BucketLists, prefix, nil, false, func(_, v []byte) (bool, error) {
			var l ListInfo
			if err := json.Unmarshal(v, &l); err != nil {
				return false, err
			}
			if authority == "" || l.Authority == authority {
				out = append(out, l)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: status lists: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Authority != out[j].Authority {
			return out[i].Authority < out[j].Authority
		}
		return out[i].Seq < out[j].Seq
	})
	return out, nil
}

// ListVersion returns the version of list id (0 for an unknown list): it
// grows with every change of the list's statuses, in every replica.
func (s *Service) ListVersion(ctx context.Context, id string) (uint64, error) {
	var l ListInfo
	err := s.view(ctx, func(tx Tx) error { _, err := getJSON(tx, BucketLists, []byte(id), &l); return err })
	return l.Version, err
}

// StatusList returns the statuses of list id with its description.
func (s *Service) StatusList(ctx context.Context, id string) (*statuslist.List, ListInfo, error) {
	var l ListInfo
	var raw []byte
	err := s.view(ctx, func(tx Tx) error {
		ok, err := getJSON(tx, BucketLists, []byte(id), &l)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("status list", "状态列表")
		}
		raw = make([]byte, l.Size*l.Bits/8)
		for c := 0; c*chunkBytes < len(raw); c++ {
			v, err := tx.Get(BucketStatus, chunkKey(id, c))
			if err != nil {
				return err
			}
			copy(raw[c*chunkBytes:], v)
		}
		return nil
	})
	if err != nil {
		return nil, ListInfo{}, fmt.Errorf("issuer: status list %q: %w", clip(id), err)
	}
	list, err := statuslist.FromBytes(l.Bits, raw)
	if err != nil {
		return nil, ListInfo{}, fmt.Errorf("issuer: status list %q: %w", id, err)
	}
	return list, l, nil
}

// StatusEvents returns up to limit entries of the revocation event log
// after the key after (nil from the start), with the key of the last.
func (s *Service) StatusEvents(ctx context.Context, after []byte, limit int) ([]StatusEvent, []byte, error) {
	var evs []StatusEvent
	var last []byte
	err := s.view(ctx, func(tx Tx) error {
		evs, last = evs[:0], nil
		return tx.Scan(BucketEvents, nil, after, false, func(k, v []byte) (bool, error) {
			if after != nil && bytes.Equal(k, after) {
				return true, nil
			}
			var e StatusEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			evs, last = append(evs, e), bytes.Clone(k)
			return len(evs) < limit, nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("issuer: status events: %w", err)
	}
	return evs, last, nil
}

// addEvent appends a status event under a key that sorts by time.
func (s *Service) addEvent(tx Tx, key []byte, e StatusEvent) error {
	return putJSON(tx, BucketEvents, key, e)
}
