package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

type permitT = permit.Permit

func TestSetStatusTransitions(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	// setup brings a fresh active permit to a state.
	setup := map[PermitState][]Action{
		PermitActive:    nil,
		PermitSuspended: {Suspend},
		PermitRevoked:   {Revoke},
	}
	type want struct {
		state  PermitState
		status statuslist.Status
		code   string // conflict code when refused
	}
	tests := []struct {
		from   PermitState
		action Action
		want   want
	}{
		{PermitActive, Revoke, want{PermitRevoked, statuslist.Invalid, ""}},
		{PermitActive, Suspend, want{PermitSuspended, statuslist.Suspended, ""}},
		{PermitActive, Reinstate, want{PermitActive, statuslist.Valid, "permit_active"}},
		{PermitSuspended, Revoke, want{PermitRevoked, statuslist.Invalid, ""}},
		{PermitSuspended, Suspend, want{PermitSuspended, statuslist.Suspended, "permit_suspended"}},
		{PermitSuspended, Reinstate, want{PermitActive, statuslist.Valid, ""}},
		{PermitRevoked, Revoke, want{PermitRevoked, statuslist.Invalid, "permit_revoked"}},
		{PermitRevoked, Suspend, want{PermitRevoked, statuslist.Invalid, "permit_revoked"}},
		{PermitRevoked, Reinstate, want{PermitRevoked, statuslist.Invalid, "permit_revoked"}},
		{PermitActive, Action("delete"), want{PermitActive, statuslist.Valid, "-"}},
		{PermitRevoked, Action(""), want{PermitRevoked, statuslist.Invalid, "-"}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.from, tt.action), func(t *testing.T) {
			rec, _ := issuePermit(t, db, 100+i)
			no := rec.Permit.Number
			for _, a := range setup[tt.from] {
				if _, err := db.SetStatus(no, a, "setup", revoker, testNow); err != nil {
					t.Fatal(err)
				}
			}
			v0 := db.Version(rec.List)
			evs0, seqs0, _ := db.StatusEvents(0, 1<<20)
			audit0 := auditCount(t, db)

			got, err := db.SetStatus(no, tt.action, "reason "+string(tt.action), revoker, testNow)
			switch tt.want.code {
			case "":
				if err != nil {
					t.Fatalf("SetStatus: %v", err)
				}
				if got.State != tt.want.state || got.History[len(got.History)-1].Action != string(tt.action) || got.History[len(got.History)-1].Actor != revoker.Name {
					t.Errorf("record = %+v", got)
				}
			case "-":
				if err == nil || errors.Is(err, ErrConflict) {
					t.Fatalf("unknown action: error = %v, want a non-conflict error", err)
				}
			default:
				wantConflict(t, err, tt.want.code)
			}
			ok := tt.want.code == ""

			stored, err := db.Permit(no)
			if err != nil || stored.State != tt.want.state {
				t.Errorf("stored state = %s (%v), want %s", stored.State, err, tt.want.state)
			}
			l, info, version, err := db.StatusList(rec.List)
			if err != nil {
				t.Fatal(err)
			}
			if info.ID != rec.List || l.Size() != 32768 {
				t.Errorf("list %+v of size %d", info, l.Size())
			}
			if s, _ := l.Get(rec.Idx); s != tt.want.status {
				t.Errorf("status at %d = %v, want %v", rec.Idx, s, tt.want.status)
			}
			wantV := v0
			if ok {
				wantV++
			}
			if version != wantV || db.Version(rec.List) != wantV {
				t.Errorf("version = %d, Version = %d, want %d (was %d)", version, db.Version(rec.List), wantV, v0)
			}
			evs, seqs, err := db.StatusEvents(0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			wantN := len(evs0)
			if ok {
				wantN++
			}
			if len(evs) != wantN {
				t.Fatalf("%d status events, want %d", len(evs), wantN)
			}
			if ok {
				e := evs[len(evs)-1]
				if e.PermitNo != no || e.From != tt.from || e.To != tt.want.state || e.List != rec.List || e.Idx != rec.Idx ||
					e.Reason != "reason "+string(tt.action) || e.Actor != revoker.Name || !e.Time.Equal(testNow) {
					t.Errorf("event = %+v", e)
				}
				if len(seqs0) > 0 && seqs[len(seqs)-1] != seqs0[len(seqs0)-1]+1 {
					t.Errorf("event seq %d after %d", seqs[len(seqs)-1], seqs0[len(seqs0)-1])
				}
			}
			wantAudit := audit0
			if ok {
				wantAudit++
			}
			if n := auditCount(t, db); n != wantAudit {
				t.Errorf("audit entries %d, want %d", n, wantAudit)
			}
		})
	}
	if _, err := db.SetStatus("33010626NOPE00", Revoke, "", revoker, testNow); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetStatus(unknown) error = %v, want ErrNotFound", err)
	}
}

// TestStatusOnlyTouchesItsEntry checks that a change writes one entry and
// leaves its neighbours alone, across chunk boundaries.
func TestStatusOnlyTouchesItsEntry(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	per := 8 * chunkBytes / ListBits
	if _, err := db.OpenList(testAuthority, testNow); err != nil {
		t.Fatal(err)
	}
	id := testAuthority + "-1"
	sets := map[int]statuslist.Status{0: statuslist.Invalid, per - 1: statuslist.Suspended, per: statuslist.Invalid, 32767: statuslist.Suspended, 12345: statuslist.Invalid}
	err := db.b.Update(func(tx *bolt.Tx) error {
		for i, s := range sets {
			if err := setStatus(tx, id, i, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _, _, err := db.StatusList(id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Size() {
		s, _ := l.Get(i)
		if s != sets[i] {
			t.Fatalf("entry %d = %v, want %v", i, s, sets[i])
		}
	}
	if _, _, _, err := db.StatusList("nope-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("StatusList(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestStatusEventsPaging(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	rec, _ := issuePermit(t, db, 1)
	for i := range 3 {
		for _, a := range []Action{Suspend, Reinstate} {
			if _, err := db.SetStatus(rec.Permit.Number, a, fmt.Sprint(i), revoker, testNow); err != nil {
				t.Fatal(err)
			}
		}
	}
	var all []StatusEvent
	for after, pages := uint64(0), 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("paging does not end: after %d pages, at seq %d", pages, after)
		}
		evs, seqs, err := db.StatusEvents(after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(seqs) {
			t.Fatalf("%d events with %d seqs", len(evs), len(seqs))
		}
		if len(evs) == 0 {
			break
		}
		for i, s := range seqs {
			if s != after+uint64(i)+1 {
				t.Fatalf("seq %d after %d", s, after)
			}
		}
		all = append(all, evs...)
		after = seqs[len(seqs)-1]
	}
	if len(all) != 6 {
		t.Fatalf("%d events, want 6", len(all))
	}
	for i, e := range all {
		from, to := PermitActive, PermitSuspended
		if i%2 == 1 {
			from, to = to, from
		}
		if e.From != from || e.To != to {
			t.Errorf("event %d: %s -> %s, want %s -> %s", i, e.From, e.To, from, to)
		}
	}
}

// markAllUsed persists entries as used, as committed approvals do.
func markAllUsed(t *testing.T, db *DB, id string, idx []int) {
	t.Helper()
	err := db.b.Update(func(tx *bolt.Tx) error {
		for _, i := range idx {
			if err := markUsed(tx, id, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListRollover fills the first list through the allocation path
// approvals use, checks that the next allocation opens "<authority>-2", and
// that the used bitmap survives reopening so no index is given twice.
func TestListRollover(t *testing.T) {
	t.Parallel()
	const size = 32768
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()

	alloc := func(n int, wantList string) []int {
		t.Helper()
		out := make([]int, n)
		for k := range out {
			ol, i, err := db.allocate(testAuthority, testNow)
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			if ol.info.ID != wantList {
				t.Fatalf("allocation %d from list %s, want %s", k, ol.info.ID, wantList)
			}
			out[k] = i
		}
		return out
	}
	distinct := func(what string, sets ...[]int) {
		t.Helper()
		seen := map[int]bool{}
		for _, s := range sets {
			for _, i := range s {
				if i < 0 || i >= size || seen[i] {
					t.Fatalf("%s: index %d out of range or given twice", what, i)
				}
				seen[i] = true
			}
		}
	}

	first := alloc(size, testAuthority+"-1")
	distinct("list 1", first)
	markAllUsed(t, db, testAuthority+"-1", first)
	if l, _ := db.Lists(testAuthority); len(l) != 1 {
		t.Fatalf("Lists before rollover = %+v", l)
	}
	// Reopen with list 1 full and no list 2 yet.
	db.Close()
	if db, err = Open(path, testOptions()); err != nil {
		t.Fatal(err)
	}
	if ol := db.alloc[testAuthority]; ol.info.ID != testAuthority+"-1" || ol.alloc.Used() != size {
		t.Fatalf("after reopen: open list %s with %d used, want the full list 1", ol.info.ID, ol.alloc.Used())
	}
	audit0 := auditCount(t, db)
	second := alloc(100, testAuthority+"-2")
	distinct("list 2", second)
	if n := auditCount(t, db); n != audit0+1 {
		t.Errorf("opening list 2 wrote %d audit entries, want 1", n-audit0)
	}
	if v := db.Version(testAuthority + "-2"); v == 0 {
		t.Error("Version of the new list did not grow")
	}
	lists, err := db.Lists(testAuthority)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 2 || lists[0].Seq != 1 || lists[1].Seq != 2 || lists[1].ID != testAuthority+"-2" || lists[1].Size != size || lists[1].Authority != testAuthority {
		t.Fatalf("Lists = %+v", lists)
	}
	if info, err := db.OpenList(testAuthority, testNow); err != nil || info.ID != testAuthority+"-2" {
		t.Errorf("OpenList = %+v, %v", info, err)
	}
	markAllUsed(t, db, testAuthority+"-2", second)
	// Allocated but never committed: free again after a restart.
	alloc(5, testAuthority+"-2")

	db.Close()
	if db, err = Open(path, testOptions()); err != nil {
		t.Fatal(err)
	}
	if l, _ := db.Lists(""); len(l) != 2 || l[1].ID != testAuthority+"-2" {
		t.Fatalf("Lists after reopen = %+v", l)
	}
	if ol := db.alloc[testAuthority]; ol.info.ID != testAuthority+"-2" || ol.alloc.Used() != len(second) {
		t.Fatalf("after reopen: open list %s with %d used, want list 2 with %d", ol.info.ID, ol.alloc.Used(), len(second))
	}
	third := alloc(2000, testAuthority+"-2")
	distinct("list 2 after reopen", second, third)

	// An approval now takes its entry from list 2.
	rec, _ := issuePermit(t, db, 1)
	if rec.List != testAuthority+"-2" {
		t.Errorf("permit in list %s, want %s-2", rec.List, testAuthority)
	}
	distinct("approval", second, third, []int{rec.Idx})
	if _, _, _, err := db.StatusList(rec.List); err != nil {
		t.Error(err)
	}
	// Another authority has lists of its own.
	if info, err := db.OpenList("nb-yinzhou", testNow); err != nil || info.ID != "nb-yinzhou-1" || info.Seq != 1 {
		t.Errorf("OpenList(other authority) = %+v, %v", info, err)
	}
	if _, _, err := db.VerifyAudit(); err != nil {
		t.Error(err)
	}
}

// TestConcurrentApprove approves in parallel, half of the attempts with a
// number already taken, and checks every index is given once and failed
// attempts leak none. Run it with -race.
func TestConcurrentApprove(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	taken, _ := issuePermit(t, db, 0)
	const n = 32
	forms := make([]Application, n)
	tries := make([][]string, n)
	permits := make([]map[string]permitT, n)
	for i := range forms {
		f := personForm(t, i+1)
		forms[i] = submit(t, db, f)
		// Try the taken number first, then a fresh one, as the service does.
		tries[i] = []string{taken.Permit.Number, number(t, f.ResidenceDivision, uint32(i+1))}
		permits[i] = map[string]permitT{}
		for _, no := range tries[i] {
			permits[i][no] = makePermit(t, f, no)
		}
	}
	recs := make([]Permit, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, no := range tries[i] {
				p, err := db.Approve(forms[i].ID, permits[i][no], testCode(fmt.Sprint("c", i)), testNow.Add(1e12), officer, testNow)
				if errors.Is(err, ErrNumberTaken) {
					continue
				}
				recs[i], errs[i] = p, err
				return
			}
		}()
	}
	wg.Wait()
	seen := map[int]bool{taken.Idx: true}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("approve %d: %v", i, err)
		}
		if seen[recs[i].Idx] {
			t.Fatalf("index %d given twice", recs[i].Idx)
		}
		seen[recs[i].Idx] = true
	}
	if used := db.alloc[testAuthority].alloc.Used(); used != n+1 {
		t.Errorf("allocator holds %d indices, want %d", used, n+1)
	}
	if _, _, err := db.VerifyAudit(); err != nil {
		t.Error(err)
	}
}

// TestConcurrentSetStatus changes 64 permits at once; every change must
// commit, with a contiguous, intact audit chain. Run it with -race.
func TestConcurrentSetStatus(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	const n = 64
	recs := make([]Permit, n)
	for i := range recs {
		recs[i], _ = issuePermit(t, db, i)
	}
	list := recs[0].List
	v0 := db.Version(list)
	audit0 := auditCount(t, db)

	actions := []Action{Suspend, Revoke}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = db.SetStatus(recs[i].Permit.Number, actions[i%2], fmt.Sprint("bulk ", i), revoker, testNow)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("SetStatus %d: %v", i, err)
		}
	}
	entries, err := db.Audit(0, 10*n)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(entries)) != audit0+n {
		t.Fatalf("%d audit entries, want %d", len(entries), audit0+n)
	}
	changed := map[string]bool{}
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if uint64(i) >= audit0 {
			changed[e.Subject] = true
		}
	}
	if len(changed) != n {
		t.Errorf("audit names %d distinct permits, want %d", len(changed), n)
	}
	if cnt, _, err := db.VerifyAudit(); err != nil || cnt != audit0+n {
		t.Errorf("VerifyAudit = %d, %v", cnt, err)
	}
	if v := db.Version(list); v != v0+n {
		t.Errorf("Version grew by %d, want %d", v-v0, n)
	}
	l, _, _, err := db.StatusList(list)
	if err != nil {
		t.Fatal(err)
	}
	want := []statuslist.Status{statuslist.Suspended, statuslist.Invalid}
	for i, r := range recs {
		if s, _ := l.Get(r.Idx); s != want[i%2] {
			t.Errorf("permit %d: status %v, want %v", i, s, want[i%2])
		}
	}
	evs, _, _ := db.StatusEvents(0, 10*n)
	if len(evs) != n {
		t.Errorf("%d status events, want %d", len(evs), n)
	}
}

// TestSetStatusReasonText checks that a reason the audit log cannot hold
// (a control character, something shaped like a full citizen identity
// number, too long) leaves the permit as it was. Such reasons are refused
// with an error wrapping audit.ErrInvalid, not a *ConflictError.
func TestSetStatusReasonText(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	tests := []struct {
		name, reason string
		ok           bool
	}{
		{"plain", "moved to Ningbo", true},
		{"chinese", "已迁出本市", true},
		{"empty", "", true},
		{"masked id", "holder 110105********0517", true},
		{"newline", "line one\nline two", false},
		{"tab", "a\tb", false},
		{"full citizen id", "holder 110105199208140517 moved", false},
		{"over 1024 bytes", strings.Repeat("x", 1025), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := issuePermit(t, db, 200+i)
			n0 := auditCount(t, db)
			evs0, _, _ := db.StatusEvents(0, 1<<20)
			_, err := db.SetStatus(rec.Permit.Number, Suspend, tt.reason, revoker, testNow)
			if tt.ok {
				if err != nil {
					t.Fatalf("SetStatus: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, audit.ErrInvalid) || errors.Is(err, ErrConflict) {
				t.Fatalf("SetStatus error = %v, want one wrapping audit.ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "110105199208140517") {
				t.Errorf("error %q repeats the identity number", err)
			}
			got, _ := db.Permit(rec.Permit.Number)
			evs, _, _ := db.StatusEvents(0, 1<<20)
			l, _, _, _ := db.StatusList(rec.List)
			s, _ := l.Get(rec.Idx)
			if got.State != PermitActive || len(evs) != len(evs0) || auditCount(t, db) != n0 || s != statuslist.Valid {
				t.Errorf("a refused change left traces: state %s, %d events (was %d), status %v", got.State, len(evs), len(evs0), s)
			}
		})
	}
}
