package issuer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/statuslist"
)

// Redemption is what a wallet gets for a pre-authorized code: an access
// token for one credential, and a c_nonce for its proof.
type Redemption struct {
	AccessToken  string
	Expires      time.Time
	Nonce        string
	NonceExpires time.Time
	Authority    string
}

// RedeemOffer exchanges a pre-authorized code for an access token. A code
// works once, until it expires; otherwise the error matches
// ErrInvalidGrant. A code that is not one of ours is refused without a
// write.
func (s *Service) RedeemOffer(ctx context.Context, code string, now time.Time) (Redemption, error) {
	okey, hash, ok := grantKey(grantOffer, code, CodePrefix)
	if !ok {
		return Redemption{}, errInvalidGrant
	}
	check := func(tx Tx) (Offer, error) {
		var o Offer
		found, err := getJSON(tx, BucketGrants, okey, &o)
		if err != nil {
			return o, err
		}
		if !found || !hashEqual(o.CodeHash, hash) || o.Used || !now.Before(o.Expires) {
			return o, errInvalidGrant
		}
		return o, nil
	}
	// Look first, write only for a live code: guessed codes cost no writes.
	if err := s.view(ctx, func(tx Tx) error { _, err := check(tx); return err }); err != nil {
		return Redemption{}, err
	}
	access, akey, ahash, err := s.newGrant(grantAccess, AccessPrefix)
	if err != nil {
		return Redemption{}, err
	}
	r := Redemption{AccessToken: access, Expires: now.Add(s.cfg.AccessTTL).UTC().Truncate(time.Second)}
	err = s.update(ctx, func(tx Tx) error {
		o, err := check(tx)
		if err != nil {
			return err
		}
		o.Used = true
		if err := putJSON(tx, BucketGrants, okey, o); err != nil {
			return err
		}
		r.Authority = o.Authority
		return putJSON(tx, BucketGrants, akey, Access{TokenHash: ahash, PermitNo: o.PermitNo, Authority: o.Authority, Kind: o.Kind, Expires: r.Expires})
	})
	if err != nil {
		return Redemption{}, err
	}
	if r.Nonce, r.NonceExpires, err = s.NewNonce(now); err != nil {
		return Redemption{}, err
	}
	return r, nil
}

// AccessInfo returns the unused, unexpired access token's grant, or an
// error matching ErrInvalidGrant. It writes nothing.
func (s *Service) AccessInfo(ctx context.Context, access string, now time.Time) (Access, error) {
	akey, hash, ok := grantKey(grantAccess, access, AccessPrefix)
	if !ok {
		return Access{}, errInvalidGrant
	}
	var a Access
	err := s.view(ctx, func(tx Tx) error {
		found, err := getJSON(tx, BucketGrants, akey, &a)
		if err != nil {
			return err
		}
		if !found || !hashEqual(a.TokenHash, hash) || a.Used || !now.Before(a.Expires) {
			return errInvalidGrant
		}
		return nil
	})
	return a, err
}

// Proof is what the caller verified of a wallet's key proof: the key it
// proved, and the c_nonce it signed.
type Proof struct {
	Holder keys.JWK
	Nonce  string
}

// Issued is a credential just issued.
type Issued struct {
	Credential string
	PermitNo   string
	Authority  string
	// Superseded is the number of the credential it replaced, 0 for none.
	Superseded int
}

// IssueCredential spends an access token on a credential bound to the key
// the wallet proved. It takes a status list entry of its own, and the
// permit's current credential, if any, is superseded: its entry says so, and
// verifiers refuse it as replaced by a newer one. A permit that is not
// active gets a refusal; a nonce or token used or expired, ErrInvalidGrant.
func (s *Service) IssueCredential(ctx context.Context, access string, proof Proof, now time.Time) (Issued, error) {
	akey, hash, ok := grantKey(grantAccess, access, AccessPrefix)
	if !ok {
		return Issued{}, errInvalidGrant
	}
	nkey, ok := s.checkNonce(proof.Nonce, now)
	if !ok {
		return Issued{}, refuse(KindInvalidGrant, "invalid_nonce", "c_nonce 无效或已过期，请重新获取", "the c_nonce is unknown or expired; get a fresh one")
	}
	var a Access
	var p Permit
	err := s.view(ctx, func(tx Tx) error {
		found, err := getJSON(tx, BucketGrants, akey, &a)
		if err != nil {
			return err
		}
		if !found || !hashEqual(a.TokenHash, hash) || a.Used || !now.Before(a.Expires) {
			return errInvalidGrant
		}
		found, err = getJSON(tx, BucketPermits, []byte(a.PermitNo), &p)
		if err != nil {
			return err
		}
		if !found {
			return notFound("permit", "居住证")
		}
		return nil
	})
	if err != nil {
		return Issued{}, err
	}
	spend := func(tx Tx) error {
		var cur Access
		found, err := getJSON(tx, BucketGrants, akey, &cur)
		if err != nil {
			return err
		}
		if !found || !hashEqual(cur.TokenHash, hash) || cur.Used || !now.Before(cur.Expires) {
			return errInvalidGrant
		}
		cur.Used = true
		return putJSON(tx, BucketGrants, akey, cur)
	}
	return s.issue(ctx, &p, proof.Holder, string(a.Kind), nkey, spend, now)
}

// Refresh issues the permit's endorsed credential to the wallet that holds
// the current one, without a counter visit: the proof, addressed to the
// permit's own authority (slug), must be by the key the current credential
// is bound to, and the permit must have been endorsed since that
// credential was issued. The old credential is superseded.
func (s *Service) Refresh(ctx context.Context, slug, no string, proof Proof, now time.Time) (Issued, error) {
	nkey, ok := s.checkNonce(proof.Nonce, now)
	if !ok {
		return Issued{}, refuse(KindInvalidGrant, "invalid_nonce", "c_nonce 无效或已过期，请重新获取", "the c_nonce is unknown or expired; get a fresh one")
	}
	_, kid, err := holderJWK(proof.Holder)
	if err != nil {
		return Issued{}, invalid("invalid_proof", "钱包密钥无效", "the proof's key is not a valid holder key")
	}
	var p Permit
	var found bool
	if err := s.view(ctx, func(tx Tx) (err error) { found, err = getJSON(tx, BucketPermits, []byte(no), &p); return }); err != nil {
		return Issued{}, err
	}
	// The same answer for an unknown permit and another holder's: the
	// caller proves nothing but a key.
	c := p.Current()
	if !found || c == nil || c.HolderKid != kid || p.Authority != slug {
		return Issued{}, refuse(KindForbidden, "holder_mismatch", "该居住证当前的电子证照不属于此钱包密钥", "the permit's current credential is not bound to this key")
	}
	if !c.ValidUntil.Before(p.ValidUntil) {
		return Issued{}, conflict("up_to_date", "电子证照已是最新，无需更新；如需签注请到窗口办理", "the credential is up to date; nothing to refresh (endorsement is done at the counter)")
	}
	return s.issue(ctx, &p, proof.Holder, "refresh", nkey, func(tx Tx) error {
		cur := p.Current()
		if cur == nil || cur.HolderKid != kid {
			return refuse(KindForbidden, "holder_mismatch", "该居住证当前的电子证照不属于此钱包密钥", "the permit's current credential is not bound to this key")
		}
		return nil
	}, now)
}

// issue signs a credential of permit p for holder and commits it: the
// nonce consumed, the index taken, the grant spent, the previous credential
// superseded. It signs first, then commits, so that an acknowledged
// credential was made and a credential that failed to commit is never
// handed out; a change of the permit meanwhile makes it start over.
func (s *Service) issue(ctx context.Context, p *Permit, holder keys.JWK, via string, nonceKey []byte, spend func(Tx) error, now time.Time) (Issued, error) {
	a := s.bySlug[p.Authority]
	if a == nil {
		return Issued{}, conflict("no_authority", "该居住证的发证机关已不在本服务", "the permit's authority is no longer hosted here")
	}
	jwk, kid, err := holderJWK(holder)
	if err != nil {
		return Issued{}, invalid("invalid_proof", "钱包密钥无效", "the proof's key is not a valid holder key")
	}
	pub, err := jwk.HolderKey()
	if err != nil {
		return Issued{}, invalid("invalid_proof", "钱包密钥无效", "the proof's key is not a valid holder key")
	}
	for range 8 {
		if p.State != PermitActive {
			return Issued{}, conflict("permit_"+string(p.State), "该居住证状态为 %s", "the permit is %s", p.State)
		}
		pp, err := s.particulars(p)
		if err != nil {
			return Issued{}, err
		}
		if pp == nil {
			return Issued{}, conflict("permit_shredded", "该居住证的个人信息已删除", "the permit's personal data was deleted")
		}
		ol, idx, err := s.allocate(ctx, a.Slug)
		if err != nil {
			return Issued{}, err
		}
		kidA, signer, err := a.Keys.Active()
		if err != nil {
			ol.release(idx)
			return Issued{}, err
		}
		cred, err := Issue(signer, kidA, *pp, s.IssuerID(a), pub, statuslist.Reference{Idx: idx, URI: s.StatusURI(ol.info.ID)}, now, s.cfg.Rand)
		if err != nil {
			ol.release(idx)
			return Issued{}, err
		}
		want := p.ValidUntil
		var out Issued
		var changed Permit
		err = s.st.Update(ctx, func(tx Tx) error {
			changed = Permit{}
			free, err := indexFree(tx, ol.info.ID, idx)
			if err != nil {
				return err
			}
			if !free {
				return &errRetry{"status index taken"}
			}
			var cur Permit
			found, err := getJSON(tx, BucketPermits, []byte(p.Number), &cur)
			if err != nil {
				return err
			}
			if !found {
				return notFound("permit", "居住证")
			}
			if cur.State != PermitActive || cur.ValidUntil != want || cur.Shredded {
				changed = cur
				return &errRetry{"the permit changed"}
			}
			if err := consumeNonce(tx, nonceKey); err != nil {
				return refuse(KindInvalidGrant, "invalid_nonce", "c_nonce 已使用，请重新获取", "the c_nonce was used; get a fresh one")
			}
			*p = cur
			if err := spend(tx); err != nil {
				return err
			}
			if err := takeIndex(tx, ol.info.ID, idx); err != nil {
				return err
			}
			detail := map[string]string{"holder": kid, "status_list": ol.info.ID, "via": via}
			if old := cur.Current(); old != nil {
				if err := setStatus(tx, old.List, old.Idx, statuslist.Superseded); err != nil {
					return err
				}
				old.Superseded = now.UTC()
				out.Superseded = old.N
				if err := s.addEvent(tx, s.eventKey(), StatusEvent{Time: now.UTC(), PermitNo: cur.Number, List: old.List, Idx: old.Idx,
					From: "current", To: "superseded", Reason: "a newer credential was issued (" + via + ")", Actor: "wallet:" + kid, State: cur.State}); err != nil {
					return err
				}
				detail["superseded"] = fmt.Sprint(old.N)
			}
			c := Credential{N: len(cur.Credentials) + 1, List: ol.info.ID, Idx: idx, Holder: jwk, HolderKid: kid, Issued: now.UTC(),
				ValidUntil: cur.ValidUntil, Via: via}
			cur.Credentials = append(cur.Credentials, c)
			cur.Updated = now.UTC()
			cur.History = append(cur.History, Event{Time: now.UTC(), Action: "credential", Actor: "wallet:" + kid, Reason: via})
			if err := putJSON(tx, BucketPermits, []byte(cur.Number), cur); err != nil {
				return err
			}
			out = Issued{Credential: cred, PermitNo: cur.Number, Authority: cur.Authority, Superseded: out.Superseded}
			return appendAudit(tx, entry(resident, "credential.issue", "permit:"+cur.Number, cur.Authority, now, detail))
		})
		var retry *errRetry
		if errors.As(err, &retry) {
			ol.release(idx)
			if changed.Number != "" {
				*p = changed
			} else {
				_ = ol.alloc.MarkUsed(idx) // another replica took it
			}
			continue
		}
		if err != nil {
			ol.release(idx)
			return Issued{}, err
		}
		if out.Superseded > 0 {
			s.statusGen.Add(1)
		}
		s.maybeCheckpoint(ctx)
		return out, nil
	}
	return Issued{}, fmt.Errorf("issuer: issue credential: %w", ErrConflict)
}
