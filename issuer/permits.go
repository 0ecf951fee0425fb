package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// OfferGrant is a credential offer just made: its pre-authorized code
// (shown once, as the offer link or QR code) and when it expires.
type OfferGrant struct {
	Code      string    `json:"-"`
	Kind      OfferKind `json:"kind"`
	Authority string    `json:"authority"`
	Expires   time.Time `json:"expires"`
}

// newOffer draws an offer's code and returns it with its record and key.
func (s *Service) newOffer(no, authority string, kind OfferKind, now time.Time) (OfferGrant, []byte, Offer, error) {
	code, key, hash, err := s.newGrant(grantOffer, CodePrefix)
	if err != nil {
		return OfferGrant{}, nil, Offer{}, err
	}
	exp := now.Add(s.cfg.OfferTTL).UTC().Truncate(time.Second)
	return OfferGrant{Code: code, Kind: kind, Authority: authority, Expires: exp}, key,
		Offer{CodeHash: hash, PermitNo: no, Authority: authority, Kind: kind, Expires: exp}, nil
}

func requireRole(by Official, role Role) error {
	if by.Role.Allows(role) {
		return nil
	}
	names := map[Role][2]string{RoleOfficer: {"窗口民警", "an officer's"}, RoleRevoker: {"注销审批", "a revoker's"},
		RoleAuditor: {"审计员", "an auditor's"}, RoleAdmin: {"管理员", "an administrator's"}}
	n := names[role]
	return refuse(KindForbidden, "forbidden", "需要"+n[0]+"令牌", n[1]+" token is required")
}

// Approve issues the permit of a pending application, takes it off the
// queue, and makes the credential offer for the resident's wallet. It
// refuses an application that is not pending or no longer eligible, and a
// person who meanwhile holds an active permit in the city.
func (s *Service) Approve(ctx context.Context, by Official, id string, now time.Time) (PermitView, OfferGrant, error) {
	if err := requireRole(by, RoleOfficer); err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	var app Application
	if err := s.view(ctx, func(tx Tx) (err error) { app, err = readApplication(tx, by, id); return }); err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	if app.State != AppPending {
		return PermitView{}, OfferGrant{}, conflict("not_pending", "该申请状态为 %s，不是待审", "the application is %s, not pending", app.State)
	}
	a := s.bySlug[app.Authority]
	if a == nil {
		return PermitView{}, OfferGrant{}, conflict("no_authority", "该申请的发证机关已不在本服务", "the application's authority is no longer hosted here")
	}
	form, err := s.openForm(&app)
	if err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	today := permit.DateOf(now, permit.ChinaTime())
	if d := permit.Decide(*form, today); !d.Eligible {
		return PermitView{}, OfferGrant{}, conflict("no_longer_eligible", "申请人已不符合条件：%s", "the applicant no longer meets: %s", joinCodes(d))
	}
	key, err := s.cfg.Vault.Key(app.DataKey)
	if err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	for range 5 {
		no, err := permit.NewNumber(form.ResidenceDivision, today.Year, s.cfg.Rand)
		if err != nil {
			return PermitView{}, OfferGrant{}, err
		}
		p, err := permit.NewPermit(*form, no, s.IssuerID(a), today)
		if err != nil {
			return PermitView{}, OfferGrant{}, conflict("not_issuable", "无法签发：%s", "cannot issue: %s", clip(err.Error()))
		}
		plain, err := json.Marshal(p)
		if err != nil {
			return PermitView{}, OfferGrant{}, err
		}
		sealed, err := key.Seal("permit:"+no, plain)
		if err != nil {
			return PermitView{}, OfferGrant{}, err
		}
		grant, okey, offer, err := s.newOffer(no, app.Authority, OfferIssue, now)
		if err != nil {
			return PermitView{}, OfferGrant{}, err
		}
		rec := Permit{Number: no, Authority: app.Authority, State: PermitActive, Application: id, MaskedID: app.MaskedID,
			PersonKey: app.PersonKey, City: app.City, Division: app.Division, IssueDate: p.IssueDate, ValidUntil: p.ValidUntil,
			ResidenceSince: p.ResidenceSince, DataKey: app.DataKey, Particulars: sealed, PhotoType: app.PhotoType,
			History: []Event{{Time: now.UTC(), Action: "approve", Actor: by.actorName()}}, Created: now.UTC(), Updated: now.UTC()}
		taken := false
		err = s.update(ctx, func(tx Tx) error {
			taken = false
			cur, err := readApplication(tx, by, id)
			if err != nil {
				return err
			}
			if cur.State != AppPending || cur.DataKey != app.DataKey {
				return conflict("not_pending", "该申请状态为 %s，不是待审", "the application is %s, not pending", cur.State)
			}
			if old, err := tx.Get(BucketPermits, []byte(no)); err != nil || old != nil {
				taken = old != nil
				return errors.Join(err, &errRetry{"permit number taken"})
			}
			holder, err := tx.Get(BucketPersons, personKey(app.PersonKey, app.City, personPermit, ""))
			if err != nil {
				return err
			}
			if holder != nil {
				return conflict("duplicate_permit", "此人已持有本市有效居住证，请先核实", "this person already holds an active residence permit in this city; check before approving")
			}
			if err := putJSON(tx, BucketPermits, []byte(no), rec); err != nil {
				return err
			}
			if err := tx.Delete(BucketQueue, queueKey(cur.Authority, cur.Submitted, id)); err != nil {
				return err
			}
			if err := tx.Delete(BucketPersons, personKey(app.PersonKey, app.City, personPending, id)); err != nil {
				return err
			}
			if err := tx.Put(BucketPersons, personKey(app.PersonKey, app.City, personPermit, ""), []byte(app.Authority+" "+no)); err != nil {
				return err
			}
			cur.State, cur.Form, cur.PermitNo, cur.Updated, cur.DecidedBy = AppApproved, nil, no, now.UTC(), by.actorName()
			if err := putJSON(tx, BucketApplications, []byte(id), cur); err != nil {
				return err
			}
			if err := putJSON(tx, BucketGrants, okey, offer); err != nil {
				return err
			}
			return appendAudit(tx, entry(by, "permit.approve", "permit:"+no, app.Authority, now, map[string]string{
				"application": id, "masked_id": app.MaskedID}))
		})
		if taken {
			continue
		}
		if err != nil {
			return PermitView{}, OfferGrant{}, err
		}
		s.maybeCheckpoint(ctx)
		return s.permitView(&rec, &p, now), grant, nil
	}
	return PermitView{}, OfferGrant{}, errors.New("issuer: approve: no free permit number after 5 draws")
}

func joinCodes(d permit.Decision) string {
	out := ""
	for i, c := range d.Codes() {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// CredentialView is one credential of a permit as officials see it.
type CredentialView struct {
	N          int         `json:"n"`
	StatusList string      `json:"status_list"`
	StatusIdx  int         `json:"status_idx"`
	HolderKid  string      `json:"holder_kid"`
	Issued     time.Time   `json:"issued"`
	ValidUntil permit.Date `json:"valid_until"`
	Via        string      `json:"via"`
	// Status is "current", "superseded", "suspended" or "revoked".
	Status     string    `json:"status"`
	Superseded time.Time `json:"superseded,omitzero"`
}

// PermitView is a permit record as officials see it.
type PermitView struct {
	Number    string      `json:"number"`
	Authority string      `json:"authority"`
	Issuer    string      `json:"issuer"`
	State     PermitState `json:"state"`
	// Endorsement is the endorsement state today (valid, endorsement_due, overdue).
	Endorsement    permit.State    `json:"endorsement_state"`
	MaskedID       string          `json:"masked_id"`
	Division       permit.Division `json:"residence_division"`
	IssueDate      permit.Date     `json:"issue_date"`
	ValidUntil     permit.Date     `json:"valid_until"`
	WindowOpens    permit.Date     `json:"endorsement_window_opens"`
	ResidenceSince permit.Date     `json:"residence_since"`
	Application    string          `json:"application"`
	// Particulars are the permit's personal data; nil once shredded.
	Particulars *permit.Permit   `json:"particulars,omitempty"`
	HasPhoto    bool             `json:"has_photo"`
	Credentials []CredentialView `json:"credentials"`
	History     []Event          `json:"history"`
	Shredded    bool             `json:"shredded,omitempty"`
	ShredDue    time.Time        `json:"shred_due,omitzero"`
}

// permitView builds the officials' view of a record and its decrypted
// particulars (nil when not read).
func (s *Service) permitView(p *Permit, particulars *permit.Permit, now time.Time) PermitView {
	d := p.dates()
	v := PermitView{Number: p.Number, Authority: p.Authority, Issuer: s.IssuerOf(p.Authority), State: p.State,
		Endorsement: d.State(permit.DateOf(now, permit.ChinaTime())), MaskedID: p.MaskedID, Division: p.Division,
		IssueDate: p.IssueDate, ValidUntil: p.ValidUntil, WindowOpens: d.WindowOpens(), ResidenceSince: p.ResidenceSince,
		Application: p.Application, Particulars: particulars, HasPhoto: p.PhotoType != "" && !p.Shredded,
		History: p.History, Shredded: p.Shredded, ShredDue: p.ShredDue, Credentials: []CredentialView{}}
	for _, c := range p.Credentials {
		cv := CredentialView{N: c.N, StatusList: s.StatusURI(c.List), StatusIdx: c.Idx, HolderKid: c.HolderKid, Issued: c.Issued,
			ValidUntil: c.ValidUntil, Via: c.Via, Superseded: c.Superseded, Status: "current"}
		switch {
		case !c.Superseded.IsZero():
			cv.Status = "superseded"
		case p.State == PermitSuspended:
			cv.Status = "suspended"
		case p.State == PermitRevoked:
			cv.Status = "revoked"
		}
		v.Credentials = append(v.Credentials, cv)
	}
	return v
}

// particulars decrypts a permit's personal data, with its dates from the
// record (which endorsements change).
func (s *Service) particulars(p *Permit) (*permit.Permit, error) {
	if p.Shredded || p.Particulars == nil {
		return nil, nil
	}
	key, err := s.cfg.Vault.Key(p.DataKey)
	if err != nil {
		return nil, err
	}
	plain, err := key.Open("permit:"+p.Number, p.Particulars)
	if err != nil {
		return nil, err
	}
	var pp permit.Permit
	if err := json.Unmarshal(plain, &pp); err != nil {
		return nil, err
	}
	pp.Number, pp.IssueDate, pp.ValidUntil, pp.ResidenceSince = p.Number, p.IssueDate, p.ValidUntil, p.ResidenceSince
	return &pp, nil
}

// readPermit reads a permit an official may see.
func readPermit(tx Tx, by Official, no string) (Permit, error) {
	data, err := tx.Get(BucketPermits, []byte(no))
	if err != nil {
		return Permit{}, err
	}
	return decodePermit(by, no, data)
}

// decodePermit decodes the stored record of permit no (nil: none), for an
// official who may see it.
func decodePermit(by Official, no string, data []byte) (Permit, error) {
	var p Permit
	if data == nil {
		return p, notFound("permit", "居住证")
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("issuer: corrupt record %s/%q: %w", BucketPermits, clip(no), err)
	}
	if !by.Covers(p.Authority) {
		return p, notFound("permit", "居住证")
	}
	return p, nil
}

// Permit returns a permit record with its particulars, for officers and
// auditors, and records the read.
func (s *Service) Permit(ctx context.Context, by Official, no string, now time.Time) (PermitView, error) {
	if !by.Role.Allows(RoleOfficer) && !by.Role.Allows(RoleAuditor) && !by.Role.Allows(RoleRevoker) {
		return PermitView{}, requireRole(by, RoleOfficer)
	}
	var p Permit
	if err := s.view(ctx, func(tx Tx) (err error) { p, err = readPermit(tx, by, no); return }); err != nil {
		return PermitView{}, err
	}
	pp, err := s.particulars(&p)
	if err != nil {
		return PermitView{}, err
	}
	if pp != nil {
		if err := s.auditRead(ctx, by, "permit.read", "permit:"+no, p.Authority, now, nil); err != nil {
			return PermitView{}, err
		}
	}
	return s.permitView(&p, pp, now), nil
}

// Photo returns the photo of a permit's holder, for an officer or a
// verifying official, and records the read. The credential carries the
// photo's digest; callers showing it check the digest against the
// credential.
func (s *Service) Photo(ctx context.Context, by Official, no string, now time.Time) ([]byte, string, error) {
	if err := requireRole(by, RoleOfficer); err != nil {
		return nil, "", err
	}
	var p Permit
	var sealed []byte
	err := s.view(ctx, func(tx Tx) (err error) {
		if p, err = readPermit(tx, by, no); err != nil {
			return err
		}
		sealed, err = tx.Get(BucketPhotos, []byte(p.Application))
		if sealed != nil {
			sealed = append([]byte(nil), sealed...)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if sealed == nil || p.Shredded {
		return nil, "", notFound("photo", "照片")
	}
	photo, err := s.openPhoto(p.DataKey, p.Application, sealed)
	if err != nil {
		return nil, "", err
	}
	if err := s.auditRead(ctx, by, "photo.read", "permit:"+no, p.Authority, now, nil); err != nil {
		return nil, "", err
	}
	return photo, p.PhotoType, nil
}

// Endorse records the yearly endorsement of an active permit and makes an
// offer of the endorsed credential (a wallet may also refresh its
// credential with a proof of its key, see [Service.Refresh]).
func (s *Service) Endorse(ctx context.Context, by Official, no string, now time.Time) (PermitView, OfferGrant, error) {
	if err := requireRole(by, RoleOfficer); err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	var rec Permit
	var grant OfferGrant
	err := s.update(ctx, func(tx Tx) error {
		p, err := readPermit(tx, by, no)
		if err != nil {
			return err
		}
		if err := s.endorseTx(tx, by, &p, now); err != nil {
			return err
		}
		g, okey, offer, err := s.newOffer(no, p.Authority, OfferEndorse, now)
		if err != nil {
			return err
		}
		if err := putJSON(tx, BucketGrants, okey, offer); err != nil {
			return err
		}
		rec, grant = p, g
		return nil
	})
	if err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	s.maybeCheckpoint(ctx)
	return s.permitView(&rec, nil, now), grant, nil
}

// endorseTx endorses p inside tx, or refuses before writing.
func (s *Service) endorseTx(tx Tx, by Official, p *Permit, now time.Time) error {
	e, err := endorsePermit(by, p, now)
	if err != nil {
		return err
	}
	if err := putJSON(tx, BucketPermits, []byte(p.Number), p); err != nil {
		return err
	}
	return appendAudit(tx, e)
}

// endorsePermit records the endorsement in p and returns its audit entry,
// or refuses and leaves p as it was.
func endorsePermit(by Official, p *Permit, now time.Time) (audit.Entry, error) {
	if p.State != PermitActive {
		return audit.Entry{}, conflict("permit_"+string(p.State), "该居住证状态为 %s，只有有效的居住证可以签注", "the permit is %s; only an active permit can be endorsed", p.State)
	}
	today := permit.DateOf(now, permit.ChinaTime())
	e, err := p.dates().Endorse(today)
	if errors.Is(err, permit.ErrEndorseTooEarly) {
		return audit.Entry{}, conflict("endorsement_too_early", "签注期自 %s 开始", "the endorsement window opens on %s", p.dates().WindowOpens())
	}
	if err != nil {
		return audit.Entry{}, err
	}
	p.ValidUntil, p.ResidenceSince, p.Updated = e.ValidUntil, e.ResidenceSince, now.UTC()
	p.History = append(p.History, Event{Time: now.UTC(), Action: "endorse", Actor: by.actorName(), Reason: "valid until " + e.ValidUntil.String()})
	return entry(by, "permit.endorse", "permit:"+p.Number, p.Authority, now, map[string]string{"valid_until": e.ValidUntil.String()}), nil
}

// Reissue makes a new single-use offer for an active permit: for a lost
// offer, a new phone or a re-installed wallet. The credential it yields is
// bound to the key the wallet then proves, and supersedes the permit's
// current credential; the number, dates and history stay.
func (s *Service) Reissue(ctx context.Context, by Official, no string, now time.Time) (PermitView, OfferGrant, error) {
	if err := requireRole(by, RoleOfficer); err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	var rec Permit
	var grant OfferGrant
	err := s.update(ctx, func(tx Tx) error {
		p, err := readPermit(tx, by, no)
		if err != nil {
			return err
		}
		if p.State != PermitActive {
			return conflict("permit_"+string(p.State), "该居住证状态为 %s，只有有效的居住证可以补发", "the permit is %s; only an active permit can be re-issued", p.State)
		}
		g, okey, offer, err := s.newOffer(no, p.Authority, OfferReissue, now)
		if err != nil {
			return err
		}
		p.Updated = now.UTC()
		p.History = append(p.History, Event{Time: now.UTC(), Action: "reissue_offer", Actor: by.actorName()})
		if err := putJSON(tx, BucketPermits, []byte(no), p); err != nil {
			return err
		}
		if err := putJSON(tx, BucketGrants, okey, offer); err != nil {
			return err
		}
		rec, grant = p, g
		return appendAudit(tx, entry(by, "permit.reissue_offer", "permit:"+no, p.Authority, now, nil))
	})
	if err != nil {
		return PermitView{}, OfferGrant{}, err
	}
	s.maybeCheckpoint(ctx)
	return s.permitView(&rec, nil, now), grant, nil
}

// Action is a change of a permit's administrative state.
type Action string

// The status actions.
const (
	Revoke    Action = "revoke"
	Suspend   Action = "suspend"
	Reinstate Action = "reinstate"
)

// transition returns the state that action a leads to from st, or a refusal.
func transition(st PermitState, a Action) (PermitState, statuslist.Status, error) {
	switch {
	case a == Revoke && (st == PermitActive || st == PermitSuspended):
		return PermitRevoked, statuslist.Invalid, nil
	case a == Suspend && st == PermitActive:
		return PermitSuspended, statuslist.Suspended, nil
	case a == Reinstate && st == PermitSuspended:
		return PermitActive, statuslist.Valid, nil
	case a != Revoke && a != Suspend && a != Reinstate:
		return st, 0, invalid("unknown_action", "未知操作 %q", "unknown action %q", string(a))
	}
	return st, 0, conflict("permit_"+string(st), "居住证状态为 %[2]s，不能%[1]s", "cannot %s a permit that is %s", actionZH[a], st)
}

var actionZH = map[Action]string{Revoke: "注销", Suspend: "暂停", Reinstate: "恢复"}

// SetStatus revokes, suspends or reinstates a permit for the given reason,
// and writes its current credential's status list entry in the same
// transaction. Revocation is final: the person may apply again, and the
// personal data is shredded after the retention period.
func (s *Service) SetStatus(ctx context.Context, by Official, no string, action Action, reason string, now time.Time) (PermitView, error) {
	if err := requireRole(by, RoleRevoker); err != nil {
		return PermitView{}, err
	}
	if err := checkReasons(reason); err != nil {
		return PermitView{}, err
	}
	var rec Permit
	err := s.update(ctx, func(tx Tx) error {
		p, err := readPermit(tx, by, no)
		if err != nil {
			return err
		}
		to, st, err := transition(p.State, action)
		if err != nil {
			return err
		}
		detail := map[string]string{"reason": reason, "state": string(to)}
		if c := p.Current(); c != nil {
			if err := setStatus(tx, c.List, c.Idx, st); err != nil {
				return err
			}
			if err := s.addEvent(tx, s.eventKey(), StatusEvent{Time: now.UTC(), PermitNo: no, List: c.List, Idx: c.Idx,
				From: string(p.State), To: string(to), Reason: reason, Actor: by.actorName(), State: to}); err != nil {
				return err
			}
			detail["status_list"], detail["status_idx"] = c.List, strconv.Itoa(c.Idx)
		}
		if to == PermitRevoked {
			if err := tx.Delete(BucketPersons, personKey(p.PersonKey, p.City, personPermit, "")); err != nil {
				return err
			}
			if err := tx.Put(BucketPersons, personKey(p.PersonKey, p.City, personPast, no), []byte(p.Authority)); err != nil {
				return err
			}
			p.Revoked, p.ShredDue = now.UTC(), now.Add(s.cfg.Retention).UTC().Truncate(time.Second)
			if err := tx.Put(BucketShred, retentionKey(p.ShredDue, no), nil); err != nil {
				return err
			}
		}
		p.State, p.Updated = to, now.UTC()
		p.History = append(p.History, Event{Time: now.UTC(), Action: string(action), Actor: by.actorName(), Reason: reason})
		if err := putJSON(tx, BucketPermits, []byte(no), p); err != nil {
			return err
		}
		rec = p
		return appendAudit(tx, entry(by, "permit."+string(action), "permit:"+no, p.Authority, now, detail))
	})
	if err != nil {
		return PermitView{}, err
	}
	s.statusGen.Add(1)
	s.maybeCheckpoint(ctx)
	return s.permitView(&rec, nil, now), nil
}

// SearchQuery finds records by one of its fields.
type SearchQuery struct {
	PermitNo      string `json:"permit_no,omitempty"`
	ApplicationID string `json:"application_id,omitempty"`
	// CitizenID is a full citizen identity number, looked up through its
	// keyed hash; it is never stored or logged.
	CitizenID string `json:"citizen_id,omitempty"`
}

// Hit is a record a search found.
type Hit struct {
	// Kind is "permit" or "application".
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Authority string `json:"authority"`
	State     string `json:"state"`
	MaskedID  string `json:"masked_id"`
}

// Search finds the permits and applications an official may see by permit
// number, application id or citizen ID, and records the search.
func (s *Service) Search(ctx context.Context, by Official, q SearchQuery, now time.Time) ([]Hit, error) {
	if !by.Role.Allows(RoleOfficer) && !by.Role.Allows(RoleAuditor) && !by.Role.Allows(RoleRevoker) {
		return nil, requireRole(by, RoleOfficer)
	}
	n := 0
	for _, f := range []string{q.PermitNo, q.ApplicationID, q.CitizenID} {
		if f != "" {
			n++
		}
	}
	if n != 1 {
		return nil, invalid("one_field", "请只填写一个查询条件：居住证号、申请编号或公民身份号码", "search by exactly one of permit number, application id or citizen ID")
	}
	hits := []Hit{}
	what := ""
	err := s.view(ctx, func(tx Tx) error {
		hits = hits[:0]
		addPermit := func(no string) error {
			p, err := readPermit(tx, by, no)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			hits = append(hits, Hit{Kind: "permit", ID: no, Authority: p.Authority, State: string(p.State), MaskedID: p.MaskedID})
			return nil
		}
		addApp := func(id string) error {
			a, err := readApplication(tx, by, id)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			hits = append(hits, Hit{Kind: "application", ID: id, Authority: a.Authority, State: string(a.State), MaskedID: a.MaskedID})
			return nil
		}
		switch {
		case q.PermitNo != "":
			what = "permit:" + clip(q.PermitNo)
			return addPermit(q.PermitNo)
		case q.ApplicationID != "":
			what = "application:" + clip(q.ApplicationID)
			return addApp(q.ApplicationID)
		}
		id := permit.NormalizeCitizenID(q.CitizenID)
		if err := permit.ValidateCitizenID(id); err != nil {
			return invalid("invalid_citizen_id", "公民身份号码无效", "the citizen ID is not a valid GB 11643 number")
		}
		what = "person:" + permit.MaskID(id)
		pk := s.PersonKey(id)
		return tx.Scan(BucketPersons, pk, nil, false, func(k, v []byte) (bool, error) {
			if len(k) < len(pk)+cityLen+1 {
				return true, nil
			}
			auth, no, _ := strings.Cut(string(v), " ")
			if !by.Covers(auth) {
				return true, nil
			}
			rest := string(k[len(pk)+cityLen+1:])
			switch k[len(pk)+cityLen] {
			case personPending:
				return true, addApp(rest)
			case personPermit:
				return true, addPermit(no)
			case personPast:
				return true, addPermit(rest)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if err := s.auditRead(ctx, by, "search", what, by.Authority, now, map[string]string{"hits": strconv.Itoa(len(hits))}); err != nil {
		return nil, err
	}
	return hits, nil
}

// holderJWK returns the canonical public JWK of a holder key (Ed25519 or
// P-256, checked: no small-order or off-curve point) and its thumbprint.
func holderJWK(k keys.JWK) (keys.JWK, string, error) {
	pub, err := k.HolderKey()
	if err != nil {
		return keys.JWK{}, "", err
	}
	jwk, err := keys.HolderJWK(pub)
	if err != nil {
		return keys.JWK{}, "", err
	}
	kid, err := jwk.Thumbprint()
	return jwk, kid, err
}
