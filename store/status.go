package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/statuslist"
)

// chunkKey is the key of chunk c of list id in the status and used buckets.
func chunkKey(id string, c int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(id), '/'), uint32(c))
}

// loadOpenLists loads, for each authority, the allocator of its newest list.
func (db *DB) loadOpenLists() error {
	lists, err := db.Lists("")
	if err != nil {
		return err
	}
	newest := map[string]ListInfo{}
	for _, l := range lists {
		if l.Seq > newest[l.Authority].Seq {
			newest[l.Authority] = l
		}
	}
	for auth, l := range newest {
		ol, err := db.loadList(l)
		if err != nil {
			return err
		}
		db.alloc[auth] = ol
	}
	return nil
}

func (db *DB) loadList(l ListInfo) (*openList, error) {
	a, err := statuslist.NewAllocator(l.Size, db.rand)
	if err != nil {
		return nil, err
	}
	used := make([]byte, (l.Size+7)/8)
	err = db.b.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsed)
		for c := 0; c*chunkBytes < len(used); c++ {
			copy(used[c*chunkBytes:], b.Get(chunkKey(l.ID, c)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.LoadUsed(used); err != nil {
		return nil, fmt.Errorf("status list %s: %w", l.ID, err)
	}
	return &openList{info: l, alloc: a}, nil
}

// Lists returns the status lists of an authority ("" for all), oldest first.
func (db *DB) Lists(authority string) ([]ListInfo, error) {
	var out []ListInfo
	err := db.b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bLists).ForEach(func(_, v []byte) error {
			var l ListInfo
			if err := unmarshal(v, &l); err != nil {
				return err
			}
			if authority == "" || l.Authority == authority {
				out = append(out, l)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: status lists: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Authority != out[j].Authority {
			return out[i].Authority < out[j].Authority
		}
		return out[i].Seq < out[j].Seq
	})
	return out, nil
}

// OpenList makes sure an authority has a status list with free entries and
// returns the list that new permits take entries from.
func (db *DB) OpenList(authority string, now time.Time) (ListInfo, error) {
	db.allocMu.Lock()
	defer db.allocMu.Unlock()
	ol, err := db.openListLocked(authority, now)
	if err != nil {
		return ListInfo{}, err
	}
	return ol.info, nil
}

func (db *DB) openListLocked(authority string, now time.Time) (*openList, error) {
	if ol := db.alloc[authority]; ol != nil && ol.alloc.Used() < ol.alloc.Size() {
		return ol, nil
	}
	seq := 1
	if ol := db.alloc[authority]; ol != nil {
		seq = ol.info.Seq + 1
	}
	l := ListInfo{ID: authority + "-" + strconv.Itoa(seq), Authority: authority, Seq: seq, Bits: ListBits, Size: db.listSize, Created: now.UTC()}
	a, err := statuslist.NewAllocator(l.Size, db.rand)
	if err != nil {
		return nil, err
	}
	err = db.b.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bLists).Get([]byte(l.ID)) != nil {
			return fmt.Errorf("status list %s exists", l.ID)
		}
		if err := putJSON(tx.Bucket(bLists), []byte(l.ID), l); err != nil {
			return err
		}
		return appendAudit(tx, entry(Actor{Name: "system"}, "status_list.open", "status_list:"+l.ID, now, map[string]string{"size": strconv.Itoa(l.Size)}))
	})
	if err != nil {
		return nil, fmt.Errorf("store: open status list: %w", err)
	}
	ol := &openList{info: l, alloc: a}
	db.alloc[authority] = ol
	db.bump(l.ID)
	return ol, nil
}

// allocate takes a free random entry of the authority's open list. The
// caller gives it back with release if its transaction fails.
func (db *DB) allocate(authority string, now time.Time) (*openList, int, error) {
	db.allocMu.Lock()
	defer db.allocMu.Unlock()
	ol, err := db.openListLocked(authority, now)
	if err != nil {
		return nil, 0, err
	}
	i, err := ol.alloc.Allocate()
	if err != nil {
		return nil, 0, fmt.Errorf("store: allocate status entry: %w", err)
	}
	return ol, i, nil
}

func (ol *openList) release(i int) { _ = ol.alloc.Release(i) }

// markUsed records entry i of list id as used, inside tx.
func markUsed(tx *bolt.Tx, id string, i int) error {
	b := tx.Bucket(bUsed)
	k := chunkKey(id, i/(8*chunkBytes))
	chunk := make([]byte, chunkBytes)
	copy(chunk, b.Get(k))
	off := i % (8 * chunkBytes)
	chunk[off/8] |= 1 << (off % 8)
	return b.Put(k, chunk)
}

// setStatus writes the status of entry i of list id, inside tx.
func setStatus(tx *bolt.Tx, id string, i int, s statuslist.Status) error {
	per := 8 * chunkBytes / ListBits
	b := tx.Bucket(bStatus)
	k := chunkKey(id, i/per)
	chunk := make([]byte, chunkBytes)
	copy(chunk, b.Get(k))
	l, err := statuslist.FromBytes(ListBits, chunk)
	if err != nil {
		return err
	}
	if err := l.Set(i%per, s); err != nil {
		return err
	}
	return b.Put(k, l.Bytes())
}

// StatusList returns the current statuses of list id and the count of
// changes made to it since the store was opened, which callers may use to
// cache what they derive from it.
func (db *DB) StatusList(id string) (*statuslist.List, ListInfo, uint64, error) {
	version := db.Version(id)
	var l ListInfo
	var raw []byte
	err := db.b.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bLists), []byte(id), &l); err != nil {
			return err
		}
		raw = make([]byte, l.Size*l.Bits/8)
		b := tx.Bucket(bStatus)
		for c := 0; c*chunkBytes < len(raw); c++ {
			copy(raw[c*chunkBytes:], b.Get(chunkKey(id, c)))
		}
		return nil
	})
	if err != nil {
		return nil, ListInfo{}, 0, fmt.Errorf("store: status list %q: %w", clip(id), err)
	}
	list, err := statuslist.FromBytes(l.Bits, raw)
	if err != nil {
		return nil, ListInfo{}, 0, fmt.Errorf("store: status list %q: %w", id, err)
	}
	return list, l, version, nil
}

// Version returns the number of changes made to list id since the store was
// opened. It grows after every committed change of the list. An unknown id
// has version 0 and takes no memory.
func (db *DB) Version(id string) uint64 {
	db.verMu.Lock()
	c := db.versions[id]
	db.verMu.Unlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

func (db *DB) counter(id string) *atomic.Uint64 {
	db.verMu.Lock()
	defer db.verMu.Unlock()
	c := db.versions[id]
	if c == nil {
		c = new(atomic.Uint64)
		db.versions[id] = c
	}
	return c
}

func (db *DB) bump(id string) { db.counter(id).Add(1) }

// StatusEvents returns up to limit entries of the revocation event log after
// sequence number after, with their sequence numbers.
func (db *DB) StatusEvents(after uint64, limit int) ([]StatusEvent, []uint64, error) {
	var evs []StatusEvent
	var seqs []uint64
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		if after == math.MaxUint64 {
			return nil
		}
		for k, v := c.Seek(u64(after + 1)); k != nil && len(evs) < limit; k, v = c.Next() {
			var e StatusEvent
			if err := unmarshal(v, &e); err != nil {
				return err
			}
			evs = append(evs, e)
			seqs = append(seqs, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: revocation events: %w", err)
	}
	return evs, seqs, nil
}

var errCorrupt = errors.New("corrupt record")

func unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return nil
}
