package vault

import "fmt"

// BatchKeyStore is a [KeyStore] that stores many wrapped keys in one
// durable write, for bulk loads ([Vault.NewKeys]).
type BatchKeyStore interface {
	KeyStore
	// AddBatch stores the wrapped keys and returns their Refs, in order.
	// They are all durable when it returns, or none is acknowledged.
	AddBatch(wrapped [][]byte) ([]Ref, error)
}

// NewKeys makes n fresh data keys, for bulk loads (load tests, migrations):
// like n calls of [Vault.NewKey], but stored in one durable write when the
// key store is a [BatchKeyStore]. The keys are durable when NewKeys returns.
func (v *Vault) NewKeys(n int) ([]*Key, error) {
	if n <= 0 {
		return nil, nil
	}
	bs, ok := v.keys.(BatchKeyStore)
	if !ok {
		out := make([]*Key, n)
		for i := range out {
			k, err := v.NewKey()
			if err != nil {
				return nil, err
			}
			out[i] = k
		}
		return out, nil
	}
	deks := make([][]byte, n)
	stored := make([][]byte, n)
	for i := range n {
		dek, w, err := v.newWrapped()
		if err != nil {
			return nil, err
		}
		deks[i], stored[i] = dek, w
	}
	refs, err := bs.AddBatch(stored)
	if err != nil {
		return nil, fmt.Errorf("vault: store data keys: %w", err)
	}
	if len(refs) != n {
		return nil, fmt.Errorf("vault: store data keys: %d refs for %d keys", len(refs), n)
	}
	out := make([]*Key, n)
	for i := range out {
		if out[i], err = newKey(refs[i], deks[i], v.rand); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AddBatch appends a slot for each wrapped key in one write and one sync.
func (s *SlotFile) AddBatch(wrapped [][]byte) ([]Ref, error) {
	buf := make([]byte, 0, len(wrapped)*slotSize)
	for _, w := range wrapped {
		slot, err := encodeSlot(w)
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		buf = append(buf, slot...)
	}
	if len(wrapped) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	first := Ref(s.n + 1)
	if _, err := s.f.WriteAt(buf, off(first)); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("vault: %w", err)
	}
	s.n += uint64(len(wrapped))
	s.dirty.Store(s.n)
	last := s.n
	s.mu.Unlock()
	if err := s.syncUpTo(last); err != nil {
		return nil, err
	}
	refs := make([]Ref, len(wrapped))
	for i := range refs {
		refs[i] = first + Ref(i)
	}
	return refs, nil
}
