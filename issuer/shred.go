package issuer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/vault"
)

// Crypto-shredding. Deleting a person's data destroys its data key, after
// the transaction that drops the ciphertext has committed: BucketShred holds
// 'x' + key id for every key still to destroy, written in that transaction,
// so a crash between the two leaves a task, not a live key. Revoked permits
// are kept for the retention period ('r' + due time + number), then shredded
// the same way.
const (
	shredKey       = 'x'
	shredRetention = 'r'
)

// scheduleShred records, inside tx, that a data key must be destroyed.
func scheduleShred(tx Tx, ref vault.Ref) error {
	if ref == 0 {
		return nil
	}
	return tx.Put(BucketShred, binary.BigEndian.AppendUint64([]byte{shredKey}, uint64(ref)), nil)
}

func retentionKey(due time.Time, no string) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{shredRetention}, uint64(due.Unix())), no...)
}

// shredPending destroys the data keys scheduled for destruction. Failures
// are logged and retried by the next sweep.
func (s *Service) shredPending(ctx context.Context) {
	if _, err := s.ShredPending(ctx); err != nil {
		s.log.Error("shred data keys", "err", err)
	}
}

// ShredPending destroys every data key scheduled for destruction and
// returns how many it destroyed.
func (s *Service) ShredPending(ctx context.Context) (int, error) {
	var refs []vault.Ref
	err := s.view(ctx, func(tx Tx) error {
		refs = refs[:0]
		return tx.Scan(BucketShred, []byte{shredKey}, nil, false, func(k, _ []byte) (bool, error) {
			if len(k) == 9 {
				refs = append(refs, vault.Ref(binary.BigEndian.Uint64(k[1:])))
			}
			return len(refs) < 10000, nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		if err := s.cfg.Vault.Shred(ref); err != nil && !errors.Is(err, vault.ErrNoKey) {
			return n, err
		}
		err := s.update(ctx, func(tx Tx) error {
			return tx.Delete(BucketShred, binary.BigEndian.AppendUint64([]byte{shredKey}, uint64(ref)))
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SweepRetention shreds the personal data of revoked permits whose
// retention period ended before now, at most limit of them, and returns
// how many it shredded. The permit record keeps its number, state, dates,
// masked ID and history; the particulars, the photo and the person index
// entry go.
func (s *Service) SweepRetention(ctx context.Context, now time.Time, limit int) (int, error) {
	var due [][]byte
	err := s.view(ctx, func(tx Tx) error {
		due = due[:0]
		return tx.Scan(BucketShred, []byte{shredRetention}, nil, false, func(k, _ []byte) (bool, error) {
			if len(k) < 9 || int64(binary.BigEndian.Uint64(k[1:9])) > now.Unix() || len(due) >= limit {
				return false, nil
			}
			due = append(due, append([]byte(nil), k...))
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	for _, k := range due {
		no := string(k[9:])
		err := s.update(ctx, func(tx Tx) error {
			if err := tx.Delete(BucketShred, k); err != nil {
				return err
			}
			var p Permit
			ok, err := getJSON(tx, BucketPermits, []byte(no), &p)
			if err != nil || !ok || p.Shredded {
				return err
			}
			if err := tx.Delete(BucketPhotos, []byte(p.Application)); err != nil {
				return err
			}
			if err := tx.Delete(BucketPersons, personKey(p.PersonKey, p.City, personPast, no)); err != nil {
				return err
			}
			if err := scheduleShred(tx, p.DataKey); err != nil {
				return err
			}
			p.Particulars, p.PersonKey, p.DataKey, p.PhotoType, p.Shredded = nil, nil, 0, "", true
			p.Updated = now.UTC()
			p.History = append(p.History, Event{Time: now.UTC(), Action: "shred", Actor: system.Name, Reason: "retention period ended"})
			if err := putJSON(tx, BucketPermits, []byte(no), p); err != nil {
				return err
			}
			return appendAudit(tx, entry(system, "permit.shred", "permit:"+no, p.Authority, now, map[string]string{"masked_id": p.MaskedID}))
		})
		if err != nil {
			return 0, fmt.Errorf("issuer: shred permit %s: %w", no, err)
		}
	}
	if len(due) > 0 {
		s.shredPending(ctx)
	}
	return len(due), nil
}
