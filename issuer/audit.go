package issuer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
)

// metaAuditHead is the meta key of the last audit entry's sequence number
// and hash, so that an append need not find the previous entry.
var metaAuditHead = []byte("audit_head")

// appendAudit chains e onto the audit log, and indexes it under the
// authority named in its detail, so that an authority's auditors page
// through their own entries.
func appendAudit(tx Tx, e audit.Entry) error {
	h, err := tx.Get(BucketMeta, metaAuditHead)
	if err != nil {
		return err
	}
	var prev *audit.Entry
	if len(h) > 8 {
		prev = &audit.Entry{Seq: binary.BigEndian.Uint64(h), Hash: string(h[8:])}
	}
	next, err := audit.Chain(prev, e)
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	data, err := audit.Marshal(next)
	if err != nil {
		return err
	}
	if err := tx.Put(BucketAudit, u64(next.Seq), data); err != nil {
		return err
	}
	if a := next.Detail["authority"]; a != "" {
		if err := tx.Put(BucketAuditIndex, auditIndexKey(a, next.Seq), nil); err != nil {
			return err
		}
	}
	return tx.Put(BucketMeta, metaAuditHead, append(u64(next.Seq), next.Hash...))
}

func auditIndexKey(authority string, seq uint64) []byte {
	return append(append([]byte(authority), 0), u64(seq)...)
}

// entry builds an audit entry of an official's action on an authority's
// record.
func entry(by Official, action, subject, authority string, now time.Time, detail map[string]string) audit.Entry {
	if detail == nil {
		detail = map[string]string{}
	}
	if authority != "" {
		detail["authority"] = authority
	}
	role := string(by.Role)
	if role == "" {
		role = "system"
	}
	return audit.Entry{Time: now.UTC(), Actor: by.actorName(), Role: role, Action: action, Subject: subject, Detail: detail}
}

// system is the actor of what the service does by itself.
var system = Official{Name: "permitd"}

// resident is the actor of residents' and wallets' requests.
var resident = Official{Name: "resident", Role: "resident"}

// Audit returns up to limit audit entries after sequence number afterSeq,
// in order: every entry for a provincial auditor, only those of the token's
// authority for one limited to an authority.
func (s *Service) Audit(ctx context.Context, by Official, afterSeq uint64, limit int) ([]audit.Entry, error) {
	if !by.Role.Allows(RoleAuditor) {
		return nil, refuse(KindForbidden, "forbidden", "需要审计员令牌", "an auditor's token is required")
	}
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	var out []audit.Entry
	err := s.view(ctx, func(tx Tx) error {
		out = out[:0]
		add := func(v []byte) error {
			e, err := audit.Unmarshal(v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}
		if by.Authority == "" {
			return tx.Scan(BucketAudit, nil, u64(afterSeq+1), false, func(_, v []byte) (bool, error) {
				err := add(v)
				return len(out) < limit, err
			})
		}
		prefix := append([]byte(by.Authority), 0)
		return tx.Scan(BucketAuditIndex, prefix, auditIndexKey(by.Authority, afterSeq+1), false, func(k, _ []byte) (bool, error) {
			v, err := tx.Get(BucketAudit, k[len(prefix):])
			if err != nil || v == nil {
				return false, errors.Join(err, errors.New("audit index names a missing entry"))
			}
			err = add(v)
			return len(out) < limit, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: audit: %w", err)
	}
	return out, nil
}

// Checkpoint is a signed statement of the audit log's length and head hash,
// signed by the audit key kept apart from the store.
type Checkpoint struct {
	Seq  uint64    `json:"seq"`
	Head string    `json:"head"`
	Time time.Time `json:"time"`
	// Token is the signed form (a JWS of type "audit-checkpoint+jwt").
	Token string `json:"token"`
}

// CheckpointType is the JWS typ of audit checkpoints.
const CheckpointType = "audit-checkpoint+jwt"

type checkpointClaims struct {
	Seq  uint64 `json:"seq"`
	Head string `json:"head"`
	Iat  int64  `json:"iat"`
}

// Checkpoint signs the audit log's current head and stores the checkpoint,
// unless the head is already checkpointed. It returns the latest checkpoint.
func (s *Service) Checkpoint(ctx context.Context) (Checkpoint, error) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	now := s.cfg.Now()
	var seq uint64
	var head string
	var latest Checkpoint
	err := s.view(ctx, func(tx Tx) error {
		h, err := tx.Get(BucketMeta, metaAuditHead)
		if err != nil || len(h) <= 8 {
			return err
		}
		seq, head = binary.BigEndian.Uint64(h), string(h[8:])
		latest, err = lastCheckpoint(tx)
		return err
	})
	if err != nil || seq == 0 || latest.Seq == seq {
		s.lastCheckSeq, s.lastCheck = max(latest.Seq, s.lastCheckSeq), now
		return latest, err
	}
	claims, err := jws.Marshal(checkpointClaims{Seq: seq, Head: head, Iat: now.Unix()})
	if err != nil {
		return Checkpoint{}, err
	}
	pub, _ := s.cfg.AuditKey.Public().(ed25519.PublicKey)
	j := keys.PublicJWK(pub)
	tok, err := jws.Sign(s.cfg.AuditKey, jws.Header{Typ: CheckpointType, Kid: j.Kid, JWK: &jws.HeaderJWK{Kty: j.Kty, Crv: j.Crv, X: j.X}}, claims)
	if err != nil {
		return Checkpoint{}, err
	}
	cp := Checkpoint{Seq: seq, Head: head, Time: time.Unix(now.Unix(), 0).UTC(), Token: tok}
	err = s.st.Update(ctx, func(tx Tx) error { return putJSON(tx, BucketCheckpoints, u64(seq), cp) })
	if err != nil {
		return Checkpoint{}, fmt.Errorf("issuer: checkpoint: %w", err)
	}
	s.lastCheckSeq, s.lastCheck = seq, now
	return cp, nil
}

func lastCheckpoint(tx Tx) (Checkpoint, error) {
	var cp Checkpoint
	err := tx.Scan(BucketCheckpoints, nil, nil, true, func(_, v []byte) (bool, error) {
		return false, json.Unmarshal(v, &cp)
	})
	return cp, err
}

// maybeCheckpoint makes a checkpoint when enough entries or time have
// passed since the last one. Failures are logged: the next one retries.
func (s *Service) maybeCheckpoint(ctx context.Context) {
	s.auditMu.Lock()
	lastSeq, last := s.lastCheckSeq, s.lastCheck
	s.auditMu.Unlock()
	now := s.cfg.Now()
	var seq uint64
	_ = s.view(ctx, func(tx Tx) error {
		if h, _ := tx.Get(BucketMeta, metaAuditHead); len(h) > 8 {
			seq = binary.BigEndian.Uint64(h)
		}
		return nil
	})
	if seq <= lastSeq || (seq-lastSeq < uint64(s.cfg.CheckpointEvery) && now.Sub(last) < time.Minute) {
		return
	}
	if _, err := s.Checkpoint(ctx); err != nil {
		s.log.Error("audit checkpoint", "err", err)
	}
}

// AuditReport is what [VerifyAudit] found.
type AuditReport struct {
	// Entries is the number of entries; Head the hash of the last.
	Entries uint64 `json:"entries"`
	Head    string `json:"head"`
	// Checkpoints is the number of checkpoints verified; Latest the newest.
	Checkpoints int        `json:"checkpoints"`
	Latest      Checkpoint `json:"latest"`
	// Unsealed is the number of entries after the latest checkpoint.
	Unsealed uint64 `json:"unsealed"`
}

// Reasons a verification of the audit log fails, in a *[AuditError].
const (
	AuditBroken     = "chain_broken"      // an entry was changed, removed, inserted or reordered
	AuditRewritten  = "rewritten"         // a signed checkpoint does not match the entries
	AuditTruncated  = "truncated"         // the log ends before a signed checkpoint
	AuditRolledBack = "rolled_back"       // the log is older than a checkpoint seen before
	AuditBadSig     = "bad_checkpoint"    // a checkpoint is not signed by the pinned key
	AuditNoSeal     = "no_checkpoint"     // entries exist but none is checkpointed
	AuditKeyMissing = "audit_key_missing" // no audit key to check against
)

// AuditError says why the audit log does not verify.
type AuditError struct {
	Reason string
	Seq    uint64
	Detail string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit log %s at entry %d: %s", e.Reason, e.Seq, e.Detail)
}

// VerifyAudit checks the whole audit log: the hash chain of its entries,
// and every checkpoint against the entries and the audit key whose RFC 7638
// thumbprint is pin (the key the operator pinned, as permitd printed it at
// its first start: a checkpoint carries its public key, which must match the
// pin; nothing else is read from the store). since, when not nil, is the
// latest checkpoint the verifier saw before: a log whose entries or
// checkpoints went back behind it was rolled back. The error is an
// *[AuditError].
func VerifyAudit(ctx context.Context, st Storage, pin string, since *Checkpoint) (AuditReport, error) {
	var r AuditReport
	if pin == "" {
		return r, &AuditError{Reason: AuditKeyMissing, Detail: "no audit key thumbprint given"}
	}
	hashes := map[uint64]string{} // seq -> hash of checkpointed entries
	err := st.View(ctx, func(tx Tx) error {
		var cps []Checkpoint
		err := tx.Scan(BucketCheckpoints, nil, nil, false, func(k, v []byte) (bool, error) {
			var cp Checkpoint
			if err := json.Unmarshal(v, &cp); err != nil {
				return false, &AuditError{Reason: AuditBadSig, Seq: binary.BigEndian.Uint64(k), Detail: "unreadable checkpoint"}
			}
			if err := checkCheckpoint(cp, pin); err != nil {
				return false, err
			}
			cps = append(cps, cp)
			hashes[cp.Seq] = ""
			return true, nil
		})
		if err != nil {
			return err
		}
		if since != nil {
			hashes[since.Seq] = ""
		}
		var v audit.Verifier
		err = tx.Scan(BucketAudit, nil, nil, false, func(k, data []byte) (bool, error) {
			e, err := audit.Unmarshal(data)
			if err != nil {
				return false, &AuditError{Reason: AuditBroken, Seq: v.Count() + 1, Detail: "unreadable entry"}
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) != e.Seq {
				return false, &AuditError{Reason: AuditBroken, Seq: v.Count() + 1, Detail: "entry stored under another key"}
			}
			if err := v.Next(e); err != nil {
				return false, &AuditError{Reason: AuditBroken, Seq: v.Count() + 1, Detail: err.Error()}
			}
			if _, ok := hashes[e.Seq]; ok {
				hashes[e.Seq] = e.Hash
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		r.Entries, r.Head = v.Count(), v.Head()
		if h, _ := tx.Get(BucketMeta, metaAuditHead); len(h) > 8 && (binary.BigEndian.Uint64(h) != r.Entries || string(h[8:]) != r.Head) {
			return &AuditError{Reason: AuditTruncated, Seq: r.Entries, Detail: "the log ends before its recorded head"}
		}
		for _, cp := range cps {
			if cp.Seq > r.Entries {
				return &AuditError{Reason: AuditTruncated, Seq: cp.Seq, Detail: fmt.Sprintf("a signed checkpoint covers %d entries; the log has %d", cp.Seq, r.Entries)}
			}
			if hashes[cp.Seq] != cp.Head {
				return &AuditError{Reason: AuditRewritten, Seq: cp.Seq, Detail: "the entry differs from the one the checkpoint signed"}
			}
		}
		if len(cps) > 0 {
			r.Latest = cps[len(cps)-1]
		}
		r.Checkpoints = len(cps)
		r.Unsealed = r.Entries - r.Latest.Seq
		if since != nil {
			if err := checkCheckpoint(*since, pin); err != nil {
				return err
			}
			if since.Seq > r.Entries || r.Latest.Seq < since.Seq {
				return &AuditError{Reason: AuditRolledBack, Seq: since.Seq, Detail: fmt.Sprintf("a checkpoint of %d entries was seen before; the log now has %d entries and its latest checkpoint covers %d", since.Seq, r.Entries, r.Latest.Seq)}
			}
			if hashes[since.Seq] != since.Head {
				return &AuditError{Reason: AuditRewritten, Seq: since.Seq, Detail: "the entry differs from the one a checkpoint seen before signed"}
			}
		}
		return nil
	})
	if err != nil {
		var ae *AuditError
		if errors.As(err, &ae) {
			return r, ae
		}
		return r, fmt.Errorf("issuer: verify audit: %w", err)
	}
	return r, nil
}

// checkCheckpoint verifies a checkpoint's signature by the key it carries,
// whose thumbprint must be pin, and that its claims are what it says.
func checkCheckpoint(cp Checkpoint, pin string) error {
	tok, err := jws.Verify(cp.Token, CheckpointType, func(h jws.Header) (ed25519.PublicKey, error) {
		if h.JWK == nil {
			return nil, errors.New("no key in the header")
		}
		pub, err := keys.JWK{Kty: h.JWK.Kty, Crv: h.JWK.Crv, X: h.JWK.X}.PublicKey()
		if err != nil || keys.Thumbprint(pub) != pin {
			return nil, errors.New("not the pinned key")
		}
		return pub, nil
	})
	if err != nil {
		return &AuditError{Reason: AuditBadSig, Seq: cp.Seq, Detail: "not signed by the pinned audit key"}
	}
	var c checkpointClaims
	if err := jws.DecodeStrict(tok.Payload, &c); err != nil || c.Seq != cp.Seq || c.Head != cp.Head {
		return &AuditError{Reason: AuditBadSig, Seq: cp.Seq, Detail: "the checkpoint's fields differ from what was signed"}
	}
	return nil
}

// ParseCheckpoint reads a checkpoint saved by an auditor (its JSON form).
func ParseCheckpoint(data []byte) (Checkpoint, error) {
	var cp Checkpoint
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil {
		return Checkpoint{}, fmt.Errorf("issuer: checkpoint: %w", err)
	}
	return cp, nil
}
