package store

import (
	"crypto"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// Approve turns the pending application id into the permit record of p (made
// by the caller from the application's form), takes a status list entry for
// it, and stores a credential offer under the hash of its pre-authorized
// code. It refuses a number already in use with ErrNumberTaken (draw another
// and retry) and an application that is not pending, or whose applicant
// meanwhile got an active permit in the city, with a *ConflictError.
func (db *DB) Approve(id string, p permit.Permit, code string, offerExpires time.Time, actor Actor, now time.Time) (Permit, error) {
	codeKey, codeHash, ok := grantKey(code, CodePrefix)
	if !ok {
		return Permit{}, fmt.Errorf("store: approve: the code was not made by NewGrant(CodePrefix)")
	}
	var a0 Application
	if err := db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bApplications), []byte(id), &a0) }); err != nil {
		return Permit{}, fmt.Errorf("store: approve %q: %w", clip(id), err)
	}
	if a0.State != AppPending {
		return Permit{}, fmt.Errorf("store: approve %q: %w", clip(id), conflict("not_pending", "the application is %s, not pending", a0.State))
	}
	ol, idx, err := db.allocate(a0.Authority, now)
	if err != nil {
		return Permit{}, err
	}
	rec := Permit{Permit: p, Authority: a0.Authority, State: PermitActive, List: ol.info.ID, Idx: idx, Application: id,
		History: []Event{{Time: now.UTC(), Action: "approve", Actor: actor.Name}}, Created: now.UTC(), Updated: now.UTC()}
	err = db.batch(func(tx *bolt.Tx) error {
		var a Application
		if err := getJSON(tx.Bucket(bApplications), []byte(id), &a); err != nil {
			return err
		}
		if a.State != AppPending || a.Form == nil {
			return conflict("not_pending", "the application is %s, not pending", a.State)
		}
		if a.Form.CitizenID != p.CitizenID || a.Form.ResidenceDivision != p.ResidenceDivision {
			return errors.New("permit does not match the application")
		}
		permits := tx.Bucket(bPermits)
		if permits.Get([]byte(p.Number)) != nil {
			return ErrNumberTaken
		}
		pk := db.personKey(p.CitizenID, a.City)
		if err := checkPersonFree(tx, pk, personApp+id); err != nil {
			return err
		}
		if err := tx.Bucket(bPersons).Put(pk, []byte(personPermit+p.Number)); err != nil {
			return err
		}
		if err := markUsed(tx, ol.info.ID, idx); err != nil {
			return err
		}
		if err := putJSON(permits, []byte(p.Number), rec); err != nil {
			return err
		}
		a.State, a.Form, a.PermitNo, a.Updated = AppApproved, nil, p.Number, now.UTC()
		if err := putJSON(tx.Bucket(bApplications), []byte(id), a); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bOffers), codeKey, Offer{CodeHash: codeHash, PermitNo: p.Number, Authority: a.Authority, Kind: OfferIssue, Expires: offerExpires.UTC()}); err != nil {
			return err
		}
		return appendAudit(tx, entry(actor, "permit.approve", "permit:"+p.Number, now, map[string]string{
			"application": id, "masked_id": a.MaskedID, "status_list": ol.info.ID, "status_idx": strconv.Itoa(idx)}))
	})
	if err != nil {
		ol.release(idx)
		return Permit{}, fmt.Errorf("store: approve %q: %w", clip(id), err)
	}
	return rec, nil
}

// Permit returns the permit record with the given number.
func (db *DB) Permit(no string) (Permit, error) {
	var p Permit
	err := db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bPermits), []byte(no), &p) })
	if err != nil {
		return Permit{}, fmt.Errorf("store: permit %q: %w", clip(no), err)
	}
	return p, nil
}

// Endorse stores the endorsed permit p (made by the caller with
// [permit.Permit.Endorse]) in place of the record's, and a credential offer
// that re-issues it to the same holder. It refuses a permit that is revoked
// or suspended, or whose record changed since the caller read it (prev).
func (db *DB) Endorse(p permit.Permit, prev permit.Permit, code string, offerExpires time.Time, actor Actor, now time.Time) (Permit, error) {
	codeKey, codeHash, ok := grantKey(code, CodePrefix)
	if !ok {
		return Permit{}, fmt.Errorf("store: endorse: the code was not made by NewGrant(CodePrefix)")
	}
	var out Permit
	err := db.batch(func(tx *bolt.Tx) error {
		var rec Permit
		if err := getJSON(tx.Bucket(bPermits), []byte(p.Number), &rec); err != nil {
			return err
		}
		if rec.State != PermitActive {
			return conflict("permit_"+string(rec.State), "the permit is %s; only an active permit can be endorsed", rec.State)
		}
		if p.CitizenID != rec.Permit.CitizenID || p.ResidenceDivision != rec.Permit.ResidenceDivision {
			return errors.New("the endorsed permit changes the holder or the city")
		}
		if rec.Permit.ValidUntil != prev.ValidUntil {
			return conflict("concurrent_endorsement", "the permit was endorsed meanwhile, now valid until %s", rec.Permit.ValidUntil)
		}
		rec.Permit = p
		rec.Updated = now.UTC()
		rec.History = append(rec.History, Event{Time: now.UTC(), Action: "endorse", Actor: actor.Name, Reason: "valid until " + p.ValidUntil.String()})
		if err := putJSON(tx.Bucket(bPermits), []byte(p.Number), rec); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bOffers), codeKey, Offer{CodeHash: codeHash, PermitNo: p.Number, Authority: rec.Authority, Kind: OfferEndorse, Expires: offerExpires.UTC()}); err != nil {
			return err
		}
		out = rec
		return appendAudit(tx, entry(actor, "permit.endorse", "permit:"+p.Number, now, map[string]string{"valid_until": p.ValidUntil.String()}))
	})
	if err != nil {
		return Permit{}, fmt.Errorf("store: endorse %q: %w", clip(p.Number), err)
	}
	return out, nil
}

// Action is a change of a permit's administrative state.
type Action string

// The status actions.
const (
	Revoke    Action = "revoke"
	Suspend   Action = "suspend"
	Reinstate Action = "reinstate"
)

// transition returns the state that action a leads to from s, or a conflict.
func transition(s PermitState, a Action) (PermitState, statuslist.Status, error) {
	switch {
	case a == Revoke && (s == PermitActive || s == PermitSuspended):
		return PermitRevoked, statuslist.Invalid, nil
	case a == Suspend && s == PermitActive:
		return PermitSuspended, statuslist.Suspended, nil
	case a == Reinstate && s == PermitSuspended:
		return PermitActive, statuslist.Valid, nil
	case a != Revoke && a != Suspend && a != Reinstate:
		return s, 0, fmt.Errorf("unknown action %q", a)
	}
	return s, 0, conflict("permit_"+string(s), "cannot %s a permit that is %s", a, s)
}

// SetStatus revokes, suspends or reinstates permit no for the given reason
// and writes its status list entry in the same transaction. Revocation is
// final and frees the person to apply again.
func (db *DB) SetStatus(no string, action Action, reason string, actor Actor, now time.Time) (Permit, error) {
	var out Permit
	err := db.batch(func(tx *bolt.Tx) error {
		var rec Permit
		if err := getJSON(tx.Bucket(bPermits), []byte(no), &rec); err != nil {
			return err
		}
		to, st, err := transition(rec.State, action)
		if err != nil {
			return err
		}
		if err := setStatus(tx, rec.List, rec.Idx, st); err != nil {
			return err
		}
		if to == PermitRevoked {
			pk := db.personKey(rec.Permit.CitizenID, string(rec.Permit.ResidenceDivision.City()))
			if string(tx.Bucket(bPersons).Get(pk)) == personPermit+no {
				if err := tx.Bucket(bPersons).Delete(pk); err != nil {
					return err
				}
			}
		}
		ev := StatusEvent{Time: now.UTC(), PermitNo: no, List: rec.List, Idx: rec.Idx, From: rec.State, To: to, Reason: reason, Actor: actor.Name}
		events := tx.Bucket(bEvents)
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		if err := putJSON(events, u64(seq), ev); err != nil {
			return err
		}
		rec.State, rec.Updated = to, now.UTC()
		rec.History = append(rec.History, Event{Time: now.UTC(), Action: string(action), Actor: actor.Name, Reason: reason})
		if err := putJSON(tx.Bucket(bPermits), []byte(no), rec); err != nil {
			return err
		}
		out = rec
		return appendAudit(tx, entry(actor, "permit."+string(action), "permit:"+no, now, map[string]string{
			"reason": reason, "status_list": rec.List, "status_idx": strconv.Itoa(rec.Idx), "state": string(to)}))
	})
	if err != nil {
		return Permit{}, fmt.Errorf("store: %s %q: %w", action, clip(no), err)
	}
	db.bump(out.List)
	return out, nil
}

// RedeemOffer exchanges a pre-authorized code for the access token access
// (both made by [DB.NewGrant]) with its nonce. A code works once, until it
// expires; otherwise the error wraps ErrInvalidGrant.
func (db *DB) RedeemOffer(code, access, cNonce string, accessExpires, now time.Time) (Access, error) {
	codeKey, codeHash, ok1 := grantKey(code, CodePrefix)
	accessKey, accessHash, ok2 := grantKey(access, AccessPrefix)
	if !ok1 || !ok2 {
		return Access{}, fmt.Errorf("store: redeem offer: %w", ErrInvalidGrant)
	}
	var out Access
	err := db.batch(func(tx *bolt.Tx) error {
		var o Offer
		if err := getJSON(tx.Bucket(bOffers), codeKey, &o); err != nil || !hashEqual(o.CodeHash, codeHash) {
			return ErrInvalidGrant
		}
		if o.Used || !now.Before(o.Expires) {
			return ErrInvalidGrant
		}
		o.Used = true
		if err := putJSON(tx.Bucket(bOffers), codeKey, o); err != nil {
			return err
		}
		out = Access{TokenHash: accessHash, PermitNo: o.PermitNo, Authority: o.Authority, CNonce: cNonce, Expires: accessExpires.UTC()}
		return putJSON(tx.Bucket(bAccess), accessKey, out)
	})
	if err != nil {
		return Access{}, fmt.Errorf("store: redeem offer: %w", err)
	}
	return out, nil
}

// getAccess reads the unused, unexpired access token record of access.
func getAccess(tx *bolt.Tx, access string, now time.Time) ([]byte, Access, error) {
	key, h, ok := grantKey(access, AccessPrefix)
	var a Access
	if !ok {
		return nil, a, ErrInvalidGrant
	}
	if err := getJSON(tx.Bucket(bAccess), key, &a); err != nil || !hashEqual(a.TokenHash, h) || a.Used || !now.Before(a.Expires) {
		return nil, a, ErrInvalidGrant
	}
	return key, a, nil
}

// Access returns the unused, unexpired access token access, or an error
// wrapping ErrInvalidGrant.
func (db *DB) Access(access string, now time.Time) (Access, error) {
	var a Access
	err := db.b.View(func(tx *bolt.Tx) error {
		var err error
		_, a, err = getAccess(tx, access, now)
		return err
	})
	if err != nil {
		return Access{}, fmt.Errorf("store: access token: %w", ErrInvalidGrant)
	}
	return a, nil
}

// IssueCredential consumes the access token access for a
// credential bound to holder (an ed25519.PublicKey or a P-256
// *ecdsa.PublicKey) and returns the permit record to put in it.
// The first credential of a permit sets its holder key; later ones (after
// an endorsement) must prove the same key, else ErrHolderMismatch. A permit
// that is not active gets a *ConflictError.
func (db *DB) IssueCredential(access string, holder crypto.PublicKey, now time.Time) (Permit, error) {
	jwk, err := keys.HolderJWK(holder)
	if err != nil {
		return Permit{}, fmt.Errorf("store: issue credential: %w", err)
	}
	kid := jwk.Kid
	var out Permit
	err = db.batch(func(tx *bolt.Tx) error {
		key, a, err := getAccess(tx, access, now)
		if err != nil {
			return err
		}
		var rec Permit
		if err := getJSON(tx.Bucket(bPermits), []byte(a.PermitNo), &rec); err != nil {
			return err
		}
		if rec.State != PermitActive {
			return conflict("permit_"+string(rec.State), "the permit is %s", rec.State)
		}
		if rec.Holder != nil && (rec.Holder.Kty != jwk.Kty || rec.Holder.X != jwk.X || rec.Holder.Y != jwk.Y) {
			return ErrHolderMismatch
		}
		a.Used = true
		if err := putJSON(tx.Bucket(bAccess), key, a); err != nil {
			return err
		}
		h := jwk
		rec.Holder = &h
		rec.Credentials++
		rec.Updated = now.UTC()
		rec.History = append(rec.History, Event{Time: now.UTC(), Action: "credential", Actor: "wallet:" + kid})
		if err := putJSON(tx.Bucket(bPermits), []byte(a.PermitNo), rec); err != nil {
			return err
		}
		out = rec
		return appendAudit(tx, entry(Actor{Name: "wallet"}, "credential.issue", "permit:"+a.PermitNo, now, map[string]string{"holder": kid}))
	})
	if err != nil {
		return Permit{}, fmt.Errorf("store: issue credential: %w", err)
	}
	return out, nil
}

// RestoreAccess makes a consumed access token usable again, for the
// service to call when it could not sign the credential the token was
// spent on (a signer that failed): the wallet then retries rather than
// asking for a new offer. The holder binding already recorded stays.
func (db *DB) RestoreAccess(access string) error {
	key, h, ok := grantKey(access, AccessPrefix)
	if !ok {
		return fmt.Errorf("store: restore access: %w", ErrInvalidGrant)
	}
	err := db.batch(func(tx *bolt.Tx) error {
		var a Access
		if err := getJSON(tx.Bucket(bAccess), key, &a); err != nil || !hashEqual(a.TokenHash, h) {
			return ErrInvalidGrant
		}
		a.Used = false
		return putJSON(tx.Bucket(bAccess), key, a)
	})
	if err != nil {
		return fmt.Errorf("store: restore access: %w", err)
	}
	return nil
}
