package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/vault"
)

// TestSeed checks the bulk load of [issuer.Service.Seed] over the storage
// of h: permits seeded in one batch read, search, change state, endorse and
// re-issue as permits made through the API do, and a batch that breaks a
// rule writes nothing. It runs with the data keys in a slot file and in
// the storage ([issuer.StorageKeys], whose AddBatch it uses).
func TestSeed(t *testing.T, h Harness) {
	t.Run("SlotFile", func(t *testing.T) { testSeed(t, h) })
	t.Run("StorageKeys", func(t *testing.T) {
		h2 := h
		h2.DataKeys = func(t *testing.T, st issuer.Storage) vault.KeyStore { return issuer.StorageKeys{St: st} }
		testSeed(t, h2)
	})
}

// seedBatch returns SeedPermits for persons first..first+n-1, approved a
// day before the clock, in Hangzhou, Ningbo and Wenzhou in turn.
func (f *Fixture) seedBatch(first, n int) []issuer.SeedPermit {
	divs := []string{"330106", "330203", "330302"}
	now := f.Clock()
	out := make([]issuer.SeedPermit, n)
	for i := range out {
		p := first + i
		out[i] = issuer.SeedPermit{Form: f.Form(p, divs[p%len(divs)]), Submitted: now.Add(-72 * time.Hour),
			Approved: now.Add(-48 * time.Hour), Issued: now.Add(-47 * time.Hour), Holder: NewWallet(byte(p)).JWK(),
			State: issuer.PermitActive}
	}
	return out
}

func testSeed(t *testing.T, h Harness) {
	f := NewFixture(t, h)
	batch := f.seedBatch(0, 30)
	batch[3].State, batch[3].Changed, batch[3].Reason = issuer.PermitRevoked, f.Clock().Add(-time.Hour), "left the city"
	batch[4].State, batch[4].Changed, batch[4].Reason = issuer.PermitSuspended, f.Clock().Add(-time.Hour), "under review"
	batch[5].Photo, batch[5].PhotoType = []byte("\x89PNG fake photo"), "image/png"
	batch[6].Number = batch[6].Form.ResidenceDivision.String() + fmt.Sprint(batch[6].Approved.Year()%100) + "SEED01"
	if _, _, err := f.Svc.Seed(ctx, f.Officer, "load", 0, batch, f.Clock()); !errors.Is(err, issuer.ErrForbidden) {
		t.Fatalf("an officer seeded: %v", err)
	}
	seeded, job, err := f.Svc.Seed(ctx, f.Admin, "load", 0, batch[:20], f.Clock())
	if err != nil || len(seeded) != 20 || job.Done != 20 || job.Kind != "seed" {
		t.Fatalf("%d seeded, %+v, %v", len(seeded), job, err)
	}
	// Resumed from line 10 (as after a crash before the progress was
	// read back): lines 10-19 are skipped, not written twice.
	rest, job, err := f.Svc.Seed(ctx, f.Admin, "load", 10, batch[10:], f.Clock())
	if err != nil || len(rest) != 10 || rest[0].Line != 20 || job.Done != 30 {
		t.Fatalf("resumed: %d seeded from line %d, %+v, %v", len(rest), rest[0].Line, job, err)
	}
	seeded = append(seeded, rest...)
	if again, job, err := f.Svc.Seed(ctx, f.Admin, "load", 0, batch, f.Clock()); err != nil || len(again) != 0 || job.Done != 30 {
		t.Fatalf("the whole job again: %d seeded, %+v, %v", len(again), job, err)
	}
	if _, _, err := f.Svc.Seed(ctx, f.Admin, "load", 31, batch[:1], f.Clock()); !errors.Is(err, issuer.ErrInvalidRequest) {
		t.Fatalf("a gap in the job: %v", err)
	}
	if seeded[6].PermitNo != batch[6].Number {
		t.Fatalf("given number %s seeded as %s", batch[6].Number, seeded[6].PermitNo)
	}
	for i, sd := range seeded {
		want := map[int]string{0: "hz", 1: "nb", 2: "zj"}[i%3]
		if sd.Authority != want || !permit.ValidNumber(sd.PermitNo) || sd.PermitNo[:6] != batch[i].Form.ResidenceDivision.String() {
			t.Fatalf("item %d: %+v", i, sd)
		}
		v, err := f.Svc.Permit(ctx, f.Officer, sd.PermitNo, f.Clock())
		if err != nil {
			t.Fatal(err)
		}
		if v.Particulars == nil || v.Particulars.Name != batch[i].Form.Name || v.Particulars.CitizenID != batch[i].Form.CitizenID ||
			v.Application != sd.Application || len(v.Credentials) != 1 || v.Credentials[0].HolderKid != NewWallet(byte(i)).Kid() {
			t.Fatalf("item %d reads back as %+v", i, v)
		}
		hits, err := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{CitizenID: batch[i].Form.CitizenID}, f.Clock())
		if err != nil || len(hits) != 1 || hits[0].ID != sd.PermitNo || hits[0].State != string(batch[i].State) {
			t.Fatalf("item %d: search %+v %v", i, hits, err)
		}
		wantSt := map[issuer.PermitState]statuslist.Status{issuer.PermitActive: statuslist.Valid,
			issuer.PermitSuspended: statuslist.Suspended, issuer.PermitRevoked: statuslist.Invalid}[batch[i].State]
		if st := f.Status(statuslist.Reference{URI: f.Svc.StatusURI(sd.StatusList), Idx: sd.StatusIdx}); st != wantSt {
			t.Fatalf("item %d (%s): status %v", i, batch[i].State, st)
		}
		if v.Credentials[0].StatusIdx != sd.StatusIdx || v.Credentials[0].StatusList != f.Svc.StatusURI(sd.StatusList) {
			t.Fatalf("item %d: credential %+v, seeded %+v", i, v.Credentials[0], sd)
		}
		pv, _ := f.Svc.Permit(ctx, f.Auditor, sd.PermitNo, f.Clock())
		if pv.HasPhoto != (i == 5) {
			t.Fatalf("item %d: has photo %v", i, pv.HasPhoto)
		}
	}
	photo, _, err := f.Svc.Photo(ctx, f.Officer, seeded[5].PermitNo, f.Clock())
	if err != nil || string(photo) != "\x89PNG fake photo" {
		t.Fatalf("photo %q %v", photo, err)
	}
	evs, _, err := f.Svc.StatusEvents(ctx, nil, 100)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d status events: %v", len(evs), err)
	}

	// The rules go on over seeded permits: a new application of a holder is
	// flagged and cannot be approved; the revoked person's can.
	a, _, err := f.Svc.Submit(ctx, issuer.Submission{Form: f.Form(0, "330106")}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	av, err := f.Svc.Application(ctx, f.Officer, a.ID, f.Clock())
	if err != nil || len(av.Flags) != 1 || av.Flags[0].Code != "holds_permit" || av.Flags[0].PermitNo != seeded[0].PermitNo {
		t.Fatalf("flags %+v %v", av.Flags, err)
	}
	_, _, err = f.Svc.Approve(ctx, f.Officer, a.ID, f.Clock())
	wantRefusal(t, err, "duplicate_permit")
	a3, _, err := f.Svc.Submit(ctx, issuer.Submission{Form: f.Form(3, "330106")}, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if av, _ := f.Svc.Application(ctx, f.Officer, a3.ID, f.Clock()); len(av.Flags) != 1 || av.Flags[0].Code != "past_permit" {
		t.Fatalf("revoked person's flags %+v", av.Flags)
	}
	if _, _, err := f.Svc.Approve(ctx, f.Officer, a3.ID, f.Clock()); err != nil {
		t.Fatalf("a new permit after a seeded revocation: %v", err)
	}
	_, err = f.Svc.SetStatus(ctx, f.Revoker, seeded[3].PermitNo, issuer.Suspend, "x", f.Clock())
	wantRefusal(t, err, "permit_revoked")
	if _, err := f.Svc.SetStatus(ctx, f.Revoker, seeded[4].PermitNo, issuer.Reinstate, "checked", f.Clock()); err != nil {
		t.Fatal(err)
	}
	// Re-issue supersedes the seeded credential's entry.
	_, o, err := f.Svc.Reissue(ctx, f.Officer, seeded[1].PermitNo, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Accept(o, NewWallet(99))
	if err != nil || c.Superseded != 1 {
		t.Fatalf("re-issue: %+v %v", c, err)
	}
	if st := f.Status(statuslist.Reference{URI: f.Svc.StatusURI(seeded[1].StatusList), Idx: seeded[1].StatusIdx}); st != statuslist.Superseded {
		t.Fatalf("seeded credential after re-issue: %v", st)
	}
	// The yearly endorsement, in bulk.
	r0, err := f.Svc.Permit(ctx, f.Auditor, seeded[0].PermitNo, f.Clock())
	if err != nil {
		t.Fatal(err)
	}
	f.Advance(340 * 24 * time.Hour)
	var nos []string
	for _, sd := range seeded {
		nos = append(nos, sd.PermitNo)
	}
	// A line listed twice is endorsed once: the second is refused as early.
	nos = append(nos, nos[0])
	res, ej, err := f.Svc.EndorseBatch(ctx, f.Officer, "seeded", 0, nos, f.Clock())
	if err != nil || ej.Endorsed != len(nos)-2 || ej.Skipped != 2 {
		t.Fatalf("endorse: %+v %v", ej, err)
	}
	if r := res[len(res)-1]; r.Endorsed || r.Code != "endorsement_too_early" || !res[0].Endorsed || res[0].ValidUntil != r0.ValidUntil.AddMonths(12) {
		t.Fatalf("the line listed twice: %+v, first %+v", r, res[0])
	}
	// The audit log holds every step and verifies.
	if _, err := f.Svc.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil)
	if err != nil {
		t.Fatal(err)
	}
	if min := uint64(3*len(batch) + 2 + 1); r.Entries < min {
		t.Fatalf("%d audit entries, want at least %d", r.Entries, min)
	}
	entries, err := f.Svc.Audit(ctx, f.Auditor, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	for action, n := range map[string]int{"application.submit": 30 + 2, "permit.approve": 30 + 1, "credential.issue": 30 + 1,
		"permit.revoke": 1, "permit.suspend": 1, "permits.seed": 2} {
		if actions[action] != n {
			t.Errorf("%d audit entries %s, want %d", actions[action], action, n)
		}
	}

	// A batch that breaks a rule writes nothing.
	f2 := f.seedBatch(100, 4)
	for name, tc := range map[string]struct {
		change func(b []issuer.SeedPermit)
		is     error
	}{
		"holds a permit":  {func(b []issuer.SeedPermit) { b[2].Form = f.Form(0, "330106") }, issuer.ErrStateConflict},
		"twice in batch":  {func(b []issuer.SeedPermit) { b[2].Form = b[1].Form }, issuer.ErrStateConflict},
		"not eligible":    {func(b []issuer.SeedPermit) { b[2].Form.HouseholdDivision = "330102" }, issuer.ErrStateConflict},
		"invalid form":    {func(b []issuer.SeedPermit) { b[2].Form.CitizenID = "11010519800101001" }, permit.ErrInvalidApplication},
		"in the future":   {func(b []issuer.SeedPermit) { b[2].Issued = f.Clock().Add(time.Hour) }, issuer.ErrInvalidRequest},
		"no reason":       {func(b []issuer.SeedPermit) { b[2].State, b[2].Changed = issuer.PermitRevoked, f.Clock() }, issuer.ErrInvalidRequest},
		"unknown state":   {func(b []issuer.SeedPermit) { b[2].State = "lost" }, issuer.ErrInvalidRequest},
		"no authority":    {func(b []issuer.SeedPermit) { b[2].Form.ResidenceDivision = "320102" }, issuer.ErrInvalidRequest},
		"no holder key":   {func(b []issuer.SeedPermit) { b[2].Holder.X = "" }, issuer.ErrInvalidRequest},
		"digest no photo": {func(b []issuer.SeedPermit) { b[2].Form.PhotoSHA256 = permit.PhotoDigest([]byte("x")) }, issuer.ErrInvalidRequest},
		"number taken":    {func(b []issuer.SeedPermit) { b[2].Number = batch[6].Number }, issuer.ErrStateConflict},
		"number twice":    {func(b []issuer.SeedPermit) { b[1].Number, b[2].Number = "33010626SEED02", "33010626SEED02" }, issuer.ErrStateConflict},
		"bad number":      {func(b []issuer.SeedPermit) { b[2].Number = "33010699SEED03" }, issuer.ErrStateConflict},
	} {
		b := append([]issuer.SeedPermit(nil), f2...)
		tc.change(b)
		if _, _, err := f.Svc.Seed(ctx, f.Admin, "refused "+name, 0, b, f.Clock()); !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", name, err, tc.is)
		}
		for i := range b {
			if i == 2 {
				continue
			}
			hits, err := f.Svc.Search(ctx, f.Officer, issuer.SearchQuery{CitizenID: b[i].Form.CitizenID}, f.Clock())
			if err != nil || len(hits) != 0 {
				t.Fatalf("%s: item %d was written: %+v %v", name, i, hits, err)
			}
		}
	}
	// The same batch, fixed, goes in.
	if s, _, err := f.Svc.Seed(ctx, f.Admin, "fixed", 0, f2, f.Clock()); err != nil || len(s) != 4 {
		t.Fatalf("seed after refusals: %d, %v", len(s), err)
	}
	if _, err := f.Svc.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := issuer.VerifyAudit(ctx, f.St, keys.Thumbprint(f.AuditPK), nil); err != nil {
		t.Fatal(fmt.Errorf("after refused batches: %w", err))
	}
}
