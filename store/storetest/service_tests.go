package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/internal/noncetest"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/vault"
)

// TestService runs the issuing authority's rules over the storage of h:
// every state transition and refusal, concurrency, and encryption at rest.
func TestService(t *testing.T, h Harness) {
	t.Run("SubmitAndRead", func(t *testing.T) { testSubmit(t, h) })
	t.Run("Photo", func(t *testing.T) { testPhoto(t, h) })
	t.Run("DuplicatesAreFlaggedNotRevealed", func(t *testing.T) { testDuplicates(t, h) })
	t.Run("ApproveReject", func(t *testing.T) { testApproveReject(t, h) })
	t.Run("AuthorityLimits", func(t *testing.T) { testAuthorityLimits(t, h) })
	t.Run("Queue", func(t *testing.T) { testQueue(t, h) })
	t.Run("WalletGrants", func(t *testing.T) { testGrants(t, h) })
	t.Run("ReissueSupersedes", func(t *testing.T) { testReissue(t, h) })
	t.Run("StatusTransitions", func(t *testing.T) { testStatus(t, h) })
	t.Run("EndorseAndRefresh", func(t *testing.T) { testEndorse(t, h) })
	t.Run("BulkEndorse", func(t *testing.T) { testBulk(t, h) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, h) })
	t.Run("Search", func(t *testing.T) { testSearch(t, h) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, h) })
	t.Run("AuditTampering", func(t *testing.T) { testAuditTampering(t, h) })
	t.Run("EncryptedAtRest", func(t *testing.T) { testEncrypted(t, h) })
	t.Run("ShredReachesBackups", func(t *testing.T) { testShredBackup(t, h) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, h) })
	t.Run("ConcurrentIssuance", func(t *testing.T) { testConcurrentIssuance(t, h) })
	t.Run("ConcurrentApprovals", func(t *testing.T) { testConcurrentApprovals(t, h) })
	t.Run("Replicas", func(t *testing.T) { testReplicas(t, h) })
	t.Run("Backup", func(t *testing.T) { testBackup(t, h) })
	t.Run("Nonces", func(t *testing.T) {
		noncetest.Run(t, func() noncetest.Store { return nonceStore{NewFixture(t, h).Svc} }, 5*time.Minute)
	})
}

// nonceStore runs the service's c_nonces through the nonce store suite.
type nonceStore struct{ svc *issuer.Service }

func (n nonceStore) New(_ context.Context, now time.Time) (string, time.Time, error) {
	return n.svc.NewNonce(now)
}

func (n nonceStore) Consume(ctx context.Context, nonce string, now time.Time) error {
	if err := n.svc.ConsumeNonce(ctx, nonce, now); errors.Is(err, issuer.ErrInvalidGrant) {
		return fmt.Errorf("%w: %w", oid4vci.ErrUnknownNonce, err)
	} else if err != nil {
		return err
	}
	return nil
}

func testSubmit(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	a, secret := f.Submit(1, "", nil)
	if a.State != issuer.AppPending || a.Authority != "hz" || a.MaskedID == "" || strings.Contains(a.MaskedID, CitizenID(1)[6:14]) {
		t.Fatalf("submitted: %+v", a)
	}
	got, err := f.Svc.ApplicationBySecret(ctx, a.ID, secret)
	if err != nil || got.State != issuer.AppPending || got.Form != nil {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	if _, err := f.Svc.ApplicationBySecret(ctx, a.ID, secret+"x"); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := f.Svc.ApplicationBySecret(ctx, "nope", secret); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	// Ineligible: stored with its decision only.
	form := f.Form(2, "")
	form.ResidenceSince = permit.DateOf(f.Clock(), permit.ChinaTime()).AddMonths(-2)
	in, _, err := f.Svc.Submit(ctx, issuer.Submission{Form: form}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if in.State != issuer.AppIneligible || !in.Decision.Has(permit.CodeResidenceUnderSixMonths) || in.Form != nil || in.DataKey != 0 {
		t.Fatalf("ineligible: %+v", in)
	}
	// An invalid form is refused and not stored.
	bad := f.Form(3, "")
	bad.CitizenID = "110105199001011230"
	if _, _, err := f.Svc.Submit(ctx, issuer.Submission{Form: bad}, f.Clock()); !errors.Is(err, permit.ErrInvalidApplication) {
		t.Fatalf("invalid form: %v", err)
	}
	// A division no authority serves.
	if _, _, err := f.Svc.Submit(ctx, issuer.Submission{Form: f.Form(4, "440106")}, f.Clock()); err == nil {
		t.Fatal("a Guangzhou application was taken")
	} else {
		wantRefusal(t, err, "no_authority")
	}
	// Ningbo goes to nb, another Zhejiang city to the provincial authority.
	if a, _ := f.Submit(5, "330203", nil); a.Authority != "nb" {
		t.Fatalf("Ningbo application went to %s", a.Authority)
	}
	if a, _ := f.Submit(6, "330402", nil); a.Authority != "zj" {
		t.Fatalf("Jiaxing application went to %s", a.Authority)
	}
}

func testPhoto(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	photo := []byte("\x89PNG fake photo bytes for the digest")
	a, _ := f.Submit(1, "", photo)
	v, err := f.Svc.Application(ctx, f.Officer, a.ID, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if v.Particulars.PhotoSHA256 != permit.PhotoDigest(photo) || !v.HasPhoto {
		t.Fatalf("photo digest %q, has %v", v.Particulars.PhotoSHA256, v.HasPhoto)
	}
	got, ct, err := f.Svc.ApplicationPhoto(ctx, f.Officer, a.ID, f.Clock())
	if err != nil || !bytes.Equal(got, photo) || ct != "image/png" {
		t.Fatalf("photo: %v %q", err, ct)
	}
	// A digest without a photo, or of another photo, is refused.
	form := f.Form(2, "")
	form.PhotoSHA256 = permit.PhotoDigest(photo)
	_, _, err = f.Svc.Submit(ctx, issuer.Submission{Form: form}, f.Clock())
	wantRefusal(t, err, "photo_digest_without_photo")
	_, _, err = f.Svc.Submit(ctx, issuer.Submission{Form: form, Photo: []byte("other"), PhotoType: "image/png"}, f.Clock())
	wantRefusal(t, err, "photo_digest_mismatch")
	// The permit's photo after approval.
	p, _ := f.Approve(a.ID)
	got, _, err = f.Svc.Photo(ctx, f.Officer, p.Number, f.Clock())
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("permit photo: %v", err)
	}
	if _, _, err := f.Svc.Photo(ctx, f.Auditor, p.Number, f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("auditor read the photo: %v", err)
	}
}

func testDuplicates(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	real, _ := f.Submit(1, "", nil)
	fake, _ := f.Submit(1, "", nil) // a made-up form for the same ID
	if fake.State != real.State || fake.Authority != real.Authority {
		t.Fatalf("the second submission answered differently: %+v vs %+v", fake, real)
	}
	v, err := f.Svc.Application(ctx, f.Officer, fake.ID, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Flags) != 1 || v.Flags[0].Code != "other_pending" || v.Flags[0].ApplicationID != real.ID {
		t.Fatalf("flags: %+v", v.Flags)
	}
	// The officer rejects the made-up one; the real person is not locked out.
	if _, err := f.Svc.Reject(ctx, f.Officer, fake.ID, []string{"documents do not match"}, f.Clock()); err != nil {
		t.Fatal(err)
	}
	p, _ := f.Approve(real.ID)
	// A later submission is flagged with the permit, and cannot be approved.
	again, _ := f.Submit(1, "", nil)
	v, _ = f.Svc.Application(ctx, f.Officer, again.ID, f.Clock())
	if len(v.Flags) != 1 || v.Flags[0].Code != "holds_permit" || v.Flags[0].PermitNo != p.Number {
		t.Fatalf("flags after approval: %+v", v.Flags)
	}
	_, _, err = f.Svc.Approve(ctx, f.Officer, again.ID, f.Clock())
	wantRefusal(t, err, "duplicate_permit")
	// An officer of another authority sees no flag about it.
	nb, _ := f.Submit(1, "330203", nil)
	v, err = f.Svc.Application(ctx, f.NbOfficer, nb.ID, f.Clock())
	if err != nil || len(v.Flags) != 0 {
		t.Fatalf("nb officer's flags: %+v, %v", v.Flags, err)
	}
}

func testApproveReject(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	a, secret := f.Submit(1, "", nil)
	if _, _, err := f.Svc.Approve(ctx, f.Revoker, a.ID, f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("revoker approved: %v", err)
	}
	p, o := f.Approve(a.ID)
	if p.State != issuer.PermitActive || p.Particulars == nil || p.Particulars.CitizenID != CitizenID(1) || o.Code == "" || o.Kind != issuer.OfferIssue {
		t.Fatalf("approved: %+v %+v", p, o)
	}
	if !strings.HasPrefix(p.Number, "330106") || p.Issuer != "https://ep.example/hz" {
		t.Fatalf("number %s issuer %s", p.Number, p.Issuer)
	}
	got, _ := f.Svc.ApplicationBySecret(ctx, a.ID, secret)
	if got.State != issuer.AppApproved || got.PermitNo != p.Number {
		t.Fatalf("application after approval: %+v", got)
	}
	_, _, err := f.Svc.Approve(ctx, f.Officer, a.ID, f.Clock())
	wantRefusal(t, err, "not_pending")
	_, err = f.Svc.Reject(ctx, f.Officer, a.ID, []string{"late"}, f.Clock())
	wantRefusal(t, err, "not_pending")

	b, _ := f.Submit(2, "", nil)
	_, err = f.Svc.Reject(ctx, f.Officer, b.ID, nil, f.Clock())
	wantRefusal(t, err, "reason_required")
	_, err = f.Svc.Reject(ctx, f.Officer, b.ID, []string{" "}, f.Clock())
	wantRefusal(t, err, "reason_required")
	r, err := f.Svc.Reject(ctx, f.Officer, b.ID, []string{"evidence missing"}, f.Clock())
	if err != nil || r.State != issuer.AppRejected || r.Form != nil {
		t.Fatalf("rejected: %+v %v", r, err)
	}
	if _, err := f.Svc.Reject(ctx, f.Officer, b.ID, []string{"again"}, f.Clock()); err == nil {
		t.Fatal("rejected twice")
	}
	// Its data key is destroyed.
	if _, err := f.Vault.Key(b.DataKey); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("data key after rejection: %v", err)
	}
	// No longer eligible at approval time: a year passes for a short stay.
	form := f.Form(3, "")
	form.BirthDate, form.CitizenID = permit.Date{}, CitizenID(3)
	birth, _ := permit.IDBirthDate(form.CitizenID)
	form.BirthDate = birth
	if _, _, err := f.Svc.Approve(ctx, f.Officer, "missing", f.Clock()); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("unknown application: %v", err)
	}
}

func testAuthorityLimits(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	hz, _ := f.Submit(1, "", nil)
	// A Ningbo officer learns nothing of a Hangzhou application: not found, as
	// for an id that does not exist.
	for name, err := range map[string]error{
		"read":    second(f.Svc.Application(ctx, f.NbOfficer, hz.ID, f.Clock())),
		"approve": third(f.Svc.Approve(ctx, f.NbOfficer, hz.ID, f.Clock())),
		"reject":  second(f.Svc.Reject(ctx, f.NbOfficer, hz.ID, []string{"x"}, f.Clock())),
		"photo":   third(f.Svc.ApplicationPhoto(ctx, f.NbOfficer, hz.ID, f.Clock())),
	} {
		if !errors.Is(err, issuer.ErrNotFound) {
			t.Errorf("%s by another authority: %v", name, err)
		}
	}
	p, _, err := f.Svc.Approve(ctx, f.HzOfficer, hz.ID, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	nbRevoker := issuer.Official{ID: "nbr", Name: "nb revoker", Role: issuer.RoleRevoker, Authority: "nb"}
	if _, err := f.Svc.SetStatus(ctx, nbRevoker, p.Number, issuer.Revoke, "x", f.Clock()); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("nb revoker on a hz permit: %v", err)
	}
	if _, err := f.Svc.Permit(ctx, f.NbOfficer, p.Number, f.Clock()); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("nb officer read a hz permit: %v", err)
	}
	// Backups are for provincial administrators only.
	if _, _, err := f.Svc.Backup(ctx, f.HzAdmin, t.TempDir(), f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("a limited admin took a backup: %v", err)
	}
}

func second[A any](_ A, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }

func testQueue(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	var ids []string
	for n := range 7 {
		a, _ := f.Submit(n, "", nil)
		ids = append(ids, a.ID)
		f.Advance(time.Minute)
	}
	f.Submit(100, "330203", nil) // Ningbo's
	var got []string
	after := ""
	for {
		items, next, err := f.Svc.Queue(ctx, f.HzOfficer, issuer.QueueQuery{After: after, Limit: 3}, f.Clock())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Name == "" || it.Authority != "hz" {
				t.Fatalf("queue item %+v", it)
			}
			got = append(got, it.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("queue oldest first = %v, want %v", got, ids)
	}
	items, _, _ := f.Svc.Queue(ctx, f.HzOfficer, issuer.QueueQuery{Newest: true, Limit: 2}, f.Clock())
	if len(items) != 2 || items[0].ID != ids[6] || items[1].ID != ids[5] {
		t.Fatalf("newest first: %v", items)
	}
	// Decided applications leave the queue.
	f.Approve(ids[0])
	if _, err := f.Svc.Reject(ctx, f.Officer, ids[1], []string{"no"}, f.Clock()); err != nil {
		t.Fatal(err)
	}
	items, _, _ = f.Svc.Queue(ctx, f.HzOfficer, issuer.QueueQuery{Limit: 200}, f.Clock())
	if len(items) != 5 || items[0].ID != ids[2] {
		t.Fatalf("after decisions: %d items", len(items))
	}
	if _, _, err := f.Svc.Queue(ctx, f.NbOfficer, issuer.QueueQuery{Authority: "hz"}, f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("nb officer read hz's queue: %v", err)
	}
	if _, _, err := f.Svc.Queue(ctx, f.Officer, issuer.QueueQuery{}, f.Clock()); err == nil {
		t.Fatal("a provincial officer's queue without an authority")
	}
	if _, _, err := f.Svc.Queue(ctx, f.HzOfficer, issuer.QueueQuery{After: "zz"}, f.Clock()); err == nil {
		t.Fatal("a made-up cursor was taken")
	}
}

func testGrants(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	a, _ := f.Submit(1, "", nil)
	_, o := f.Approve(a.ID)
	w := NewWallet(40)
	r, err := f.Svc.RedeemOffer(ctx, o.Code, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.RedeemOffer(ctx, o.Code, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("code used twice: %v", err)
	}
	for _, bad := range []string{"", "epc_x", o.Code[:len(o.Code)-1] + "A", strings.Repeat("a", 1000)} {
		if _, err := f.Svc.RedeemOffer(ctx, bad, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
			t.Fatalf("bogus code %q: %v", bad, err)
		}
	}
	// A nonce from the endpoint and the one from the token response both work once.
	n2, _, err := f.Svc.NewNonce(f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.IssueCredential(ctx, r.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: "made-up"}, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("made-up nonce: %v", err)
	}
	c, err := f.Svc.IssueCredential(ctx, r.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: n2}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	ref, kid := f.CredentialRef(c.Credential)
	if kid != w.Kid() || f.Status(ref) != statuslist.Valid {
		t.Fatalf("credential bound to %s, status %v", kid, f.Status(ref))
	}
	if _, err := f.Svc.IssueCredential(ctx, r.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: r.Nonce}, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("access token used twice: %v", err)
	}
	// An expired offer.
	b, _ := f.Submit(2, "", nil)
	_, o2 := f.Approve(b.ID)
	f.Advance(16 * time.Minute)
	if _, err := f.Svc.RedeemOffer(ctx, o2.Code, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("expired code: %v", err)
	}
	// A used nonce, and an expired one.
	p3, o3 := f.Approve(mustSubmit(f, 3))
	r3, _ := f.Svc.RedeemOffer(ctx, o3.Code, f.Clock())
	if _, err := f.Svc.IssueCredential(ctx, r3.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: n2}, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("nonce used twice: %v", err)
	}
	old, _, _ := f.Svc.NewNonce(f.Clock())
	f.Advance(11 * time.Minute)
	if _, err := f.Svc.IssueCredential(ctx, r3.AccessToken, issuer.Proof{Holder: w.JWK(), Nonce: old}, f.Clock()); !errors.Is(err, issuer.ErrInvalidGrant) {
		t.Fatalf("expired nonce: %v", err)
	}
	_ = p3
	// Sweeping removes what expired.
	f.Advance(25 * time.Hour)
	n, err := f.Svc.SweepGrants(ctx, f.Clock(), 1000)
	if err != nil || n < 4 {
		t.Fatalf("swept %d: %v", n, err)
	}
}

func mustSubmit(f *Fixture, n int) string {
	a, _ := f.Submit(n, "", nil)
	return a.ID
}

func testReissue(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	w1, w2 := NewWallet(41), NewWallet(42)
	p, c1 := f.Issued(1, w1)
	ref1, _ := f.CredentialRef(c1.Credential)
	pv, o, err := f.Svc.Reissue(ctx, f.Officer, p.Number, f.Clock())
	if err != nil || o.Kind != issuer.OfferReissue || pv.Number != p.Number {
		t.Fatalf("reissue: %+v %v", o, err)
	}
	c2, err := f.Accept(o, w2)
	if err != nil {
		t.Fatal(err)
	}
	ref2, kid2 := f.CredentialRef(c2.Credential)
	if kid2 != w2.Kid() || c2.Superseded != 1 || ref2 == ref1 {
		t.Fatalf("second credential: kid %s superseded %d refs %v %v", kid2, c2.Superseded, ref1, ref2)
	}
	if f.Status(ref1) != statuslist.Superseded || f.Status(ref2) != statuslist.Valid {
		t.Fatalf("statuses: old %v new %v", f.Status(ref1), f.Status(ref2))
	}
	v, _ := f.Svc.Permit(ctx, f.Officer, p.Number, f.Clock())
	if len(v.Credentials) != 2 || v.Credentials[0].Status != "superseded" || v.Credentials[1].Status != "current" || v.IssueDate != p.IssueDate {
		t.Fatalf("credentials: %+v", v.Credentials)
	}
	// Revocation reaches the current credential; the superseded one stays so.
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, p.Number, issuer.Revoke, "left the city", f.Clock()); err != nil {
		t.Fatal(err)
	}
	if f.Status(ref1) != statuslist.Superseded || f.Status(ref2) != statuslist.Invalid {
		t.Fatalf("after revocation: old %v new %v", f.Status(ref1), f.Status(ref2))
	}
	if _, _, err := f.Svc.Reissue(ctx, f.Officer, p.Number, f.Clock()); err == nil {
		t.Fatal("a revoked permit was re-issued")
	}
	// An offer made before revocation gives nothing after it.
	q, c3 := f.Issued(2, w1)
	_, o3, _ := f.Svc.Reissue(ctx, f.Officer, q.Number, f.Clock())
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, q.Number, issuer.Suspend, "check", f.Clock()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Accept(o3, w2); !errors.Is(err, issuer.ErrStateConflict) {
		t.Fatalf("credential for a suspended permit: %v", err)
	}
	_ = c3
}

func testStatus(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	p, c := f.Issued(1, NewWallet(43))
	ref, _ := f.CredentialRef(c.Credential)
	steps := []struct {
		action issuer.Action
		state  issuer.PermitState
		status statuslist.Status
		refuse string
	}{
		{issuer.Reinstate, "", 0, "permit_active"},
		{issuer.Suspend, issuer.PermitSuspended, statuslist.Suspended, ""},
		{issuer.Suspend, "", 0, "permit_suspended"},
		{issuer.Reinstate, issuer.PermitActive, statuslist.Valid, ""},
		{issuer.Suspend, issuer.PermitSuspended, statuslist.Suspended, ""},
		{issuer.Revoke, issuer.PermitRevoked, statuslist.Invalid, ""},
		{issuer.Reinstate, "", 0, "permit_revoked"},
		{issuer.Suspend, "", 0, "permit_revoked"},
		{issuer.Revoke, "", 0, "permit_revoked"},
		{"erase", "", 0, "unknown_action"},
	}
	for i, s := range steps {
		v, err := f.Svc.SetStatus(ctx, f.Revoker, p.Number, s.action, "step "+fmt.Sprint(i), f.Clock())
		if s.refuse != "" {
			wantRefusal(t, err, s.refuse)
			continue
		}
		if err != nil || v.State != s.state || f.Status(ref) != s.status {
			t.Fatalf("step %d %s: %v, state %s, status %v", i, s.action, err, v.State, f.Status(ref))
		}
	}
	if _, err := f.Svc.SetStatus(ctx, f.Officer, p.Number, issuer.Revoke, "x", f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("officer revoked: %v", err)
	}
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, p.Number, issuer.Revoke, "", f.Clock()); err == nil {
		t.Fatal("a revocation without a reason")
	}
	evs, _, err := f.Svc.StatusEvents(ctx, nil, 100)
	if err != nil || len(evs) != 4 {
		t.Fatalf("%d status events: %v", len(evs), err)
	}
	// The person may apply again after revocation, and be approved.
	a, _ := f.Submit(1, "", nil)
	if _, _, err := f.Svc.Approve(ctx, f.Officer, a.ID, f.Clock()); err != nil {
		t.Fatalf("a new permit after revocation: %v", err)
	}
}

func testEndorse(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	w := NewWallet(44)
	p, c := f.Issued(1, w)
	_, _, err := f.Svc.Endorse(ctx, f.Officer, p.Number, f.Clock())
	wantRefusal(t, err, "endorsement_too_early")
	// Nothing to refresh yet.
	n, _, _ := f.Svc.NewNonce(f.Clock())
	_, err = f.Svc.Refresh(ctx, "hz", p.Number, issuer.Proof{Holder: w.JWK(), Nonce: n}, f.Clock())
	wantRefusal(t, err, "up_to_date")
	// Into the window.
	f.Advance(time.Duration(p.ValidUntil.AddMonths(-1).DaysUntil(p.ValidUntil)+1) * 24 * time.Hour)
	f.Advance(time.Duration(permit.DateOf(f.Clock(), permit.ChinaTime()).DaysUntil(p.WindowOpens)+1) * 24 * time.Hour)
	e, o, err := f.Svc.Endorse(ctx, f.Officer, p.Number, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if e.ValidUntil != p.ValidUntil.AddMonths(12) || o.Kind != issuer.OfferEndorse {
		t.Fatalf("endorsed until %s (was %s), offer %s", e.ValidUntil, p.ValidUntil, o.Kind)
	}
	_, _, err = f.Svc.Endorse(ctx, f.Officer, p.Number, f.Clock())
	wantRefusal(t, err, "endorsement_too_early")
	// Another key cannot refresh; the bound key can, once.
	n, _, _ = f.Svc.NewNonce(f.Clock())
	_, err = f.Svc.Refresh(ctx, "hz", p.Number, issuer.Proof{Holder: NewWallet(45).JWK(), Nonce: n}, f.Clock())
	wantRefusal(t, err, "holder_mismatch")
	_, err = f.Svc.Refresh(ctx, "hz", "330106269999999", issuer.Proof{Holder: w.JWK(), Nonce: n}, f.Clock())
	wantRefusal(t, err, "holder_mismatch")
	_, err = f.Svc.Refresh(ctx, "nb", p.Number, issuer.Proof{Holder: w.JWK(), Nonce: n}, f.Clock())
	wantRefusal(t, err, "holder_mismatch") // a proof addressed to another authority
	r, err := f.Svc.Refresh(ctx, "hz", p.Number, issuer.Proof{Holder: w.JWK(), Nonce: n}, f.Clock())
	if err != nil || r.Superseded != 1 {
		t.Fatalf("refresh: %+v %v", r, err)
	}
	ref0, _ := f.CredentialRef(c.Credential)
	ref1, kid := f.CredentialRef(r.Credential)
	if kid != w.Kid() || f.Status(ref0) != statuslist.Superseded || f.Status(ref1) != statuslist.Valid {
		t.Fatalf("after refresh: kid %s, old %v, new %v", kid, f.Status(ref0), f.Status(ref1))
	}
	n, _, _ = f.Svc.NewNonce(f.Clock())
	_, err = f.Svc.Refresh(ctx, "hz", p.Number, issuer.Proof{Holder: w.JWK(), Nonce: n}, f.Clock())
	wantRefusal(t, err, "up_to_date")
	// The endorsement offer still works, for a new phone, and supersedes.
	c3, err := f.Accept(o, NewWallet(46))
	if err != nil || c3.Superseded != 2 {
		t.Fatalf("endorse offer: %+v %v", c3, err)
	}
	// A suspended permit cannot be endorsed.
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, p.Number, issuer.Suspend, "check", f.Clock()); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Svc.Endorse(ctx, f.Officer, p.Number, f.Clock())
	wantRefusal(t, err, "permit_suspended")
}

func testBulk(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	var nos []string
	for n := range 6 {
		p, _ := f.Issued(n, NewWallet(byte(50+n)))
		nos = append(nos, p.Number)
	}
	revoked := nos[2]
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, revoked, issuer.Revoke, "x", f.Clock()); err != nil {
		t.Fatal(err)
	}
	list := append(append([]string(nil), nos...), "330106269999999")
	f.Advance(340 * 24 * time.Hour)
	// Two lines, then an interruption, then the whole list again from 0:
	// nothing is endorsed twice.
	res, job, err := f.Svc.EndorseBatch(ctx, f.Officer, "job1", 0, list[:2], f.Clock())
	if err != nil || len(res) != 2 || !res[0].Endorsed || job.Done != 2 {
		t.Fatalf("first batch: %+v %+v %v", res, job, err)
	}
	res, job, err = f.Svc.EndorseBatch(ctx, f.Officer, "job1", 0, list, f.Clock())
	if err != nil || len(res) != len(list)-2 || job.Done != len(list) || job.Endorsed != 5 || job.Skipped != 2 {
		t.Fatalf("resumed: %d results, %+v, %v", len(res), job, err)
	}
	for _, r := range res {
		switch r.PermitNo {
		case revoked:
			if r.Endorsed || r.Code != "permit_revoked" {
				t.Errorf("revoked permit: %+v", r)
			}
		case "330106269999999":
			if r.Endorsed || r.Code != "not_found" {
				t.Errorf("unknown permit: %+v", r)
			}
		default:
			if !r.Endorsed {
				t.Errorf("%s not endorsed: %+v", r.PermitNo, r)
			}
		}
	}
	if _, _, err := f.Svc.EndorseBatch(ctx, f.Officer, "job1", 20, list, f.Clock()); err == nil {
		t.Fatal("a job went on past a gap")
	}
	// A second job over the same list endorses nothing again.
	res, job, _ = f.Svc.EndorseBatch(ctx, f.Officer, "job2", 0, list, f.Clock())
	if job.Endorsed != 0 {
		t.Fatalf("second job endorsed %d: %+v", job.Endorsed, res)
	}
}

func testTokens(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	first, err := f.Svc.Bootstrap(ctx, f.Clock())
	if err != nil || !strings.HasPrefix(first, issuer.TokenPrefix) {
		t.Fatalf("bootstrap: %q %v", first, err)
	}
	if again, _ := f.Svc.Bootstrap(ctx, f.Clock()); again != "" {
		t.Fatal("a second first administrator")
	}
	admin, err := f.Svc.Authenticate(ctx, first, f.Clock())
	if err != nil || admin.Role != issuer.RoleAdmin {
		t.Fatalf("first admin: %+v %v", admin, err)
	}
	sec, tok, err := f.Svc.CreateToken(ctx, admin, issuer.NewToken{Role: issuer.RoleOfficer, Name: "counter 3", Authority: "hz", TTL: 48 * time.Hour}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Svc.Authenticate(ctx, sec, f.Clock())
	if err != nil || got.ID != tok.ID || got.Authority != "hz" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	f.Advance(49 * time.Hour)
	if _, err := f.Svc.Authenticate(ctx, sec, f.Clock()); !errors.Is(err, issuer.ErrUnauthorized) {
		t.Fatalf("expired token: %v", err)
	}
	sec2, tok2, _ := f.Svc.CreateToken(ctx, admin, issuer.NewToken{Role: issuer.RoleRevoker, Name: "rev"}, f.Clock())
	if _, err := f.Svc.RevokeToken(ctx, admin, tok2.ID, f.Clock()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Authenticate(ctx, sec2, f.Clock()); !errors.Is(err, issuer.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := f.Svc.RevokeToken(ctx, admin, tok2.ID, f.Clock()); err == nil {
		t.Fatal("revoked twice")
	}
	// A limited administrator makes and sees its authority's tokens only.
	_, _, err = f.Svc.CreateToken(ctx, f.HzAdmin, issuer.NewToken{Role: issuer.RoleOfficer, Name: "x", Authority: "nb"}, f.Clock())
	if !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("hz admin made an nb token: %v", err)
	}
	_, _, err = f.Svc.CreateToken(ctx, f.HzAdmin, issuer.NewToken{Role: issuer.RoleOfficer, Name: "x"}, f.Clock())
	if !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("hz admin made a provincial token: %v", err)
	}
	list, _ := f.Svc.Tokens(ctx, f.HzAdmin)
	if len(list) != 1 || list[0].ID != tok.ID {
		t.Fatalf("hz admin's list: %+v", list)
	}
	if _, err := f.Svc.RevokeToken(ctx, f.HzAdmin, tok2.ID, f.Clock()); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("hz admin revoked a provincial token: %v", err)
	}
	all, _ := f.Svc.Tokens(ctx, admin)
	if len(all) != 3 {
		t.Fatalf("%d tokens", len(all))
	}
	for _, bad := range []issuer.NewToken{{Role: "root", Name: "x"}, {Role: issuer.RoleOfficer, Name: ""}, {Role: issuer.RoleOfficer, Name: "a\u202eb"},
		{Role: issuer.RoleOfficer, Name: "x", Authority: "gz"}, {Role: issuer.RoleOfficer, Name: "x", TTL: 10 * 365 * 24 * time.Hour}} {
		if _, _, err := f.Svc.CreateToken(ctx, admin, bad, f.Clock()); !errors.Is(err, issuer.ErrInvalidRequest) {
			t.Errorf("token %+v: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "ept_", "Bearer x", strings.Repeat("e", 500)} {
		if _, err := f.Svc.Authenticate(ctx, bad, f.Clock()); !errors.Is(err, issuer.ErrUnauthorized) {
			t.Errorf("secret %q: %v", bad, err)
		}
	}
}

func testSearch(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	a, _ := f.Submit(1, "", nil)
	p, _ := f.Approve(a.ID)
	b, _ := f.Submit(1, "330203", nil) // the same person in Ningbo, pending
	hits, err := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{CitizenID: strings.ToLower(CitizenID(1))}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, h := range hits {
		kinds = append(kinds, h.Kind+":"+h.ID)
	}
	sort.Strings(kinds)
	if want := []string{"application:" + b.ID, "permit:" + p.Number}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("hits %v, want %v", kinds, want)
	}
	hits, _ = f.Svc.Search(ctx, f.HzOfficer, issuer.SearchQuery{CitizenID: CitizenID(1)}, f.Clock())
	if len(hits) != 1 || hits[0].ID != p.Number {
		t.Fatalf("hz officer's hits: %+v", hits)
	}
	hits, _ = f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{PermitNo: p.Number}, f.Clock())
	if len(hits) != 1 {
		t.Fatalf("by number: %+v", hits)
	}
	hits, _ = f.Svc.Search(ctx, f.NbOfficer, issuer.SearchQuery{PermitNo: p.Number}, f.Clock())
	if len(hits) != 0 {
		t.Fatalf("nb officer found a hz permit: %+v", hits)
	}
	if _, err := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{CitizenID: "123"}, f.Clock()); !errors.Is(err, issuer.ErrInvalidRequest) {
		t.Fatalf("bad ID: %v", err)
	}
	if _, err := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{PermitNo: "x", ApplicationID: "y"}, f.Clock()); !errors.Is(err, issuer.ErrInvalidRequest) {
		t.Fatalf("two fields: %v", err)
	}
	// The search is audited, with the number masked.
	es, _ := f.Svc.Audit(ctx, f.Auditor, 0, 1000)
	found := false
	for _, e := range es {
		if e.Action == "search" && strings.HasPrefix(e.Subject, "person:") {
			found = true
			if strings.Contains(e.Subject, CitizenID(1)) {
				t.Fatal("the audit log holds the full ID searched for")
			}
		}
	}
	if !found {
		t.Fatal("the search is not audited")
	}
}

func testAudit(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	p, _ := f.Issued(1, NewWallet(47))
	f.Issued(2, NewWallet(48))
	nb, _ := f.Submit(3, "330203", nil)
	if _, err := f.Svc.Permit(ctx, f.Officer, p.Number, f.Clock()); err != nil {
		t.Fatal(err)
	}
	all, err := f.Svc.Audit(ctx, f.Auditor, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range all {
		actions[e.Action]++
	}
	for _, want := range []string{"application.submit", "permit.approve", "credential.issue", "permit.read", "status_list.open"} {
		if actions[want] == 0 {
			t.Errorf("no %s entry: %v", want, actions)
		}
	}
	hz, _ := f.Svc.Audit(ctx, f.HzAuditor, 0, 1000)
	for _, e := range hz {
		if e.Detail["authority"] != "hz" {
			t.Fatalf("hz auditor sees %+v", e)
		}
	}
	if len(hz) == 0 || len(hz) >= len(all) {
		t.Fatalf("hz auditor sees %d of %d", len(hz), len(all))
	}
	for _, e := range hz {
		if strings.Contains(e.Subject, nb.ID) {
			t.Fatal("hz auditor sees Ningbo's application")
		}
	}
	page, _ := f.Svc.Audit(ctx, f.Auditor, 3, 2)
	if len(page) != 2 || page[0].Seq != 4 {
		t.Fatalf("page: %+v", page)
	}
	if _, err := f.Svc.Audit(ctx, f.Officer, 0, 10); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("officer read the audit log: %v", err)
	}
	cp, err := f.Svc.Checkpoint(ctx)
	if err != nil || cp.Seq != uint64(len(all)) {
		t.Fatalf("checkpoint %+v: %v (log of %d)", cp, err, len(all))
	}
	r, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), &cp)
	if err != nil || r.Entries != uint64(len(all)) || r.Unsealed != 0 || r.Checkpoints < 2 {
		t.Fatalf("verify: %+v %v", r, err)
	}
	for _, e := range all {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// testAuditTampering rewrites the log through the storage, as someone with
// the store file would, and checks that verification says how.
func testAuditTampering(t *testing.T, h Harness) {
	setup := func(t *testing.T) (*Fixture, issuer.Checkpoint) {
		f := NewFixture(t, h)
		for n := range 3 {
			f.Issued(n, NewWallet(byte(60+n)))
		}
		cp, err := f.Svc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f, cp
	}
	entries := func(f *Fixture) []audit.Entry {
		es, err := f.Svc.Audit(ctx, f.Auditor, 0, 10000)
		if err != nil {
			f.T.Fatal(err)
		}
		return es
	}
	rewrite := func(f *Fixture, es []audit.Entry) {
		err := f.St.Update(ctx, func(tx issuer.Tx) error {
			var keys [][]byte
			for _, b := range []issuer.Bucket{issuer.BucketAudit, issuer.BucketAuditIndex} {
				if err := tx.Scan(b, nil, nil, false, func(k, _ []byte) (bool, error) {
					keys = append(keys, append([]byte{byte(len(b))}, k...))
					return true, nil
				}); err != nil {
					return err
				}
			}
			for _, k := range keys {
				b := issuer.BucketAudit
				if int(k[0]) == len(issuer.BucketAuditIndex) {
					b = issuer.BucketAuditIndex
				}
				if err := tx.Delete(b, k[1:]); err != nil {
					return err
				}
			}
			var prev *audit.Entry
			for _, e := range es {
				next, err := audit.Chain(prev, e)
				if err != nil {
					return err
				}
				data, _ := audit.Marshal(next)
				if err := tx.Put(issuer.BucketAudit, binary.BigEndian.AppendUint64(nil, next.Seq), data); err != nil {
					return err
				}
				prev = &next
			}
			head := []byte{}
			if prev != nil {
				head = append(binary.BigEndian.AppendUint64(nil, prev.Seq), prev.Hash...)
			}
			return tx.Put(issuer.BucketMeta, []byte("audit_head"), head)
		})
		if err != nil {
			f.T.Fatal(err)
		}
	}
	wantReason := func(t *testing.T, err error, reason string) {
		t.Helper()
		var ae *issuer.AuditError
		if !errors.As(err, &ae) || ae.Reason != reason {
			t.Fatalf("verify: %v, want %s", err, reason)
		}
	}
	t.Run("ChangedEntry", func(t *testing.T) {
		f, _ := setup(t)
		es := entries(f)
		err := f.St.Update(ctx, func(tx issuer.Tx) error {
			e := es[4]
			e.Subject = "permit:forged"
			data, _ := audit.Marshal(e)
			return tx.Put(issuer.BucketAudit, binary.BigEndian.AppendUint64(nil, e.Seq), data)
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil)
		wantReason(t, err, issuer.AuditBroken)
	})
	t.Run("Rechained", func(t *testing.T) {
		f, _ := setup(t)
		es := entries(f)
		es = append(es[:3], es[4:]...) // delete an entry and re-chain the rest
		rewrite(f, es)
		_, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil)
		wantReason(t, err, issuer.AuditRewritten)
	})
	t.Run("Truncated", func(t *testing.T) {
		f, _ := setup(t)
		es := entries(f)
		rewrite(f, es[:len(es)-2])
		_, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil)
		wantReason(t, err, issuer.AuditTruncated)
	})
	t.Run("RolledBack", func(t *testing.T) {
		f, cp := setup(t)
		// The whole store goes back to before the last checkpoint: entries
		// and checkpoints agree, but an auditor saw a later checkpoint.
		es := entries(f)
		rewrite(f, es[:5])
		err := f.St.Update(ctx, func(tx issuer.Tx) error {
			var ks [][]byte
			_ = tx.Scan(issuer.BucketCheckpoints, nil, nil, false, func(k, _ []byte) (bool, error) {
				if binary.BigEndian.Uint64(k) > 5 {
					ks = append(ks, append([]byte(nil), k...))
				}
				return true, nil
			})
			for _, k := range ks {
				if err := tx.Delete(issuer.BucketCheckpoints, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil); err != nil {
			t.Fatalf("without the auditor's last checkpoint the rollback is consistent: %v", err)
		}
		_, err = issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), &cp)
		wantReason(t, err, issuer.AuditRolledBack)
	})
	t.Run("OtherKey", func(t *testing.T) {
		f, _ := setup(t)
		_, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(testKey(10).Public().(ed25519.PublicKey)), nil)
		wantReason(t, err, issuer.AuditBadSig)
	})
}

func testEncrypted(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	photo := bytes.Repeat([]byte("PHOTO-BYTES-"), 40)
	a, _ := f.Submit(1, "", photo)
	f.Approve(a.ID)
	b, _ := f.Submit(2, "", photo)
	p3, _ := f.Issued(3, NewWallet(70))
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, p3.Number, issuer.Revoke, "x", f.Clock()); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		var buf bytes.Buffer
		if _, err := f.St.Snapshot(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 3; n++ {
			form := f.Form(n, "")
			for _, secret := range []string{form.CitizenID, form.Name, form.ResidenceAddress, form.HouseholdAddress, string(photo[:24]), b64(photo[:24])} {
				if bytes.Contains(buf.Bytes(), []byte(secret)) {
					t.Errorf("%s: the store holds %q of person %d in clear", stage, secret, n)
				}
			}
		}
	}
	check("before deletion")
	if _, err := f.Svc.Reject(ctx, f.Officer, b.ID, []string{"no"}, f.Clock()); err != nil {
		t.Fatal(err)
	}
	check("after deletion")
}

func testShredBackup(t *testing.T, h Harness) {
	if h.DataKeys != nil {
		// Data keys kept in the storage travel with its backups: the limit
		// docs/security.md states and issuer's TestShreddingLimits shows.
		t.Skip("the data keys live in the storage, so a backup holds them")
	}
	f := NewFixture(t, h)
	a, _ := f.Submit(1, "", []byte("a photo of person one"))
	keep, _ := f.Submit(2, "", nil)
	var before bytes.Buffer
	if _, err := f.St.Snapshot(ctx, &before); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Reject(ctx, f.Officer, a.ID, []string{"no"}, f.Clock()); err != nil {
		t.Fatal(err)
	}
	// Restore the backup taken before the deletion into a new store, with
	// the same keys: the rejected form is gone, the other is readable.
	dst := h.New(t)
	if _, err := issuer.Restore(ctx, dst, bytes.NewReader(before.Bytes())); err != nil {
		t.Fatal(err)
	}
	restored := f.service(dst)
	if _, err := restored.Application(ctx, f.Officer, a.ID, f.Clock()); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("the shredded form from an old backup: %v", err)
	}
	if _, _, err := restored.ApplicationPhoto(ctx, f.Officer, a.ID, f.Clock()); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("the shredded photo from an old backup: %v", err)
	}
	v, err := restored.Application(ctx, f.Officer, keep.ID, f.Clock())
	if err != nil || v.Particulars.CitizenID != CitizenID(2) {
		t.Fatalf("another record of the old backup: %v", err)
	}
	if _, err := issuer.Restore(ctx, dst, bytes.NewReader(before.Bytes())); !errors.Is(err, issuer.ErrNotEmpty) {
		t.Fatalf("restore into a used store: %v", err)
	}
}

func testRetention(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	p, _ := f.Issued(1, NewWallet(71))
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, p.Number, issuer.Revoke, "moved away", f.Clock()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Svc.SweepRetention(ctx, f.Clock(), 100); n != 0 {
		t.Fatal("shredded before the retention period")
	}
	v, _ := f.Svc.Permit(ctx, f.Officer, p.Number, f.Clock())
	if v.Particulars == nil || v.ShredDue.IsZero() {
		t.Fatalf("revoked permit: %+v", v)
	}
	f.Advance(2*365*24*time.Hour + time.Hour)
	if n, err := f.Svc.SweepRetention(ctx, f.Clock(), 100); err != nil || n != 1 {
		t.Fatalf("swept %d: %v", n, err)
	}
	v, err := f.Svc.Permit(ctx, f.Officer, p.Number, f.Clock())
	if err != nil || v.Particulars != nil || !v.Shredded || v.MaskedID == "" || len(v.History) == 0 {
		t.Fatalf("after retention: %+v %v", v, err)
	}
	hits, _ := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{CitizenID: CitizenID(1)}, f.Clock())
	if len(hits) != 0 {
		t.Fatalf("the citizen ID still finds the shredded permit: %+v", hits)
	}
}

func testConcurrentIssuance(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	const n = 24
	offers := make([]issuer.OfferGrant, n)
	for i := range offers {
		a, _ := f.Submit(i, "", nil)
		_, offers[i] = f.Approve(a.ID)
	}
	var wg sync.WaitGroup
	refs := make([]statuslist.Reference, n)
	for i := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.Accept(offers[i], NewWallet(byte(100+i)))
			if err != nil {
				t.Error(err)
				return
			}
			refs[i], _ = f.CredentialRef(c.Credential)
		}()
	}
	wg.Wait()
	seen := map[statuslist.Reference]bool{}
	for _, r := range refs {
		if seen[r] {
			t.Fatalf("status entry %v given twice", r)
		}
		seen[r] = true
	}
}

func testConcurrentApprovals(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	a, _ := f.Submit(1, "", nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.Svc.Approve(ctx, f.Officer, a.ID, f.Clock()); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, issuer.ErrStateConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d approvals of one application", ok)
	}
}

// testReplicas runs two services on one storage, as two replicas would.
func testReplicas(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	other := f.service(f.St)
	svcs := []*issuer.Service{f.Svc, other}
	const n = 20
	var wg sync.WaitGroup
	refs := make([]statuslist.Reference, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := svcs[i%2]
			a, _, err := svc.Submit(ctx, issuer.Submission{Form: f.Form(i, "")}, f.Clock())
			if err != nil {
				t.Error(err)
				return
			}
			_, o, err := svcs[(i+1)%2].Approve(ctx, f.Officer, a.ID, f.Clock())
			if err != nil {
				t.Error(err)
				return
			}
			r, err := svc.RedeemOffer(ctx, o.Code, f.Clock())
			if err != nil {
				t.Error(err)
				return
			}
			c, err := svcs[(i+1)%2].IssueCredential(ctx, r.AccessToken, issuer.Proof{Holder: NewWallet(byte(i)).JWK(), Nonce: r.Nonce}, f.Clock())
			if err != nil {
				t.Error(err)
				return
			}
			refs[i], _ = f.CredentialRef(c.Credential)
		}()
	}
	wg.Wait()
	seen := map[statuslist.Reference]bool{}
	for _, r := range refs {
		if seen[r] {
			t.Fatalf("status entry %v given twice by two replicas", r)
		}
		seen[r] = true
	}
	if _, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil); err != nil {
		t.Fatalf("the audit chain of two replicas: %v", err)
	}
}

func testBackup(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	f.Issued(1, NewWallet(72))
	file, size, err := f.Svc.Backup(ctx, f.Admin, t.TempDir(), f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	dst := h.New(t)
	n, err := issuer.Restore(ctx, dst, file)
	if err != nil || n == 0 || size == 0 {
		t.Fatalf("restore %d records of %d bytes: %v", n, size, err)
	}
	d1, err := issuer.Digest(ctx, f.St)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := issuer.Digest(context.Background(), dst)
	// The source has one more audit entry: the backup's own.
	for _, b := range issuer.Buckets {
		if b == issuer.BucketAudit || b == issuer.BucketMeta || b == issuer.BucketAuditIndex || b == issuer.BucketCheckpoints {
			continue
		}
		if d1[b] != d2[b] {
			t.Errorf("bucket %s differs after restore: %+v vs %+v", b, d1[b], d2[b])
		}
	}
}

// TestStorageKeys runs the vault over data keys kept in the storage.
func TestStorageKeys(t *testing.T, h Harness) {
	st := h.New(t)
	keys := issuer.StorageKeys{St: st}
	h.DataKeys = func(*testing.T, issuer.Storage) vault.KeyStore { return keys }
	kek, err := vault.LoadFileKEK(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	v := vault.New(kek, keys, nil)
	k, err := v.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := k.Seal("r", []byte("x"))
	if _, err := v.Key(99); !errors.Is(err, vault.ErrNoKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := kek.Rotate(); err != nil {
		t.Fatal(err)
	}
	if n, err := v.Rewrap(); err != nil || n != 1 {
		t.Fatalf("rewrap %d: %v", n, err)
	}
	k2, err := v.Key(k.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open("r", ct); err != nil || string(pt) != "x" {
		t.Fatal(err)
	}
	if err := v.Shred(k.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Key(k.Ref()); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("shredded key: %v", err)
	}
	t.Run("Service", func(t *testing.T) {
		h2 := h
		h2.DataKeys = func(t *testing.T, st issuer.Storage) vault.KeyStore { return issuer.StorageKeys{St: st} }
		TestService(t, h2)
	})
}
