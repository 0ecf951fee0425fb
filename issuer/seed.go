package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/vault"
)

// SeedPermit is one permit for [Service.Seed]: an application and what
// became of it, stated by a bulk load instead of lived through the API.
type SeedPermit struct {
	// Number is the permit's number, kept from the system it comes from; ""
	// draws one as [Service.Approve] does. It must start with the residence
	// division and the year of approval.
	Number string
	// Form is the application. It must be valid and eligible on the days
	// it was submitted and approved.
	Form permit.Application
	// Photo is the applicant's photo (JPEG or PNG, checked by the caller)
	// and PhotoType its media type; nil when none. Its digest goes into the
	// particulars, as [Service.Submit] does.
	Photo     []byte
	PhotoType string
	// Submitted, Approved and Issued are when the application was made,
	// approved (the permit's issue date, China time) and when the wallet
	// took its credential; each no earlier than the one before.
	Submitted, Approved, Issued time.Time
	// Holder is the wallet key the permit's one credential is bound to.
	Holder keys.JWK
	// State is the permit's state: active, or suspended or revoked at
	// Changed (after Issued) for Reason.
	State   PermitState
	Changed time.Time
	Reason  string
}

// Seeded is where [Service.Seed] put a permit.
type Seeded struct {
	// Line is the permit's line in the job.
	Line        int    `json:"line"`
	PermitNo    string `json:"permit_no"`
	Application string `json:"application"`
	Authority   string `json:"authority"`
	StatusList  string `json:"status_list"`
	StatusIdx   int    `json:"status_idx"`
}

// seedItem is a SeedPermit made ready for its transaction.
type seedItem struct {
	in    *SeedPermit
	auth  *Authority
	key   *vault.Key
	app   Application
	rec   Permit
	photo []byte // sealed
	pp    permit.Permit
	ol    *openList
	idx   int
	kid   string
	st    statuslist.Status
}

// Seed writes, as part of job id, the permits of lines [first,
// first+len(batch)) of a bulk load straight into the store: for load tests
// (synthetic populations) and migrations from another system. Each permit
// is written as the normal flow leaves it once its grants have expired:
// the approved application, the permit with its sealed particulars and its
// own data key, the person index, one credential with its own status list
// entry, a suspension or revocation if stated, and the audit entries of
// every step (submission, approval, issuance, status change), plus one
// entry for the batch by the administrator by.
//
// It checks what the flow checks (valid forms, eligible when submitted and
// approved; one active permit per person and city; fresh permit numbers
// and status indices) and writes the batch and the job's progress in one
// transaction, all or nothing; the batch's data keys are made in one
// durable write ([vault.Vault.NewKeys]). Lines the job has already done are
// skipped, so a load resumes after a crash without writing anything twice.
// No time of the batch may be after now.
func (s *Service) Seed(ctx context.Context, by Official, id string, first int, batch []SeedPermit, now time.Time) ([]Seeded, Job, error) {
	if err := requireRole(by, RoleAdmin); err != nil {
		return nil, Job{}, err
	}
	if id == "" || len(id) > 128 || first < 0 {
		return nil, Job{}, invalid("bad_job", "任务编号无效", "a job needs an id of 1 to 128 bytes and lines from 0")
	}
	job, err := s.JobProgress(ctx, id)
	if err != nil {
		return nil, Job{}, err
	}
	if job.ID == "" {
		job = Job{ID: id, Kind: "seed", Authority: by.Authority, Started: now.UTC(), By: by.actorName()}
	}
	if job.Kind != "seed" {
		return nil, Job{}, conflict("job_kind", "任务 %s 不是导入任务", "job %s is not a seed job", id)
	}
	if first > job.Done {
		return nil, Job{}, invalid("job_gap", "任务 %[1]s 已完成 %[2]d 行，不能从第 %[3]d 行继续", "job %[1]s has done %[2]d lines; it cannot go on from line %[3]d", id, job.Done, first)
	}
	if skip := job.Done - first; skip > 0 {
		batch, first = batch[min(skip, len(batch)):], job.Done
	}
	if len(batch) == 0 {
		return nil, job, nil
	}
	items := make([]seedItem, len(batch))
	seen := map[string]int{}
	numbers := map[string]bool{}
	for i := range batch {
		it, err := s.seedPrepare(by, &batch[i], now)
		if err != nil {
			return nil, Job{}, fmt.Errorf("issuer: seed line %d: %w", first+i, err)
		}
		pk := string(personKey(it.app.PersonKey, it.app.City, personPermit, ""))
		if j, dup := seen[pk]; dup && it.in.State != PermitRevoked {
			return nil, Job{}, fmt.Errorf("issuer: seed lines %d and %d: %w", first+j, first+i, conflict("duplicate_permit",
				"同一人在同一城市有两张有效居住证", "one person would hold two active permits in one city"))
		}
		if it.in.State != PermitRevoked {
			seen[pk] = i
		}
		if it.in.Number != "" {
			if numbers[it.in.Number] {
				return nil, Job{}, fmt.Errorf("issuer: seed line %d: %w", first+i, conflict("number_taken", "居住证号 %s 重复", "permit number %s is given twice", it.in.Number))
			}
			numbers[it.in.Number] = true
		}
		items[i] = it
	}
	dks, err := s.cfg.Vault.NewKeys(len(items))
	if err != nil {
		return nil, Job{}, fmt.Errorf("issuer: seed: %w", err)
	}
	defer func() {
		for i := range items {
			if items[i].ol != nil {
				items[i].ol.release(items[i].idx)
			}
		}
	}()
	for i := range items {
		it := &items[i]
		it.key = dks[i]
		if err := s.seedNumber(it, numbers); err != nil {
			return nil, Job{}, fmt.Errorf("issuer: seed line %d: %w", first+i, err)
		}
		if it.ol, it.idx, err = s.allocate(ctx, it.auth.Slug); err != nil {
			return nil, Job{}, err
		}
		if err := s.seedSeal(it); err != nil {
			return nil, Job{}, err
		}
	}
	for range 8 {
		var takenNo, takenIdx []int
		statuses := false
		var done Job
		err = s.st.Update(ctx, func(tx Tx) error {
			takenNo, takenIdx, statuses = takenNo[:0], takenIdx[:0], false
			// Every check before any write.
			done = Job{}
			if _, err := getJSON(tx, BucketJobs, []byte(id), &done); err != nil {
				return err
			}
			if done.Done != job.Done {
				return conflict("job_moved", "任务 %s 正由另一进程执行", "job %s is being run by another process", id)
			}
			for i := range items {
				it := &items[i]
				if old, err := tx.Get(BucketPermits, []byte(it.rec.Number)); err != nil || old != nil {
					if err != nil {
						return err
					}
					if it.in.Number != "" {
						return fmt.Errorf("seed line %d: %w", first+i, conflict("number_taken", "居住证号 %s 已存在", "permit number %s exists", it.in.Number))
					}
					takenNo = append(takenNo, i)
				}
				free, err := indexFree(tx, it.ol.info.ID, it.idx)
				if err != nil {
					return err
				}
				if !free {
					takenIdx = append(takenIdx, i)
				}
				if it.in.State != PermitRevoked {
					holder, err := tx.Get(BucketPersons, personKey(it.app.PersonKey, it.app.City, personPermit, ""))
					if err != nil {
						return err
					}
					if holder != nil {
						return fmt.Errorf("seed line %d: %w", first+i, conflict("duplicate_permit", "此人已持有本市有效居住证",
							"this person already holds an active residence permit in this city"))
					}
				}
			}
			if len(takenNo)+len(takenIdx) > 0 {
				return &errRetry{"permit numbers or status indices taken"}
			}
			for i := range items {
				changed, err := s.seedWrite(tx, by, &items[i])
				if err != nil {
					return fmt.Errorf("seed line %d: %w", first+i, err)
				}
				statuses = statuses || changed
			}
			done = job
			done.Done, done.Updated = first+len(items), now.UTC()
			if err := putJSON(tx, BucketJobs, []byte(id), done); err != nil {
				return err
			}
			return appendAudit(tx, entry(by, "permits.seed", "job:"+id, "", now, map[string]string{
				"lines": fmt.Sprintf("%d-%d", first, first+len(items)-1), "first": items[0].rec.Number, "last": items[len(items)-1].rec.Number}))
		})
		var retry *errRetry
		if !errors.As(err, &retry) {
			if err != nil {
				return nil, Job{}, fmt.Errorf("issuer: seed: %w", err)
			}
			out := make([]Seeded, len(items))
			for i := range items {
				it := &items[i]
				out[i] = Seeded{Line: first + i, PermitNo: it.rec.Number, Application: it.app.ID, Authority: it.auth.Slug,
					StatusList: it.ol.info.ID, StatusIdx: it.idx}
				it.ol = nil // taken: not released
			}
			if statuses {
				s.statusGen.Add(1)
			}
			s.maybeCheckpoint(ctx)
			return out, done, nil
		}
		for _, i := range takenNo {
			delete(numbers, items[i].rec.Number)
			if err := s.seedNumber(&items[i], numbers); err != nil {
				return nil, Job{}, err
			}
		}
		for _, i := range takenIdx {
			it := &items[i]
			_ = it.ol.alloc.MarkUsed(it.idx) // another replica took it
			it.ol = nil
			if it.ol, it.idx, err = s.allocate(ctx, it.auth.Slug); err != nil {
				return nil, Job{}, err
			}
		}
		for _, i := range append(takenNo, takenIdx...) {
			if err := s.seedSeal(&items[i]); err != nil {
				return nil, Job{}, err
			}
		}
	}
	return nil, Job{}, fmt.Errorf("issuer: seed: %w", ErrConflict)
}

// seedPrepare checks one SeedPermit and builds what does not depend on the
// permit number, the data key or the status entry.
func (s *Service) seedPrepare(by Official, in *SeedPermit, now time.Time) (seedItem, error) {
	cp := *in // defaults and the photo digest go into a copy
	in = &cp
	it := seedItem{in: in}
	form := in.Form
	if len(in.Photo) > 0 {
		form.PhotoSHA256 = permit.PhotoDigest(in.Photo)
	} else if form.PhotoSHA256 != "" {
		return it, invalid("photo_digest_without_photo", "未附照片不能填写照片摘要", "photo_sha256 was given without a photo")
	}
	in.Form = form
	if err := form.Validate(); err != nil {
		return it, err
	}
	if in.Approved.IsZero() || in.Submitted.After(in.Approved) || in.Issued.Before(in.Approved) || in.Issued.After(now) {
		return it, invalid("seed_times", "时间顺序无效", "want submitted <= approved <= issued <= now")
	}
	if in.Submitted.IsZero() {
		in.Submitted = in.Approved
	}
	switch in.State {
	case PermitActive:
	case PermitSuspended, PermitRevoked:
		if in.Changed.Before(in.Issued) || in.Changed.After(now) {
			return it, invalid("seed_times", "状态变更时间无效", "want issued <= changed <= now")
		}
		if err := checkReasons(in.Reason); err != nil {
			return it, err
		}
	default:
		return it, invalid("seed_state", "状态 %q 无效", "state %q: want active, suspended or revoked", string(in.State))
	}
	decision := permit.Decide(form, permit.DateOf(in.Submitted, permit.ChinaTime()))
	if !decision.Eligible {
		return it, conflict("not_eligible", "申请不符合条件：%s", "the application is not eligible: %s", joinCodes(decision))
	}
	it.auth = s.authorityFor(string(form.ResidenceDivision))
	if it.auth == nil {
		return it, invalid("no_authority", "本服务没有受理居住地行政区划 %s 的发证机关",
			"no issuing authority here serves residence division %s", string(form.ResidenceDivision))
	}
	id, err := s.newID()
	if err != nil {
		return it, err
	}
	secret, err := s.newSecret(SecretPrefix)
	if err != nil {
		return it, err
	}
	jwk, kid, err := holderJWK(in.Holder)
	if err != nil {
		return it, invalid("invalid_holder", "钱包密钥无效", "the holder key is not a valid Ed25519 public key")
	}
	it.kid = kid
	city := string(form.ResidenceDivision.City())
	it.app = Application{ID: id, Authority: it.auth.Slug, State: AppApproved, SecretHash: Hash(secret),
		MaskedID: permit.MaskID(form.CitizenID), City: city, Division: form.ResidenceDivision,
		PersonKey: s.PersonKey(form.CitizenID), Decision: decision,
		Submitted: in.Submitted.UTC(), Updated: in.Approved.UTC(), DecidedBy: by.actorName()}
	if len(in.Photo) > 0 {
		it.app.PhotoType = in.PhotoType
	}
	it.rec = Permit{Authority: it.auth.Slug, State: in.State, Application: id, MaskedID: it.app.MaskedID,
		PersonKey: it.app.PersonKey, City: city, Division: form.ResidenceDivision, PhotoType: it.app.PhotoType,
		Created: in.Approved.UTC(), Updated: in.Issued.UTC(),
		History: []Event{{Time: in.Approved.UTC(), Action: "approve", Actor: by.actorName()},
			{Time: in.Issued.UTC(), Action: "credential", Actor: "wallet:" + kid, Reason: string(OfferIssue)}},
		Credentials: []Credential{{N: 1, Holder: jwk, HolderKid: kid, Issued: in.Issued.UTC(), Via: string(OfferIssue)}}}
	switch in.State {
	case PermitSuspended:
		it.st = statuslist.Suspended
	case PermitRevoked:
		it.st = statuslist.Invalid
	}
	return it, nil
}

// seedNumber gives the item its number (drawn, unless the load gave one,
// and not used in the batch) and makes the particulars the number names.
func (s *Service) seedNumber(it *seedItem, numbers map[string]bool) error {
	approved := permit.DateOf(it.in.Approved, permit.ChinaTime())
	for range 16 {
		no := it.in.Number
		if no == "" {
			var err error
			if no, err = permit.NewNumber(it.in.Form.ResidenceDivision, approved.Year, s.cfg.Rand); err != nil {
				return err
			}
			if numbers[no] {
				continue
			}
		}
		p, err := permit.NewPermit(it.in.Form, no, s.IssuerID(it.auth), approved)
		if err != nil {
			return conflict("not_issuable", "无法签发：%s", "cannot issue: %s", clip(err.Error()))
		}
		numbers[no] = true
		it.pp, it.rec.Number = p, no
		it.rec.IssueDate, it.rec.ValidUntil, it.rec.ResidenceSince = p.IssueDate, p.ValidUntil, p.ResidenceSince
		it.rec.Credentials[0].ValidUntil = p.ValidUntil
		return nil
	}
	return errors.New("issuer: seed: no free permit number after 16 draws")
}

// seedSeal seals the particulars and the photo under the item's data key
// and fills in its status entry.
func (s *Service) seedSeal(it *seedItem) error {
	plain, err := json.Marshal(it.pp)
	if err != nil {
		return err
	}
	it.app.DataKey, it.rec.DataKey, it.app.PermitNo = it.key.Ref(), it.key.Ref(), it.rec.Number
	if it.rec.Particulars, err = it.key.Seal("permit:"+it.rec.Number, plain); err != nil {
		return err
	}
	if len(it.in.Photo) > 0 && it.photo == nil {
		if it.photo, err = it.key.Seal("photo:"+it.app.ID, it.in.Photo); err != nil {
			return err
		}
	}
	it.rec.Credentials[0].List, it.rec.Credentials[0].Idx = it.ol.info.ID, it.idx
	return nil
}

// seedWrite writes one prepared permit inside tx, as Submit, Approve,
// IssueCredential and SetStatus would have, and reports whether it changed
// a status entry.
func (s *Service) seedWrite(tx Tx, by Official, it *seedItem) (bool, error) {
	in, app, rec := it.in, &it.app, &it.rec
	if err := takeIndex(tx, it.ol.info.ID, it.idx); err != nil {
		return false, err
	}
	if err := appendAudit(tx, entry(resident, "application.submit", "application:"+app.ID, app.Authority, in.Submitted,
		map[string]string{"state": string(AppPending), "masked_id": app.MaskedID, "city": app.City})); err != nil {
		return false, err
	}
	if it.photo != nil {
		if err := tx.Put(BucketPhotos, []byte(app.ID), it.photo); err != nil {
			return false, err
		}
	}
	if err := putJSON(tx, BucketApplications, []byte(app.ID), app); err != nil {
		return false, err
	}
	if err := appendAudit(tx, entry(by, "permit.approve", "permit:"+rec.Number, app.Authority, in.Approved,
		map[string]string{"application": app.ID, "masked_id": app.MaskedID})); err != nil {
		return false, err
	}
	if err := appendAudit(tx, entry(resident, "credential.issue", "permit:"+rec.Number, rec.Authority, in.Issued,
		map[string]string{"holder": it.kid, "status_list": it.ol.info.ID, "via": string(OfferIssue)})); err != nil {
		return false, err
	}
	person := personKey(rec.PersonKey, rec.City, personPermit, "")
	if in.State == PermitActive {
		if err := tx.Put(BucketPersons, person, []byte(rec.Authority+" "+rec.Number)); err != nil {
			return false, err
		}
		return false, putJSON(tx, BucketPermits, []byte(rec.Number), rec)
	}
	action := Suspend
	if in.State == PermitRevoked {
		action = Revoke
		if err := tx.Put(BucketPersons, personKey(rec.PersonKey, rec.City, personPast, rec.Number), []byte(rec.Authority)); err != nil {
			return false, err
		}
		rec.Revoked, rec.ShredDue = in.Changed.UTC(), in.Changed.Add(s.cfg.Retention).UTC().Truncate(time.Second)
		if err := tx.Put(BucketShred, retentionKey(rec.ShredDue, rec.Number), nil); err != nil {
			return false, err
		}
	} else if err := tx.Put(BucketPersons, person, []byte(rec.Authority+" "+rec.Number)); err != nil {
		return false, err
	}
	if err := setStatus(tx, it.ol.info.ID, it.idx, it.st); err != nil {
		return false, err
	}
	if err := s.addEvent(tx, s.eventKey(), StatusEvent{Time: in.Changed.UTC(), PermitNo: rec.Number, List: it.ol.info.ID, Idx: it.idx,
		From: string(PermitActive), To: string(in.State), Reason: in.Reason, Actor: by.actorName(), State: in.State}); err != nil {
		return false, err
	}
	rec.Updated = in.Changed.UTC()
	rec.History = append(rec.History[:2:2], Event{Time: in.Changed.UTC(), Action: string(action), Actor: by.actorName(), Reason: in.Reason})
	if err := putJSON(tx, BucketPermits, []byte(rec.Number), rec); err != nil {
		return false, err
	}
	return true, appendAudit(tx, entry(by, "permit."+string(action), "permit:"+rec.Number, rec.Authority, in.Changed,
		map[string]string{"reason": in.Reason, "state": string(in.State), "status_list": it.ol.info.ID, "status_idx": strconv.Itoa(it.idx)}))
}
