package issuer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/vault"
)

// The person index (BucketPersons) links the keyed hash of a citizen ID to
// a person's records: key = person key (32 bytes), city (4 digits), kind,
// id; value = the authority's slug, and for personPermit a space and the
// permit number. It never holds the citizen ID itself.
// cityLen is the length of a city's division code ("330100") in the index.
const cityLen = 6

const (
	personPending = 'a' // a pending application, id = application id
	personPermit  = 'p' // the active or suspended permit in the city, no id
	personPast    = 'h' // a revoked permit, id = permit number (until shredded)
)

func personKey(pk []byte, city string, kind byte, id string) []byte {
	k := make([]byte, 0, len(pk)+len(city)+1+len(id))
	return append(append(append(append(k, pk...), city...), kind), id...)
}

func queueKey(authority string, submitted time.Time, id string) []byte {
	k := append([]byte(authority), 0)
	k = binary.BigEndian.AppendUint64(k, uint64(submitted.UnixNano()))
	return append(k, id...)
}

// Submission is a resident's application with its photo.
type Submission struct {
	Form permit.Application
	// Photo is the applicant's photo (JPEG or PNG, checked by the caller)
	// and PhotoType its media type; nil when none was sent. The service
	// computes the credential's photo digest from it.
	Photo     []byte
	PhotoType string
}

// Submit decides an application and stores it, and returns it with the
// secret that lets the applicant read it back (only its hash is kept). An
// eligible application becomes pending for an officer; an ineligible one is
// stored with its decision and without its form. The answer never depends
// on other records: an application for a person who already holds a permit
// or has one pending is stored like any other, and flagged for the officer.
func (s *Service) Submit(ctx context.Context, sub Submission, now time.Time) (Application, string, error) {
	form := sub.Form
	if form.PhotoSHA256 != "" && len(sub.Photo) == 0 {
		return Application{}, "", invalid("photo_digest_without_photo", "未附照片不能填写照片摘要 photo_sha256：摘要由服务根据照片计算",
			"photo_sha256 was given without a photo: the service computes the digest from the photo it stores")
	}
	if len(sub.Photo) > 0 {
		d := permit.PhotoDigest(sub.Photo)
		if form.PhotoSHA256 != "" && form.PhotoSHA256 != d {
			return Application{}, "", invalid("photo_digest_mismatch", "photo_sha256 不是所附照片的摘要", "photo_sha256 is not the digest of the photo sent")
		}
		form.PhotoSHA256 = d
	}
	if err := form.Validate(); err != nil {
		return Application{}, "", err
	}
	a := s.authorityFor(string(form.ResidenceDivision))
	if a == nil {
		return Application{}, "", invalid("no_authority", "本服务没有受理居住地行政区划 %s 的发证机关",
			"no issuing authority here serves residence division %s", string(form.ResidenceDivision))
	}
	id, err := s.newID()
	if err != nil {
		return Application{}, "", err
	}
	secret, err := s.newSecret(SecretPrefix)
	if err != nil {
		return Application{}, "", err
	}
	decision := permit.Decide(form, permit.DateOf(now, permit.ChinaTime()))
	city := string(form.ResidenceDivision.City())
	app := Application{ID: id, Authority: a.Slug, SecretHash: Hash(secret), MaskedID: permit.MaskID(form.CitizenID),
		City: city, Division: form.ResidenceDivision, Decision: decision, Submitted: now.UTC(), Updated: now.UTC()}
	var sealedPhoto []byte
	if decision.Eligible {
		app.State = AppPending
		app.PersonKey = s.PersonKey(form.CitizenID)
		key, err := s.cfg.Vault.NewKey()
		if err != nil {
			return Application{}, "", err
		}
		app.DataKey = key.Ref()
		plain, err := json.Marshal(form)
		if err != nil {
			return Application{}, "", err
		}
		if app.Form, err = key.Seal("application:"+id, plain); err != nil {
			return Application{}, "", err
		}
		if len(sub.Photo) > 0 {
			app.PhotoType = sub.PhotoType
			if sealedPhoto, err = key.Seal("photo:"+id, sub.Photo); err != nil {
				return Application{}, "", err
			}
		}
	} else {
		app.State = AppIneligible
	}
	err = s.update(ctx, func(tx Tx) error {
		if app.State == AppPending {
			if err := tx.Put(BucketQueue, queueKey(app.Authority, app.Submitted, id), nil); err != nil {
				return err
			}
			if err := tx.Put(BucketPersons, personKey(app.PersonKey, city, personPending, id), []byte(app.Authority)); err != nil {
				return err
			}
			if sealedPhoto != nil {
				if err := tx.Put(BucketPhotos, []byte(id), sealedPhoto); err != nil {
					return err
				}
			}
		}
		if err := putJSON(tx, BucketApplications, []byte(id), app); err != nil {
			return err
		}
		return appendAudit(tx, entry(resident, "application.submit", "application:"+id, app.Authority, now,
			map[string]string{"state": string(app.State), "masked_id": app.MaskedID, "city": city}))
	})
	if err != nil {
		return Application{}, "", fmt.Errorf("issuer: submit: %w", err)
	}
	return app, secret, nil
}

// ApplicationBySecret returns an application to whoever holds its secret;
// an unknown id and a wrong secret give the same ErrNotFound.
func (s *Service) ApplicationBySecret(ctx context.Context, id, secret string) (Application, error) {
	var a Application
	var ok bool
	err := s.view(ctx, func(tx Tx) (err error) { ok, err = getJSON(tx, BucketApplications, []byte(id), &a); return })
	if err != nil {
		return Application{}, err
	}
	if !ok || !a.CheckSecret(secret) {
		return Application{}, refuse(KindNotFound, "not_found", "没有该编号和密钥的申请", "no application with that id and secret")
	}
	a.Form, a.PersonKey = nil, nil
	return a, nil
}

// Flag warns an officer about another record of the same person.
type Flag struct {
	// Code is "holds_permit" (an active or suspended permit in the city),
	// "other_pending" (another pending application in the city) or
	// "past_permit" (a revoked permit whose data is still kept).
	Code          string `json:"code"`
	PermitNo      string `json:"permit_no,omitempty"`
	ApplicationID string `json:"application_id,omitempty"`
	ZH            string `json:"zh"`
	EN            string `json:"en"`
}

// flags returns what the person index knows of the person in the city,
// other than the application self, within what by may see.
func flags(tx Tx, by Official, pk []byte, city, self string) ([]Flag, error) {
	var out []Flag
	prefix := append(append([]byte(nil), pk...), city...)
	err := tx.Scan(BucketPersons, prefix, nil, false, func(k, v []byte) (bool, error) {
		auth, no, _ := strings.Cut(string(v), " ")
		if len(k) <= len(prefix) || !by.Covers(auth) {
			return true, nil
		}
		id := string(k[len(prefix)+1:])
		switch k[len(prefix)] {
		case personPending:
			if id != self {
				out = append(out, Flag{Code: "other_pending", ApplicationID: id,
					ZH: "此人在本市另有待审申请 " + id, EN: "this person has another pending application in this city: " + id})
			}
		case personPermit:
			out = append(out, Flag{Code: "holds_permit", PermitNo: no,
				ZH: "此人已持有本市居住证 " + no, EN: "this person already holds residence permit " + no + " in this city"})
		case personPast:
			out = append(out, Flag{Code: "past_permit", PermitNo: id,
				ZH: "此人曾持有本市居住证 " + id + "（已注销）", EN: "this person held residence permit " + id + " in this city (revoked)"})
		}
		return true, nil
	})
	return out, err
}

// ApplicationView is an application as an officer sees it: with the form
// and flags about the same person's other records.
type ApplicationView struct {
	Application
	// Particulars is the decrypted form, nil once decided.
	Particulars *permit.Application `json:"particulars,omitempty"`
	Flags       []Flag              `json:"flags,omitempty"`
	HasPhoto    bool                `json:"has_photo"`
}

// readApplication reads an application an official may see.
func readApplication(tx Tx, by Official, id string) (Application, error) {
	var a Application
	ok, err := getJSON(tx, BucketApplications, []byte(id), &a)
	if err != nil {
		return a, err
	}
	if !ok || !by.Covers(a.Authority) {
		// The same answer for another authority's record: a limited token
		// learns nothing of it.
		return a, notFound("application", "申请")
	}
	return a, nil
}

// openForm decrypts an application's form.
func (s *Service) openForm(a *Application) (*permit.Application, error) {
	if a.Form == nil {
		return nil, nil
	}
	key, err := s.cfg.Vault.Key(a.DataKey)
	if err != nil {
		return nil, err
	}
	plain, err := key.Open("application:"+a.ID, a.Form)
	if err != nil {
		return nil, err
	}
	var f permit.Application
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Application returns an application as an officer sees it, and records
// the read of its personal data in the audit log.
func (s *Service) Application(ctx context.Context, by Official, id string, now time.Time) (ApplicationView, error) {
	var v ApplicationView
	err := s.view(ctx, func(tx Tx) error {
		a, err := readApplication(tx, by, id)
		if err != nil {
			return err
		}
		v = ApplicationView{Application: a}
		if a.State == AppPending {
			if v.Flags, err = flags(tx, by, a.PersonKey, a.City, a.ID); err != nil {
				return err
			}
			p, err := tx.Get(BucketPhotos, []byte(id))
			v.HasPhoto = p != nil
			return err
		}
		return nil
	})
	if err != nil {
		return ApplicationView{}, err
	}
	if v.Particulars, err = s.openForm(&v.Application); err != nil {
		return ApplicationView{}, err
	}
	// Storage details stay out of the view; the data key's number would
	// also count every authority's person-records.
	v.Form, v.PersonKey, v.SecretHash, v.DataKey = nil, nil, "", 0
	if v.Particulars != nil {
		if err := s.auditRead(ctx, by, "application.read", "application:"+id, v.Authority, now, nil); err != nil {
			return ApplicationView{}, err
		}
	}
	return v, nil
}

// auditRead records an official's read of personal data.
func (s *Service) auditRead(ctx context.Context, by Official, action, subject, authority string, now time.Time, detail map[string]string) error {
	err := s.update(ctx, func(tx Tx) error { return appendAudit(tx, entry(by, action, subject, authority, now, detail)) })
	if err != nil {
		return fmt.Errorf("issuer: audit read: %w", err)
	}
	return nil
}

// QueueItem is a pending application in an officer's queue.
type QueueItem struct {
	ID        string          `json:"id"`
	Authority string          `json:"authority"`
	Submitted time.Time       `json:"submitted"`
	Name      string          `json:"name"`
	MaskedID  string          `json:"masked_id"`
	Division  permit.Division `json:"residence_division"`
	Decision  permit.Decision `json:"decision"`
	Flags     []Flag          `json:"flags,omitempty"`
	HasPhoto  bool            `json:"has_photo"`
}

// QueueQuery selects a page of the queue.
type QueueQuery struct {
	// Authority is the authority whose queue to read: the token's own for a
	// limited token ("" allowed), required for a provincial one when more
	// than one authority is hosted.
	Authority string
	// Newest orders newest first; the default is oldest first.
	Newest bool
	// After is the cursor returned with the previous page.
	After string
	// Limit is the page size, 1 to 200.
	Limit int
}

// Queue returns a page of pending applications, with the cursor of the
// next page ("" at the end). Reading the names it shows is audited.
func (s *Service) Queue(ctx context.Context, by Official, q QueueQuery, now time.Time) ([]QueueItem, string, error) {
	if !by.Role.Allows(RoleOfficer) {
		return nil, "", refuse(KindForbidden, "forbidden", "需要窗口民警令牌", "an officer's token is required")
	}
	auth := q.Authority
	if auth == "" {
		auth = by.Authority
	}
	if auth == "" && len(s.cfg.Authorities) == 1 {
		auth = s.cfg.Authorities[0].Slug
	}
	if auth == "" || s.bySlug[auth] == nil {
		return nil, "", invalid("authority_required", "请选择发证机关", "name the authority whose queue to read")
	}
	if !by.Covers(auth) {
		return nil, "", refuse(KindForbidden, "other_authority", "此令牌只能处理 %s 的记录", "this token acts for authority %s only", by.Authority)
	}
	if q.Limit < 1 || q.Limit > 200 {
		q.Limit = 50
	}
	prefix := append([]byte(auth), 0)
	var start []byte
	if q.After != "" {
		c, err := decodeCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		start = append(append([]byte(nil), prefix...), c...)
	}
	var apps []Application
	var photos []bool
	var fl [][]Flag
	next := ""
	err := s.view(ctx, func(tx Tx) error {
		apps, photos, fl, next = apps[:0], photos[:0], fl[:0], ""
		return tx.Scan(BucketQueue, prefix, start, q.Newest, func(k, _ []byte) (bool, error) {
			if len(apps) == q.Limit {
				next = encodeCursor(k[len(prefix):])
				return false, nil
			}
			id := string(k[len(prefix)+8:])
			var a Application
			ok, err := getJSON(tx, BucketApplications, []byte(id), &a)
			if err != nil || !ok {
				return false, errors.Join(err, fmt.Errorf("queue names missing application %s", id))
			}
			f, err := flags(tx, by, a.PersonKey, a.City, a.ID)
			if err != nil {
				return false, err
			}
			p, err := tx.Get(BucketPhotos, []byte(id))
			if err != nil {
				return false, err
			}
			apps, fl, photos = append(apps, a), append(fl, f), append(photos, p != nil)
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("issuer: queue: %w", err)
	}
	items := make([]QueueItem, len(apps))
	for i := range apps {
		a := &apps[i]
		form, err := s.openForm(a)
		if err != nil {
			return nil, "", err
		}
		items[i] = QueueItem{ID: a.ID, Authority: a.Authority, Submitted: a.Submitted, MaskedID: a.MaskedID,
			Division: a.Division, Decision: a.Decision, Flags: fl[i], HasPhoto: photos[i]}
		if form != nil {
			items[i].Name = form.Name
		}
	}
	if len(items) > 0 {
		if err := s.auditRead(ctx, by, "application.list", "queue:"+auth, auth, now, map[string]string{"count": strconv.Itoa(len(items))}); err != nil {
			return nil, "", err
		}
	}
	return items, next, nil
}

func encodeCursor(b []byte) string { return fmt.Sprintf("%x", b) }

func decodeCursor(s string) ([]byte, error) {
	var b []byte
	if len(s) > 128 {
		return nil, invalid("bad_cursor", "翻页游标无效", "the page cursor is not one this service gave")
	}
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		return nil, invalid("bad_cursor", "翻页游标无效", "the page cursor is not one this service gave")
	}
	return b, nil
}

// checkReasons refuses reasons an official may not write: blank, too long
// or not text, and what the audit log refuses (control characters,
// anything shaped like a full citizen ID number), before anything is
// written. Reasons are kept in clear in the records and shown to the
// applicant, so they follow the audit log's rules wherever they go.
func checkReasons(reasons ...string) error {
	for _, r := range reasons {
		if strings.TrimSpace(r) == "" || len(r) > 512 || !utf8.ValidString(r) {
			return invalid("reason_required", "理由须为 1 至 512 字节的文字", "a reason must be 1 to 512 bytes of text")
		}
		e := audit.Entry{Time: time.Unix(1, 0), Actor: "check", Action: "check", Detail: map[string]string{"reason": r}}
		if err := e.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Reject refuses a pending application with the officer's reasons. Its
// form and photo are shredded: the data key is destroyed once the decision
// has committed.
func (s *Service) Reject(ctx context.Context, by Official, id string, reasons []string, now time.Time) (Application, error) {
	if !by.Role.Allows(RoleOfficer) {
		return Application{}, refuse(KindForbidden, "forbidden", "需要窗口民警令牌", "an officer's token is required")
	}
	if len(reasons) == 0 || len(reasons) > 10 {
		return Application{}, invalid("reason_required", "请给出 1 至 10 条理由", "give one to ten reasons")
	}
	if err := checkReasons(reasons...); err != nil {
		return Application{}, err
	}
	var out Application
	err := s.update(ctx, func(tx Tx) error {
		a, err := readApplication(tx, by, id)
		if err != nil {
			return err
		}
		if a.State != AppPending {
			return conflict("not_pending", "该申请状态为 %s，不是待审", "the application is %s, not pending", a.State)
		}
		ref := a.DataKey
		if err := tx.Delete(BucketQueue, queueKey(a.Authority, a.Submitted, a.ID)); err != nil {
			return err
		}
		if err := tx.Delete(BucketPersons, personKey(a.PersonKey, a.City, personPending, a.ID)); err != nil {
			return err
		}
		if err := tx.Delete(BucketPhotos, []byte(id)); err != nil {
			return err
		}
		a.State, a.Form, a.RejectReasons, a.Updated, a.DecidedBy = AppRejected, nil, reasons, now.UTC(), by.actorName()
		a.PhotoType, a.PersonKey, a.DataKey = "", nil, 0
		if err := putJSON(tx, BucketApplications, []byte(id), a); err != nil {
			return err
		}
		if err := scheduleShred(tx, ref); err != nil {
			return err
		}
		out = a
		detail := map[string]string{"masked_id": a.MaskedID, "reasons": strconv.Itoa(len(reasons))}
		for i, r := range reasons {
			detail["reason_"+strconv.Itoa(i+1)] = r
		}
		return appendAudit(tx, entry(by, "application.reject", "application:"+id, a.Authority, now, detail))
	})
	if err != nil {
		return Application{}, err
	}
	s.shredPending(ctx)
	return out, nil
}

// Photo returns the photo of an application or permit's application, for
// an officer, and records the read.
func (s *Service) applicationPhoto(tx Tx, a *Application) ([]byte, error) {
	v, err := tx.Get(BucketPhotos, []byte(a.ID))
	if err != nil || v == nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

// openPhoto decrypts a stored photo.
func (s *Service) openPhoto(ref vault.Ref, appID string, sealed []byte) ([]byte, error) {
	key, err := s.cfg.Vault.Key(ref)
	if err != nil {
		return nil, err
	}
	return key.Open("photo:"+appID, sealed)
}

// ApplicationPhoto returns a pending application's photo for an officer.
func (s *Service) ApplicationPhoto(ctx context.Context, by Official, id string, now time.Time) ([]byte, string, error) {
	if !by.Role.Allows(RoleOfficer) {
		return nil, "", refuse(KindForbidden, "forbidden", "需要窗口民警令牌", "an officer's token is required")
	}
	var a Application
	var sealed []byte
	err := s.view(ctx, func(tx Tx) (err error) {
		if a, err = readApplication(tx, by, id); err != nil {
			return err
		}
		sealed, err = s.applicationPhoto(tx, &a)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if sealed == nil {
		return nil, "", notFound("photo", "照片")
	}
	photo, err := s.openPhoto(a.DataKey, a.ID, sealed)
	if err != nil {
		return nil, "", err
	}
	if err := s.auditRead(ctx, by, "photo.read", "application:"+id, a.Authority, now, nil); err != nil {
		return nil, "", err
	}
	return photo, a.PhotoType, nil
}
